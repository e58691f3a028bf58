"""The MLflow pyfunc flavour of a riskmodel model: a thin adapter over :class:`riskmodel.artifact.ModelBundle`.

The model is logged as *models from code* (``riskmodel/_pyfunc_entry.py``): MLflow stores that file and the model
folder (LightGBM text, JSON metadata, checksums) as artifacts, so no Python object is ever pickled. Input: a frame
of the model's features (``riskmodel features`` writes one); output: ``log_odds``, ``risk_score``, ``risk_band``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from riskmodel.artifact import ModelBundle, load_bundle

__all__ = ["RiskmodelPyfunc"]


class RiskmodelPyfunc(PythonModel):
    """Scores a feature frame with a verified model folder."""

    bundle: ModelBundle

    def load_context(self, context: Any) -> None:
        """Load the model folder, verifying its checksums."""
        self.bundle = load_bundle(context.artifacts["bundle"])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Score ``model_input`` (one row per business, the model's feature columns)."""
        return self.bundle.predict(pd.DataFrame(model_input)).reset_index(drop=True)
