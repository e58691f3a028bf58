"""The AMLSim importer end to end: hand-written runs of each layout in, companies, transactions and labels out."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import pytest
from support import assert_import_balanced

from riskmodel.contract import load_dataset
from riskmodel.errors import RiskmodelError
from riskmodel.importers import FORMATS, ImportResult, import_sources

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "realdata" / "amlsim_ibm_sample"

NODES = ["nodeid,isFraud,init_balance,fraudStep", "0,1,191.2,-1", "1,0,163.35,-1", "2,True,150.72,3",
         "3,false,118.05,-1"]
TRANSACTIONS = ["sourceNodeId,targetNodeId,value,time", "0,1,147.8,1", "2,3,96.31,5", "1,0,10,2"]


def _write(path: Path, lines: list[str], encoding: str = "utf-8", end: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + end).encode(encoding))
    return path


def _table(result: ImportResult, table: str) -> pd.DataFrame:
    return pd.read_parquet(result.tables[table])


def _quarantine(result: ImportResult) -> dict[tuple[str, str], str]:
    frame = pd.read_csv(result.out / "imports" / "amlsim" / "quarantine.csv", dtype=str).fillna("")
    return {(s, r): reasons for s, r, reasons in zip(frame["source"], frame["record"], frame["reasons"], strict=True)}


def test_format_is_registered() -> None:
    fmt = FORMATS["amlsim"]
    assert fmt.tables == ("companies", "transactions", "labels")
    assert fmt.load().__module__ == "riskmodel.importers.amlsim"


# ------------------------------------------------------------------------------------------- old sample layout


def test_old_layout_companies_two_rows_per_transfer_and_labels_dated_by_the_last_step(tmp_path: Path) -> None:
    run = tmp_path / "run"
    sources = [_write(run / "nodes.csv", NODES), _write(run / "transactions.csv", TRANSACTIONS)]
    result = import_sources("amlsim", sources, tmp_path / "out")

    companies = _table(result, "companies")
    assert companies["company_number"].tolist() == ["AMLSIM-0", "AMLSIM-1", "AMLSIM-2", "AMLSIM-3"]
    assert companies["company_name"].tolist() == [f"AMLSim account {i}" for i in range(4)]
    assert set(companies["company_type"]) == {"other"}
    assert set(companies["company_status"]) == {"active"}
    assert set(companies["date_of_creation"]) == {dt.date(2017, 1, 1)}
    assert companies[["date_of_cessation", "sic_codes", "registered_office_postcode"]].isna().all().all()

    tx = _table(result, "transactions")
    assert tx["transaction_id"].tolist() == [
        "AMLSIM-transactions-2-out", "AMLSIM-transactions-2-in", "AMLSIM-transactions-3-out",
        "AMLSIM-transactions-3-in", "AMLSIM-transactions-4-out", "AMLSIM-transactions-4-in"]
    assert tx["company_number"].tolist() == ["AMLSIM-0", "AMLSIM-1", "AMLSIM-2", "AMLSIM-3", "AMLSIM-1", "AMLSIM-0"]
    assert tx["counterparty_id"].tolist() == ["AMLSIM-1", "AMLSIM-0", "AMLSIM-3", "AMLSIM-2", "AMLSIM-0", "AMLSIM-1"]
    assert tx["amount"].tolist() == [-147.8, 147.8, -96.31, 96.31, -10.0, 10.0]
    assert tx["booked_at"].tolist() == [pd.Timestamp("2017-01-02")] * 2 + [pd.Timestamp("2017-01-06")] * 2 + [
        pd.Timestamp("2017-01-03")] * 2  # step N = 2017-01-01 + N days
    assert set(tx["channel"]) == {"transfer"}
    assert tx["counterparty_country"].isna().all()

    labels = _table(result, "labels")
    assert labels["company_number"].tolist() == ["AMLSIM-0", "AMLSIM-1", "AMLSIM-2", "AMLSIM-3"]
    assert labels["label"].tolist() == [1, 0, 1, 0]
    # The last step seen is 5, whatever fraudStep says (node 2 has fraudStep 3).
    assert set(labels["labelled_on"]) == {dt.date(2017, 1, 6)}
    assert set(labels["source"]) == {"simulation"}

    m = result.manifest
    assert m["sources"] == {
        "nodes.csv": {"records_in": 4, "records_mapped": 4, "rows_mapped:companies": 4, "rows_mapped:labels": 4},
        "transactions.csv": {"records_in": 3, "records_mapped": 3, "rows_mapped:transactions": 6}}
    assert m["records_in"] == 7 and m["records_quarantined"] == 0
    assert_import_balanced(m)
    assumed = [w for w in m["warnings"] if "[assumed]" in w]
    assert [w.split(" ")[2] for w in assumed] == [
        "companies.company_number", "companies.company_name", "companies.company_type", "companies.company_status",
        "companies.date_of_creation", "transactions.booked_at:", "transactions.amount:", "labels"]
    assert "not GBP" in assumed[6]
    assert "2 label 1 and 2 label 0" in assumed[7] and "labelled_on = 2017-01-06" in assumed[7]
    assert load_dataset(tmp_path / "out", ["companies", "transactions", "labels"]).is_clean


def test_start_date_and_prefix_options(tmp_path: Path) -> None:
    run = tmp_path / "run"
    sources = [_write(run / "nodes.csv", NODES), _write(run / "transactions.csv", TRANSACTIONS)]
    as_text = import_sources("amlsim", sources, tmp_path / "a", {"start_date": "2020-02-28", "prefix": "RUN7-"})
    as_date = import_sources("amlsim", sources, tmp_path / "b", {"start_date": dt.date(2020, 2, 28),
                                                                 "prefix": "RUN7-"})
    for result in (as_text, as_date):
        tx = _table(result, "transactions")
        assert tx["transaction_id"].iloc[0] == "RUN7-transactions-2-out"
        assert tx["company_number"].iloc[0] == "RUN7-0" and tx["counterparty_id"].iloc[0] == "RUN7-1"
        assert tx["booked_at"].iloc[0] == pd.Timestamp("2020-02-29")  # a leap day: step 1
        assert set(_table(result, "companies")["date_of_creation"]) == {dt.date(2020, 2, 28)}
        assert set(_table(result, "labels")["labelled_on"]) == {dt.date(2020, 3, 4)}
    with pytest.raises(RiskmodelError, match="start_date '28/02/2020' is not a date"):
        import_sources("amlsim", sources, tmp_path / "c", {"start_date": "28/02/2020"})
    with pytest.raises(RiskmodelError, match="prefix"):
        import_sources("amlsim", sources, tmp_path / "d", {"prefix": "RUN 7"})


# ---------------------------------------------------------------------------------------- newer output layout


ACCOUNTS = ["ACCOUNT_ID,PRIMARY_CUSTOMER_ID,init_balance,start,end,country,business,suspicious,isFraud,modelID",
            "10,C_10,191.2,0,50,US,I,False,true,0", "11,C_11,163.35,3,50,US,B,False,false,0",
            "12,C_12,150.72,,50,US,I,False,false,0", "13,C_13,1.0,1,50,GB,B,False,TRUE,0"]
TX = ["TXN_ID,ACCOUNT_ID,COUNTER_PARTY_ACCOUNT_NUM,TXN_SOURCE_TYPE_CODE,tx_count,TXN_AMOUNT_ORIG,start,end",
      "2,10,11,WIRE,1,100.5,1,1", "4,11,12,CREDIT,1,20,2,2", "6,12,10,CHECK,1,30,3,3", "8,10,13,DEPOSIT,1,40,4,4",
      "9,13,10,PAYMENT,1,50,5,5", "14,13,13,TRANSFER,1,5,6,6", "15,10,11,CRYPTO,1,5,6,6",
      "16,10,11,WIRE,3,15,6,6", "17,10,11,WIRE,1,15,6,8", "18,10,99,WIRE,1,15,6,6"]
# AMLSim writes a cash row's origin under ACCOUNT_ID and its destination under BRANCH_ID: a CASH-OUT goes from the
# branch (here 0) to the account, a CASH-IN from the account to the branch.
CASH = ["TXN_ID,ACCOUNT_ID,BRANCH_ID,TXN_SOURCE_TYPE_CODE,tx_count,TXN_AMOUNT_ORIG,RUN_DATE,end",
        "1,0,11,CASH-OUT,1,64.25,1,1", "3,12,0,CASH-IN,1,38.4,9,9", "5,0,10,WIRE,1,5,2,2"]
ALERTS = ["ALERT_KEY,ALERT_TEXT,ACCOUNT_ID,CUSTOMER_ID,EVENT_DATE,CHECK_NAME,Organization_Type,"
          "Escalated_To_Case_Investigation",
          "0,1,10,10,20170221,cycle,INDIVIDUAL,YES", "1,1,13,13,20170103,cycle,INDIVIDUAL,NO",
          "2,1,11,11,20170104,cycle,INDIVIDUAL,YES", "3,1,77,77,20170104,cycle,INDIVIDUAL,YES"]


def test_newer_layout_channels_cash_rows_and_alert_labels(tmp_path: Path) -> None:
    run = tmp_path / "outputs"
    sources = [_write(run / "accounts.csv", ACCOUNTS), _write(run / "tx.csv", TX), _write(run / "cash_tx.csv", CASH),
               _write(run / "alerts.csv", ALERTS)]
    result = import_sources("amlsim", sources, tmp_path / "out")

    companies = _table(result, "companies").set_index("company_number")
    assert companies.index.tolist() == ["AMLSIM-10", "AMLSIM-11", "AMLSIM-12", "AMLSIM-13"]
    # The account's start step dates its creation; no start step -> the start date. B/I changes no type.
    assert companies["date_of_creation"].tolist() == [dt.date(2017, 1, 1), dt.date(2017, 1, 4), dt.date(2017, 1, 1),
                                                      dt.date(2017, 1, 2)]
    assert set(companies["company_type"]) == {"other"}

    tx = _table(result, "transactions").set_index("transaction_id")
    assert tx.index.tolist() == [
        "AMLSIM-tx-2-out", "AMLSIM-tx-2-in", "AMLSIM-tx-4-out", "AMLSIM-tx-4-in", "AMLSIM-tx-6-out", "AMLSIM-tx-6-in",
        "AMLSIM-tx-8-out", "AMLSIM-tx-8-in", "AMLSIM-tx-9-out", "AMLSIM-tx-9-in", "AMLSIM-tx-14-out",
        "AMLSIM-tx-14-in", "AMLSIM-cash_tx-1-out", "AMLSIM-cash_tx-3-in"]
    assert tx["channel"].tolist() == ["transfer"] * 4 + ["cheque"] * 2 + ["cash"] * 2 + ["other"] * 2 + [
        "transfer"] * 2 + ["cash"] * 2
    assert tx.loc["AMLSIM-tx-2-out", "company_number"] == "AMLSIM-10"
    assert tx.loc["AMLSIM-tx-2-in", "company_number"] == "AMLSIM-11"
    assert tx.loc["AMLSIM-tx-2-in", "counterparty_id"] == "AMLSIM-10"
    # A self-transfer keeps both rows, netting to zero.
    assert tx.loc[["AMLSIM-tx-14-out", "AMLSIM-tx-14-in"], "company_number"].tolist() == ["AMLSIM-13"] * 2
    assert tx.loc[["AMLSIM-tx-14-out", "AMLSIM-tx-14-in"], "amount"].tolist() == [-5.0, 5.0]
    # Cash: one row for the account, CASH-OUT negative (account in BRANCH_ID), CASH-IN positive (in ACCOUNT_ID).
    assert tx.loc["AMLSIM-cash_tx-1-out", ["company_number", "amount"]].tolist() == ["AMLSIM-11", -64.25]
    assert tx.loc["AMLSIM-cash_tx-3-in", ["company_number", "amount"]].tolist() == ["AMLSIM-12", 38.4]
    assert tx.loc[["AMLSIM-cash_tx-1-out", "AMLSIM-cash_tx-3-in"], "counterparty_id"].isna().all()
    assert tx.loc["AMLSIM-cash_tx-3-in", "booked_at"] == pd.Timestamp("2017-01-10")

    labels = _table(result, "labels")
    simulation = labels[labels["source"] == "simulation"]
    assert simulation["company_number"].tolist() == ["AMLSIM-10", "AMLSIM-11", "AMLSIM-12", "AMLSIM-13"]
    assert simulation["label"].tolist() == [1, 0, 0, 1]
    # The last step of the run is 9 (cash_tx.csv), though the set-aside tx row 17 ends at step 8.
    assert set(simulation["labelled_on"]) == {dt.date(2017, 1, 10)}
    alert = labels[labels["source"] == "simulation-alert"]
    assert alert[["company_number", "label", "labelled_on"]].values.tolist() == [["AMLSIM-10", 1,
                                                                                  dt.date(2017, 2, 21)]]

    q = _quarantine(result)
    assert q == {
        ("tx.csv", "line 8"): "TXN_SOURCE_TYPE_CODE 'CRYPTO' is not an AMLSim transaction type this importer knows "
                              "(TRANSFER, WIRE, CREDIT, CASH_IN, CASH_OUT, CASH-IN, CASH-OUT, DEPOSIT, CHECK, PAYMENT, "
                              "DEBIT)",
        ("tx.csv", "line 9"): "tx_count '3': the row aggregates transactions, which cannot be booked as one",
        ("tx.csv", "line 10"): "the row spans steps 6 to 8: an aggregate, not one transaction",
        ("tx.csv", "line 11"): "account 99 is not in accounts.csv",
        ("cash_tx.csv", "line 4"): "TXN_SOURCE_TYPE_CODE 'WIRE' in a cash file (CASH-IN or CASH-OUT expected)",
        ("alerts.csv", "line 3"): "not escalated to a case investigation: an alert is not an outcome",
        ("alerts.csv", "line 4"): "account 11 is isFraud false in accounts.csv: the alert contradicts it",
        ("alerts.csv", "line 5"): "account 77 is not in accounts.csv",
    }
    m = result.manifest
    assert {name: (c["records_in"], c.get("records_quarantined", 0)) for name, c in m["sources"].items()} == {
        "accounts.csv": (4, 0), "tx.csv": (10, 4), "cash_tx.csv": (3, 1), "alerts.csv": (4, 3)}
    assert m["tables"]["transactions"]["rows_written"] == 14
    assert_import_balanced(m)
    assert any("CASH-OUT (1 rows, amount negative) is read from BRANCH_ID" in w for w in m["warnings"])
    assert any("1 transfers have the same account as payer and payee" in w for w in m["warnings"])
    assert load_dataset(tmp_path / "out", ["companies", "transactions", "labels"]).is_clean


# ------------------------------------------------------------------------------------------- transaction log


LOG = ["tran_id,orig_acct,bene_acct,tx_type,base_amt,tran_timestamp,is_sar,alert_id",
       "1,723,951,TRANSFER,649.5,2021-01-03T00:00:00Z,False,-1",
       "2,485,27,CASH_IN,785.77,2021-01-05T00:00:00Z,True,4",
       "3,27,723,DEBIT,12,2021-02-01T10:30:00+01:00,false,-1",
       "4,951,485,CASH_OUT,3.5,2021-01-02T00:00:00Z,False,-1"]


def test_transaction_log_accounts_are_the_ids_seen_and_labels_come_from_is_sar(tmp_path: Path) -> None:
    source = _write(tmp_path / "logs" / "transactions_1k.csv", LOG)
    result = import_sources("amlsim", [source], tmp_path / "out")

    companies = _table(result, "companies")
    assert companies["company_number"].tolist() == ["AMLSIM-27", "AMLSIM-485", "AMLSIM-723", "AMLSIM-951"]
    # No start_date given: the log's first transaction dates the run's start.
    assert set(companies["date_of_creation"]) == {dt.date(2021, 1, 2)}

    tx = _table(result, "transactions").set_index("transaction_id")
    assert len(tx) == 8
    assert tx.loc["AMLSIM-transactions_1k-2-in", ["company_number", "amount", "channel", "counterparty_id"]].tolist() \
        == ["AMLSIM-27", 785.77, "cash", "AMLSIM-485"]
    assert tx.loc["AMLSIM-transactions_1k-3-out", "channel"] == "other"
    assert tx.loc["AMLSIM-transactions_1k-3-out", "booked_at"] == pd.Timestamp("2021-02-01 09:30:00")  # to UTC
    assert tx.loc["AMLSIM-transactions_1k-1-out", "booked_at"] == pd.Timestamp("2021-01-03")

    labels = _table(result, "labels").set_index("company_number")
    assert labels["label"].to_dict() == {"AMLSIM-27": 1, "AMLSIM-485": 1, "AMLSIM-723": 0, "AMLSIM-951": 0}
    assert set(labels["labelled_on"]) == {dt.date(2021, 2, 1)}  # the last timestamp's date

    m = result.manifest
    assert m["sources"]["transactions_1k.csv"] == {"records_in": 4, "records_mapped": 4,
                                                   "rows_mapped:transactions": 8}
    assert m["sources"]["transactions_1k.csv#accounts"] == {"records_in": 4, "records_mapped": 4,
                                                            "rows_mapped:companies": 4, "rows_mapped:labels": 4}
    assert_import_balanced(m)
    assert not any("booked_at: simulation steps" in w for w in m["warnings"])

    given = import_sources("amlsim", [source], tmp_path / "given", {"start_date": "2020-12-01"})
    assert set(_table(given, "companies")["date_of_creation"]) == {dt.date(2020, 12, 1)}
    assert _table(given, "transactions")["booked_at"].min() == pd.Timestamp("2021-01-02")  # times as given


def test_is_sar_unreadable_sets_the_label_aside_but_keeps_the_company(tmp_path: Path) -> None:
    source = _write(tmp_path / "log.csv", [*LOG[:2], "9,723,5,TRANSFER,1,2021-01-04T00:00:00Z,maybe,-1"])
    result = import_sources("amlsim", [source], tmp_path / "out")
    assert _table(result, "companies")["company_number"].tolist() == ["AMLSIM-5", "AMLSIM-723", "AMLSIM-951"]
    assert _table(result, "labels")["company_number"].tolist() == ["AMLSIM-951"]
    q = _quarantine(result)
    assert set(q) == {("log.csv#labels", "account 5"), ("log.csv#labels", "account 723")}
    assert q[("log.csv#labels", "account 5")].startswith("is_sar is neither true nor false")
    assert_import_balanced(result.manifest)


# ----------------------------------------------------------------------------------------------- runs and files


def test_account_table_without_transactions_sets_the_labels_aside(tmp_path: Path) -> None:
    nodes = _write(tmp_path / "run" / "nodes.csv", [*NODES[:3], "7,,1.0,-1", "8,perhaps,1.0,-1"])
    result = import_sources("amlsim", [nodes], tmp_path / "out")
    assert set(result.tables) == {"companies"}
    assert _table(result, "companies")["company_number"].tolist() == [f"AMLSIM-{i}" for i in (0, 1, 7, 8)]
    q = _quarantine(result)
    assert q[("nodes.csv#labels", "line 2")] == ("no labelled_on: run run has no transaction with a readable step "
                                                "or timestamp, and a simulation label is dated by the run's last one")
    assert q[("nodes.csv#labels", "line 4")] == "isFraud is empty"
    assert q[("nodes.csv#labels", "line 5")] == "isFraud 'perhaps' is neither true (1, true) nor false (0, false)"
    assert result.manifest["sources"]["nodes.csv"] == {"records_in": 4, "records_mapped": 4,
                                                       "rows_mapped:companies": 4}
    assert result.manifest["sources"]["nodes.csv#labels"] == {"records_in": 4, "records_quarantined": 4}
    assert_import_balanced(result.manifest)


def test_transactions_without_account_table_name_the_companies_and_give_no_labels(tmp_path: Path) -> None:
    source = _write(tmp_path / "run7" / "transactions.csv", TRANSACTIONS)
    result = import_sources("amlsim", [source], tmp_path / "out")
    assert set(result.tables) == {"companies", "transactions"}
    assert _table(result, "companies")["company_number"].tolist() == [f"AMLSIM-{i}" for i in range(4)]
    assert result.manifest["sources"]["run7#accounts"]["rows_mapped:companies"] == 4
    assert any("run run7 has no account table" in w and "no labels" in w for w in result.manifest["warnings"])


def test_malformed_inputs_are_set_aside_with_their_reasons(tmp_path: Path) -> None:
    run = tmp_path / "run"
    nodes = _write(run / "nodes.csv", NODES)
    transactions = _write(run / "transactions.csv", [
        "sourceNodeId,targetNodeId,value,time",
        "0,1,abc,1",      # unreadable amount
        "0,1,-5,1",       # not positive
        "0,1,0,1",        # not positive
        "0,9,5,1",        # account 9 is not in nodes.csv
        ",1,5,1",         # no payer
        "0,1,5,-1",       # negative step
        "0,1,5,",         # no step
        "2,3,7.5,4",      # fine
        "1,2,8"], end="")  # truncated last line (no newline, a field short)
    no_time = _write(run / "more.csv", ["sourceNodeId,targetNodeId,value", "0,1,5"])
    result = import_sources("amlsim", [nodes, transactions, no_time], tmp_path / "out")

    q = _quarantine(result)
    assert q == {
        ("more.csv", "file"): "header lacks time (an AMLSim old-sample transactions.csv has sourceNodeId, "
                              "targetNodeId, value, time)",
        ("transactions.csv", "line 2"): "value: 'abc' is not a number",
        ("transactions.csv", "line 3"): "value '-5' is not a positive amount",
        ("transactions.csv", "line 4"): "value '0' is not a positive amount",
        ("transactions.csv", "line 5"): "account 9 is not in nodes.csv",
        ("transactions.csv", "line 6"): "no payer account (sourceNodeId is empty)",
        ("transactions.csv", "line 7"): "time '-1' is not a simulation step (a whole number from 0)",
        ("transactions.csv", "line 8"): "no step (time is empty)",
        ("transactions.csv", "line 10"): "has 3 fields where the header has 4",
    }
    tx = _table(result, "transactions")
    assert tx["transaction_id"].tolist() == ["AMLSIM-transactions-9-out", "AMLSIM-transactions-9-in"]
    # Set-aside rows still tell how far the run went: the last readable step is 4.
    assert set(_table(result, "labels")["labelled_on"]) == {dt.date(2017, 1, 5)}
    m = result.manifest
    assert m["sources"]["transactions.csv"] == {"records_in": 9, "records_mapped": 1, "records_quarantined": 8,
                                                "rows_mapped:transactions": 2}
    assert m["sources"]["more.csv"] == {"records_in": 1, "records_quarantined": 1}
    assert m["records_in"] == 4 + 9 + 1 == m["records_mapped"] + m["records_quarantined"]
    assert_import_balanced(m)


def test_latin1_bytes_are_read_and_noted(tmp_path: Path) -> None:
    source = _write(tmp_path / "log.csv", [LOG[0], "1,café,951,TRANSFER,10,2021-01-03T00:00:00Z,False,-1"],
                    encoding="latin-1")
    result = import_sources("amlsim", [source], tmp_path / "out")
    assert _table(result, "companies")["company_number"].tolist() == ["AMLSIM-951", "AMLSIM-café"]
    assert _table(result, "transactions")["company_number"].tolist() == ["AMLSIM-café", "AMLSIM-951"]
    assert "log.csv is not UTF-8; it was read as cp1252" in result.manifest["warnings"]


def test_more_than_one_run_is_refused(tmp_path: Path) -> None:
    a = _write(tmp_path / "a" / "transactions.csv", TRANSACTIONS)
    b = _write(tmp_path / "b" / "transactions.csv", TRANSACTIONS)
    with pytest.raises(RiskmodelError, match=r"the sources hold 2 AMLSim runs \(a, b\)"):
        import_sources("amlsim", [a, b], tmp_path / "out")
    # Two transaction logs in one folder are two runs too.
    logs = [_write(tmp_path / "logs" / "x.csv", LOG), _write(tmp_path / "logs" / "y.csv", LOG)]
    with pytest.raises(RiskmodelError, match="2 AMLSim runs"):
        import_sources("amlsim", logs, tmp_path / "out2")
    nodes = [_write(tmp_path / "c" / "nodes.csv", NODES), _write(tmp_path / "c" / "accounts.csv", ACCOUNTS)]
    with pytest.raises(RiskmodelError, match="two account tables"):
        import_sources("amlsim", nodes, tmp_path / "out3")


# ---------------------------------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_real_fanin_run_imports(tmp_path: Path) -> None:
    folder = REAL / "20K_fanin200"
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder}")
    started = time.perf_counter()
    result = import_sources("amlsim", sorted(folder.glob("*.csv")), tmp_path / "out")
    assert time.perf_counter() - started < 120
    m = result.manifest
    assert m["tables"]["companies"]["rows_written"] == 20_000
    assert m["tables"]["transactions"]["rows_written"] == 2 * 118_250
    assert m["records_quarantined"] == 0
    assert_import_balanced(m)
    labels = _table(result, "labels")
    assert len(labels) == 20_000 and int(labels["label"].sum()) == 954
    assert set(labels["labelled_on"]) == {dt.date(2017, 1, 1) + dt.timedelta(days=149)}
    assert load_dataset(tmp_path / "out", ["companies", "transactions", "labels"]).is_clean
