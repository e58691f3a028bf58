"""The final LightGBM fit on a Dask cluster, as an alternative to :func:`riskmodel.training.model.fit_pipeline`.

Training picks the number of trees with early stopping on a probe fit, then refits the pipeline on every training
row. On a cluster that refit uses ``lightgbm.dask.DaskLGBMClassifier`` (LightGBM's data-parallel learner over
sockets between Dask workers) and returns an ordinary, locally usable pipeline: the distributed classifier is
converted with ``to_local()`` and stripped of its cluster settings.

- :func:`fit_rows_dask` fits on rows already held by the workers (:class:`RowPiece`), transformed there by
  transformers the caller fitted; ``riskmodel train --engine dask`` uses it (:mod:`riskmodel.training.cluster`).
- :func:`fit_pipeline_dask` fits on a frame held by this process: the transformers are fitted here with pandas
  exactly as locally, and the rows are sent to the workers.

Dask, distributed and ``lightgbm.dask`` are imported inside the function, so importing this module never needs
them (``pip install riskmodel[dask]``).
"""

from __future__ import annotations

import itertools
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from riskmodel.errors import RiskmodelError

if TYPE_CHECKING:
    import distributed

__all__ = ["DistributedTrainingError", "RowPiece", "fit_pipeline_dask", "fit_rows_dask"]

log = logging.getLogger(__name__)

# LightGBM parameter aliases (lightgbm.basic._ConfigAliases) that lightgbm.dask rejects, ignores or overrides.
_EARLY_STOPPING = frozenset({"early_stopping_round", "early_stopping_rounds", "early_stopping", "n_iter_no_change"})
_IGNORED = frozenset({"num_threads", "num_thread", "nthread", "nthreads", "num_machines", "num_machine"})
_TREE_LEARNER = ("tree_learner", "tree_learner_type", "tree", "tree_type")
_PARALLEL_LEARNERS = frozenset({"data", "data_parallel", "feature", "feature_parallel", "voting", "voting_parallel"})
# lightgbm.dask always warns about n_jobs: the classifier's get_params() carries it and each worker uses its threads.
_IGNORED_WARNING = r"Parameter (n_jobs|num_threads?|nthreads?|num_machines?) will be ignored"
_LABEL, _WEIGHT = "label", "weight"


class DistributedTrainingError(RiskmodelError):
    """The pipeline cannot be fitted on the Dask cluster: unusable data layout, or workers that fail or cannot talk.

    Evidence fields always include ``workers`` (addresses of the cluster's workers), ``rows`` and ``partitions``;
    class problems add ``positives`` and ``negatives`` (and ``partition_rows``/``partition_positives`` for a
    partition without both classes); failures on the cluster add ``cause`` (the original exception's type and text,
    also chained as ``__cause__``).
    """


