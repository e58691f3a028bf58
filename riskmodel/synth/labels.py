"""Known outcomes: a biased, positive-unlabelled view of the latent truth.

Only a minority of infiltrated businesses are ever detected, and detection depends on what the business was used
for and where it is (enforcement effort is uneven), not only on how risky it looks. A group's businesses share
whether the group is ever investigated and how long after infiltration detection comes; labels spread over
years (so a model
trained as of one date can be evaluated on later detections), some investigated businesses are found clean
(label 0, mostly in sectors that attract suspicion anyway) and a few positives are wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmodel.synth.rand import chunk_rng, hash_uniform
from riskmodel.synth.reference import AREAS
from riskmodel.synth.world import Groups, SynthConfig, WorldChunk

__all__ = ["labels_table"]

#: Enforcement effort by policing division (relative; the busiest divisions detect more).
_DIVISION_EFFORT = {"Greater Glasgow": 1.3, "Edinburgh": 1.1, "Lanarkshire": 1.1, "Renfrewshire and Inverclyde": 1.0,
                    "Ayrshire": 1.0, "Fife": 0.9, "Tayside": 0.9, "Forth Valley": 0.9, "North East": 0.8,
                    "The Lothians and Scottish Borders": 0.8, "Dumfries and Galloway": 0.7,
                    "Highlands and Islands": 0.6}
_EFFORT = np.array([_DIVISION_EFFORT[a.division] for a in AREAS])
_EARLIEST = np.datetime64("2010-01-01")


def labels_table(cfg: SynthConfig, groups: Groups, w: WorldChunk) -> pd.DataFrame:
    """Return the ``labels`` rows of a chunk's businesses.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters.
    groups : Groups
        Crime groups of the world.
    w : WorldChunk
        Businesses of the chunk with their latent truth.

    Returns
    -------
    DataFrame
        Contract ``labels`` table (typed).
    """
    rng = chunk_rng(cfg.seed, w.chunk, "labels")
    n = len(w)
    gi = np.where(w.group >= 0, w.group, 0)

    # Probability that an infiltrated business is ever detected: typology, region and stealth.
    p = 0.30 * _EFFORT[w.area]
    p = p * np.where(w.licence, 1.4, 1.0) * np.where(w.procure & ~w.launder, 0.6, 1.0)
    p = p * np.where(w.stealth, 0.35, 1.0)
    # Which groups are investigated, and how long after infiltration, is shared by the group's businesses.
    group_hit = hash_uniform(cfg.seed, "group-investigated", gi) < 0.55
    detected = w.infiltrated & group_hit & (rng.random(n) < np.clip(p * 1.8, 0, 0.95))
    days_to_detect = (-np.log(hash_uniform(cfg.seed, "group-detection-time", gi) + 1e-12) * 3 * 365).astype(np.int64)
    jitter = rng.integers(-120, 240, n)
    when = w.infiltrated_on + (days_to_detect + jitter).astype("timedelta64[D]")
    # Never before the infiltration itself; detections before the data window are history the data do not hold.
    when = np.maximum(when, w.infiltrated_on + np.timedelta64(30, "D"))
    detected &= (when <= cfg.extract) & (when >= _EARLIEST)

    # Wrong positives: a few businesses in suspected sectors are labelled without being infiltrated.
    risky = np.isin(w.sector, ["pub", "restaurant", "beauty", "garage", "taxi", "waste", "security", "shop",
                               "construction"])
    false_pos = ~w.infiltrated & risky & (rng.random(n) < 0.0012)
    # Investigated and found clean: suspicion follows sectors and visible traits, not the truth.
    cleared = ~detected & ~false_pos & (rng.random(n) < np.where(risky, 0.012, 0.002))
    cleared |= w.infiltrated & ~detected & (rng.random(n) < 0.03)  # some infiltrated businesses are cleared wrongly

    span_days = int((cfg.extract - _EARLIEST).astype(np.int64))
    other_when = _EARLIEST + rng.integers(0, span_days, n).astype("timedelta64[D]")
    other_when = np.maximum(other_when, w.created + np.timedelta64(180, "D"))
    when = np.where(detected, when, other_when)
    keep = (detected | false_pos | cleared) & (when <= cfg.extract)

    source = np.select(
        [w.licence & (rng.random(n) < 0.6), w.procure & ~w.launder, w.launder & (rng.random(n) < 0.3)],
        ["licence-revocation", "audit", "confiscation"], "investigation")
    source = np.where(cleared & ~detected, np.where(rng.random(n) < 0.5, "investigation", "audit"), source)
    frame = pd.DataFrame({
        "company_number": w.company_number[keep],
        "label": pd.array(np.where(detected | false_pos, 1, 0)[keep], dtype="Int64"),
        "labelled_on": pd.to_datetime(when[keep]).astype("datetime64[ns]"),
        "source": source[keep].astype(object),
    })
    return frame.reset_index(drop=True)
