"""Point-in-time labels and the honest split: train on what was known, validate on what was learnt later.

Labels are positive-unlabelled: a business with no label row is unknown, not clean. As of a training date a
business is ``positive`` (a positive label recorded on or before it), ``negative`` (investigated and found clean,
no positive) or ``unlabelled``. Validation mirrors use: the model ranks businesses unlabelled at the training
date, and the positives are those labelled in the window after it.

Linked businesses share officers and owners; a model that saw one of them in training would find the other easy
in validation. So businesses are grouped into network components (shared ``officer_id`` or ``owner_id``, or a
corporate owner that is itself a business) and a component never straddles two sides of a split (Kapoor &
Narayanan, "Leakage and the reproducibility crisis in machine-learning-based science", Patterns 2023).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from riskmodel.contract import Dataset

__all__ = ["NEGATIVE", "POSITIVE", "UNLABELLED", "Split", "label_status", "network_components", "new_positives",
           "split_components"]

POSITIVE, NEGATIVE, UNLABELLED = 1, 0, -1


def label_status(dataset: Dataset, index: pd.Index, as_of: dt.date) -> pd.Series:
    """Label of each business as known at the end of ``as_of``.

    Parameters
    ----------
    dataset : Dataset
        Holds the ``labels`` table (an absent table leaves every business unlabelled).
    index : Index
        Businesses (``company_number``).
    as_of : date
        Only labels recorded on or before it count.

    Returns
    -------
    Series of int8
        :data:`POSITIVE` (any positive label), :data:`NEGATIVE` (only clean outcomes) or :data:`UNLABELLED`.
    """
    status = pd.Series(np.int8(UNLABELLED), index=index, name="label_status")
    if "labels" not in dataset:
        return status
    labels = dataset["labels"]
    known = labels[labels["labelled_on"] <= pd.Timestamp(as_of)]
    best = known.groupby("company_number")["label"].max()  # a positive outranks a clean finding
    best = best[best.index.isin(index)]
    status.loc[best.index] = best.astype("int8").to_numpy()
    return status


def new_positives(dataset: Dataset, index: pd.Index, start: dt.date, end: dt.date) -> pd.Series:
    """Whether each business got its first positive label in the window ``(start, end]``.

    Returns
    -------
    Series of int8
        1 for a business labelled positive in the window and not before it, else 0.
    """
    out = pd.Series(np.int8(0), index=index, name="new_positive")
    if "labels" not in dataset:
        return out
    labels = dataset["labels"]
    positive = labels[labels["label"] == 1]
    first = positive.groupby("company_number")["labelled_on"].min()
    hit = first[(first > pd.Timestamp(start)) & (first <= pd.Timestamp(end))].index
    out.loc[out.index.isin(hit)] = 1
    return out


def network_components(dataset: Dataset, index: pd.Index, as_of: dt.date, max_link_degree: int = 50) -> pd.Series:
    """Network component of each business: linked by officers, owners and corporate ownership known at ``as_of``.

    Parameters
    ----------
    dataset : Dataset
        Holds ``officers`` and ``ownership`` (either may be absent).
    index : Index
        Businesses to group.
    as_of : date
        Only appointments and ownership notified on or before it link businesses.
    max_link_degree : int
        A person or entity linked to more businesses than this does not join them (formation agents and nominee
        services would chain unrelated businesses into one giant component).

    Returns
    -------
    Series of int64
        Component id per business (ids are positions of the component's first business in ``index``).
    """
    t = pd.Timestamp(as_of)
    pairs: list[pd.DataFrame] = []
    if "officers" in dataset:
        off = dataset["officers"]
        off = off[off["appointed_on"] <= t]
        pairs.append(pd.DataFrame({"business": off["company_number"], "entity": "o:" + off["officer_id"]}))
    if "ownership" in dataset:
        own = dataset["ownership"]
        own = own[(own["notified_on"] <= t) & (own["owner_kind"] != "unknown")]
        pairs.append(pd.DataFrame({"business": own["company_number"], "entity": "p:" + own["owner_id"]}))
        # A corporate owner that is itself a business in the data links to that business directly.
        owner_is_business = own[own["owner_id"].isin(index)]
        pairs.append(pd.DataFrame({"business": owner_is_business["company_number"],
                                   "entity": "b:" + owner_is_business["owner_id"]}))
    # Every business links to itself, so that it has a component even without officers or owners.
    pairs.append(pd.DataFrame({"business": index.to_numpy(), "entity": "b:" + index.astype(str).to_numpy()}))
    links = pd.concat(pairs, ignore_index=True).drop_duplicates()
    links = links[links["business"].isin(index)]
    degree = links.groupby("entity")["business"].transform("size")
    # A holding company owning more than max_link_degree businesses chains them no more than an agent would (its
    # degree counts its own self-link, hence the +1); every self-link stays.
    is_self = links["entity"].to_numpy() == ("b:" + links["business"].astype(str)).to_numpy()
    limit = np.where(links["entity"].str.startswith("b:").to_numpy(), max_link_degree + 1, max_link_degree)
    links = links[is_self | (degree.to_numpy() <= limit)]
    business_pos = pd.Series(np.arange(len(index)), index=index)
    b = business_pos.reindex(links["business"]).to_numpy()
    e_codes, _ = pd.factorize(links["entity"])
    n_b, n_e = len(index), int(e_codes.max()) + 1 if len(e_codes) else 0
    graph = coo_matrix((np.ones(len(b), dtype=np.int8), (b, n_b + e_codes)), shape=(n_b + n_e, n_b + n_e))
    _, labels = connected_components(graph, directed=False)
    component = labels[:n_b]
    # Stable ids: the position of each component's first business, independent of entity numbering.
    first = pd.Series(np.arange(n_b)).groupby(component).transform("min").to_numpy()
    return pd.Series(first.astype("int64"), index=index, name="component")


@dataclass(frozen=True)
class Split:
    """Sides of the honest split, as boolean masks over the businesses at the training date.

    Attributes
    ----------
    train : ndarray of bool
        Training rows: every component holding a label known at the training date, and the remaining unlabelled
        components not drawn for tuning or evaluation.
    tuning : ndarray of bool
        Unlabelled at the training date; early stopping, calibration and band thresholds.
    evaluation : ndarray of bool
        Unlabelled at the training date; reported metrics only.
    """

    train: npt.NDArray[np.bool_]
    tuning: npt.NDArray[np.bool_]
    evaluation: npt.NDArray[np.bool_]


def split_components(components: pd.Series, status: pd.Series, tuning_share: float, evaluation_share: float,
                     seed: int) -> Split:
    """Draw whole components into training, tuning and evaluation.

    Components holding a known label always train (the labels are what the model learns from). The others are
    shuffled with ``seed`` and assigned in turn until each side reaches its share of those components' businesses.

    Parameters
    ----------
    components : Series
        Component id per business (:func:`network_components`).
    status : Series
        Label status per business (:func:`label_status`), same index.
    tuning_share, evaluation_share : float
        Shares of the businesses in label-free components for tuning and evaluation.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    Split
    """
    comp = components.to_numpy()
    labelled_components = np.unique(comp[status.to_numpy() != UNLABELLED])
    free = ~np.isin(comp, labelled_components)
    ids, sizes = np.unique(comp[free], return_counts=True)
    order = np.random.default_rng(seed).permutation(len(ids))
    cumulative = np.cumsum(sizes[order]) / max(int(free.sum()), 1)
    side = np.full(len(ids), 0, dtype=np.int8)  # 0 train, 1 tuning, 2 evaluation (in shuffled order)
    side[order[cumulative <= tuning_share]] = 1
    side[order[(cumulative > tuning_share) & (cumulative <= tuning_share + evaluation_share)]] = 2
    side_of = pd.Series(side, index=ids)
    row_side = side_of.reindex(comp).fillna(0).to_numpy(dtype=np.int8)
    row_side[~free] = 0
    return Split(row_side == 0, row_side == 1, row_side == 2)
