"""The MLflow pyfunc flavour of a riskmodel model: a thin adapter over the scoring core.

The model is logged as *models from code* (``riskmodel/_pyfunc_entry.py``): MLflow stores that file and the model
folder (LightGBM text, JSON metadata, checksums) as artifacts, so no Python object is ever pickled. Input: a frame
of the model's features, with an optional ``company_number`` column (``riskmodel features`` writes one); output:
the same columns as ``scores.parquet`` of the batch job, from :meth:`riskmodel.scoring.Scorer.score_frame`.
Parameters: ``as_of`` (the date the features describe), ``explain`` and ``model_version`` (reported with each
score).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from riskmodel.artifact import load_bundle

__all__ = ["RiskmodelPyfunc"]


class RiskmodelPyfunc(PythonModel):
    """Scores a feature frame with a verified model folder, through the scoring core."""

    def load_context(self, context: Any) -> None:
        """Load the model folder, verifying its checksums."""
        from riskmodel.scoring.core import Scorer

        bundle = load_bundle(context.artifacts["bundle"])
        self.scorer = Scorer(bundle)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Score ``model_input`` (one row per business, the model's feature columns)."""
        params = params or {}
        frame = pd.DataFrame(model_input)
        if "company_number" in frame.columns:
            frame = frame.set_index("company_number")
        else:
            frame.index = pd.Index([str(i) for i in range(len(frame))], name="company_number")
        out = self.scorer.score_frame(frame, str(params.get("as_of", "unknown")),
                                      explain=str(params.get("explain", "all")))
        out["model_version"] = str(params.get("model_version", "unknown"))
        return out.drop(columns=["company_name"])
