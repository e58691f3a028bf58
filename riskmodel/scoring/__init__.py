"""Scoring: the single core (:class:`Scorer`), the batch job, the officers' report and the scoring function."""

from riskmodel.scoring.core import EXPLAIN_MODES, MAX_REASONS, Reason, Scorer, ScoreResult
from riskmodel.scoring.scorer import RecordError, RiskScorer, UnknownBusinessError

__all__ = ["EXPLAIN_MODES", "MAX_REASONS", "Reason", "RecordError", "RiskScorer", "ScoreResult", "Scorer",
           "UnknownBusinessError"]
