"""Models-from-code entry point that MLflow executes when it loads a riskmodel model (not imported otherwise)."""

import mlflow.models

from riskmodel.pyfunc import RiskmodelPyfunc

mlflow.models.set_model(RiskmodelPyfunc())
