"""``RiskScorer``: the scoring function procurement checks call, over a reference data set.

The reference data are loaded and every business is scored once, as of the reference data's extract date (or
``as_of``), through the same core as the batch job; ``score(company_number)`` is then a lookup.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import cast

import pandas as pd

import features
from riskmodel.contract import load_dataset
from riskmodel.errors import RiskmodelError
from riskmodel.registry import load_model, resolve_version
from riskmodel.scoring.core import Scorer, ScoreResult, result_from_row

__all__ = ["RiskScorer", "UnknownBusinessError"]


class UnknownBusinessError(RiskmodelError):
    """The company number is not a business of the reference data at the scoring date."""


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

    def __init__(self, scorer: Scorer, scores: pd.DataFrame, as_of: dt.date) -> None:
        self.scorer = scorer
        self.scores = scores
        self.as_of = as_of

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
        names = dataset["companies"].drop_duplicates("company_number").set_index("company_number")["company_name"]
        frame = scorer.score_frame(X, when.isoformat(), names=names).set_index("company_number", drop=False)
        return cls(scorer, frame, when)

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