def fit_pipeline_dask(client: distributed.Client, pipeline: Pipeline, X: pd.DataFrame, y: np.ndarray,
                      weight: np.ndarray | None = None, *, categorical: Sequence[str] = (),
                      partitions: int | None = None) -> Pipeline:
    """Fit the transformers locally, then LightGBM on the Dask cluster of ``client``; return a local pipeline.

    The transformers (every step but the last) are fitted on the client with pandas, as
    :func:`~riskmodel.training.model.fit_pipeline` does: their state (sector quantile grids) is small. The
    transformed rows are cut into ``partitions`` row-contiguous pieces; piece ``i`` (its features, labels and
    weights, with identical divisions) is placed on worker ``i`` modulo the number of workers, sorted by address,
    and persisted there. ``lightgbm.dask.DaskLGBMClassifier`` with the last step's parameters then trains one model
    over all pieces, and its ``to_local()`` classifier, with the last step's parameters restored, replaces the last
    step.

    Parameters
    ----------
    client : distributed.Client
        Client of the cluster to train on.
    pipeline : Pipeline
        Unfitted pipeline from :func:`~riskmodel.training.model.make_pipeline`; its last step is an
        ``lgb.LGBMClassifier`` whose ``n_estimators`` is the number of trees to grow (no early stopping here).
    X : DataFrame
        Training rows. The index is not sent to the cluster.
    y : ndarray
        Binary labels, one per row of ``X``.
    weight : ndarray, optional
        Sample weights, one per row of ``X``.
    categorical : sequence of str
        Columns LightGBM treats as categorical; names absent from the transformed frame are skipped.
    partitions : int, optional
        Number of row-contiguous pieces. Default: the number of workers (at least 1). With fewer pieces than
        workers only ``partitions`` workers train; with more, a worker concatenates its pieces (a copy).

    Returns
    -------
    Pipeline
        ``pipeline``, fitted; its last step is a local ``lgb.LGBMClassifier`` with ``booster_``, the same
        parameters as before and ``n_estimators`` trees (binary labels).

    Raises
    ------
    DistributedTrainingError
        If there are fewer rows than partitions, ``y`` lacks a class, a partition lacks a class, the cluster has
        no workers, a worker holds no piece it was given, or the cluster fails (workers that cannot bind or reach
        LightGBM's ports, socket errors, killed or lost workers, cancelled tasks, time-outs).
    ValueError
        If ``y`` or ``weight`` does not have one value per row, or ``partitions`` is below 1.

    Notes
    -----
    Limits of ``lightgbm.dask`` (LightGBM 4.x) and how they are handled:

    * No early stopping: early-stopping parameters are dropped; the caller chooses ``n_estimators`` locally.
    * ``num_threads``/``n_jobs`` and ``num_machines`` are ignored and overridden (each worker uses its own
      threads); ``n_jobs`` is set to the fewest threads of any worker and the "will be ignored" warning silenced.
    * ``tree_learner`` must be data, feature or voting parallel; anything else becomes ``"data"``.
    * Ports: by default every worker opens a random free port. A ``local_listen_port`` in the parameters fails
      when a host runs several workers; ports take time to be released, so a reused port may fail to bind.
      Either failure raises :class:`DistributedTrainingError`; retry, or pass ``machines``.
    * A worker without data takes no part in training; every piece is placed on a named worker and checked.
    * Each worker label-encodes its own rows, so a piece with only one class silently trains on wrong labels
      (observed with LightGBM 4.7); every piece is therefore required to contain both classes.
    * In data-parallel training each feature's histogram bins (categories included) are found from one worker's
      rows: the rows should be in random order, and the model is close to, not identical with, a local fit.
      Which worker gets which rank can change between runs, so ``deterministic`` no longer guarantees an
      identical model file.
    * The booster records the cluster (``num_machines``, ``machines``, ports); its parameters section is reset
      to a local fit's, so the model file holds no worker addresses and ``refit`` does not reopen the network.
    * A worker that dies mid-training leaves the others waiting on their sockets for ``time_out`` minutes
      (default 120; settable as a parameter of the last step). Concurrent fits on one cluster may hang.
    * The transformed frame must hold numeric or pandas categorical columns (as locally).
    """
    y = np.asarray(y)
    rows = len(X)
    if len(y) != rows or (weight is not None and len(weight) != rows):
        raise ValueError(f"y and weight need one value per row of X ({rows}), got {len(y)} and "
                         f"{None if weight is None else len(weight)}")
    if partitions is not None and partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    workers = _workers(client, rows)
    n_parts = partitions if partitions is not None else max(len(workers), 1)
    evidence: dict[str, Any] = {"workers": workers, "rows": rows, "partitions": n_parts}
    if not workers:
        raise DistributedTrainingError("the Dask cluster has no workers; start workers or wait for them to "
                                       "connect, then retry", **evidence)
    if rows < n_parts:
        raise DistributedTrainingError(
            f"{rows} training rows cannot be split into {n_parts} partitions (one per worker by default); "
            "pass fewer partitions or fit locally with fit_pipeline", **evidence)
    classes = np.unique(y)
    positives = int(np.count_nonzero(y))
    evidence.update(positives=positives, negatives=rows - positives)
    if len(classes) < 2:
        raise DistributedTrainingError(
            f"the training labels hold a single class ({positives} positives, {rows - positives} negatives); "
            "a classifier needs both", **evidence)
    bounds = np.linspace(0, rows, n_parts + 1).round().astype(int)
    missing = [i for i in range(n_parts) if len(np.unique(y[bounds[i]:bounds[i + 1]])) < len(classes)]
    if missing:
        raise DistributedTrainingError(
            f"partition(s) {missing} of {n_parts} lack a class; LightGBM's Dask learner label-encodes each "
            "worker's rows on their own, so that would train on wrong labels. Shuffle the rows or use fewer "
            "partitions", **evidence, partition_rows=np.diff(bounds).tolist(),
            partition_positives=[int(np.count_nonzero(y[a:b])) for a, b in itertools.pairwise(bounds)])

    pre = pipeline[:-1]
    Xt = pre.fit_transform(X) if len(pre.steps) else X
    local = pipeline.steps[-1][1]
    original: dict[str, Any] = local.get_params()
    params = _dask_params(original, client)
    cats: list[str] | str = [c for c in categorical if c in Xt.columns] or "auto"

    from distributed import CancelledError, KilledWorker
    from lightgbm.basic import LightGBMError

    try:
        fitted = _fit_on_cluster(client, Xt, y, weight, bounds, workers, params, cats, evidence)
    except (LightGBMError, OSError, KilledWorker, CancelledError) as err:  # OSError covers sockets and time-outs
        raise _failed(err, evidence, " (no fixed local_listen_port with several workers per host), then retry; "
                      "fit_pipeline fits the same pipeline locally") from err
    return _as_local(pipeline, fitted, original)


