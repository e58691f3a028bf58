"""Validation of one table: each rule on a tiny inline frame, with exact expectations."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from riskmodel.contract import TABLES, validate_table
from riskmodel.contract.io import RawTable


def _companies(**overrides: list[str | None]) -> pd.DataFrame:
    base: dict[str, list[str | None]] = {
        "company_number": ["SC000001", "SC000002"],
        "company_name": ["Alpha Ltd", "Beta Ltd"],
        "company_type": ["ltd", "ltd"],
        "company_status": ["active", "active"],
        "date_of_creation": ["2015-01-01", "2016-06-30"],
        "date_of_cessation": [None, None],
        "sic_codes": ["56101", "56302;56101"],
        "registered_office_postcode": ["G1 1AA", None],
        "registered_office_address": ["1 High St", None],
    }
    base.update(overrides)
    return pd.DataFrame(base, index=pd.RangeIndex(1, len(base["company_number"]) + 1, name="source_row"))


def _run(frame: pd.DataFrame, table: str = "companies", extract_date: dt.date | None = None):  # type: ignore[no-untyped-def]
    return validate_table(TABLES[table], RawTable(frame), extract_date)


def test_clean_rows_are_kept_and_typed() -> None:
    result = _run(_companies())
    assert result.rows_kept == 2 and result.rows_quarantined == 0
    assert result.problems.empty
    assert str(result.valid["date_of_creation"].dtype) == "datetime64[ns]"
    assert result.valid.index.tolist() == [1, 2]


def test_unknown_enumeration_names_row_column_value_and_allowed_values() -> None:
    result = _run(_companies(company_status=["active", "actve"]))
    (problem,) = result.problems.to_dict("records")
    assert (problem["row"], problem["column"], problem["value"], problem["rule"]) == (
        2, "company_status", "actve", "allowed-values")
    assert "active, dormant, liquidation, administration, dissolved, other" in problem["message"]
    assert result.quarantine["source_row"].tolist() == [2]
    assert result.valid.index.tolist() == [1]


def test_wrong_type_is_reported_once_not_also_as_empty() -> None:
    result = _run(_companies(date_of_creation=["2015-01-01", "01/02/2016"]))
    assert result.problems[["row", "column", "rule"]].values.tolist() == [[2, "date_of_creation", "type-date"]]


def test_empty_required_value() -> None:
    result = _run(_companies(company_name=["Alpha Ltd", " "]))
    assert result.problems[["row", "column", "rule"]].values.tolist() == [[2, "company_name", "required"]]


def test_cessation_before_creation_is_impossible() -> None:
    result = _run(_companies(date_of_cessation=["2014-12-31", "2016-06-30"]))
    (problem,) = result.problems.to_dict("records")
    assert (problem["row"], problem["column"], problem["rule"]) == (
        1, "date_of_cessation", "date_of_cessation-not-before-date_of_creation")
    assert "2014-12-31 is before date_of_creation 2015-01-01" in problem["message"]


def test_exact_copies_keep_the_first_and_conflicts_quarantine_all() -> None:
    copies = pd.concat([_companies(), _companies().iloc[[0]]])
    copies.index = pd.RangeIndex(1, 4, name="source_row")
    result = _run(copies)
    assert result.problems[["row", "rule", "message"]].values.tolist() == [[3, "duplicate-row", "exact copy of row 1"]]
    assert result.valid.index.tolist() == [1, 2]

    conflict = _companies(company_number=["SC000001", "SC000001"])
    result = _run(conflict)
    assert sorted(result.problems["row"].tolist()) == [1, 2]
    assert set(result.problems["rule"]) == {"duplicate-key"}
    assert result.rows_kept == 0 and result.rows_quarantined == 2


def test_event_dates_after_the_extract_date_are_rejected() -> None:
    result = _run(_companies(date_of_creation=["2015-01-01", "2025-07-01"]), extract_date=dt.date(2025, 6, 30))
    assert result.problems[["row", "rule"]].values.tolist() == [[2, "not-after-extract-date"]]


def test_dates_before_1800_are_out_of_range() -> None:
    result = _run(_companies(date_of_creation=["1799-01-01", "2016-06-30"]))
    assert result.problems[["row", "rule"]].values.tolist() == [[1, "date-range"]]


def test_every_problem_of_a_row_is_listed_in_its_quarantine_reasons() -> None:
    result = _run(_companies(company_type=["ltd", "corp"], company_status=["active", "closed"]))
    reasons = result.quarantine.loc[0, "quarantine_reasons"]
    assert "company_type: 'corp'" in reasons and "company_status: 'closed'" in reasons


def test_missing_column_rejects_the_table_with_one_message() -> None:
    result = _run(_companies().drop(columns=["company_type", "sic_codes"]))
    assert result.rejected and result.rows_kept == 0 and result.rows_rejected == 2
    (problem,) = result.problems.to_dict("records")
    assert problem["level"] == "table" and problem["rule"] == "missing-column"
    assert problem["column"] == "company_type, sic_codes"


def test_header_only_companies_is_rejected_but_header_only_labels_is_a_warning() -> None:
    empty = _companies().iloc[0:0]
    assert _run(empty).rejected
    labels = pd.DataFrame({c: pd.Series([], dtype=object) for c in TABLES["labels"].column_names})
    result = _run(labels, "labels")
    assert not result.rejected
    assert result.problems[["level", "rule"]].values.tolist() == [["warning", "no-rows"]]


def _accounts(**overrides: list[str | None]) -> pd.DataFrame:
    base: dict[str, list[str | None]] = {c: [None] for c in TABLES["accounts"].column_names}
    base.update(company_number=["SC000001"], period_start=["2023-04-01"], period_end=["2024-03-31"],
                filed_on=["2024-12-01"], accounts_type=["micro-entity"])
    base.update(overrides)
    return pd.DataFrame(base, index=pd.RangeIndex(1, 2, name="source_row"))


@pytest.mark.parametrize(("overrides", "column", "rule"), [
    ({"filed_on": ["2024-03-01"]}, "filed_on", "filed_on-not-before-period_end"),
    ({"period_start": ["2024-04-01"]}, "period_end", "period_end-not-before-period_start"),
    ({"turnover": ["-500"]}, "turnover", "non-negative"),
    ({"employees": ["twelve"]}, "employees", "type-float"),
    ({"cash": ["inf"]}, "cash", "finite"),
    ({"accounts_type": ["Micro-Entity"]}, "accounts_type", "allowed-values"),
])
def test_accounts_rules(overrides: dict[str, list[str | None]], column: str, rule: str) -> None:
    result = _run(_accounts(**overrides), "accounts")
    assert result.problems[["row", "column", "rule"]].values.tolist() == [[1, column, rule]]


def test_negative_balance_sheet_items_are_allowed() -> None:
    # Real iXBRL filings carry sign-convention negatives; only impossible negatives are errors.
    result = _run(_accounts(cash=["-12.5"], net_assets=["-4000"], debtors=["-1"]), "accounts")
    assert result.problems.empty


def test_officer_resigned_before_appointed() -> None:
    frame = pd.DataFrame({c: [None] for c in TABLES["officers"].column_names}, index=pd.RangeIndex(1, 2))
    frame.loc[1, ["company_number", "officer_id", "officer_name", "officer_role", "appointed_on", "resigned_on"]] = [
        "SC000001", "P1", "A Person", "director", "2020-05-01", "2020-04-30"]
    result = _run(frame, "officers")
    assert result.problems[["row", "column", "rule"]].values.tolist() == [
        [1, "resigned_on", "resigned_on-not-before-appointed_on"]]


def test_label_must_be_zero_or_one() -> None:
    frame = pd.DataFrame({"company_number": ["SC1", "SC2"], "label": ["1", "2"],
                          "labelled_on": ["2024-01-01", "2024-01-01"], "source": ["audit", "audit"]},
                         index=pd.RangeIndex(1, 3))
    result = _run(frame, "labels")
    assert result.problems[["row", "column", "value", "rule"]].values.tolist() == [[2, "label", "2", "allowed-values"]]


def test_counts_always_balance_with_many_bad_rows() -> None:
    n = 5000
    frame = pd.DataFrame({
        "company_number": [f"SC{i:06d}" for i in range(n)],
        "company_name": ["X"] * n,
        "company_type": ["ltd", "bad"] * (n // 2),
        "company_status": ["active"] * n,
        "date_of_creation": ["2015-01-01", "2015-13-01", "2015-01-02", "2015-01-03", "x"] * (n // 5),
        "date_of_cessation": [None] * n,
        "sic_codes": [None] * n,
        "registered_office_postcode": [None] * n,
        "registered_office_address": [None] * n,
    }, index=pd.RangeIndex(1, n + 1))
    result = _run(frame)
    assert result.rows_kept + result.rows_quarantined == n
    # Rows 2, 4, ... have a bad type; rows 2, 5, 7, 10, ... a bad date: union of both.
    bad = {i for i in range(1, n + 1) if i % 2 == 0 or i % 5 in (2, 0)}
    assert set(result.quarantine["source_row"]) == bad
