"""``RiskScorer``: the scoring function procurement checks call, over a reference data set.

The reference data are loaded and every business is scored once, as of the reference data's extract date (or
``as_of``), through the same core as the batch job; ``score(company_number)`` is then a lookup.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pandas as pd

import features
from features.catalogue import CATALOGUE
from features.pit import AsOf
from riskmodel.contract import TABLES, Dataset, load_dataset
from riskmodel.contract.io import RawTable
from riskmodel.contract.validate import validate_rows, validate_table
from riskmodel.errors import RiskmodelError
from riskmodel.registry import load_model, resolve_version
from riskmodel.scoring.core import Scorer, ScoreResult, company_names, result_from_row
from riskmodel.scoring.neighbourhood import BUSINESS_KEYS, GRAPH_FEATURES, Neighbourhood

__all__ = ["RECORD_TABLES", "RecordError", "RiskScorer", "UnknownBusinessError"]


#: Tables a supplier's own records may hold, by the record's key (``company`` is one row, the others lists).
RECORD_TABLES = {"company": "companies", "officers": "officers", "ownership": "ownership", "accounts": "accounts",
                 "licences": "licences", "contracts": "contracts", "transactions": "transactions"}


class UnknownBusinessError(RiskmodelError):
    """The company number is not a business of the reference data at the scoring date."""


class RecordError(RiskmodelError):
    """A supplier's records break the data contract; ``evidence['problems']`` names each field and rule."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


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
        for i, r in enumerate(rows):  # a cell is one value: str() of an object or a list would pass as text
            nested = next((c for c, v in r.items() if isinstance(v, Mapping | list | tuple | set)), None)
            if nested is not None:
                where = f"{key}[{i}]"  # company[0], as validation names the company's fields
                raise RecordError(f"{where}.{nested}: a field holds one value (text, number, true/false or null), "
                                  f"not a {'list' if isinstance(r[nested], list | tuple | set) else 'object'}",
                                  field=f"{where}.{nested}")
        # Text as a CSV reader gives it (blank means missing), so typing can skip its per-value checks.
        text_rows = [{c.name: _text(r.get(c.name)) for c in spec.columns} for r in rows]
        fast = validate_rows(spec, text_rows, extract_date)
        if fast is not None:  # certainly clean: typed without pandas' per-column overhead
            tables[table] = fast
            continue
        text = pd.DataFrame(text_rows, dtype="object")
        text.index = pd.RangeIndex(1, len(text) + 1)
        result = validate_table(spec, RawTable(text, text=True), extract_date)
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
    reference : Dataset, optional
        The reference data (``score_record`` needs it).
    neighbourhood : Neighbourhood, optional
        Indexes over the reference, so ``score_record`` builds features on a business's neighbourhood only.
    reference_features : DataFrame, optional
        The model's features of every reference business, indexed by ``company_number``: ``score_record`` keeps
        those its records cannot change.
    """

    def __init__(self, scorer: Scorer, scores: pd.DataFrame, as_of: dt.date, reference: Dataset | None = None,
                 neighbourhood: Neighbourhood | None = None, reference_features: pd.DataFrame | None = None) -> None:
        self.scorer = scorer
        self.scores = scores
        self.as_of = as_of
        self.reference = reference
        self.neighbourhood = neighbourhood
        self.reference_features = reference_features
        #: How many ``score_record`` calls had to rebuild every feature (the neighbourhood was not exact).
        self.rebuilds = 0

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

        Notes
        -----
        Ends with :func:`gc.freeze`: objects alive then (the reference data, the model) are left out of later
        cyclic garbage collections, which would otherwise pause calls for the time it takes to walk them.
        """
        bundle = load_model(model)
        scorer = Scorer(bundle, resolve_version(model))
        dataset = load_dataset(reference)
        when = as_of or dataset.extract_date
        if when is None:
            raise RiskmodelError("the reference data have no extract date: give as_of", field="as_of")
        view = AsOf(dataset, when)
        X = features.build_view(view, bundle.feature_names)
        names = company_names(dataset)
        frame = scorer.score_frame(X, when.isoformat(), names=names).set_index("company_number", drop=False)
        loaded = cls(scorer, frame, when, dataset, Neighbourhood(view), X)
        # The reference holds millions of objects that live as long as the scorer. Left to the cyclic garbage
        # collector, each full collection walks them all (~140 ms on 100k businesses), a pause that lands inside
        # some unlucky call; frozen, they are skipped (objects freed by reference counting are still freed).
        gc.collect()
        gc.freeze()
        return loaded

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
        X = self._neighbourhood_features(number, tables) if self.neighbourhood is not None else None
        if X is None:
            self.rebuilds += 1
            X = self._rebuild_features(number, tables)
        if number not in X.index:
            raise RecordError(f"the business did not exist on {self.as_of} (date_of_creation after it)",
                              field="company.date_of_creation")
        names = pd.Series({number: tables["companies"]["company_name"].iloc[0]})
        frame = self.scorer.score_frame(X.loc[[number]], self.as_of.isoformat(), names=names)
        return result_from_row(frame.iloc[0])

    def _neighbourhood_features(self, number: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
        """Features of the business from its neighbourhood only; None when that would not be exact.

        A feature reading none of the tables the records change keeps its reference value: every row it reads is
        the reference's. Only the others are built, on the neighbourhood.
        """
        assert self.neighbourhood is not None  # noqa: S101 -- narrows the type for mypy: called only when it is set
        names = self.scorer.names
        changed = self.neighbourhood.changed(number, tables)
        # Kept values need the business to exist on the scoring date in the records too (else the build says no).
        created = tables["companies"]["date_of_creation"].iloc[0]
        known = (self.reference_features is not None and number in self.reference_features.index
                 and bool(created <= pd.Timestamp(self.as_of)))
        redo = [n for n in names if not known or not changed.isdisjoint(CATALOGUE[n].sources)]
        if known and not redo:
            return cast(pd.DataFrame, self.reference_features).loc[[number], names]
        rows = self.neighbourhood.dataset(number, tables, changed)
        view = AsOf(rows.new, self.as_of, targets=[number])
        X = features.build_view(view, redo)
        if number not in X.index:
            return X
        # Features the neighbourhood computes from the whole reference instead of its own rows.
        patch = self.neighbourhood.office_features(number, rows.office, tables["companies"]) or {}
        if any(n in redo for n in GRAPH_FEATURES):
            old = None if rows.old is None else AsOf(rows.old, self.as_of)
            network = self.neighbourhood.network(number, view, old, rows.linked)
            if network is None:
                return None
            patch.update(network)
        patched = [n for n in patch if n in X.columns]
        if patched:
            X.loc[number, patched] = [patch[n] for n in patched]
        if not known:
            return X
        # One row assembled in numpy: setting many columns of a frame costs ~0.4 ms each.
        reference = cast(pd.DataFrame, self.reference_features)
        row = reference.loc[number].to_numpy(dtype="float64", copy=True)
        row[reference.columns.get_indexer(pd.Index(redo))] = X.loc[[number], redo].to_numpy(dtype="float64")[0]
        return pd.DataFrame(row[None, :], index=pd.Index([number], name=X.index.name),
                            columns=reference.columns)[names]

    def _rebuild_features(self, number: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """Features of every business with the records joined to the whole reference (exact, slow)."""
        assert self.reference is not None  # noqa: S101 -- narrows the type for mypy: score_record checked it
        combined: dict[str, pd.DataFrame] = {}
        for table, frame in self.reference.tables.items():
            key = BUSINESS_KEYS.get(table) if table != "labels" else None
            base = frame[frame[key] != number] if key is not None and key in frame.columns else frame
            if table in tables and len(tables[table]):
                base = pd.concat([base, tables[table].astype(base.dtypes.to_dict(), errors="ignore")],
                                 ignore_index=True)
            combined[table] = base
        dataset = dataclasses.replace(self.reference, tables=combined)
        return features.build(dataset, self.as_of, self.scorer.names)
