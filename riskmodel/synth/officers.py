"""Officers and owners of the synthetic world: appointments, serial directors, nominees and the PSC register.

Two contract tables are generated per chunk of businesses: ``officers`` (one row per appointment, modelled on
Companies House officer appointments) and ``ownership`` (one row per person with significant control, modelled on
the Companies House PSC register and Open Ownership BODS statements). Both are built from one set of *slots*
(seats on a board) whose holders change over time, so owners are usually directors and ownership changes follow
board changes, as in owner-managed small companies.

Legitimate mechanisms (the majority, and the noise the crime signal has to compete with):

- Board size by legal form: companies have 1-3 directors (mostly 1-2) and sometimes a secretary (optional for
  private companies since the Companies Act 2006, required for a plc); LLPs have at least two designated members;
  sole traders and partnerships have one or two proprietors/partners (role ``other``).
- Tenure is a renewal process: each seat's holder serves an exponential time and is replaced; most businesses
  are stable (mean tenure decades), a minority churn (mean a few years), and a few appointments are short for
  ordinary reasons. Officers of a dissolved business resign on or before its dissolution. Appointments that ended
  before 1991 are left out (the register's electronic appointment history is thin before the early 1990s).
- Serial directors: a pool of people (about one per 40 businesses) whose directorships follow a truncated Pareto
  law (tail index 1.7), so a few hold 20 or more; they mostly serve businesses in their own area.
- Formation agents: businesses registered at a formation agent's address are often incorporated with the agent's
  nominee director, who resigns within weeks. These nominees hold hundreds of appointments: the *outlier
  directorships* and *mass registration* that shell-company studies flag (Transparency International UK, "Hiding
  in Plain Sight", 2017; BEIS, "Corporate transparency and register reform", 2019, which led to the Economic
  Crime and Corporate Transparency Act 2023) are mostly this legitimate trade.
- Corporate directors (``corporate-director``) for a small share of companies.
- PSC register (in force from 6 April 2016, Small Business, Enterprise and Employment Act 2015): older companies
  notify their PSCs on or soon after that date, newer ones at incorporation. Most companies have one or two
  individual PSCs with a share band consistent with the number of owners; about 6% are owned by a company (a
  Scottish parent in the data, an English company, or a foreign parent, a small share of them in Jersey,
  Guernsey, the Isle of Man, Ireland, the Netherlands, Luxembourg and a few in the BVI or Cayman); about 2% state
  that no registrable person was identified (``unknown``), and a few are controlled by a legal person (a trust or
  council). Some legitimate businesses are acquired, so ownership changes are not by themselves suspicious.

Crime mechanisms (weak, noisy, and partly visible only across businesses). They follow the ownership-anomaly
indicators of Transcrime's DATACROS project (opacity of ownership, links to high-risk or secrecy jurisdictions,
unusual complexity such as chains and cross-shareholdings, frequent changes of owners and managers, front
persons) and the FATF / Egmont Group report "Concealment of Beneficial Ownership" (2018):

- Each crime group has two to eight members (person keys ``GROUP + g * 8 + k``). An infiltrated business gets a
  member or a front appointed: at incorporation when the group set it up, around the takeover date otherwise.
  Members therefore hold seats in several businesses of their group; stealthy groups use members less and fronts
  (ordinary local people who resign after a short time) more.
- Takeovers bring churn: half of the incumbent directors resign within months of the takeover, the group's
  appointee joins, fronts leave within a year, and about half of infiltrated boards (a third for stealthy groups)
  keep churning. Set-up businesses sometimes add a director soon after incorporation. About a fifth of
  legitimate businesses churn as well, and some add directors, so churn alone is weak evidence.
- Members often give the group's hub as service address (one postcode shared across the group's businesses).
- Ownership: infiltrated businesses more often have a corporate PSC: the group's offshore vehicle (a foreign
  entity in a high-risk or secrecy jurisdiction, per the Tax Justice Network Financial Secrecy Index and the EU
  list of high-risk third countries; the same entity for every business of the group), a UK holding company of the
  group, or another business of the same group (chains, and occasionally circular ownership); more often no
  identified PSC; and their PSCs change around the takeover. Offshore vehicles occasionally sit on the board as
  corporate directors too.

Nothing about a person's name, nationality or birth year depends on the truth: they come from
:mod:`riskmodel.synth.people` as functions of the person key only, and data-quality noise (missing and implausible
birth years, missing countries) is drawn the same way for everyone.

Randomness: chunk-local draws come from ``chunk_rng(seed, chunk, "officers")`` and ``"ownership"``; everything
shared across chunks (serial directors, nominees, group members, group vehicles and holding companies, foreign
parents) is a hash of a stable key, so the tables are deterministic per seed and each chunk is independent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskmodel.synth.people import (
    GROUP,
    LOCAL,
    SERIAL,
    birth_years,
    countries_of_residence,
    nationalities,
    person_ids,
    person_names,
)
from riskmodel.synth.rand import chunk_rng, hash_choice, hash_hex, hash_uniform
from riskmodel.synth.reference import AREAS
from riskmodel.synth.world import (
    _NAME_WORDS,
    AREA_CODES,
    AREA_WEIGHTS,
    Groups,
    SynthConfig,
    WorldChunk,
    shared_addresses,
)

__all__ = ["officers_table", "ownership_table"]

Days = npt.NDArray[np.datetime64]
Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Strs = npt.NDArray[np.str_]

#: The PSC register started on 6 April 2016.
PSC_START = np.datetime64("2016-04-06", "D")
#: Appointments that ended before this date are not in the electronic register.
RECORDS_START = np.datetime64("1991-01-01", "D")
#: Formation agents' nominee directors are a practice of the online-incorporation era.
NOMINEE_FROM = np.datetime64("2000-01-01", "D")
_NAT = np.datetime64("NaT", "D")

#: People of a business beyond the four ``LOCAL + idx * 4 + k`` keys of :mod:`riskmodel.synth.people`
#: (later replacements, shareholders who are not directors): ``_LOCAL_EXTRA + idx * _LOCAL_STRIDE + m``.
_LOCAL_EXTRA = LOCAL + 600_000_000_000
_LOCAL_STRIDE = 64
#: Formation agents' nominee directors: ``_NOMINEE + agent_id * 16 + k`` (serial people outside the serial pool).
_NOMINEE = SERIAL + 500_000_000_000
#: Tenures drawn per seat (seats of very old businesses lose their earliest, unrecorded tenures anyway).
_K = 8

# Slot kinds.
_BASE, _EXTRA, _NOMINEE_SEAT, _CORP = 0, 1, 2, 3
# Holder kinds.
_H_LOCAL, _H_SERIAL, _H_MEMBER, _H_NOMINEE, _H_CORP, _H_VEHICLE = 0, 1, 2, 3, 4, 5
# Tenure regimes: stable, churning, after infiltration.
_P_SHORT = np.array([0.02, 0.10, 0.12])
_MEAN_DAYS = np.array([30.0, 4.5, 5.0]) * 365.25

_LEGIT_FOREIGN = np.array(["JE", "GG", "IM", "IE", "NL", "LU", "US", "DE", "VG", "KY", "CY", "AE"])
_LEGIT_FOREIGN_W = (0.16, 0.10, 0.08, 0.17, 0.12, 0.07, 0.09, 0.05, 0.07, 0.04, 0.03, 0.02)
#: High-risk and secrecy jurisdictions used by groups' vehicles (BVI, Cayman, Panama, UAE, Cyprus, Seychelles,
#: Belize).
_SECRECY = np.array(["VG", "KY", "PA", "AE", "CY", "SC", "BZ"])
_SECRECY_W = (0.26, 0.14, 0.14, 0.16, 0.12, 0.10, 0.08)
_RESIDENCE_ISO = {"United Kingdom": "GB", "Scotland": "GB", "Ireland": "IE", "Spain": "ES"}
_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
_AREA_W = tuple(float(x) for x in AREA_WEIGHTS)
_CORP_SUFFIX = np.array(["Holdings Ltd", "Management Ltd", "Investments Ltd", "Group Ltd", "Secretaries Ltd",
                         "Nominees Ltd", "Capital Ltd", "Ventures Ltd"])
_VEHICLE_SUFFIX = np.array(["Capital Inc", "Ventures Ltd", "Investments SA", "Trading LLC", "Holdings Limited",
                            "Global Corp", "International SA", "Assets Ltd"])
_FOREIGN_SUFFIX = np.array(["Holdings Limited", "B.V.", "S.A.", "Group Inc", "GmbH", "Investments Limited"])
_LEGAL_SUFFIX = np.array(["Trust", "Foundation", "Community Trust", "Family Trust", "Development Trust"])


# --------------------------------------------------------------------------------------------------- helpers


def _days(x: npt.ArrayLike) -> npt.NDArray[np.timedelta64]:
    return np.asarray(x).astype(np.int64).astype("timedelta64[D]")


def _pick(words: npt.NDArray[np.str_], seed: int, stream: str, keys: npt.ArrayLike) -> Strs:
    return words[(hash_uniform(seed, stream, keys) * len(words)).astype(np.int64)]


def _entity_names(seed: int, stream: str, keys: npt.ArrayLike, suffixes: npt.NDArray[np.str_]) -> Strs:
    """Company-like names such as "Braeside Holdings Ltd" as a function of a stable key."""
    word = _pick(_NAME_WORDS, seed, f"{stream}-word", keys)
    return np.char.add(np.char.add(word, " "), _pick(suffixes, seed, f"{stream}-suffix", keys))


def _entity_ids(seed: int, stream: str, keys: npt.ArrayLike) -> Strs:
    """Opaque ids of entities that are not businesses of the data set (same format for every kind)."""
    return np.char.add("E", hash_hex(seed, stream, keys, 10))


def _english_numbers(seed: int, stream: str, keys: npt.ArrayLike) -> Strs:
    """Companies House numbers of companies registered in England and Wales (not in a Scottish data set)."""
    num = (hash_uniform(seed, stream, keys) * 15_000_000).astype(np.int64) + 100_000
    if not len(num):  # np.char.zfill fails on empty arrays
        return np.empty(0, dtype="U8")
    return np.char.zfill(num.astype(str), 8)


def _hashed_postcodes(seed: int, stream: str, keys: npt.ArrayLike, area: Ints) -> Strs:
    """Return a stable postcode per key in the given postcode areas."""
    keys = np.asarray(keys, dtype=np.int64)
    district = (hash_uniform(seed, f"{stream}-district", keys) * 40 + 1).astype(np.int64).astype(str)
    sector = (hash_uniform(seed, f"{stream}-sector", keys) * 9 + 1).astype(np.int64).astype(str)
    u1 = (hash_uniform(seed, f"{stream}-u1", keys) * 20).astype(np.int64)
    u2 = (hash_uniform(seed, f"{stream}-u2", keys) * 20).astype(np.int64)
    outward = np.char.add(AREA_CODES[area], district)
    inward = np.char.add(sector, np.char.add(_LETTERS[u1], _LETTERS[u2]))
    return np.char.add(np.char.add(outward, " "), inward)


def _n_serial(cfg: SynthConfig) -> int:
    return max(10, cfg.businesses // 40)


def _serial_keys(cfg: SynthConfig, rng: np.random.Generator, area: Ints) -> Ints:
    """Draw serial directors for seats in businesses of the given areas (80% from the same area).

    A person's share of directorships is a truncated Pareto weight (tail index 1.7, capped at 40 times the
    minimum), a pure function of the seed and the person, so every chunk draws from the same distribution.
    """
    ids = np.arange(_n_serial(cfg), dtype=np.int64)
    weight = np.minimum((1.0 - hash_uniform(cfg.seed, "serial-weight", ids)) ** (-1 / 1.7), 40.0)
    home = hash_choice(cfg.seed, "serial-area", ids, _AREA_W)
    m = len(area)
    local = rng.random(m) < 0.8
    u = rng.random(m)
    cdf = np.cumsum(weight)
    out = np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), len(ids) - 1)
    for a in range(len(AREAS)):
        sel = local & (area == a)
        cand = ids[home == a]
        if sel.any() and len(cand):
            c = np.cumsum(weight[cand])
            out[sel] = cand[np.minimum(np.searchsorted(c / c[-1], u[sel], side="right"), len(cand) - 1)]
    return SERIAL + out


def _member_keys(cfg: SynthConfig, group: Ints, u: Floats) -> Ints:
    """Members of crime groups: 2-8 per group, the first ones (the group's core) used most."""
    size = 2 + (hash_uniform(cfg.seed, "group-members", group) * 7).astype(np.int64)
    k = np.arange(8)
    w = np.where(k[None, :] < size[:, None], 1.0 / (k[None, :] + 1.0), 0.0)
    cdf = np.cumsum(w, axis=1)
    member = (u[:, None] * cdf[:, -1:] > cdf).sum(axis=1)
    return GROUP + group * 8 + np.minimum(member, size - 1)


def _agent_ids(cfg: SynthConfig, w: WorldChunk) -> Ints:
    """Recover the formation agent of each business at an agent's address from its postcode (-1 elsewhere).

    ``WorldChunk`` does not keep the agent id, so it is found again from the agents' (hash-derived) postcodes.
    """
    n_agents = max(1, cfg.businesses // 2000)
    pcs, _, _ = shared_addresses(cfg.seed, "formation-agent", np.arange(n_agents, dtype=np.int64))
    order = np.argsort(pcs, kind="stable")
    sorted_pcs = pcs[order]
    at = np.minimum(np.searchsorted(sorted_pcs, w.postcode), n_agents - 1)
    found = (w.address_kind == "formation-agent") & (sorted_pcs[at] == w.postcode)
    return np.where(found, order[at], -1).astype(np.int64)


def _group_hub_postcodes(cfg: SynthConfig, group: Ints) -> Strs:
    """Return the first hub postcode of each group (the world puts some registered offices there too)."""
    pcs, _, _ = shared_addresses(cfg.seed, "group-hub", np.asarray(group, dtype=np.int64) * 3)
    return pcs


def _obj(values: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Text column as object dtype (the loader's type for text)."""
    return np.asarray(values).astype(object)


def _exclusive_cumsum(x: Ints) -> Ints:
    return np.cumsum(x, axis=1) - x


# ------------------------------------------------------------------------------------------ appointments


@dataclass
class _Appointments:
    """Appointments of a chunk (one row each), before they are written as the officers table."""

    pos: Ints          # position of the business in the chunk
    slot: Ints         # seat id within the chunk
    slot_kind: Ints    # _BASE, _EXTRA, _NOMINEE_SEAT or _CORP
    rank: Ints         # rank of a base seat in its business (directors first), -1 for other seats
    tenure: Ints       # index of the tenure in its seat
    role: Strs
    holder: Ints       # _H_* kind of holder
    key: Ints          # person key, corporate-director pool index or group id (vehicles)
    group: Ints        # crime group of the business (-1 when legitimate)
    appointed: Days
    resigned: Days
    crime: Bools       # appointed under the crime regime (truth, never written)
    n_slots: int


def _appointments(cfg: SynthConfig, groups: Groups, w: WorldChunk, rng: np.random.Generator) -> _Appointments:
    """Seats, tenures and holders of the chunk's businesses (all draws from ``rng``, in a fixed order)."""
    n = len(w)
    ctype = w.company_type
    created = w.created.astype("datetime64[D]")
    ceased = w.ceased.astype("datetime64[D]")
    is_ceased = ~np.isnat(ceased)
    eol = np.where(is_ceased, ceased, cfg.extract)
    life = np.maximum((eol - created).astype(np.int64), 0)
    infl = w.infiltrated.astype(bool)
    gi = np.where(infl, w.group, 0)
    setup = infl & w.set_up_by_group
    takeover = infl & ~setup
    d = np.where(infl, w.infiltrated_on, created).astype("datetime64[D]")
    stealth = infl & groups.stealth[gi]
    offshore = infl & groups.offshore[gi]
    company_like = np.isin(ctype, ["ltd", "plc", "other"])
    is_llp = ctype == "llp"

    # Board size by legal form.
    u = rng.random(n)
    n_dir = np.select([ctype == "plc", company_like], [2 + (u < 0.4), 1 + (u > 0.52) + (u > 0.88)], 0)
    n_sec = np.where(ctype == "plc", 1, company_like & (rng.random(n) < 0.12))
    n_llp = 2 + (u > 0.6) + (u > 0.9)
    n_other = np.select([ctype == "unincorporated", ctype == "scottish-partnership", ctype == "limited-partnership"],
                        [1 + (u > 0.85), np.full(n, 2), 1 + (u > 0.5)], 1 + (u > 0.7))
    n_base = np.select([company_like, is_llp], [n_dir + n_sec, n_llp], n_other).astype(np.int64)
    lead_role = np.select([company_like, is_llp], ["director", "llp-member"], "other")
    # Churning boards: a minority of legitimate businesses, about half of the infiltrated ones after infiltration.
    u_churn = rng.random(n)
    churny = np.where(infl, u_churn < np.where(stealth, 0.3, 0.55), u_churn < 0.17)

    # Formation agents' nominee directors (appointed at incorporation, gone within weeks).
    agent = _agent_ids(cfg, w)
    nominee = (agent >= 0) & (company_like | is_llp) & (created >= NOMINEE_FROM) & (rng.random(n) < 0.5)
    nominee_days = rng.integers(1, 43, n)
    nominee_end = np.minimum(created + _days(nominee_days), eol)
    base_start = np.where(nominee, nominee_end, created)

    # An extra seat: a director added later (legitimately for some), the group's appointee after a takeover,
    # or an appointment soon after incorporation of a business the group set up.
    u_extra = rng.random(n)
    soon = rng.random(n) < 0.5
    later = (rng.random(n) * life).astype(np.int64)
    legit_start = created + _days(np.where(soon, np.minimum(rng.integers(14, 366, n), life), later))
    setup_start = created + _days(rng.integers(7, 181, n))
    takeover_start = d + _days(rng.integers(0, 31, n))
    extra = (~infl & (u_extra < 0.06)) | (setup & (u_extra < 0.25)) | takeover
    extra_start = np.select([takeover, setup], [takeover_start, setup_start], legit_start)

    # Corporate directors: a few companies; offshore groups' vehicles sit on some boards.
    u_corp = rng.random(n)
    vehicle = offshore & company_like & (u_corp < 0.12)
    corp = vehicle | (company_like & (u_corp > 0.985))
    corp_later = rng.random(n) < 0.3
    corp_start = np.where(vehicle, d + _days(rng.integers(0, 61, n)),
                          np.where(corp_later, created + _days((rng.random(n) * life).astype(np.int64)), created))

    # Seat table: base seats, then extra, nominee and corporate seats.
    b_pos = np.repeat(np.arange(n), n_base)
    b_rank = np.arange(len(b_pos)) - np.repeat(np.cumsum(n_base) - n_base, n_base)
    b_role = np.where(company_like[b_pos] & (b_rank >= n_dir[b_pos]), "secretary", lead_role[b_pos])
    e_pos, m_pos, c_pos = np.flatnonzero(extra), np.flatnonzero(nominee), np.flatnonzero(corp)
    pos = np.concatenate([b_pos, e_pos, m_pos, c_pos])
    kind = np.concatenate([np.full(len(b_pos), _BASE), np.full(len(e_pos), _EXTRA),
                           np.full(len(m_pos), _NOMINEE_SEAT), np.full(len(c_pos), _CORP)])
    rank = np.concatenate([b_rank, np.full(len(pos) - len(b_pos), -1)])
    role = np.concatenate([b_role, lead_role[e_pos], lead_role[m_pos],
                           np.full(len(c_pos), "corporate-director")]).astype(str)
    start = np.concatenate([base_start[b_pos], extra_start[e_pos], created[m_pos], corp_start[c_pos]])
    m = len(pos)
    j = np.arange(_K)[None, :]

    # Which tenures follow the infiltration: all of a set-up business's seats and of the group's seat; after a
    # takeover, those after the tenure running at the takeover date.
    crime_seat = ((kind == _BASE) & setup[pos]) | ((kind == _EXTRA) & infl[pos])
    takeover_seat = (kind == _BASE) & takeover[pos]
    legit_regime = np.where((kind == _CORP) | (kind == _NOMINEE_SEAT) | infl[pos], 0, churny[pos].astype(np.int64))
    crime_regime = np.where(churny[pos], 2, 0)

    # Holders (drawn before dates: fronts serve short terms).
    u_h = rng.random((m, _K))
    u_member = rng.random((m, _K))
    p_member = np.where(stealth[pos], 0.15, 0.40)[:, None]
    p_replace = np.where(stealth[pos], 0.05, 0.12)[:, None]
    first_crime = ((kind == _EXTRA) & infl[pos]) | ((kind == _BASE) & setup[pos] & (rank == 0))
    first_crime_cell = first_crime[:, None] & (j == 0)

    # Tenure lengths.
    u_short = rng.random((m, _K))
    short = rng.integers(20, 366, (m, _K))
    expo = rng.exponential(1.0, (m, _K))

    def lengths(regime: Ints) -> Ints:
        long_ = np.maximum(expo * _MEAN_DAYS[regime], 7).astype(np.int64)
        return np.where(u_short < _P_SHORT[regime], short, long_).astype(np.int64)

    l_legit = lengths(np.broadcast_to(legit_regime[:, None], (m, _K)))
    l_crime = lengths(np.broadcast_to(crime_regime[:, None], (m, _K)))
    # The last tenure drawn lasts: a seat is never left empty because the draws ran out.
    l_legit[:, -1] = l_crime[:, -1] = 1_000_000
    s_legit = start[:, None] + _days(_exclusive_cumsum(l_legit))
    d_seat = d[pos]
    jstar = np.where(takeover_seat, (s_legit <= d_seat[:, None]).sum(axis=1) - 1, _K)
    jstar = np.where(crime_seat, -1, jstar)
    cut = takeover_seat & (rng.random(m) < 0.5)
    delay = rng.integers(0, 121, m)
    s_star = np.take_along_axis(s_legit, np.clip(jstar, 0, _K - 1)[:, None], axis=1)[:, 0]
    cut_len = np.maximum((d_seat - s_star).astype(np.int64) + delay, 0)
    is_crime = j > jstar[:, None]
    length = np.where(is_crime, l_crime, l_legit)
    at_star = (j == jstar[:, None]) & cut[:, None]
    length = np.where(at_star, np.minimum(l_legit, cut_len[:, None]), length)

    holder = np.full((m, _K), _H_LOCAL, dtype=np.int64)
    seat_person = ((kind == _BASE) | (kind == _EXTRA))[:, None]
    holder = np.where(seat_person & ~is_crime & (u_h < 0.04), _H_SERIAL, holder)
    holder = np.where(seat_person & is_crime & (u_member < p_replace), _H_MEMBER, holder)
    holder = np.where(first_crime_cell, np.where(u_member < p_member, _H_MEMBER, _H_LOCAL), holder)
    holder = np.where((kind == _NOMINEE_SEAT)[:, None], _H_NOMINEE, holder)
    holder = np.where((kind == _CORP)[:, None], np.where(vehicle[pos], _H_VEHICLE, _H_CORP)[:, None], holder)
    # Fronts put in by the group mostly leave within months.
    front = first_crime_cell & (holder == _H_LOCAL) & (u_h < 0.5)
    length = np.where(front, np.minimum(length, rng.integers(30, 400, (m, _K))), length)
    length[:, 0] = np.where(kind == _NOMINEE_SEAT, (nominee_end - created)[pos].astype(np.int64), length[:, 0])

    appointed = (start[:, None] + _days(_exclusive_cumsum(length))).astype("datetime64[D]")
    ends = appointed + _days(length)
    eol_seat = eol[pos][:, None]
    ceased_seat = is_ceased[pos][:, None]
    keep = (appointed < eol_seat) | ((appointed == eol_seat) & ((j == 0) | ~ceased_seat))
    keep &= ~((kind == _NOMINEE_SEAT)[:, None] & (j > 0))
    resigned = np.where(ceased_seat, np.minimum(ends, eol_seat), np.where(ends <= cfg.extract, ends, _NAT))
    keep &= np.isnat(resigned) | (resigned >= RECORDS_START)
    keep &= appointed <= cfg.extract

    r_seat, r_ten = np.nonzero(keep)
    r_pos = pos[r_seat]
    r_holder = holder[r_seat, r_ten]
    r_key = np.zeros(len(r_seat), dtype=np.int64)
    hs = r_holder == _H_SERIAL
    r_key[hs] = _serial_keys(cfg, rng, w.area[r_pos[hs]])
    hm = r_holder == _H_MEMBER
    r_key[hm] = _member_keys(cfg, gi[r_pos[hm]], rng.random(int(hm.sum())))
    hn = r_holder == _H_NOMINEE
    staff = min(16, 1 + cfg.businesses // 200_000)  # bigger worlds, bigger agents: more nominee staff
    r_key[hn] = _NOMINEE + agent[r_pos[hn]] * 16 + rng.integers(0, staff, int(hn.sum()))
    hc = r_holder == _H_CORP
    r_key[hc] = rng.integers(0, max(5, cfg.businesses // 250), int(hc.sum()))
    hv = r_holder == _H_VEHICLE
    r_key[hv] = gi[r_pos[hv]]
    r_app = appointed[r_seat, r_ten]
    r_res = resigned[r_seat, r_ten]

    # The same shared person (or corporate) twice at once in one business: keep the earlier appointment.
    shared = r_holder != _H_LOCAL
    idx = np.flatnonzero(shared)
    order = idx[np.lexsort((r_app[idx], r_key[idx], r_holder[idx], r_pos[idx]))]
    same = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        a, b = order[:-1], order[1:]
        prev_open = np.isnat(r_res[a]) | (r_res[a] >= r_app[b])
        same[1:] = (r_pos[a] == r_pos[b]) & (r_holder[a] == r_holder[b]) & (r_key[a] == r_key[b]) & prev_open
    drop = np.zeros(len(r_seat), dtype=bool)
    drop[order[same]] = True

    # Local people: the first four of a business (in order of appointment) are people.py's LOCAL keys.
    kept = np.flatnonzero(~drop)
    order = kept[np.lexsort((r_ten[kept], r_seat[kept], r_app[kept], r_pos[kept]))]
    r_seat, r_ten, r_pos, r_holder = r_seat[order], r_ten[order], r_pos[order], r_holder[order]
    r_key, r_app, r_res = r_key[order], r_app[order], r_res[order]
    loc = r_holder == _H_LOCAL
    lp = r_pos[loc]
    first = np.r_[True, lp[1:] != lp[:-1]] if len(lp) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(first)
    ordinal = np.arange(len(lp)) - np.repeat(starts, np.diff(np.r_[starts, len(lp)]))
    bidx = w.idx[lp]
    r_key[loc] = np.where(ordinal < 4, LOCAL + bidx * 4 + ordinal,
                          _LOCAL_EXTRA + bidx * _LOCAL_STRIDE + np.minimum(ordinal - 4, _LOCAL_STRIDE - 2))

    return _Appointments(
        pos=r_pos, slot=r_seat, slot_kind=kind[r_seat], rank=rank[r_seat], tenure=r_ten, role=role[r_seat],
        holder=r_holder, key=r_key, group=np.where(infl, w.group, -1)[r_pos], appointed=r_app, resigned=r_res,
        crime=is_crime[r_seat, r_ten] | first_crime_cell[r_seat, r_ten], n_slots=m,
    )


# ------------------------------------------------------------------------------------------------ officers


def officers_table(cfg: SynthConfig, groups: Groups, w: WorldChunk) -> pd.DataFrame:
    """Return the ``officers`` rows (one per appointment) of a chunk's businesses.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (seed, extract date, world size).
    groups : Groups
        Crime groups of the world.
    w : WorldChunk
        Businesses of the chunk with their latent truth.

    Returns
    -------
    DataFrame
        Contract ``officers`` table, typed as the loader types it (text as object with None for missing, dates
        as ``datetime64[ns]``, ``birth_year`` as ``Int64``), columns in contract order.

    Notes
    -----
    Deterministic for a seed and chunk: chunk-local draws come from ``chunk_rng(seed, chunk, "officers")`` and
    shared people (serial directors, nominees, crime-group members) are functions of their keys. The mechanisms
    and their sources are described in the module docstring.
    """
    rng = chunk_rng(cfg.seed, w.chunk, "officers")
    a = _appointments(cfg, groups, w, rng)
    seed = cfg.seed
    rows = len(a.pos)
    person = (a.holder != _H_CORP) & (a.holder != _H_VEHICLE)
    hc, hv = a.holder == _H_CORP, a.holder == _H_VEHICLE

    ids = np.empty(rows, dtype=object)
    names = np.empty(rows, dtype=object)
    by = np.zeros(rows, dtype=np.int64)
    residence = np.empty(rows, dtype=object)
    nationality = np.empty(rows, dtype=object)
    home = np.empty(rows, dtype=object)

    # People: attributes are functions of the key, computed once per person.
    keys, first, inv = np.unique(a.key[person], return_index=True, return_inverse=True)
    holder = a.holder[person][first]
    ids[person] = person_ids(seed, keys).astype(object)[inv]
    names[person] = person_names(seed, keys).astype(object)[inv]
    by[person] = birth_years(seed, keys)[inv]
    residence[person] = countries_of_residence(seed, keys).astype(object)[inv]
    nationality[person] = nationalities(seed, keys).astype(object)[inv]
    # Home postcodes: local people live near their business, serial people and nominees in their own area,
    # group members in the group's home area.
    serial_area = hash_choice(seed, "serial-area", np.maximum(keys - SERIAL, 0), _AREA_W)
    nominee_area = hash_choice(seed, "formation-agent-area", np.maximum(keys - _NOMINEE, 0) // 16, _AREA_W)
    member_area = groups.home_area[np.clip((keys - GROUP) // 8, 0, len(groups.home_area) - 1)]
    area = np.select([holder == _H_SERIAL, holder == _H_NOMINEE, holder == _H_MEMBER],
                     [serial_area, nominee_area, member_area], w.area[a.pos[person][first]])
    home[person] = _hashed_postcodes(seed, "person-home", keys, area).astype(object)[inv]

    ckeys, cinv = np.unique(a.key[hc], return_inverse=True)
    ids[hc] = _entity_ids(seed, "corporate-officer", ckeys).astype(object)[cinv]
    names[hc] = _entity_names(seed, "corporate-officer", ckeys, _CORP_SUFFIX).astype(object)[cinv]
    office = _hashed_postcodes(seed, "corporate-officer-office", ckeys,
                               hash_choice(seed, "corporate-officer-area", ckeys, _AREA_W))
    home[hc] = office.astype(object)[cinv]
    ids[hv] = _entity_ids(seed, "group-vehicle", a.key[hv])
    names[hv] = _entity_names(seed, "group-vehicle", a.key[hv], _VEHICLE_SUFFIX)

    # Service addresses: the registered office, the officer's home, or (for many group members) the group's hub.
    u_addr = rng.random(rows)
    u_hub = rng.random(rows)
    office_pc = w.postcode.astype(object)[a.pos]
    service = np.where(u_addr < 0.5, office_pc, home)
    service = np.where(a.holder == _H_NOMINEE, office_pc, service)
    member = np.flatnonzero((a.holder == _H_MEMBER) & (u_hub < 0.55))
    if len(member):
        gkeys, ginv = np.unique(a.group[member], return_inverse=True)
        service[member] = _group_hub_postcodes(cfg, gkeys).astype(object)[ginv]
    service[hv] = None
    service[(u_addr > 0.985) & person] = None

    # Data-quality noise, the same for everyone: missing and implausible birth years, missing countries.
    u_by = rng.random(rows)
    odd = np.array([1900, 1901, 1910, 2010, 2012, 2015])[rng.integers(0, 6, rows)]
    by = np.where(u_by < 0.002, odd, by)
    birth = pd.array(by, dtype="Int64")
    birth[(u_by > 0.97) | ~person] = pd.NA
    u_c = rng.random(rows)
    residence[(u_c < 0.04) | ~person] = None
    nationality[((u_c > 0.98) | ~person)] = None

    frame = pd.DataFrame({
        "company_number": w.company_number.astype(object)[a.pos],
        "officer_id": ids,
        "officer_name": names,
        "officer_role": _obj(a.role),
        "appointed_on": a.appointed.astype("datetime64[ns]"),
        "resigned_on": a.resigned.astype("datetime64[ns]"),
        "birth_year": birth,
        "service_address_postcode": service,
        "country_of_residence": residence,
        "nationality": nationality,
    })
    key = ["company_number", "officer_id", "officer_role", "appointed_on"]
    return frame.drop_duplicates(subset=key).reset_index(drop=True)


# ----------------------------------------------------------------------------------------------- ownership

# PSC kinds of a window of control.
_K_INDIVIDUAL, _K_CORPORATE, _K_UNKNOWN, _K_LEGAL = 0, 1, 2, 3
# Corporate owners.
_C_INWORLD, _C_ENGLISH, _C_FOREIGN, _C_VEHICLE, _C_HOLDCO, _C_CHAIN = 0, 1, 2, 3, 4, 5


def _kinds(u: Floats, p: npt.NDArray[np.float64]) -> Ints:
    """Kind per business from uniforms and per-business probabilities (columns: kinds)."""
    return (u[:, None] > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1).astype(np.int64)


def ownership_table(cfg: SynthConfig, groups: Groups, w: WorldChunk) -> pd.DataFrame:
    """Return the ``ownership`` rows (persons with significant control) of a chunk's businesses.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (seed, extract date, world size).
    groups : Groups
        Crime groups of the world.
    w : WorldChunk
        Businesses of the chunk with their latent truth.

    Returns
    -------
    DataFrame
        Contract ``ownership`` table, typed as the loader types it (text as object with None for missing, dates
        as ``datetime64[ns]``), columns in contract order.

    Notes
    -----
    Individual PSCs are the owner-directors of :func:`officers_table` (the appointments are recomputed from the
    same ``"officers"`` stream, so ``owner_id`` equals the officer's ``officer_id``); the PSC's own draws come
    from ``chunk_rng(seed, chunk, "ownership")``. Corporate owners are another business of the chunk (its
    ``company_number``), an English company, a foreign company or, for crime groups, the group's offshore vehicle
    or UK holding company, shared by all the group's businesses through a hash of the group id.
    """
    a = _appointments(cfg, groups, w, chunk_rng(cfg.seed, w.chunk, "officers"))
    rng = chunk_rng(cfg.seed, w.chunk, "ownership")
    seed = cfg.seed
    n = len(w)
    ctype = w.company_type
    created = w.created.astype("datetime64[D]")
    ceased = w.ceased.astype("datetime64[D]")
    eol = np.where(np.isnat(ceased), cfg.extract, ceased)
    infl = w.infiltrated.astype(bool)
    gi = np.where(infl, w.group, 0)
    setup = infl & w.set_up_by_group
    takeover = infl & ~setup
    stealth = infl & groups.stealth[gi]
    offshore = infl & groups.offshore[gi]
    company = np.isin(ctype, ["ltd", "plc", "other", "llp", "limited-partnership"])
    ltd_like = np.isin(ctype, ["ltd", "plc", "other"])

    # First notification: at the register's start for older companies, at incorporation for newer ones.
    u = rng.random(n)
    small_psc = ~company & (rng.random(n) < 0.1)
    at_start = PSC_START + _days(np.where(u < 0.8, 0, rng.integers(0, 366, n)))
    at_creation = created + _days(np.where(u < 0.85, 0, rng.integers(1, 31, n)))
    first = np.where(created < PSC_START, at_start, at_creation)
    has = (company | small_psc) & (first <= eol)

    # Kinds of control: legitimate, and after infiltration.
    legit_p = np.tile([0.93, 0.045, 0.02, 0.005], (n, 1))
    crime_p = np.where(offshore[:, None], [[0.40, 0.42, 0.15, 0.03]], [[0.60, 0.22, 0.15, 0.03]])
    crime_p = np.where(stealth[:, None], crime_p + np.array([[0.09, 0.0, -0.09, 0.0]]), crime_p)
    sold_p = np.tile([0.10, 0.75, 0.10, 0.05], (n, 1))
    k_legit = _kinds(rng.random(n), legit_p)
    k_crime = _kinds(rng.random(n), crime_p)
    k_sold = _kinds(rng.random(n), sold_p)
    sold = ~infl & (rng.random(n) < 0.04)
    span = np.maximum((eol - first).astype(np.int64), 0)
    sold_on = first + _days(span * rng.uniform(0.1, 0.9, n))
    change_on = w.infiltrated_on.astype("datetime64[D]") + _days(rng.integers(0, 91, n))
    split_on = np.where(takeover, change_on, np.where(sold, sold_on, _NAT))
    kind1 = np.where(setup, k_crime, k_legit)
    kind2 = np.where(takeover, k_crime, k_sold)
    kind1 = np.where(small_psc, _K_INDIVIDUAL, kind1)
    # A change before the first notification is the only regime on record; one after the end never happens.
    early = ~np.isnat(split_on) & (split_on <= first)
    kind1 = np.where(early, kind2, kind1)
    split = ~np.isnat(split_on) & ~early & (split_on < eol)
    split &= ~((kind1 == kind2) & ((kind1 == _K_INDIVIDUAL) | (kind1 == _K_UNKNOWN)))
    crime_window = np.select([setup | (takeover & early), takeover & split], [1, 2], 0)

    # Corporate owner of each window.
    v = rng.random(n)
    c_legit = np.select([v < 0.55, v < 0.80], [_C_INWORLD, _C_ENGLISH], _C_FOREIGN)
    v2 = rng.random(n)
    c_crime = np.where(offshore, np.where(v2 < 0.7, _C_VEHICLE, _C_CHAIN), np.where(v2 < 0.6, _C_HOLDCO, _C_CHAIN))
    corp1 = np.where(crime_window == 1, c_crime, c_legit)
    corp2 = np.where(crime_window == 2, c_crime, c_legit)

    # Parents: legitimate in-chunk parents are companies incorporated before; chains stay within the group.
    cand = np.flatnonzero(np.isin(ctype, ["ltd", "plc"]))
    parent_legit = cand[rng.integers(0, max(len(cand), 1), n)] if len(cand) else np.zeros(n, dtype=np.int64)
    grp_cand = np.flatnonzero(infl & (ltd_like | (ctype == "llp")))
    grp_cand = grp_cand[np.lexsort((grp_cand, w.group[grp_cand]))]  # by group, then position
    gc_group = w.group[grp_cand]
    g_first = np.searchsorted(gc_group, w.group, side="left")
    g_count = np.searchsorted(gc_group, w.group, side="right") - g_first
    where_in = np.full(n, -1, dtype=np.int64)
    where_in[grp_cand] = np.arange(len(grp_cand))
    is_cand = where_in >= 0
    self_off = np.where(is_cand, where_in - g_first, 0)
    others = g_count - is_cand
    r = (rng.random(n) * np.maximum(others, 1)).astype(np.int64)
    chain_off = np.where(is_cand, (self_off + 1 + r) % np.maximum(g_count, 1), r)
    parent_chain = np.full(n, -1, dtype=np.int64)
    if len(grp_cand):
        found = grp_cand[np.clip(g_first + chain_off, 0, len(grp_cand) - 1)]
        parent_chain = np.where(infl & (others > 0), found, -1)
    # Circular ownership: the first two candidates of some groups own each other.
    pair = np.zeros(n, dtype=bool)
    partner = np.full(n, -1, dtype=np.int64)
    if len(grp_cand) > 1:
        head = np.r_[True, gc_group[1:] != gc_group[:-1]]
        h = np.flatnonzero(head[:-1] & ~head[1:])  # groups with at least two candidates
        circ = hash_uniform(seed, "group-circular", gc_group[h]) < 0.15
        x, y = grp_cand[h[circ]], grp_cand[h[circ] + 1]
        partner[x], partner[y] = y, x
        pair[x], pair[y] = True, True
    pair &= crime_window > 0
    pair &= pair[np.maximum(partner, 0)] & (partner >= 0)
    parent_chain = np.where(pair, partner, parent_chain)
    kind1 = np.where(pair & (crime_window == 1), _K_CORPORATE, kind1)
    kind2 = np.where(pair & (crime_window == 2), _K_CORPORATE, kind2)
    corp1 = np.where(pair & (crime_window == 1), _C_CHAIN, corp1)
    corp2 = np.where(pair & (crime_window == 2), _C_CHAIN, corp2)
    silent = rng.random(n) < 0.1
    u_band = rng.random(n)

    # Windows of control: [start, end) with a cut at the change when there is one.
    wins = []
    for win, kind, corp in ((1, kind1, corp1), (2, kind2, corp2)):
        active = has & ((win == 1) | split)
        ws = first if win == 1 else split_on
        we = np.where(split, split_on, eol) if win == 1 else eol
        cut = split if win == 1 else np.zeros(n, dtype=bool)
        wins.append((win, active, ws, we, cut, kind, corp))

    # Owner seats: the first one to three director seats, the group's seat for some.
    n_own = np.minimum(1 + (rng.random(n) > 0.6) + (rng.random(n) > 0.97), np.maximum(
        np.bincount(a.pos[(a.slot_kind == _BASE) & (a.role != "secretary")], minlength=n), 1))
    seat_u = rng.random(a.n_slots)
    p_extra = np.where(stealth, 0.35, np.where(infl, 0.6, 0.3))
    owner_seat = ((a.slot_kind == _BASE) & (a.role != "secretary") & (a.rank < n_own[a.pos])) | (
        (a.slot_kind == _EXTRA) & (seat_u[a.slot] < p_extra[a.pos]))
    owner_seat &= (a.holder == _H_LOCAL) | (a.holder == _H_SERIAL) | (a.holder == _H_MEMBER)
    delay = np.where(rng.random(len(a.pos)) < 0.3, rng.integers(1, 15, len(a.pos)), 0)

    parts: list[dict[str, npt.NDArray[np.generic]]] = []
    for _win, active, ws, we, cut, kind, corp in wins:
        # Individuals: owner-directors serving during the window, and some shareholders who are not directors.
        ind = active & (kind == _K_INDIVIDUAL)
        sel = owner_seat & ind[a.pos]
        p = a.pos[sel]
        app, res = a.appointed[sel], a.resigned[sel]
        overlap = (app <= we[p]) & (np.isnat(res) | (res >= ws[p]))
        p, app, res, key = p[overlap], app[overlap], res[overlap], a.key[sel][overlap]
        notified = np.maximum(app + _days(delay[sel][overlap]), ws[p])
        limit = np.where(np.isnat(res), we[p], np.minimum(res, we[p]))
        notified = np.minimum(notified, limit)
        stop = np.where(cut[p] & (np.isnat(res) | (res > we[p])), we[p], res)
        parts.append({"pos": p, "key": key, "kind": np.full(len(p), _K_INDIVIDUAL), "corp": np.full(len(p), -1),
                      "notified": notified, "ceased": stop})
        sp = np.flatnonzero(ind & silent)
        parts.append({"pos": sp, "key": _LOCAL_EXTRA + w.idx[sp] * _LOCAL_STRIDE + _LOCAL_STRIDE - 1,
                      "kind": np.full(len(sp), _K_INDIVIDUAL), "corp": np.full(len(sp), -1),
                      "notified": ws[sp], "ceased": np.where(cut[sp], we[sp], _NAT)})
        # One entity (or a statement that there is no PSC) for the whole window.
        ent = np.flatnonzero(active & (kind != _K_INDIVIDUAL))
        parts.append({"pos": ent, "key": np.zeros(len(ent), dtype=np.int64), "kind": kind[ent], "corp": corp[ent],
                      "notified": ws[ent], "ceased": np.where(cut[ent], we[ent], _NAT)})

    pos = np.concatenate([x["pos"] for x in parts]).astype(np.int64)
    key = np.concatenate([x["key"] for x in parts]).astype(np.int64)
    kind = np.concatenate([x["kind"] for x in parts]).astype(np.int64)
    corp = np.concatenate([x["corp"] for x in parts]).astype(np.int64)
    notified = np.concatenate([x["notified"] for x in parts]).astype("datetime64[D]")
    stopped = np.concatenate([x["ceased"] for x in parts]).astype("datetime64[D]")
    rows = len(pos)

    owner_id = np.empty(rows, dtype=object)
    owner_name = np.empty(rows, dtype=object)
    jur = np.empty(rows, dtype=object)
    pi = kind == _K_INDIVIDUAL
    keys, inv = np.unique(key[pi], return_inverse=True)
    owner_id[pi] = person_ids(seed, keys)[inv]
    owner_name[pi] = person_names(seed, keys)[inv]
    iso = np.vectorize(_RESIDENCE_ISO.get, otypes=[object])(countries_of_residence(seed, keys))
    jur[pi] = iso[inv]

    pk = kind == _K_UNKNOWN
    owner_id[pk] = np.char.add("NOPSC-", w.company_number[pos[pk]])
    owner_name[pk] = "No registrable person identified"
    pl = kind == _K_LEGAL
    lkey = rng.integers(0, max(5, cfg.businesses // 400), rows)
    owner_id[pl] = _entity_ids(seed, "legal-person", lkey[pl])
    owner_name[pl] = _entity_names(seed, "legal-person", lkey[pl], _LEGAL_SUFFIX)
    jur[pl] = "GB"

    pc = kind == _K_CORPORATE
    group_of = np.maximum(w.group[pos], 0)
    pool = rng.integers(0, max(10, cfg.businesses // 25), rows)
    parent = np.where(corp == _C_CHAIN, parent_chain[pos], parent_legit[pos])
    # In-chunk parents must exist when control is notified; otherwise fall back to an outside company.
    inworld = pc & ((corp == _C_INWORLD) | (corp == _C_CHAIN))
    bad = inworld & ((parent < 0) | (parent == pos))
    bad |= inworld & (corp == _C_INWORLD) & (created[np.maximum(parent, 0)] > notified)
    corp = np.where(bad & (corp == _C_INWORLD), _C_ENGLISH, corp)
    corp = np.where(bad & (corp == _C_CHAIN), np.where(offshore[pos], _C_VEHICLE, _C_HOLDCO), corp)
    notified = np.where(pc & (corp == _C_CHAIN), np.maximum(notified, created[np.maximum(parent, 0)]), notified)
    for code in (_C_INWORLD, _C_CHAIN):
        s = pc & (corp == code)
        owner_id[s] = w.company_number[parent[s]]
        owner_name[s] = w.company_name[parent[s]]
        jur[s] = "GB"
    s = pc & (corp == _C_ENGLISH)
    owner_id[s] = _english_numbers(seed, "english-company", pool[s])
    owner_name[s] = _entity_names(seed, "english-company", pool[s], _CORP_SUFFIX)
    jur[s] = "GB"
    s = pc & (corp == _C_FOREIGN)
    owner_id[s] = _entity_ids(seed, "foreign-company", pool[s])
    owner_name[s] = _entity_names(seed, "foreign-company", pool[s], _FOREIGN_SUFFIX)
    jur[s] = _LEGIT_FOREIGN[hash_choice(seed, "foreign-company-jurisdiction", pool[s], _LEGIT_FOREIGN_W)]
    s = pc & (corp == _C_VEHICLE)
    owner_id[s] = _entity_ids(seed, "group-vehicle", group_of[s])
    owner_name[s] = _entity_names(seed, "group-vehicle", group_of[s], _VEHICLE_SUFFIX)
    jur[s] = _SECRECY[hash_choice(seed, "group-vehicle-jurisdiction", group_of[s], _SECRECY_W)]
    s = pc & (corp == _C_HOLDCO)
    owner_id[s] = _english_numbers(seed, "group-holdco", group_of[s])
    owner_name[s] = _entity_names(seed, "group-holdco", group_of[s], _CORP_SUFFIX)
    jur[s] = "GB"

    valid = np.isnat(stopped) | (stopped >= notified)
    valid &= notified <= eol[pos]
    order = np.lexsort((kind, notified, pos))
    order = order[valid[order]]
    pos, kind, notified, stopped = pos[order], kind[order], notified[order], stopped[order]
    owner_id, owner_name, jur = owner_id[order], owner_name[order], jur[order]

    # Share bands consistent with the number of owners in control at the time of notification.
    frame = pd.DataFrame({"pos": pos, "n": notified, "c": stopped, "r": np.arange(len(pos))})
    pairs = frame.merge(frame[["pos", "n", "c"]], on="pos", suffixes=("", "_o"))
    concurrent = (pairs["n_o"] <= pairs["n"]) & (pairs["c_o"].isna() | (pairs["c_o"] > pairs["n"]))
    count = np.maximum(np.bincount(pairs["r"][concurrent].to_numpy(), minlength=len(pos)), 1)
    lead = np.r_[True, pos[1:] != pos[:-1]] if len(pos) else np.zeros(0, dtype=bool)
    ub = u_band[pos]
    band = np.select([count == 1, (count == 2) & lead & (ub < 0.3)],
                     [np.where(ub < 0.9, "75-100", "50-75"), "50-75"], "25-50").astype(object)
    band[kind == _K_UNKNOWN] = None

    out = pd.DataFrame({
        "company_number": _obj(w.company_number[pos]),
        "owner_id": owner_id,
        "owner_name": owner_name,
        "owner_kind": _obj(np.array(["individual", "corporate", "unknown", "legal-person"])[kind]),
        "ownership_band": band,
        "owner_jurisdiction": jur,
        "notified_on": notified.astype("datetime64[ns]"),
        "ceased_on": stopped.astype("datetime64[ns]"),
    })
    return out.drop_duplicates(subset=["company_number", "owner_id", "notified_on"]).reset_index(drop=True)
