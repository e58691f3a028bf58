"""The scoring core: one function from a feature frame to scores, bands, ranks and plain-language reasons.

Every adapter (the batch job, :class:`riskmodel.scoring.RiskScorer`, the HTTP service, the MLflow pyfunc) calls
:func:`score_frame`, so the same business and model give the same answer everywhere. Reasons are the features with
the largest positive exact SHAP contributions (LightGBM's ``pred_contrib``, in log-odds); a feature's fitted sector
comparisons count towards the feature itself. Each reason's text is the catalogue's template filled with the
business's own value and the share of businesses at the training date with a lower value.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import features
from features.peers import PERCENTILE_SUFFIX, RATIO_SUFFIX, QuantileGrid, share_below
from riskmodel.artifact import ModelBundle
from riskmodel.contract import Dataset
from riskmodel.errors import RiskmodelError

__all__ = ["EXPLAIN_MODES", "MAX_REASONS", "Reason", "ScoreResult", "Scorer", "company_names", "result_from_row"]

MAX_REASONS = 5
_BLOCK = 8192  # rows per pred_contrib call when explaining everything (pipelined with reason writing)
#: Below this many rows LightGBM predicts on one thread: waking OpenMP's team costs far more than it saves, and
#: ~25x more (6 ms against 0.23 ms for one row, measured) when another process keeps a core busy.
_SERIAL_ROWS = 256
EXPLAIN_MODES = ("all", "flagged", "none")


def _threads(rows: int) -> dict[str, Any]:
    return {"num_threads": 1} if rows < _SERIAL_ROWS else {}


@dataclass(frozen=True)
class Reason:
    """One reason behind a score.

    Attributes
    ----------
    feature : str
        Catalogue feature name.
    contribution : float
        Its exact SHAP contribution to the log-odds (sector comparisons of the feature included).
    text : str
        The plain-language reason an officer reads.
    """

    feature: str
    contribution: float
    text: str


@dataclass(frozen=True)
class ScoreResult:
    """The score of one business.

    Attributes
    ----------
    company_number : str
    risk_score : float
        Calibrated probability that the business is confirmed within the model's horizon (advisory).
    risk_band : str
    log_odds : float
        The model's raw output; ranking order.
    reasons : tuple of Reason
        Up to five, strongest first (empty when not explained).
    model_version : str
    as_of : str
        Date the features describe.
    """

    company_number: str
    risk_score: float
    risk_band: str
    log_odds: float
    reasons: tuple[Reason, ...]
    model_version: str
    as_of: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {"company_number": self.company_number, "risk_score": self.risk_score, "risk_band": self.risk_band,
                "log_odds": self.log_odds, "model_version": self.model_version, "as_of": self.as_of,
                "reasons": [{"feature": r.feature, "contribution": r.contribution, "text": r.text}
                            for r in self.reasons]}


def _base(name: str) -> str:
    for suffix in (RATIO_SUFFIX, PERCENTILE_SUFFIX):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


class Scorer:
    """Scores feature frames with one verified model (the single scoring core).

    Parameters
    ----------
    bundle : ModelBundle
        A loaded model.
    version : str
        Model version reported with every score (registry version or folder name).

    Raises
    ------
    RiskmodelError
        If the feature definitions changed since the model was trained (catalogue version mismatch).
    """

    def __init__(self, bundle: ModelBundle, version: str = "unknown") -> None:
        self.bundle = bundle
        self.version = version
        names = bundle.feature_names
        trained = bundle.metadata.get("catalogue_version")
        current = features.catalogue_version(names)
        if trained and trained != current:
            raise RiskmodelError("the feature definitions changed since this model was trained (catalogue "
                                 f"{current}, model trained on {trained}); retrain before scoring",
                                 trained=trained, current=current)
        self.names = names
        model_features = bundle.model_features
        position = {n: i for i, n in enumerate(names)}
        # Sum the contributions of a feature and of its fitted sector comparisons into one reason.
        self._columns = np.array([position[_base(f)] for f in model_features])
        reference = bundle.metadata.get("reference") or {}
        self.peer_group = str(reference.get("group", "businesses"))
        self._grids = {n: QuantileGrid(*(np.asarray(p, dtype="float64") for p in g))
                       for n, g in reference.get("grids", {}).items()}
        self._specs = [features.CATALOGUE[n] for n in names]

    @property
    def expected_log_odds(self) -> float:
        """The model's expected log-odds (the SHAP base value, the same for every business)."""
        empty = np.full((1, len(self.bundle.model_features)), np.nan)
        return float(np.asarray(self.bundle.booster.predict(empty, pred_contrib=True))[0, -1])

    def _reasons(self, phi: np.ndarray, values: np.ndarray, as_of: str, k: int) -> tuple[
            np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Reasons of a block: (row, slot, feature index, contribution, text) of every positive top-k entry."""
        top = _top_k(phi, k)
        top_phi = np.take_along_axis(phi, top, axis=1)
        top_values = np.take_along_axis(values, top, axis=1)
        r_idx, c_idx = np.nonzero(top_phi > 0)  # only what raised the risk is a reason
        chosen = top[r_idx, c_idx]
        chosen_values = top_values[r_idx, c_idx]
        shares = np.full(len(chosen), np.nan)
        texts = np.empty(len(chosen), dtype=object)
        for j in np.unique(chosen):
            hit = chosen == j
            grid = self._grids.get(self.names[j])
            if grid is not None:
                shares[hit] = share_below(grid, chosen_values[hit])
            texts[hit] = self._specs[j].render_many(chosen_values[hit].tolist(), as_of, shares[hit].tolist(),
                                                    self.peer_group)
        return r_idx, c_idx, chosen, top_phi[r_idx, c_idx], texts

    def _fold(self, raw: np.ndarray) -> np.ndarray:
        if len(self._columns) == len(self.names) and (self._columns == np.arange(len(self.names))).all():
            return raw  # no sector comparisons: model features are the catalogue features
        out = np.zeros((raw.shape[0], len(self.names)))
        np.add.at(out.T, self._columns, raw.T)
        return out

    def score_frame(self, X: pd.DataFrame, as_of: str, *, explain: str = "all", max_reasons: int = MAX_REASONS,
                    names: pd.Series | None = None) -> pd.DataFrame:
        """Score every row of a feature frame.

        Parameters
        ----------
        X : DataFrame
            Features indexed by ``company_number``.
        as_of : str
            Date the features describe (ISO).
        explain : {"all", "flagged", "none"}
            Reasons for every business, only for businesses above the lowest band, or none.
        max_reasons : int
            Reasons per business (at most 5 are reported by the adapters).
        names : Series, optional
            Company names by ``company_number``.

        Returns
        -------
        DataFrame
            ``company_number``, ``company_name``, ``risk_score``, ``risk_band``, ``log_odds``, then for
            ``i`` in 1..max_reasons ``reason_i_feature``, ``reason_i_contribution``, ``reason_i_text``, then
            ``model_version`` and ``as_of``. Row order follows ``X``.
        """
        if explain not in EXPLAIN_MODES:
            raise RiskmodelError(f"explain must be one of {', '.join(EXPLAIN_MODES)}, got {explain!r}",
                                 field="explain", value=explain)
        n = len(X)
        Xt = self.bundle.transform(X)
        k = max(0, min(int(max_reasons), len(self.names)))
        values = X[self.names].to_numpy(dtype="float64", na_value=np.nan)
        feat = np.full((n, k), None, dtype=object)
        contrib = np.full((n, k), np.nan)
        text = np.full((n, k), None, dtype=object)

        def explain_rows(rows: np.ndarray, raw: np.ndarray) -> None:
            r_idx, c_idx, chosen, phi_top, texts = self._reasons(self._fold(raw[:, :-1]), values[rows], as_of, k)
            feat[rows[r_idx], c_idx] = np.asarray(self.names, dtype=object)[chosen]
            contrib[rows[r_idx], c_idx] = phi_top
            text[rows[r_idx], c_idx] = texts

        def contributions(rows: np.ndarray) -> np.ndarray:
            return np.asarray(self.bundle.booster.predict(Xt.iloc[rows], pred_contrib=True, **_threads(len(rows))))

        if explain == "all" and n and k:
            # One pass of pred_contrib gives both the reasons and the log-odds (their row sums). Blocks overlap:
            # LightGBM (which releases the GIL) computes the next block while this thread writes the reasons.
            log_odds = np.empty(n)
            blocks = [np.arange(i, min(i + _BLOCK, n)) for i in range(0, n, _BLOCK)]
            if len(blocks) == 1:  # nothing to overlap (one business from score_record): no thread to start
                raw = contributions(blocks[0])
                log_odds[:] = raw.sum(axis=1)
                explain_rows(blocks[0], raw)
            else:
                with ThreadPoolExecutor(max_workers=1) as pool:
                    pending = pool.submit(contributions, blocks[0])
                    for i, rows in enumerate(blocks):
                        raw = pending.result()
                        if i + 1 < len(blocks):
                            pending = pool.submit(contributions, blocks[i + 1])
                        log_odds[rows] = raw.sum(axis=1)
                        explain_rows(rows, raw)
        elif n:
            log_odds = np.asarray(self.bundle.booster.predict(Xt, raw_score=True, **_threads(n)), dtype="float64")
        else:
            log_odds = np.empty(0)  # no business to score (LightGBM refuses an empty frame)
        band = self.bundle.band(log_odds)
        if explain == "flagged" and k:
            rows = np.flatnonzero(band != self.bundle.bands[-1][0])
            if len(rows):
                explain_rows(rows, contributions(rows))
        columns: dict[str, Any] = {
            "company_number": X.index.astype(str),
            "company_name": (names.reindex(X.index).astype("object").to_numpy() if names is not None
                             else np.full(n, None, dtype=object)),
            "risk_score": self.bundle.calibrate(log_odds),
            "risk_band": band.astype(str),
            "log_odds": log_odds,
        }
        for c in range(k):
            columns[f"reason_{c + 1}_feature"] = feat[:, c]
            columns[f"reason_{c + 1}_contribution"] = contrib[:, c]
            columns[f"reason_{c + 1}_text"] = text[:, c]
        columns["model_version"] = np.full(n, self.version, dtype=object)
        columns["as_of"] = np.full(n, as_of, dtype=object)
        return pd.DataFrame(columns)  # one constructor: inserting columns one by one costs more on small frames


def company_names(dataset: Dataset) -> pd.Series:
    """Return the registered name of each business, by ``company_number``."""
    return dataset["companies"].drop_duplicates("company_number").set_index("company_number")["company_name"]


def _top_k(phi: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` largest values, largest first."""
    if k < phi.shape[1]:  # select the k largest, then order only those
        part = np.argpartition(-phi, k - 1, axis=1)[:, :k]
        return np.take_along_axis(part, np.argsort(-np.take_along_axis(phi, part, axis=1), axis=1, kind="stable"),
                                  axis=1)
    return np.argsort(-phi, axis=1, kind="stable")


def result_from_row(row: pd.Series, max_reasons: int = MAX_REASONS) -> ScoreResult:
    """Return a typed :class:`ScoreResult` from one row of :meth:`Scorer.score_frame`."""
    reasons = []
    for c in range(1, max_reasons + 1):
        name = row.get(f"reason_{c}_feature")
        if name is None or (isinstance(name, float) and math.isnan(name)):
            break
        reasons.append(Reason(str(name), float(row[f"reason_{c}_contribution"]), str(row[f"reason_{c}_text"])))
    return ScoreResult(str(row["company_number"]), float(row["risk_score"]), str(row["risk_band"]),
                       float(row["log_odds"]), tuple(reasons), str(row["model_version"]), str(row["as_of"]))