def _failed(err: BaseException, evidence: Mapping[str, Any], advice: str) -> DistributedTrainingError:
    """Describe a failure of the cluster during a fit, with the fit's evidence and the original error."""
    return DistributedTrainingError(
        f"distributed LightGBM training on {len(evidence['workers'])} worker(s) failed: {type(err).__name__}: "
        f"{err}. Check that the workers are alive, have memory for their rows and can open and reach each other's "
        f"ports{advice}", **evidence, cause=f"{type(err).__name__}: {err}")


def _as_local(pipeline: Pipeline, fitted: lgb.LGBMClassifier, original: Mapping[str, Any]) -> Pipeline:
    """Make ``fitted`` (a ``to_local()`` classifier) the last step of ``pipeline``, with no cluster settings."""
    _restore_params(fitted, original)
    fitted._Booster = _local_booster(fitted.booster_, original)
    pipeline.steps[-1] = (pipeline.steps[-1][0], fitted)
    return pipeline


def _workers(client: distributed.Client, rows: int) -> list[str]:
    """Addresses of the cluster's workers, sorted; a scheduler that cannot be reached raises the module's error."""
    try:
        return sorted(str(w) for w in client.scheduler_info()["workers"])
    except OSError as err:
        raise DistributedTrainingError(f"the Dask scheduler cannot be reached: {err}; check the client's address "
                                       "and that the cluster is running", workers=[], rows=rows,
                                       cause=f"{type(err).__name__}: {err}") from err


def _dask_params(params: Mapping[str, Any], client: distributed.Client) -> dict[str, Any]:
    """Adapt the local classifier's parameters to ``DaskLGBMClassifier`` (see the limits in the docstring)."""
    out = {k: v for k, v in params.items() if k not in _EARLY_STOPPING and k not in _IGNORED}
    dropped = sorted(k for k in params if k in _EARLY_STOPPING and params[k] is not None)
    if dropped:
        log.info("early stopping is not supported by lightgbm.dask; ignoring %s", dropped)
    learner = next((out.pop(k) for k in _TREE_LEARNER if k in out), "data")
    for k in _TREE_LEARNER:
        out.pop(k, None)
    out["tree_learner"] = learner if learner in _PARALLEL_LEARNERS else "data"
    threads = [int(n) for n in client.nthreads().values() if n]
    out["n_jobs"] = min(threads) if threads else 1
    return out


