"""``RiskScorer``: the scoring function procurement checks call, over a reference data set.

The reference data are loaded and every business is scored once, as of the reference data's extract date (or
``as_of``), through the same core as the batch job; ``score(company_number)`` is then a lookup.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pandas as pd

import features
from riskmodel.contract import TABLES, Dataset, load_dataset
from riskmodel.contract.io import RawTable
from riskmodel.contract.validate import validate_table
from riskmodel.errors import RiskmodelError
from riskmodel.registry import load_model, resolve_version
from riskmodel.scoring.core import Scorer, ScoreResult, company_names, result_from_row

__all__ = ["RECORD_TABLES", "RecordError", "RiskScorer", "UnknownBusinessError"]

#: Tables a supplier's own records may hold, by the record's key (``company`` is one row, the others lists).
RECORD_TABLES = {"company": "companies", "officers": "officers", "ownership": "ownership", "accounts": "accounts",
                 "licences": "licences", "contracts": "contracts", "transactions": "transactions"}


class UnknownBusinessError(RiskmodelError):
    """The company number is not a business of the reference data at the scoring date."""


class RecordError(RiskmodelError):
    """A supplier's records break the data contract; ``evidence['problems']`` names each field and rule."""


def _record_tables(record: Mapping[str, Any], extract_date: dt.date | None) -> dict[str, pd.DataFrame]:
    """Type and check a supplier's records with the contract's own validation (every problem at once)."""
    if not isinstance(record, Mapping):
        raise RecordError("a record must be a mapping of table name to rows", field="record")
    unknown = sorted(set(record) - set(RECORD_TABLES))
    if unknown:
        raise RecordError(f"unknown record part {unknown[0]!r}; allowed: {', '.join(RECORD_TABLES)}",
                          field=unknown[0], allowed=list(RECORD_TABLES))
    company = record.get("company")
    if not isinstance(company, Mapping):
        raise RecordError("record['company'] (one companies row) is required", field="company")
    number = company.get("company_number")
    if not isinstance(number, str) or not number.strip():
        raise RecordError("company.company_number is required", field="company.company_number")
    tables: dict[str, pd.DataFrame] = {}
    problems: list[dict[str, Any]] = []
    for key, table in RECORD_TABLES.items():
        rows = record.get(key)
        if rows is None:
            continue
        rows = [rows] if key == "company" else rows
        if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
            raise RecordError(f"record[{key!r}] must be a list of rows (mappings)", field=key)
        if not rows:
            continue
        spec = TABLES[table]
        extra = sorted({c for r in rows for c in r} - {c.name for c in spec.columns})
        if extra:
            raise RecordError(f"{key}: unknown field {extra[0]!r}", field=f"{key}.{extra[0]}",
                              allowed=[c.name for c in spec.columns])
        text = pd.DataFrame([{c.name: (None if r.get(c.name) is None else str(r.get(c.name))) for c in spec.columns}
                             for r in rows], dtype="object")
        text.index = pd.RangeIndex(1, len(text) + 1)
        result = validate_table(spec, RawTable(text), extract_date)
        for p in result.problems.to_dict("records"):
            problems.append({"field": f"{key}[{int(p['row']) - 1 if pd.notna(p['row']) else 0}].{p['column']}",
                             "value": p["value"], "rule": p["rule"], "message": p["message"]})
        tables[table] = result.valid
    if problems:
        first = problems[0]
        raise RecordError(f"{len(problems)} problem(s) in the record; first: {first['field']}: {first['message']}",
                          field=first["field"], problems=problems)
    return tables


