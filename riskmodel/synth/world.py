"""The latent world: businesses, crime groups and who controls what.

Businesses are generated in chunks of consecutive global indices. Everything a chunk needs about entities shared
across chunks (crime groups, serial directors, accountants' and formation agents' addresses) is a pure function of
the seed and the entity's id (see :mod:`riskmodel.synth.rand`), so chunks never wait for each other. The same seed
and chunk size always give the same world. Known limit: ownership chains inside a group link only businesses of
the same chunk (the default chunk holds 50,000 businesses).

The crime process (documented with sources in ``docs/synth.md``):

- A business's chance of being infiltrated rises with its sector's relative risk (:data:`SECTOR_RISK`).
- Infiltrated businesses belong to crime groups, mostly based in one area; a group controls several businesses
  through nominee directors, shared addresses and corporate owners, so part of the signal is visible only across
  businesses.
- Each infiltrated business serves one or more purposes (typologies): laundering (cash-intensive fronts),
  procurement (winning public contracts), licensing (fronts holding licences), and some groups are *stealthy*:
  their businesses show almost nothing but their links.
- Some were set up by the group (infiltrated from incorporation); others were legitimate and taken over later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskmodel.synth.people import LAST
from riskmodel.synth.rand import chunk_rng, hash_choice, hash_uniform, quantile_sampler
from riskmodel.synth.reference import AREAS, DIVISIONS, SECTOR_RISK, sector_of

__all__ = ["Groups", "SynthConfig", "WorldChunk", "companies_table", "make_chunk", "make_groups"]

#: Company age in years at the extract date (measured quantiles of real company profiles, q05..q99).
AGE_YEARS = quantile_sampler([0, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0],
                             [0.05, 1.24, 1.42, 3.05, 6.45, 13.27, 22.36, 29.37, 52.04, 90.0])

_CODES = [(code, d.share * w) for d in DIVISIONS for code, w in d.codes]
SIC_CODES = np.array([c for c, _ in _CODES])
SIC_WEIGHTS = np.array([w for _, w in _CODES]) / sum(w for _, w in _CODES)
SIC_SECTOR = np.array([sector_of(c) for c in SIC_CODES])
SIC_RISK = np.array([SECTOR_RISK[s] for s in SIC_SECTOR])
AREA_CODES = np.array([a.area for a in AREAS])
AREA_WEIGHTS = np.array([a.share for a in AREAS]) / sum(a.share for a in AREAS)
AREA_COUNCIL = np.array([a.council for a in AREAS])

_STREETS = np.array(["High Street", "Main Street", "Station Road", "Church Street", "King Street", "Queen Street",
                     "Victoria Road", "Market Street", "Bridge Street", "Mill Road", "Park Road", "Union Street",
                     "George Street", "Argyle Street", "Dundas Street", "Albert Road", "Castle Street",
                     "Burnside Road", "Glebe Street", "Shore Road"])
_TRADING = np.array(["Services", "Solutions", "Trading", "Group", "Enterprises", "Holdings", "Scotland", "Partners",
                     "& Co", "Contracts", "Supplies", "Associates"])
_NAME_WORDS = np.array(["Clyde", "Forth", "Tay", "Caledonian", "Highland", "Thistle", "Saltire", "Northern",
                        "Bonnie", "Braeside", "Glen", "Loch", "Ben", "Kelvin", "Ochil", "Pentland", "Cairn",
                        "Heather", "Strath", "Lomond", "Galloway", "Murray", "Ness", "Dee", "Don", "Spey", "Arran",
                        "Iona", "Skye", "Harris", "Lewis", "Orkney", "Tweed", "Esk", "Avon", "Leven", "Allan",
                        "Bruce", "Wallace", "Douglas", "Stirling", "Argyll", "Lorne", "Moray", "Buchan", "Fife"])
_SECTOR_WORDS = {
    "pub": "Bar", "restaurant": "Kitchen", "hotel": "Hotel", "beauty": "Nails & Beauty", "garage": "Motors",
    "car-sales": "Car Sales", "taxi": "Taxis", "waste": "Waste Management", "construction": "Construction",
    "security": "Security", "property": "Properties", "shop": "Convenience Store", "gambling": "Gaming",
    "leisure": "Leisure", "cleaning": "Cleaning Services", "car-hire": "Car Hire", "other": "",
}


@dataclass(frozen=True)
class SynthConfig:
    """Parameters of a synthetic world.

    Parameters
    ----------
    businesses : int
        Number of businesses.
    seed : int
        Seed; the same seed gives byte-identical files.
    extract_date : date
        The day the data set is "extracted": no event after it.
    start_date : date
        Events (appointments, filings, licences, contracts) are generated from this date on.
    chunk_size : int
        Businesses generated and written per chunk (memory stays flat as ``businesses`` grows).
    infiltration_rate : float
        Share of businesses controlled by crime groups.
    group_size_mean : float
        Mean number of businesses per crime group.
    transaction_coverage : float
        Share of businesses whose bank transactions are in the data (independent of the truth).
    """

    businesses: int = 10_000
    seed: int = 0
    extract_date: dt.date = dt.date(2025, 6, 30)
    start_date: dt.date = dt.date(2015, 1, 1)
    chunk_size: int = 50_000
    infiltration_rate: float = 0.02
    group_size_mean: float = 5.0
    transaction_coverage: float = 0.08

    @property
    def n_groups(self) -> int:
        """Number of crime groups."""
        return max(2, round(self.businesses * self.infiltration_rate / self.group_size_mean))

    @property
    def extract(self) -> np.datetime64:
        """Extract date as a numpy day."""
        return np.datetime64(self.extract_date, "D")

    @property
    def start(self) -> np.datetime64:
        """Start date as a numpy day."""
        return np.datetime64(self.start_date, "D")


@dataclass(frozen=True)
class Groups:
    """Crime groups (latent truth). Arrays indexed by group id."""

    home_area: npt.NDArray[np.int64]
    stealth: npt.NDArray[np.bool_]
    launder: npt.NDArray[np.bool_]
    procure: npt.NDArray[np.bool_]
    licence: npt.NDArray[np.bool_]
    offshore: npt.NDArray[np.bool_]
    by_area: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict)

    def frame(self) -> pd.DataFrame:
        """Return the groups as a table for the truth folder."""
        return pd.DataFrame({"group_id": np.arange(len(self.home_area)), "home_area": AREA_CODES[self.home_area],
                             "stealth": self.stealth, "launder": self.launder, "procure": self.procure,
                             "licence": self.licence, "offshore": self.offshore})


def make_groups(cfg: SynthConfig) -> Groups:
    """Draw the crime groups of a world (a pure function of the seed)."""
    ids = np.arange(cfg.n_groups)
    home = hash_choice(cfg.seed, "group-area", ids, AREA_WEIGHTS)
    u = [hash_uniform(cfg.seed, f"group-{k}", ids) for k in ("stealth", "launder", "procure", "licence", "offshore")]
    by_area = {a: ids[home == a] for a in range(len(AREAS))}
    return Groups(home_area=home, stealth=u[0] < 0.25, launder=u[1] < 0.75, procure=u[2] < 0.35,
                  licence=u[3] < 0.5, offshore=u[4] < 0.3, by_area=by_area)


@dataclass
class WorldChunk:
    """Businesses ``start .. start + n - 1`` of the world with their latent truth (arrays of length n).

    Attributes hold the *truth*; only the table generators decide what of it shows in the data.
    """

    chunk: int
    idx: npt.NDArray[np.int64]
    company_number: npt.NDArray[np.str_]
    company_name: npt.NDArray[np.str_]
    company_type: npt.NDArray[np.str_]
    sic: npt.NDArray[np.str_]
    sic_codes: npt.NDArray[np.object_]
    sector: npt.NDArray[np.str_]
    area: npt.NDArray[np.int64]
    postcode: npt.NDArray[np.str_]
    address: npt.NDArray[np.str_]
    address_kind: npt.NDArray[np.str_]  # own, accountant, formation-agent, group-hub
    created: npt.NDArray[np.datetime64]
    ceased: npt.NDArray[np.datetime64]
    status: npt.NDArray[np.str_]
    size_z: npt.NDArray[np.float64]
    infiltrated: npt.NDArray[np.bool_]
    group: npt.NDArray[np.int64]
    infiltrated_on: npt.NDArray[np.datetime64]
    set_up_by_group: npt.NDArray[np.bool_]
    launder: npt.NDArray[np.bool_]
    procure: npt.NDArray[np.bool_]
    licence: npt.NDArray[np.bool_]
    stealth: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.idx)

    def truth(self) -> pd.DataFrame:
        """Latent truth of the chunk's businesses, for ``_truth/businesses``."""
        return pd.DataFrame({
            "company_number": self.company_number, "infiltrated": self.infiltrated, "group_id": self.group,
            "infiltrated_on": pd.to_datetime(self.infiltrated_on), "set_up_by_group": self.set_up_by_group,
            "launder": self.launder, "procure": self.procure, "licence_front": self.licence,
            "stealth": self.stealth, "sector": self.sector, "area": AREA_CODES[self.area],
            "size_z": self.size_z,
        })


