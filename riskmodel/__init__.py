"""riskmodel: evidence-ranked leads on organised-crime infiltration of businesses.

Scores are advisory: they rank businesses for human review and never decide anything alone.
"""

from importlib.metadata import PackageNotFoundError, version

from riskmodel.contract import TABLES, Dataset, load_dataset, validate_dataset
from riskmodel.errors import DataContractError, RiskmodelError

try:
    __version__ = version("riskmodel")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "TABLES",
    "RiskScorer",
    "DataContractError",
    "Dataset",
    "RiskmodelError",
    "__version__",
    "load_dataset",
    "validate_dataset",
]


def __getattr__(name: str) -> object:
    # The scoring function pulls in LightGBM and MLflow; import it only when asked for.
    if name == "RiskScorer":
        from riskmodel.scoring import RiskScorer

        return RiskScorer
    raise AttributeError(f"module 'riskmodel' has no attribute {name!r}")