def _to_cluster(client: distributed.Client, Xt: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None,
                bounds: np.ndarray, workers: Sequence[str]) -> tuple[list[Any], list[list[Any]]]:
    """Put piece ``i`` of the rows on worker ``i % len(workers)``, persisted there; dask X, y (and weight).

    Features, labels and weights of a piece are scattered to one worker and persisted there with a strict worker
    restriction, so the scheduler's work stealing cannot move them. Every collection gets the same divisions
    (positions in a fresh ``RangeIndex``), so the partitions of X, y and weight align row for row.

    Returns
    -------
    (collections, pieces)
        The dask collections for X, y (and weight), and per kind the persisted one-partition collections.
    """
    import dask.dataframe as dd
    from distributed import wait

    whole: list[pd.DataFrame | pd.Series] = [Xt.reset_index(drop=True), pd.Series(y, name=_LABEL)]
    if weight is not None:
        whole.append(pd.Series(np.asarray(weight, dtype="float64"), name=_WEIGHT))
    pieces: list[list[Any]] = [[] for _ in whole]
    for i, (a, b) in enumerate(itertools.pairwise(bounds.tolist())):
        worker = workers[i % len(workers)]
        # Scatter fails fast when the worker is gone; persisted data whose worker dies is lost, not waited for.
        futures = client.scatter([data.iloc[a:b] for data in whole], workers=[worker], hash=False)
        one = [dd.from_delayed([f], meta=data.iloc[:0], divisions=(a, b - 1))
               for f, data in zip(futures, whole, strict=True)]
        held = client.persist(one, workers=[worker], allow_other_workers=False)
        # Held before the next piece is built: see riskmodel.engine.persisted (a deadlock before Python 3.12).
        wait(held)
        for j, persisted in enumerate(held):
            pieces[j].append(persisted)
    divisions = (*bounds[:-1].tolist(), int(bounds[-1]) - 1)
    collections = [dd.from_delayed([p.to_delayed()[0] for p in kind], meta=data.iloc[:0], divisions=divisions,
                                   verify_meta=False) for kind, data in zip(pieces, whole, strict=True)]
    return collections, pieces


def _check_placement(client: distributed.Client, pieces: Sequence[Sequence[Any]], workers: Sequence[str],
                     evidence: Mapping[str, Any]) -> None:
    """Raise when a piece is not held by the worker it was put on (a lost or restarted worker)."""
    from distributed import futures_of

    misplaced = []
    for i, parts in enumerate(zip(*pieces, strict=True)):
        worker = workers[i % len(workers)]
        held = client.who_has([f for part in parts for f in futures_of(part)])
        if any(set(map(str, holders)) != {worker} for holders in held.values()):
            misplaced.append(i)
    if misplaced:
        raise DistributedTrainingError(
            f"partition(s) {misplaced} of the training rows are not on their workers (lost or restarted "
            "workers); check that the workers are alive and have memory, then retry", **evidence,
            misplaced=misplaced)


def _fit_on_cluster(client: distributed.Client, Xt: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None,
                    bounds: np.ndarray, workers: Sequence[str], params: Mapping[str, Any], cats: list[str] | str,
                    evidence: Mapping[str, Any]) -> lgb.LGBMClassifier:
    """Put the rows on the cluster, train ``DaskLGBMClassifier`` and return its local classifier."""
    collections, pieces = _to_cluster(client, Xt, y, weight, bounds, workers)
    _check_placement(client, pieces, workers, evidence)
    return _train(client, collections, params, cats, min(len(workers), len(bounds) - 1), len(Xt))


def _train(client: distributed.Client, collections: Sequence[Any], params: Mapping[str, Any],
           cats: list[str] | str, n_workers: int, rows: int) -> lgb.LGBMClassifier:
    """Train ``DaskLGBMClassifier`` on the aligned dask X, y (and weight); return its local classifier."""
    from lightgbm.dask import DaskLGBMClassifier

    dX, dy = collections[0], collections[1]
    dw = collections[2] if len(collections) > 2 else None
    model = DaskLGBMClassifier(client=client, **params)
    log.info("training LightGBM on %d worker(s): %d rows in %d partitions", n_workers, rows, dX.npartitions)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_IGNORED_WARNING, category=UserWarning)
        model.fit(dX, dy, sample_weight=dw, categorical_feature=cats)
    local: lgb.LGBMClassifier = model.to_local()
    return local