def company_numbers(idx: npt.NDArray[np.int64], n_total: int) -> npt.NDArray[np.str_]:
    """Scottish company numbers, a fixed permutation of the index (so a number says nothing about the truth)."""
    space = 1_000_000 if n_total <= 900_000 else 10 ** len(str(n_total * 2))
    mult = 7_919 if space == 1_000_000 else 1_000_003
    perm = (idx * mult + 104_729) % space
    width = len(str(space - 1))
    return np.char.add("SC", np.char.zfill(perm.astype(str), width))


def postcodes(rng: np.random.Generator, area: npt.NDArray[np.int64]) -> npt.NDArray[np.str_]:
    """Plausible postcodes in the given areas (district 1-40, sector 1-9, unit two letters)."""
    n = len(area)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    district = rng.integers(1, 41, n).astype(str)
    unit = np.char.add(letters[rng.integers(0, 20, n)], letters[rng.integers(0, 20, n)])
    inward = np.char.add(rng.integers(1, 10, n).astype(str), unit)
    return np.char.add(np.char.add(np.char.add(AREA_CODES[area], district), " "), inward)


def shared_addresses(seed: int, kind: str, ids: npt.NDArray[np.int64]) -> tuple[
        npt.NDArray[np.str_], npt.NDArray[np.str_], npt.NDArray[np.int64]]:
    """Postcode, address line and area of shared addresses (accountants, formation agents, group hubs) by id."""
    area = hash_choice(seed, f"{kind}-area", ids, AREA_WEIGHTS)
    rng_ids = np.asarray(ids, dtype=np.int64)
    district = (hash_uniform(seed, f"{kind}-district", rng_ids) * 40 + 1).astype(int).astype(str)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    u1 = (hash_uniform(seed, f"{kind}-u1", rng_ids) * 20).astype(int)
    u2 = (hash_uniform(seed, f"{kind}-u2", rng_ids) * 20).astype(int)
    sector = (hash_uniform(seed, f"{kind}-sector", rng_ids) * 9 + 1).astype(int).astype(str)
    postcode = np.char.add(np.char.add(np.char.add(AREA_CODES[area], district), " "),
                           np.char.add(sector, np.char.add(letters[u1], letters[u2])))
    number = (hash_uniform(seed, f"{kind}-number", rng_ids) * 200 + 1).astype(int).astype(str)
    street = _STREETS[(hash_uniform(seed, f"{kind}-street", rng_ids) * len(_STREETS)).astype(int)]
    prefix = {"accountant": "Suite ", "formation-agent": "Office ", "group-hub": "Unit "}[kind]
    suite = (hash_uniform(seed, f"{kind}-suite", rng_ids) * 9 + 1).astype(int).astype(str)
    address = np.char.add(np.char.add(np.char.add(np.char.add(prefix, suite), ", "), np.char.add(number, " ")),
                          street)
    return postcode, address, area


