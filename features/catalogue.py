"""The feature catalogue: every feature is a named pure function registered here with its evidence.

A feature is a function ``f(view: AsOf) -> pandas.Series`` indexed by ``company_number``; the function's name is
the column name. ``@feature(...)`` registers it with the tables it reads, why it indicates risk (with a reference),
the direction in which it raises risk, and the reason text an officer reads. Missing values stay missing: a
business with no rows in a table gets NaN from a feature of that table unless the feature says absence means 0
(``zero_when_absent=True``, for counts of events over a table the business is covered by).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from features.pit import AsOf

__all__ = ["CATALOGUE", "FEATURE_SETS", "FeatureSpec", "catalogue_version", "empty_feature", "feature", "feature_set"]

Direction = Literal["higher-is-riskier", "lower-is-riskier", "either"]


@dataclass(frozen=True)
class FeatureSpec:
    """A registered feature.

    Parameters
    ----------
    name : str
        Column name (the function's name).
    family : str
        The module (one per data source) that defines it.
    sources : tuple of str
        Contract tables it reads.
    rationale : str
        Why it indicates risk, in a sentence.
    reference : str
        Where the indicator comes from (DATACROS/Transcrime, Moody's, Open Contracting, FATF, SOC strategy, ...).
    direction : str
        Expected direction of its effect on risk.
    reason : str
        Plain-language template officers read; placeholders ``{value}``, ``{as_of}``, ``{peer_share}``,
        ``{peer_group}``.
    func : callable
        The pure function computing it.
    zero_when_absent : bool
        Businesses with no rows get 0 (a count of events) rather than NaN, when every source table is present.
    data_quality : bool
        A data-quality flag (e.g. implausible officer data): reported, never a model feature.
    """

    name: str
    family: str
    sources: tuple[str, ...]
    rationale: str
    reference: str
    direction: Direction
    reason: str
    func: Callable[[AsOf], pd.Series]
    zero_when_absent: bool = False
    data_quality: bool = False

    def render(self, value: object, as_of: object, peer_share: float | None = None,
               peer_group: str = "similar businesses") -> str:
        """Fill the reason template with a business's value and its comparison.

        Shares (features named ``share_...`` or ``..._share_...``) print as percentages, whole numbers without
        decimals, other numbers with two. A missing value gets its own sentence (the template assumes a value).
        Without a comparison (``peer_share`` None) the template's clause about it is left out.
        """
        if value is None:
            return self._missing(as_of)
        if isinstance(value, int | float) and not isinstance(value, bool):
            share = float("nan") if peer_share is None else float(peer_share)
            return self.render_many([float(value)], as_of, [share], peer_group)[0]
        return self._template(peer_share is not None).format(
            value=str(value), as_of=as_of, peer_share="" if peer_share is None else f"{peer_share:.0%}",
            peer_group=peer_group)

    def render_many(self, values: Sequence[float], as_of: object, peer_shares: Sequence[float],
                    peer_group: str = "similar businesses") -> list[str]:
        """Reason texts for many numeric values at once (NaN value: missing; NaN share: no comparison).

        Gives exactly :meth:`render`'s text for each value, at a fraction of the cost per value (the batch job
        renders five reasons for every business).
        """
        with_share, without_share = self._template(True), self._template(False)
        missing = self._missing(as_of)
        as_share = "share" in self.name.split("_")
        out = []
        for v, s in zip(values, peer_shares, strict=True):
            if v != v:  # NaN
                out.append(missing)
                continue
            shown = f"{v:.0%}" if as_share else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")
            if s != s:
                out.append(without_share.format(value=shown, as_of=as_of, peer_share="", peer_group=peer_group))
            else:
                out.append(with_share.format(value=shown, as_of=as_of, peer_share=f"{s:.0%}",
                                             peer_group=peer_group))
        return out

    def _template(self, with_share: bool) -> str:
        template = self.reason
        if not with_share and "{peer_share}" in template:
            cut = template.rfind(";", 0, template.index("{peer_share}"))
            if cut >= 0:
                template = template[:cut].rstrip()
        return template

    def _missing(self, as_of: object) -> str:
        return f"No record for {self.name.replace('_', ' ')} by {as_of}; the missing record itself raised the score"


def empty_feature() -> pd.Series:
    """Return a feature with no business in it (``build`` reindexes it to NaN, or 0 for counts)."""
    # A new Series on a shared (immutable) index: a fifth of the cost of building the index each time, which
    # counts on a supplier's neighbourhood, where a quarter of the features find no rows.
    return pd.Series(np.empty(0, dtype="float64"), index=_NO_BUSINESS, copy=False)


#: The index of a feature with no business in it.
_NO_BUSINESS = pd.Index([], dtype="object", name="company_number")


#: Every registered feature by name, in registration order.
CATALOGUE: dict[str, FeatureSpec] = {}


def feature(*, sources: tuple[str, ...], rationale: str, reference: str, direction: Direction, reason: str,
            zero_when_absent: bool = False, data_quality: bool = False) -> Callable[
        [Callable[[AsOf], pd.Series]], Callable[[AsOf], pd.Series]]:
    """Register a feature function in :data:`CATALOGUE` (the function's name is the column name)."""

    def register(func: Callable[[AsOf], pd.Series]) -> Callable[[AsOf], pd.Series]:
        name = func.__name__
        if name in CATALOGUE and CATALOGUE[name].func is not func:
            raise ValueError(f"feature {name!r} is registered twice")
        family = func.__module__.rsplit(".", 1)[-1]
        CATALOGUE[name] = FeatureSpec(name, family, sources, rationale, reference, direction, reason, func,
                                      zero_when_absent, data_quality)
        return func

    return register


#: Named feature sets shared by training and scoring; ``all`` is every model feature (data-quality flags excluded).
FEATURE_SETS: dict[str, Callable[[], list[str]]] = {
    "all": lambda: [n for n, s in CATALOGUE.items() if not s.data_quality],
}


def feature_set(name: str) -> list[str]:
    """Feature names of a named set (``all``, or ``family:<module>`` / ``without:<module>`` for ablations).

    Raises
    ------
    KeyError
        If the name is unknown.
    """
    from features.build import FAMILIES, load_families  # registration happens on import of the family modules

    load_families()
    # Column order must not depend on which module happened to be imported first: family order, then definition
    # order within the module (sorted is stable).
    rank = {family: i for i, family in enumerate(FAMILIES)}
    model = sorted(FEATURE_SETS["all"](), key=lambda n: rank.get(CATALOGUE[n].family, len(rank)))
    if name.startswith("family:"):
        return [n for n in model if CATALOGUE[n].family == name.split(":", 1)[1]]
    if name.startswith("without:"):
        return [n for n in model if CATALOGUE[n].family != name.split(":", 1)[1]]
    if name == "all":
        return model
    return FEATURE_SETS[name]()


def catalogue_version(names: list[str] | None = None) -> str:
    """Return a short fingerprint of the features' definitions: name, family, sources, reason text and source code.

    Any change to how a feature is computed or explained changes it, so a model records exactly which feature
    definitions it was trained on and scoring can refuse a mismatch.

    Parameters
    ----------
    names : list of str, optional
        Features to fingerprint (default: every model feature).
    """
    from features.build import load_families  # registration happens on import of the family modules

    load_families()
    names = feature_set("all") if names is None else names
    digest = hashlib.sha256()
    for name in sorted(names):
        spec = CATALOGUE[name]
        digest.update("\x1f".join([name, spec.family, ",".join(spec.sources), spec.reason, spec.direction,
                                    inspect.getsource(spec.func)]).encode())
    return digest.hexdigest()[:16]