@dataclass(frozen=True)
class RowPiece:
    """Training rows that are already on the cluster: rows ``positions`` of the frame held by ``part``.

    Attributes
    ----------
    part : distributed.Future
        A pandas feature frame held by a worker.
    positions : ndarray of int
        Row positions in that frame, in training order (a row may appear twice: a positive-unlabelled copy).
    y : ndarray
        Binary label of each row.
    weight : ndarray
        Sample weight of each row.
    """

    part: Any
    positions: np.ndarray
    y: np.ndarray
    weight: np.ndarray


def _piece_rows(part: pd.DataFrame, positions: np.ndarray, transformers: Any, start: int) -> pd.DataFrame:
    """Return one piece's transformed rows, indexed by their positions in the whole training set."""
    rows = part.iloc[positions]
    Xt = transformers.transform(rows) if transformers is not None else rows
    return Xt.set_axis(pd.RangeIndex(start, start + len(rows)))


def _split_pieces(pieces: Sequence[RowPiece], n: int) -> list[RowPiece]:
    """Cut the largest pieces in two until there are at least ``n`` (every worker then gets rows)."""
    out = [p for p in pieces if len(p.positions)]
    while 0 < len(out) < n and max(len(p.positions) for p in out) > 1:
        i = max(range(len(out)), key=lambda j: len(out[j].positions))
        p = out.pop(i)
        h = len(p.positions) // 2
        out[i:i] = [RowPiece(p.part, p.positions[:h], p.y[:h], p.weight[:h]),
                    RowPiece(p.part, p.positions[h:], p.y[h:], p.weight[h:])]
    return out