class RiskScorer:
    """Score businesses of a reference data set with one model.

    Use :meth:`load`; the constructor takes ready parts.

    Parameters
    ----------
    scorer : Scorer
        The scoring core with its model.
    scores : DataFrame
        Every reference business scored, indexed by ``company_number``.
    as_of : date
        Date the scores describe.
    """

    def __init__(self, scorer: Scorer, scores: pd.DataFrame, as_of: dt.date, reference: Dataset | None = None) -> None:
        self.scorer = scorer
        self.scores = scores
        self.as_of = as_of
        self.reference = reference

    @classmethod
    def load(cls, model: str | Path, reference: str | Path, as_of: dt.date | None = None) -> RiskScorer:
        """Load a verified model and score the reference data set.

        Parameters
        ----------
        model : str or Path
            MLflow URI (``models:/riskmodel@champion``) or exported model folder.
        reference : str or Path
            A data set written to the contract.
        as_of : date, optional
            Default: the reference data's extract date.
        """
        bundle = load_model(model)
        scorer = Scorer(bundle, resolve_version(model))
        dataset = load_dataset(reference)
        when = as_of or dataset.extract_date
        if when is None:
            raise RiskmodelError("the reference data have no extract date: give as_of", field="as_of")
        X = features.build(dataset, when, bundle.feature_names)
        names = company_names(dataset)
        frame = scorer.score_frame(X, when.isoformat(), names=names).set_index("company_number", drop=False)
        return cls(scorer, frame, when, dataset)

    def score(self, company_number: str) -> ScoreResult:
        """Score one business of the reference data.

        Raises
        ------
        UnknownBusinessError
            If the company number is not in the reference data at the scoring date.
        """
        if not isinstance(company_number, str) or not company_number.strip():
            raise UnknownBusinessError("company_number must be a non-empty string", field="company_number",
                                       value=company_number)
        key = company_number.strip()
        if key not in self.scores.index and key.upper() in self.scores.index:
            key = key.upper()
        if key not in self.scores.index:
            raise UnknownBusinessError(f"company_number {company_number!r} is not a business of the reference data "
                                       f"on {self.as_of}", field="company_number", value=company_number)
        return result_from_row(cast(pd.Series, self.scores.loc[key]))

    def score_record(self, record: Mapping[str, Any]) -> ScoreResult:
        """Score a supplier described by its own records, joined to the reference data.

        The records replace any reference rows of the same business; everything else (linked businesses, the
        addresses, the watchlist, labels) comes from the reference data, so network and peer features still work.

        Parameters
        ----------
        record : mapping
            ``{"company": {...companies row...}, "officers": [...], "ownership": [...], "accounts": [...],
            "licences": [...], "contracts": [...], "transactions": [...]}`` with the contract's field names.

        Raises
        ------
        RecordError
            If a field breaks the contract (the error names it: ``evidence['field']``, ``evidence['problems']``).
        """
        if self.reference is None:
            raise RiskmodelError("score_record needs the reference data (use RiskScorer.load)")
        tables = _record_tables(record, self.reference.extract_date)
        number = str(tables["companies"]["company_number"].iloc[0])
        keys = {"companies": "company_number", "officers": "company_number", "ownership": "company_number",
                "accounts": "company_number", "licences": "holder_company_number",
                "contracts": "supplier_company_number", "transactions": "company_number"}
        combined: dict[str, pd.DataFrame] = {}
        for table, frame in self.reference.tables.items():
            key = keys.get(table)
            base = frame[frame[key] != number] if key is not None and key in frame.columns else frame
            if table in tables and len(tables[table]):
                base = pd.concat([base, tables[table].astype(base.dtypes.to_dict(), errors="ignore")],
                                 ignore_index=True)
            combined[table] = base
        dataset = dataclasses.replace(self.reference, tables=combined)
        X = features.build(dataset, self.as_of, self.scorer.names)
        if number not in X.index:
            raise RecordError(f"the business did not exist on {self.as_of} (date_of_creation after it)",
                              field="company.date_of_creation")
        names = pd.Series({number: tables["companies"]["company_name"].iloc[0]})
        frame = self.scorer.score_frame(X.loc[[number]], self.as_of.isoformat(), names=names)
        return result_from_row(frame.iloc[0])