#: Shares of companies listing 1, 2, 3 and 4 SIC codes (measured; see :func:`make_chunk`).
SIC_COUNT_P = np.array([0.810, 0.106, 0.042, 0.042])


def make_chunk(cfg: SynthConfig, groups: Groups, chunk: int) -> WorldChunk:
    """Generate the businesses of one chunk with their latent truth."""
    start = chunk * cfg.chunk_size
    n = min(cfg.chunk_size, cfg.businesses - start)
    idx = np.arange(start, start + n, dtype=np.int64)
    rng = chunk_rng(cfg.seed, chunk, "businesses")

    code_i = rng.choice(len(SIC_CODES), n, p=SIC_WEIGHTS)
    sic = SIC_CODES[code_i]
    sector = SIC_SECTOR[code_i]
    # Measured (Companies House profiles): 81.0% of companies list one SIC code, 10.6% two, 4.2% three and 4.2%
    # four (the most the register takes). Codes 3 and 4 come from a stream of their own, so that adding them left
    # every other draw of the chunk as it was.
    n_codes = 1 + np.searchsorted(np.cumsum(SIC_COUNT_P[:-1]), rng.random(n), side="right")
    more = chunk_rng(cfg.seed, chunk, "more-sic-codes")
    extra_codes = [SIC_CODES[rng.choice(len(SIC_CODES), n, p=SIC_WEIGHTS)],
                   *(SIC_CODES[more.choice(len(SIC_CODES), n, p=SIC_WEIGHTS)] for _ in range(2))]
    sic_codes = sic.astype(object)
    listed = [sic]
    for n_listed, code in enumerate(extra_codes, start=2):
        new = (n_codes >= n_listed) & np.all([code != c for c in listed], axis=0)
        sic_codes = np.where(new, np.char.add(np.char.add(sic_codes.astype(str), ";"), code), sic_codes).astype(object)
        listed.append(code)
    area = rng.choice(len(AREAS), n, p=AREA_WEIGHTS)

    ctype = rng.choice(np.array(["ltd", "unincorporated", "llp", "scottish-partnership", "limited-partnership",
                                 "plc", "other"]), n, p=[0.885, 0.07, 0.011, 0.015, 0.004, 0.001, 0.014])
    age_days = (AGE_YEARS.from_uniform(rng.random(n)) * 365.25).astype(np.int64)
    created = cfg.extract - age_days.astype("timedelta64[D]")
    # Latent size grows with age: a business a few weeks old is rarely large.
    age = np.maximum(age_days, 30) / 365.25
    size_z = 0.85 * rng.standard_normal(n) + 0.35 * (np.log(age) - 1.6)

    # Crime: risk by sector (with noise), scaled so the expected share matches the configured rate.
    risk = SIC_RISK[code_i] * np.exp(0.3 * rng.standard_normal(n))
    p = np.clip(risk * cfg.infiltration_rate / float(SIC_RISK @ SIC_WEIGHTS) / 1.05, 0, 0.5)
    infiltrated = rng.random(n) < p
    group = np.full(n, -1, dtype=np.int64)
    home_pick = rng.random(n) < 0.85  # groups are mostly local
    pick = rng.random(n)
    for i in np.flatnonzero(infiltrated):
        local = groups.by_area.get(int(area[i]), np.empty(0, dtype=np.int64))
        pool = local if home_pick[i] and len(local) else np.arange(len(groups.home_area))
        group[i] = pool[int(pick[i] * len(pool))]
    gi = np.where(infiltrated, group, 0)
    set_up = infiltrated & (rng.random(n) < 0.55)
    takeover_days = ((cfg.extract - created).astype(np.int64) * rng.uniform(0.2, 1.0, n)).astype(np.int64)
    infiltrated_on = np.where(set_up, created, created + takeover_days.astype("timedelta64[D]"))
    infiltrated_on = np.where(infiltrated, infiltrated_on, np.datetime64("NaT"))
    laundering_sector = np.isin(sector, ["pub", "restaurant", "hotel", "beauty", "garage", "car-sales", "taxi",
                                         "shop", "gambling", "leisure", "car-hire", "cleaning", "property"])
    procurement_sector = np.isin(sector, ["construction", "waste", "security", "cleaning", "taxi", "other"]) & ~(
        np.isin(sic, ["99999", "98000"]) | np.char.startswith(sic.astype(str), "64"))
    licence_sector = np.isin(sector, ["pub", "restaurant", "hotel", "taxi", "waste", "security", "gambling",
                                      "garage", "car-sales", "shop", "property", "leisure"])
    launder = infiltrated & groups.launder[gi] & (laundering_sector | (rng.random(n) < 0.2))
    procure = infiltrated & groups.procure[gi] & procurement_sector
    licence = infiltrated & groups.licence[gi] & licence_sector
    launder |= infiltrated & ~procure & ~licence  # every infiltrated business serves some purpose
    stealth = infiltrated & groups.stealth[gi]

    # Registered offices: many legitimate companies use accountants' and formation agents' addresses.
    kind = rng.choice(np.array(["own", "accountant", "formation-agent"]), n, p=[0.70, 0.22, 0.08])
    kind = np.where(infiltrated & (rng.random(n) < 0.45), "group-hub", kind)
    postcode = postcodes(rng, area)
    number = rng.integers(1, 250, n).astype(str)
    address = np.char.add(np.char.add(number, " "), _STREETS[rng.integers(0, len(_STREETS), n)])
    n_acc = max(1, cfg.businesses // 60)
    n_agents = max(1, cfg.businesses // 2000)
    for k, ids in (("accountant", rng.integers(0, n_acc, n)), ("formation-agent", rng.zipf(1.6, n) % n_agents),
                   ("group-hub", gi * 3 + rng.integers(0, 3, n))):
        m = kind == k
        if m.any():
            pc, ad, _ = shared_addresses(cfg.seed, k, ids[m])
            postcode[m], address[m] = pc, ad

    # Cessation and status: infiltrated businesses are wound up and replaced more often (phoenixing).
    p_cease = 0.07 + 0.08 * infiltrated
    ceased_flag = rng.random(n) < p_cease
    life = ((cfg.extract - created).astype(np.int64) * rng.uniform(0.3, 1.0, n)).astype(np.int64)
    ceased = np.where(ceased_flag, created + life.astype("timedelta64[D]"), np.datetime64("NaT"))
    status = rng.choice(np.array(["active", "dormant", "liquidation", "administration", "other"]), n,
                        p=[0.925, 0.05, 0.015, 0.005, 0.005])
    status = np.where(infiltrated & (rng.random(n) < 0.05), "liquidation", status)
    status = np.where(ceased_flag, "dissolved", status)

    # Names: place words, surnames and trade words in several styles; like real trading names they can repeat.
    word = _NAME_WORDS[rng.integers(0, len(_NAME_WORDS), n)]
    word2 = np.where(rng.random(n) < 0.5, _NAME_WORDS[rng.integers(0, len(_NAME_WORDS), n)],
                     LAST[rng.integers(0, len(LAST), n)])
    trade = np.array([_SECTOR_WORDS[s] for s in sector])
    generic = _TRADING[rng.integers(0, len(_TRADING), n)]
    trade = np.where((trade == "") | (rng.random(n) < 0.3), np.char.strip(np.char.add(np.char.add(trade, " "),
                                                                                       generic)), trade)
    style = rng.random(n)
    base = np.select([style < 0.3, style < 0.6, style < 0.8],
                     [word, np.char.add(np.char.add(word, " "), word2),
                      np.char.add(np.char.add(LAST[rng.integers(0, len(LAST), n)], " & "), word2)],
                     np.char.add(np.char.add(word2, " of "), word))
    suffix = np.select([ctype == "ltd", ctype == "llp", ctype == "plc"], [" Ltd", " LLP", " PLC"], "")
    name = np.char.add(np.char.add(np.char.add(base, " "), trade), suffix)

    # Unincorporated businesses carry an authority-issued id instead of a Companies House number.
    number = company_numbers(idx, cfg.businesses)
    number = np.where(ctype == "unincorporated", np.char.add("ST", np.char.lstrip(number, "SC")), number)
    infiltrated_on = np.minimum(infiltrated_on, np.where(ceased_flag, ceased, infiltrated_on))
    return WorldChunk(
        chunk=chunk, idx=idx, company_number=number, company_name=name,
        company_type=ctype, sic=sic, sic_codes=sic_codes, sector=sector, area=area, postcode=postcode,
        address=address, address_kind=kind, created=created.astype("datetime64[D]"),
        ceased=ceased.astype("datetime64[D]"), status=status, size_z=size_z, infiltrated=infiltrated, group=group,
        infiltrated_on=infiltrated_on.astype("datetime64[D]"), set_up_by_group=set_up, launder=launder,
        procure=procure, licence=licence, stealth=stealth,
    )


def companies_table(w: WorldChunk) -> pd.DataFrame:
    """Return the ``companies`` contract table of a chunk."""
    return pd.DataFrame({
        "company_number": w.company_number,
        "company_name": w.company_name,
        "company_type": w.company_type,
        "company_status": w.status,
        "date_of_creation": pd.to_datetime(w.created),
        "date_of_cessation": pd.to_datetime(w.ceased),
        "sic_codes": w.sic_codes,
        "registered_office_postcode": w.postcode,
        "registered_office_address": w.address,
    })