def fit_rows_dask(client: distributed.Client, pipeline: Pipeline, pieces: Sequence[RowPiece], *,
                  categorical: Sequence[str] = ()) -> Pipeline:
    """Fit the last step of ``pipeline`` with LightGBM on the cluster, on rows that never leave it.

    The transformers (every step but the last) must already be fitted (on a sample, by the caller). Piece ``i``
    is transformed on worker ``i`` modulo the number of workers, sorted by address, and kept there with its labels
    and weights; ``lightgbm.dask.DaskLGBMClassifier`` then trains one model over all pieces, converted as in
    :func:`fit_pipeline_dask` (whose notes on the limits of ``lightgbm.dask`` apply).

    Parameters
    ----------
    client : distributed.Client
        Client of the cluster holding the pieces' frames.
    pipeline : Pipeline
        Fitted transformers followed by an unfitted ``lgb.LGBMClassifier`` with the number of trees to grow.
    pieces : sequence of RowPiece
        The training rows, in order (empty pieces are skipped; pieces are halved until every worker has one).
    categorical : sequence of str
        Columns LightGBM treats as categorical.

    Returns
    -------
    Pipeline
        ``pipeline`` with its last step fitted (a local classifier).

    Raises
    ------
    DistributedTrainingError
        If the labels lack a class, a worker's rows lack a class, the cluster has no workers, or the cluster fails.
    """
    import dask.dataframe as dd
    from distributed import CancelledError, KilledWorker, wait
    from lightgbm.basic import LightGBMError

    y_all = np.concatenate([p.y for p in pieces]) if pieces else np.zeros(0, dtype=np.int8)
    rows = len(y_all)
    workers = _workers(client, rows)
    pieces = _split_pieces(pieces, len(workers))
    positives = int(np.count_nonzero(y_all))
    evidence: dict[str, Any] = {"workers": workers, "rows": rows, "partitions": len(pieces), "positives": positives,
                                "negatives": rows - positives}
    if not workers:
        raise DistributedTrainingError("the Dask cluster has no workers; start workers or wait for them to "
                                       "connect, then retry", **evidence)
    if len(np.unique(y_all)) < 2:
        raise DistributedTrainingError(
            f"the training labels hold a single class ({positives} positives, {rows - positives} negatives); "
            "a classifier needs both", **evidence)
    held = [np.concatenate([p.y for p in pieces[i::len(workers)]]) for i in range(min(len(workers), len(pieces)))]
    missing = [workers[i] for i, y in enumerate(held) if len(np.unique(y)) < 2]
    if missing:
        raise DistributedTrainingError(
            f"the rows given to worker(s) {missing} lack a class; LightGBM's Dask learner label-encodes each "
            "worker's rows on their own, so that would train on wrong labels. Use fewer workers or more rows",
            **evidence, worker_rows=[len(y) for y in held], worker_positives=[int(np.count_nonzero(y)) for y in held])
    pre = pipeline[:-1]
    transformers = pre if len(pre.steps) else None
    local = pipeline.steps[-1][1]
    original: dict[str, Any] = local.get_params()
    params = _dask_params(original, client)
    starts = np.cumsum([0, *[len(p.positions) for p in pieces]])
    try:
        kinds: list[list[Any]] = [[], [], []]
        metas: list[Any] = []
        for i, piece in enumerate(pieces):
            worker, a, b = workers[i % len(workers)], int(starts[i]), int(starts[i + 1])
            index = pd.RangeIndex(a, b)
            xt = client.submit(_piece_rows, piece.part, piece.positions, transformers, a, workers=[worker],
                               allow_other_workers=False, pure=False)
            labels = client.scatter([pd.Series(piece.y, index=index, name=_LABEL),
                                     pd.Series(np.asarray(piece.weight, dtype="float64"), index=index, name=_WEIGHT)],
                                    workers=[worker], hash=False)
            for kind, future in zip(kinds, [xt, *labels], strict=True):
                kind.append(future)
        wait([f for kind in kinds for f in kind])
        _check_placement(client, kinds, workers, evidence)
        metas = [kinds[0][0].result().iloc[:0], pd.Series([], dtype="int8", name=_LABEL),
                 pd.Series([], dtype="float64", name=_WEIGHT)]
        divisions = (*starts[:-1].tolist(), int(starts[-1]) - 1)
        collections = [dd.from_delayed(kind, meta=meta, divisions=divisions, verify_meta=False)
                       for kind, meta in zip(kinds, metas, strict=True)]
        cats: list[str] | str = [c for c in categorical if c in metas[0].columns] or "auto"
        fitted = _train(client, collections, params, cats, min(len(workers), len(pieces)), rows)
    except (LightGBMError, OSError, KilledWorker, CancelledError) as err:
        raise _failed(err, evidence, ", then retry") from err
    return _as_local(pipeline, fitted, original)


def _restore_params(model: lgb.LGBMClassifier, params: Mapping[str, Any]) -> None:
    """Give a ``to_local()`` classifier exactly ``params``: drop cluster settings (threads, tree learner, ports)."""
    extra = set(model.get_params()) - set(params)
    for key in extra:
        model._other_params.pop(key, None)
        model.__dict__.pop(key, None)
    model.set_params(**params)


def _local_booster(booster: lgb.Booster, params: Mapping[str, Any]) -> lgb.Booster:
    """Reload ``booster`` with the parameters section of a local fit: no worker addresses, ports or machine count.

    The distributed booster records ``num_machines``, ``machines`` and ``local_listen_port``; a booster loaded from
    such a model file (or string) would set up the network again in ``refit`` or continued training, and the file
    would differ between runs by its ports. ``Booster.reset_parameter`` is no way out: it crashes the process.
    """
    learner = next((str(params[k]) for k in _TREE_LEARNER if k in params), "serial")
    n_jobs = params.get("n_jobs")
    local = {"num_machines": "1", "machines": "", "local_listen_port": "12400", "tree_learner": learner,
             "num_threads": str(n_jobs) if isinstance(n_jobs, int) and n_jobs > 0 else "0"}
    text = booster.model_to_string(num_iteration=-1)
    head, sep, tail = text.partition("\nend of parameters")
    for key, value in local.items():
        head = re.sub(rf"^\[{key}: .*\]$", f"[{key}: {value}]", head, count=1, flags=re.MULTILINE)
    return lgb.Booster(model_str=head + sep + tail)
