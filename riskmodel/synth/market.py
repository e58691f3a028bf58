"""Markets of the synthetic world: public contracts, bank transactions and watchlists.

Each table shows part of the latent crime process of :mod:`riskmodel.synth.world` as a *weak* signal, mixed with
legitimate look-alikes, so that no single flag identifies a crime-controlled business.

Public contracts (``contracts``, one row per award and supplier, a flattening of OCDS releases)
    Buyers are Scottish public bodies (the 32 councils, the 14 territorial NHS boards, housing associations,
    universities and national bodies such as Police Scotland and Scottish Water). Businesses in supplying sectors
    win Poisson numbers of awards over ``start_date .. extract_date``, more when larger, mostly from buyers in
    their own area and from buyers that buy what they sell. About 15% of rows name suppliers outside the world
    (national firms, English companies, unidentified sole traders). The mixes are *measured* on Contracts Finder
    OCDS (procurement methods, main categories, award values, tender periods, contract durations, estimate
    ratios). Businesses used by a crime group for procurement (``w.procure``), after their infiltration, show the
    red flags of the Open Contracting Partnership's *Red Flags for Integrity* guide, of its Cardinal library
    (``ocdscardinal indicators``) and of Fazekas' Corruption Risk Index (CRI): winner concentration at one favoured
    buyer per group (a supplier taking a high share of one buyer's awards), single bids in competitive procedures
    (Cardinal R018 *single bid received*; the core CRI indicator), non-competitive procedures (direct and limited
    awards; CRI *procedure type*), short submission periods (Cardinal R003 *short submission period*; here under
    10 days), awards outside the supplier's trade (Cardinal R048 *heterogeneous supplier*: other CPV divisions),
    values inflated after award by modifications (OCP guide: contract amendments raising the price; final value
    20-60% above the award) and young companies winning large contracts. Bid-price flags (Cardinal R024 *price
    close to winning bid*, R058 *heavily discounted bid*) cannot show: the contract carries no losing bids.
    Stealthy groups show about a quarter of all this. Legitimate niche suppliers also get single bids, direct
    awards and modifications, short deadlines happen in ordinary urgent tenders, and young legitimate companies
    mostly win small contracts.

Bank transactions (``transactions``, 12 months before the extract)
    A share ``cfg.transaction_coverage`` of businesses is covered, chosen by a hash of the global index, so
    coverage is independent of the truth. Ordinary flows follow the sector: card takings and cash deposits in
    cash-intensive sectors (the cash-intensive businesses of FATF typology work, the UK National Risk Assessment
    of money laundering and the FFIEC BSA/AML manual: bars, restaurants, shops, beauty, taxis, car dealers,
    gambling), customer and supplier transfers elsewhere, monthly rent and payroll, quarterly HMRC payments.
    Counterparties come from pools shared per area (so fan-in across businesses is visible), sometimes a business
    of the world, and a few from abroad. Laundering fronts (``w.launder``) add FATF money-laundering typologies:
    structured cash deposits just under £10,000 or in round thousands, fan-in bursts from many small payers
    (money-mule pools shared within a group, FATF *Professional Money Laundering*, 2018), pass-through (a large
    credit paid on within 1-3 days, sometimes to another business of the group) and payments to high-risk and
    secrecy jurisdictions (FATF *jurisdictions under increased monitoring* over 2019-2025, offshore centres of the
    EU list of non-cooperative jurisdictions and the Financial Secrecy Index). Stealthy fronts show a third as
    often. Legitimate businesses also make round cash deposits, pay foreign suppliers, occasionally trade with the
    same jurisdictions and move a loan straight on.

Watchlist (``watchlist``, one table for the whole world)
    Entries of four lists modelled on the UK sanctions list (OFSI consolidated list), the World Bank's listing of
    ineligible (debarred) firms and individuals, the Companies House register of disqualified directors and the
    OpenSanctions PEP data set. Most entries match nobody in the world (foreign people and
    companies, names from pools disjoint from the world's). Some entries are crime-group members, written exactly
    (~30%) or as a list would spell them (initial for the first name, missing middle name, ``SURNAME, Given``,
    a typo), some are group-controlled businesses under suffix variants, and some are ordinary local people whose
    common names also belong to other people of the world (false positives of name screening).

Randomness: chunk-local draws use ``chunk_rng(cfg.seed, w.chunk, table)``; anything several chunks refer to (buyers,
external suppliers, counterparty pools, group members, a group's favoured buyer) is a hash of a stable id, so the
same seed gives the same tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from riskmodel.contract.schemas import PANDAS_DTYPES
from riskmodel.contract.spec import TABLES
from riskmodel.synth.people import FIRST, GROUP, LAST, LOCAL, person_names
from riskmodel.synth.rand import chunk_rng, hash_choice, hash_hex, hash_uniform, quantile_sampler
from riskmodel.synth.reference import AREAS
from riskmodel.synth.world import AREA_WEIGHTS, Groups, SynthConfig, WorldChunk, make_chunk

__all__ = ["AWARD_VALUE", "BUYERS", "DURATION_DAYS", "HIGH_RISK", "TENDER_DAYS", "Buyer", "buyer_ids",
           "contracts_table", "favoured_buyers", "name_variant", "transactions_table", "watchlist_table"]

FloatA = npt.NDArray[np.float64]
IntA = npt.NDArray[np.int64]
BoolA = npt.NDArray[np.bool_]
StrA = npt.NDArray[np.str_]

_DAY = 86_400
_AREA_INDEX = {a.area: i for i, a in enumerate(AREAS)}
_N_AREAS = len(AREAS)

# ----------------------------------------------------------------------------------------------------------------
# Buyers


@dataclass(frozen=True)
class Buyer:
    """A contracting authority.

    Parameters
    ----------
    name : str
        Name as published in notices.
    kind : str
        ``council``, ``nhs``, ``housing``, ``university``, ``police``, ``water``, ``fire``, ``transport`` or
        ``government``.
    areas : tuple of str
        Postcode areas it serves; empty for national bodies.
    weight : float
        Relative volume of awards.
    """

    name: str
    kind: str
    areas: tuple[str, ...]
    weight: float


def _b(name: str, kind: str, areas: str, weight: float) -> Buyer:
    return Buyer(name, kind, tuple(areas.split()), weight)


_COUNCILS = (
    ("Aberdeen City Council", "AB", 2.2), ("Aberdeenshire Council", "AB", 2.5), ("Angus Council", "DD", 1.1),
    ("Argyll and Bute Council", "PA", 0.9), ("Clackmannanshire Council", "FK", 0.5),
    ("Comhairle nan Eilean Siar", "HS", 0.4), ("Dumfries and Galloway Council", "DG", 1.5),
    ("Dundee City Council", "DD", 1.5), ("East Ayrshire Council", "KA", 1.2),
    ("East Dunbartonshire Council", "G", 1.0), ("East Lothian Council", "EH", 1.0),
    ("East Renfrewshire Council", "G", 0.9), ("City of Edinburgh Council", "EH", 5.0), ("Falkirk Council", "FK", 1.6),
    ("Fife Council", "KY", 3.5), ("Glasgow City Council", "G", 6.0), ("Highland Council", "IV KW", 2.5),
    ("Inverclyde Council", "PA", 0.8), ("Midlothian Council", "EH", 0.9), ("Moray Council", "IV", 0.9),
    ("North Ayrshire Council", "KA", 1.4), ("North Lanarkshire Council", "ML", 3.0),
    ("Orkney Islands Council", "KW", 0.4), ("Perth and Kinross Council", "PH", 1.5),
    ("Renfrewshire Council", "PA", 1.8), ("Scottish Borders Council", "TD", 1.2),
    ("Shetland Islands Council", "ZE", 0.4), ("South Ayrshire Council", "KA", 1.1),
    ("South Lanarkshire Council", "ML", 3.0), ("Stirling Council", "FK", 0.9),
    ("West Dunbartonshire Council", "G", 0.9), ("West Lothian Council", "EH", 1.8),
)
_NHS = (
    ("NHS Ayrshire and Arran", "KA", 1.2), ("NHS Borders", "TD", 0.5), ("NHS Dumfries and Galloway", "DG", 0.7),
    ("NHS Fife", "KY", 1.2), ("NHS Forth Valley", "FK", 1.0), ("NHS Grampian", "AB", 2.0),
    ("NHS Greater Glasgow and Clyde", "G PA", 4.0), ("NHS Highland", "IV KW", 1.2), ("NHS Lanarkshire", "ML", 2.0),
    ("NHS Lothian", "EH", 3.0), ("NHS Orkney", "KW", 0.2), ("NHS Shetland", "ZE", 0.2),
    ("NHS Tayside", "DD PH", 1.5), ("NHS Western Isles", "HS", 0.2),
)
_HOUSING = (
    ("Wheatley Homes Glasgow", "G", 1.0), ("Link Group", "FK", 0.6),
    ("Sanctuary Scotland Housing Association", "G", 0.4), ("Kingdom Housing Association", "KY", 0.5),
    ("Hillcrest Homes", "DD", 0.4), ("Cairn Housing Association", "EH", 0.3), ("Bield Housing & Care", "EH", 0.3),
    ("Hanover (Scotland) Housing Association", "EH", 0.3), ("Trust Housing Association", "EH", 0.3),
    ("Port of Leith Housing Association", "EH", 0.3), ("Places for People Scotland", "EH", 0.4),
    ("Loreburn Housing Association", "DG", 0.3), ("Albyn Housing Society", "IV", 0.4), ("Osprey Housing", "AB", 0.3),
    ("Grampian Housing Association", "AB", 0.3), ("Angus Housing Association", "DD", 0.2),
    ("River Clyde Homes", "PA", 0.5), ("Clyde Valley Housing Association", "ML", 0.4),
    ("Cunninghame Housing Association", "KA", 0.4), ("Irvine Housing Association", "KA", 0.3),
    ("Queens Cross Housing Association", "G", 0.3), ("Thenue Housing", "G", 0.3), ("ng homes", "G", 0.4),
    ("Eildon Housing Association", "TD", 0.3), ("Hjaltland Housing Association", "ZE", 0.1),
)
_UNIVERSITIES = (
    ("University of Glasgow", "G", 1.2), ("University of Edinburgh", "EH", 1.2),
    ("University of Strathclyde", "G", 0.8), ("University of Aberdeen", "AB", 0.6),
    ("University of Dundee", "DD", 0.6), ("University of St Andrews", "KY", 0.5),
    ("University of Stirling", "FK", 0.4), ("Heriot-Watt University", "EH", 0.5),
    ("Edinburgh Napier University", "EH", 0.4), ("Glasgow Caledonian University", "G", 0.4),
    ("Robert Gordon University", "AB", 0.3), ("University of the Highlands and Islands", "IV", 0.3),
    ("University of the West of Scotland", "PA", 0.4), ("Abertay University", "DD", 0.2),
    ("Queen Margaret University", "EH", 0.2),
)
_NATIONAL = (
    ("Police Scotland", "police", 3.0), ("Scottish Water", "water", 4.0),
    ("Scottish Fire and Rescue Service", "fire", 1.2), ("Transport Scotland", "transport", 2.0),
    ("Scottish Government", "government", 3.0), ("Scottish Prison Service", "government", 0.8),
    ("NHS National Services Scotland", "nhs", 2.0),
)


def _buyers() -> tuple[Buyer, ...]:
    councils = [_b(n, "council", a, w) for n, a, w in _COUNCILS]
    known = {b.name for b in councils}
    for area in AREAS:  # every licensing council of the reference data buys too
        if area.council not in known:
            councils.append(_b(area.council, "council", area.area, 1.0))
            known.add(area.council)
    return (*councils, *(_b(n, "nhs", a, w) for n, a, w in _NHS), *(_b(n, "housing", a, w) for n, a, w in _HOUSING),
            *(_b(n, "university", a, w) for n, a, w in _UNIVERSITIES),
            *(Buyer(n, k, (), w) for n, k, w in _NATIONAL))


#: Contracting authorities of the synthetic world.
BUYERS: tuple[Buyer, ...] = _buyers()
_B_NAME = np.array([b.name for b in BUYERS], dtype=object)
_B_WEIGHT = np.array([b.weight for b in BUYERS])
#: Locality of buyers by supplier area (rows: area, columns: buyer): local x12, national bodies x3.
_B_LOCAL = np.array([[12.0 if a.area in b.areas else (3.0 if not b.areas else 1.0) for b in BUYERS]
                     for a in AREAS])

# ----------------------------------------------------------------------------------------------------------------
# What suppliers sell: profiles by SIC code, with OCDS category and CPV codes

_PROFILES = ("construction", "waste", "security", "cleaning", "transport", "haulage", "catering", "it", "consulting",
             "goods", "care", "staffing", "support", "education", "repair", "generic")
_P = {p: i for i, p in enumerate(_PROFILES)}
_GENERIC = _P["generic"]
#: Awards per business-year relative to construction (public buyers are the main market of waste, security,
#: cleaning, school transport and care businesses).
_PROFILE_RATE = np.array([0.85, 2.5, 2.0, 1.5, 2.2, 0.5, 1.0, 0.45, 0.5, 0.5, 1.0, 1.0, 0.3, 0.5, 0.6, 0.3])
#: (SIC prefix, profile, rate multiplier): the first match wins.
_SIC_PROFILE: tuple[tuple[str, str, float], ...] = (
    ("41", "construction", 1.0), ("42", "construction", 1.5), ("43", "construction", 1.0), ("38", "waste", 1.0),
    ("39", "waste", 1.0), ("80", "security", 1.0), ("81", "cleaning", 1.0), ("49320", "transport", 1.0),
    ("49410", "haulage", 1.0), ("5621", "catering", 1.0), ("5629", "catering", 1.2), ("561", "catering", 0.12),
    ("62", "it", 1.0), ("63", "it", 0.8), ("58", "it", 0.5), ("61", "it", 0.8), ("70", "consulting", 0.8),
    ("71", "consulting", 1.3), ("72", "consulting", 0.8), ("73", "consulting", 0.7), ("74", "consulting", 0.8),
    ("69", "consulting", 0.5), ("46", "goods", 1.0), ("47730", "goods", 0.6), ("47910", "goods", 0.3),
    ("10", "goods", 0.5), ("32", "goods", 0.8), ("25", "goods", 0.8), ("28", "goods", 0.8), ("20", "goods", 0.8),
    ("16", "goods", 0.6), ("23", "goods", 0.6), ("86", "care", 0.5), ("87", "care", 1.5), ("88", "care", 1.5),
    ("78", "staffing", 1.0), ("82", "support", 1.0), ("18", "support", 1.0), ("85", "education", 1.0),
    ("33", "repair", 1.0), ("95", "repair", 1.0), ("45200", "repair", 0.5),
)
#: (category, CPV code, weight) per profile. CPV codes of the EU Common Procurement Vocabulary.
_CPV: dict[str, tuple[tuple[str, str, float], ...]] = {
    "construction": (("works", "45000000", .25), ("works", "45210000", .20), ("works", "45233140", .10),
                     ("works", "45453000", .20), ("works", "45310000", .10), ("works", "45330000", .08),
                     ("services", "50700000", .35), ("services", "71500000", .12), ("goods", "44100000", .06)),
    "waste": (("services", "90511000", .40), ("services", "90512000", .20), ("services", "90513000", .20),
              ("services", "90500000", .15), ("works", "45111000", .03), ("goods", "34144500", .02)),
    "security": (("services", "79710000", .50), ("services", "79713000", .25), ("services", "79711000", .10),
                 ("goods", "35120000", .08), ("works", "45312000", .07)),
    "cleaning": (("services", "90910000", .40), ("services", "90911200", .25), ("services", "90919200", .10),
                 ("services", "77310000", .12), ("goods", "39830000", .08), ("services", "90690000", .05)),
    "transport": (("services", "60130000", .55), ("services", "60140000", .15), ("services", "60120000", .20),
                  ("services", "60112000", .10)),
    "haulage": (("services", "60100000", .50), ("services", "60161000", .20), ("services", "63100000", .20),
                ("goods", "09134100", .10)),
    "catering": (("services", "55500000", .30), ("services", "55520000", .25), ("services", "55524000", .20),
                 ("goods", "15000000", .20), ("goods", "15800000", .05)),
    "it": (("services", "72000000", .30), ("services", "72200000", .20), ("services", "72500000", .10),
           ("services", "72300000", .05), ("goods", "48000000", .15), ("goods", "30200000", .15),
           ("services", "64200000", .05)),
    "consulting": (("services", "79400000", .30), ("services", "71000000", .25), ("services", "71300000", .10),
                   ("services", "79341000", .08), ("services", "79200000", .07), ("services", "79300000", .05),
                   ("services", "73000000", .05), ("services", "90700000", .05)),
    "goods": (("goods", "39000000", .12), ("goods", "30190000", .12), ("goods", "33100000", .15),
              ("goods", "15000000", .10), ("goods", "09100000", .08), ("goods", "34100000", .08),
              ("goods", "22000000", .06), ("goods", "18000000", .07), ("goods", "44000000", .08),
              ("goods", "31000000", .07), ("services", "50000000", .07)),
    "care": (("services", "85000000", .30), ("services", "85311000", .30), ("services", "85312000", .25),
             ("services", "85140000", .15)),
    "staffing": (("services", "79620000", .70), ("services", "79600000", .30)),
    "support": (("services", "79500000", .30), ("services", "79990000", .30), ("services", "79800000", .20),
                ("services", "79512000", .10), ("services", "98000000", .10)),
    "education": (("services", "80000000", .50), ("services", "80500000", .40), ("services", "92000000", .10)),
    "repair": (("services", "50000000", .40), ("services", "50110000", .30), ("services", "50700000", .20),
               ("goods", "34300000", .10)),
    "generic": (("services", "79000000", .30), ("services", "98000000", .20), ("services", "50000000", .15),
                ("services", "90910000", .10), ("works", "45000000", .15), ("goods", "44000000", .10)),
}
_CATS = np.array(["works", "services", "goods"], dtype=object)


def _cpv_tables() -> tuple[FloatA, IntA, npt.NDArray[np.object_], IntA]:
    width = max(len(v) for v in _CPV.values())
    cdf = np.ones((len(_PROFILES), width))
    offset = np.zeros(len(_PROFILES), dtype=np.int64)
    codes: list[str] = []
    cats: list[int] = []
    for i, p in enumerate(_PROFILES):
        entries = _CPV[p]
        offset[i] = len(codes)
        w = np.array([e[2] for e in entries])
        cdf[i, :len(entries)] = np.cumsum(w) / w.sum()
        codes.extend(e[1] for e in entries)
        cats.extend(list(_CATS).index(e[0]) for e in entries)
    return cdf, offset, np.array(codes, dtype=object), np.array(cats, dtype=np.int64)


_CPV_CDF, _CPV_OFFSET, _CPV_CODE, _CPV_CAT = _cpv_tables()

#: Affinity of buyer kinds to what suppliers sell (default per kind, then exceptions).
_AFFINITY: dict[str, tuple[float, dict[str, float]]] = {
    "council": (1.0, {"transport": 3.0, "waste": 3.0, "care": 2.0, "haulage": 0.5}),
    "nhs": (0.6, {"cleaning": 1.5, "catering": 1.2, "goods": 2.0, "care": 1.5, "staffing": 2.0, "it": 1.0,
                  "transport": 0.6, "construction": 0.5, "education": 0.2}),
    "housing": (0.3, {"construction": 2.5, "repair": 2.0, "cleaning": 1.2, "care": 1.0, "consulting": 0.6,
                      "security": 0.5, "transport": 0.0, "education": 0.0}),
    "university": (0.5, {"construction": 1.0, "cleaning": 1.2, "catering": 1.5, "it": 2.0, "consulting": 1.0,
                         "goods": 1.5, "security": 1.0, "education": 1.0, "transport": 0.2, "care": 0.1}),
    "police": (0.5, {"security": 1.5, "it": 2.0, "goods": 1.5, "repair": 1.0, "consulting": 1.0, "cleaning": 1.0,
                     "transport": 0.2, "care": 0.1}),
    "water": (0.2, {"construction": 3.0, "consulting": 1.5, "repair": 1.5, "haulage": 1.0, "it": 1.0, "goods": 1.0,
                    "waste": 1.0, "security": 0.5}),
    "fire": (0.4, {"goods": 1.5, "repair": 1.0, "it": 1.0, "construction": 0.7, "cleaning": 0.6}),
    "transport": (0.1, {"construction": 4.0, "consulting": 1.5, "it": 0.5, "haulage": 0.5}),
    "government": (0.4, {"it": 2.0, "consulting": 2.0, "support": 1.5, "staffing": 1.0, "goods": 1.0, "care": 0.2,
                         "transport": 0.1}),
}
#: Buyer weight by profile (rows: profile, columns: buyer).
_B_AFFINITY = np.array([[_AFFINITY[b.kind][1].get(p, _AFFINITY[b.kind][0]) for b in BUYERS] for p in _PROFILES])
#: Buyers a group may cultivate: councils and housing associations above all (lowest-level, local decisions).
_B_CAPTURABLE = np.array([{"council": 1.0, "housing": 1.0, "nhs": 0.4, "university": 0.3}.get(b.kind, 0.15)
                          for b in BUYERS])

#: Measured (Contracts Finder OCDS): open 52.5%, selective 21.2%, direct 7.9%, limited 5.4%; unknown spread
#: proportionally.
_METHODS = np.array(["open", "selective", "direct", "limited"], dtype=object)
_METHOD_P = np.array([52.5, 21.2, 7.9, 5.4]) / 87.0
#: Award value in GBP (measured council-level quantiles q10..q90; tails extrapolated).
AWARD_VALUE = quantile_sampler([0, 0.01, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99, 1.0],
                               [1_000, 6_000, 25_714, 40_703, 93_007, 313_089, 3_542_200, 45_000_000, 250_000_000])
#: Tender period in days, deadline minus publication (measured q10..q90).
TENDER_DAYS = quantile_sampler([0, 0.10, 0.25, 0.50, 0.75, 0.90, 1.0], [6, 14, 21, 32, 36, 49, 120])
#: Contract duration in days (measured q25..q90).
DURATION_DAYS = quantile_sampler([0, 0.10, 0.25, 0.50, 0.75, 0.90, 1.0], [30, 150, 364, 1078, 1460, 1825, 3650])

#: Share of contracts of 300 days or more let for a whole number of years (measured on Contracts Finder: 69-90% of
#: contract periods per file end within 20 days of a whole year, the four-year framework the commonest).
WHOLE_YEAR_TERMS = 0.8


def _whole_terms(cfg: SynthConfig, chunk: int, days: np.ndarray) -> np.ndarray:
    """Round most contract lengths of 300 days or more to whole years.

    A whole-year term ends the day before the anniversary, as contract periods are written (1 April 2021 to 31 March
    2025). The choice is hashed per process so that the chunk's other draws stay as they were.
    """
    u = hash_uniform(cfg.seed, "whole-year-term", (np.int64(chunk) << np.int64(32)) | np.arange(len(days)))
    years = np.maximum(np.round(days / 365.25), 1)
    whole = (days >= 300) & (u < WHOLE_YEAR_TERMS)
    return np.where(whole, np.round(years * 365.25) - 1, days).astype(np.int64)


_BASE_RATE = 0.017  # awards per business-year of an average-size construction business
_SIZE_ELASTICITY = 0.8  # log award rate per standard deviation of size
_CROOK_RATE = 0.35  # extra awards per year of a procurement front after infiltration
_STEALTH_CONTRACTS = 0.25  # share of the red flags a stealthy group shows
_EXTERNAL_RATIO = 0.07  # processes won by suppliers outside the world, per process won inside
_EXTERNAL_PROFILE_P = np.array([.15, .05, .04, .05, .02, .02, .02, .15, .15, .22, .05, .05, .03, 0, 0, 0])

_EXT_WORDS = np.array(["Pennine", "Mercia", "Wessex", "Severn", "Thames", "Humber", "Cotswold", "Chiltern", "Medway",
                       "Trent", "Anglia", "Cumbria", "Albion", "Britannia", "Kestrel", "Oakfield", "Ashdown",
                       "Redwood", "Sterling", "Meridian", "Apex", "Vertex", "Keystone", "Horizon", "Summit",
                       "Pinnacle", "Cardinal", "Crown", "Sovereign", "Beacon", "Harbour", "Northgate", "Eastfield",
                       "Westbury", "Southern", "Lancaster", "Windsor", "Cheviot", "Marlow", "Kingsway"])
_EXT_TRADE = {
    "construction": "Construction", "waste": "Environmental Services", "security": "Security Solutions",
    "cleaning": "Facilities Management", "transport": "Travel", "haulage": "Logistics", "catering": "Catering",
    "it": "Digital", "consulting": "Consulting", "goods": "Supplies", "care": "Care", "staffing": "Recruitment",
    "support": "Business Services", "education": "Training", "repair": "Maintenance", "generic": "Group",
}
_EXT_SUFFIX = np.array([" Limited", " Limited", " Limited", " UK Limited", " PLC", " LLP", " Ltd"])


def _days(x: npt.NDArray[Any]) -> IntA:
    """Days since 1970 of a datetime64[D] array (NaT stays the minimum integer)."""
    return np.asarray(x, dtype="datetime64[D]").astype(np.int64)


def _dates(days: IntA, missing: BoolA | None = None) -> pd.Series:
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    if missing is not None:
        out[missing] = np.datetime64("NaT")
    return pd.Series(out)


def _text(values: npt.NDArray[Any], missing: BoolA | None = None) -> pd.Series:
    out = np.asarray(values).astype(object)
    if missing is not None:
        out[missing] = None
    return pd.Series(out, dtype=object)


def _ints(values: IntA, missing: BoolA) -> pd.Series:
    return pd.Series(pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing.copy()))


def _floats(values: FloatA, missing: BoolA | None = None) -> pd.Series:
    out = np.asarray(values, dtype=np.float64).copy()
    if missing is not None:
        out[missing] = np.nan
    return pd.Series(out)


def _empty(table: str) -> pd.DataFrame:
    """Return a typed table without rows."""
    spec = TABLES[table]
    return pd.DataFrame({c.name: pd.Series([], dtype=PANDAS_DTYPES[c.dtype]) for c in spec.columns})


def _pick_rows(cdf: FloatA, u: FloatA) -> IntA:
    """Index drawn per row from row-wise cumulative weights (last column = total)."""
    return np.minimum((cdf < (u * cdf[:, -1])[:, None]).sum(axis=1), cdf.shape[1] - 1).astype(np.int64)


def _supply_profile(sic: StrA) -> tuple[IntA, FloatA]:
    """Profile index (-1: sells nothing to public buyers) and rate multiplier of each business."""
    codes, inverse = np.unique(sic, return_inverse=True)
    prof = np.full(len(codes), -1, dtype=np.int64)
    mult = np.zeros(len(codes))
    for i, code in enumerate(codes):
        for prefix, profile, m in _SIC_PROFILE:
            if str(code).startswith(prefix):
                prof[i], mult[i] = _P[profile], m
                break
    return prof[inverse], mult[inverse]


def favoured_buyers(cfg: SynthConfig, groups: Groups) -> IntA:
    """Return the buyer each crime group cultivates (a council or housing association near its home, mostly).

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (the seed).
    groups : Groups
        Crime groups of the world.

    Returns
    -------
    ndarray of int
        Index into :data:`BUYERS` per group id (a pure function of the seed and the group's home area).
    """
    ids = np.arange(len(groups.home_area))
    weights = _B_WEIGHT[None, :] * _B_CAPTURABLE[None, :] * _B_LOCAL[groups.home_area] ** 1.5
    return _pick_rows(np.cumsum(weights, axis=1), hash_uniform(cfg.seed, "favoured-buyer", ids))


def buyer_ids(cfg: SynthConfig) -> npt.NDArray[np.object_]:
    """Return the opaque ``GB-SC-...`` ids of :data:`BUYERS`.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (the seed).

    Returns
    -------
    ndarray of object
        One id per buyer, the same in every chunk.
    """
    return np.char.add("GB-SC-", hash_hex(cfg.seed, "buyer-id", np.arange(len(BUYERS)), 8)).astype(object)


def _external_suppliers(cfg: SynthConfig, ids: IntA) -> tuple[StrA, StrA, BoolA, IntA]:
    """Name, company number, number missing and profile of suppliers outside the world (stable by id)."""
    seed = cfg.seed
    if not len(ids):
        empty = np.array([], dtype=str)
        return empty, empty, np.array([], dtype=bool), np.array([], dtype=np.int64)
    prof = hash_choice(seed, "ext-profile", ids, _EXTERNAL_PROFILE_P.tolist())
    w1 = _EXT_WORDS[(hash_uniform(seed, "ext-word1", ids) * len(_EXT_WORDS)).astype(int)]
    w2 = _EXT_WORDS[(hash_uniform(seed, "ext-word2", ids) * len(_EXT_WORDS)).astype(int)]
    two = (hash_uniform(seed, "ext-two", ids) < 0.5) & (w1 != w2)
    base = np.where(two, np.char.add(np.char.add(w1, " "), w2), w1)
    trade = np.array([_EXT_TRADE[_PROFILES[p]] for p in prof]) if len(ids) else np.array([], dtype=str)
    suffix = _EXT_SUFFIX[(hash_uniform(seed, "ext-suffix", ids) * len(_EXT_SUFFIX)).astype(int)]
    name = np.char.add(np.char.add(np.char.add(base, " "), trade), suffix)
    digits = (hash_uniform(seed, "ext-number", ids) * 9_999_999 + 1).astype(np.int64).astype(str)
    kind = hash_uniform(seed, "ext-register", ids)
    number = np.where(kind < 0.85, np.char.add("0", np.char.zfill(digits, 7)),
                      np.where(kind < 0.93, np.char.add("NI", np.char.zfill(digits, 6)),
                               np.char.add("OC", np.char.zfill(digits, 6))))
    number = np.where(suffix == " LLP", np.char.add("OC", np.char.zfill(digits, 6)), number)
    missing = hash_uniform(seed, "ext-unidentified", ids) < 0.35
    return name, number, missing, prof


# ----------------------------------------------------------------------------------------------------------------
# Contracts


def contracts_table(cfg: SynthConfig, groups: Groups, w: WorldChunk) -> pd.DataFrame:
    """Return the ``contracts`` rows won by a chunk's businesses, plus awards to suppliers outside the world.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (seed, period ``start_date .. extract_date``).
    groups : Groups
        Crime groups of the world (each cultivates one favoured buyer).
    w : WorldChunk
        Businesses of the chunk with their latent truth.

    Returns
    -------
    DataFrame
        Contract ``contracts`` table, typed as the loader types it, one row per award and supplier, sorted by
        award date. Keys are unique across chunks (process ids hash the chunk and a sequence number).

    Notes
    -----
    Red flags of procurement fronts (after infiltration; a quarter as strong for stealthy groups): awards at the
    group's favoured buyer, single bids, direct or limited procedures, submission periods under 10 days, value
    increases of 20-60% by modifications and larger awards for (often young) fronts.
    """
    rng = chunk_rng(cfg.seed, w.chunk, "contracts")
    n = len(w)
    extract, start = int(_days(np.array([cfg.extract]))[0]), int(_days(np.array([cfg.start]))[0])
    created = _days(w.created)
    ceased_nat = np.isnat(w.ceased)
    lo = np.maximum(created, start)
    hi = np.where(ceased_nat, extract, np.minimum(_days(w.ceased), extract))
    prof, mult = _supply_profile(w.sic)
    generic = (prof < 0) & w.procure
    prof = np.where(generic, _GENERIC, prof)
    mult = np.where(generic, 1.0, mult)
    eligible = prof >= 0

    years = np.clip(hi - lo, 0, None) / 365.25
    rate = np.where(eligible, _BASE_RATE * _PROFILE_RATE[np.maximum(prof, 0)] * mult, 0.0)
    n_legit = rng.poisson(rate * np.exp(_SIZE_ELASTICITY * w.size_z) * years)
    inf_days = np.where(np.isnat(w.infiltrated_on), np.iinfo(np.int64).max // 2, _days(w.infiltrated_on))
    clo = np.maximum(lo, inf_days)
    c_years = np.where(w.procure, np.clip(hi - clo, 0, None) / 365.25, 0.0)
    c_rate = _CROOK_RATE * np.where(w.stealth, 0.6, 1.0) * np.exp(0.5 * _SIZE_ELASTICITY * w.size_z)
    n_crook = rng.poisson(c_rate * c_years)

    biz = np.concatenate([np.repeat(np.arange(n), n_legit), np.repeat(np.arange(n), n_crook)])
    w_lo = np.concatenate([np.repeat(lo, n_legit), np.repeat(clo, n_crook)])
    w_hi = np.concatenate([np.repeat(hi, n_legit), np.repeat(hi, n_crook)])
    award_w = w_lo + np.floor(rng.random(len(biz)) * (w_hi - w_lo + 1)).astype(np.int64)
    n_world = len(biz)

    # Processes won outside the world: national and English firms, unidentified sole traders.
    n_ext = int(rng.poisson(_EXTERNAL_RATIO * n_world)) if n_world else int(rng.poisson(0.5))
    n_pool = max(300, cfg.businesses // 25)
    ext_id = (n_pool * rng.random(n_ext) ** 2.2).astype(np.int64)
    _, _, _, ext_prof = _external_suppliers(cfg, ext_id)
    award_e = start + np.floor(rng.random(n_ext) * (extract - start + 1)).astype(np.int64)
    ext_area = np.where(hash_uniform(cfg.seed, "ext-local", ext_id) < 0.5,
                        hash_choice(cfg.seed, "ext-area", ext_id, AREA_WEIGHTS.tolist()), -1)

    n_proc = n_world + n_ext
    if not n_proc:
        return _empty("contracts")
    p_biz = np.concatenate([biz, np.full(n_ext, -1)])
    p_ext = np.concatenate([np.full(n_world, -1), ext_id])
    p_prof = np.concatenate([prof[biz], ext_prof])
    award = np.concatenate([award_w, award_e])
    area = np.concatenate([w.area[biz], ext_area])
    in_world = p_biz >= 0
    bz = np.maximum(p_biz, 0)
    crooked = in_world & w.procure[bz] & (award >= inf_days[bz])
    s = np.where(crooked, np.where(w.stealth[bz], _STEALTH_CONTRACTS, 1.0), 0.0)
    niche = in_world & (hash_uniform(cfg.seed, "niche-supplier", w.idx[bz]) < 0.12)
    u = rng.random((n_proc, 16))

    # Buyer: local, buying what the supplier sells; fronts favour their group's buyer.
    local = np.where((area >= 0)[:, None], _B_LOCAL[np.maximum(area, 0)], 1.0)
    weights = _B_WEIGHT[None, :] * _B_AFFINITY[p_prof] * local
    buyer = _pick_rows(np.cumsum(weights, axis=1), u[:, 0])
    fav = favoured_buyers(cfg, groups)[np.where(in_world, np.maximum(w.group[bz], 0), 0)]
    buyer = np.where(crooked & (u[:, 1] < 0.5 * s), fav, buyer)

    # Procedure: measured mix; fronts and niche suppliers get more non-competitive awards.
    method = np.searchsorted(np.cumsum(_METHOD_P), u[:, 2] * 0.999999, side="right")
    non_comp = np.where(u[:, 4] < 0.6, 2, 3)
    method = np.where((u[:, 3] < 0.25 * s) | (niche & (u[:, 3] > 0.9)), non_comp, method)

    # Category and CPV from the supplier's profile; fronts also win outside their trade (heterogeneous supplier).
    v = rng.random((n_proc, 2))
    off_trade = crooked & (v[:, 0] < 0.3 * s)
    cpv_prof = np.where(off_trade, (v[:, 1] * _GENERIC).astype(np.int64), p_prof)
    entry = _CPV_OFFSET[cpv_prof] + (_CPV_CDF[cpv_prof] < u[:, 5][:, None]).sum(axis=1)
    cpv = _CPV_CODE[entry]
    cat = _CATS[_CPV_CAT[entry]]
    cat_shift = np.select([cat == "works", cat == "goods"], [0.35, -0.2], -0.05)

    # Award value: measured quantiles; larger suppliers and fronts win larger awards.
    # Young companies rarely win large contracts (buyers ask for a track record), unless they are fronts.
    size = np.where(in_world, w.size_z[bz] - _SIZE_ELASTICITY, 0.0)
    age = (award - created[bz]) / 365.25
    young = np.where(in_world & ~crooked, np.select([age < 2, age < 4], [-0.6, -0.25], 0.0), 0.0)
    z = 0.05 + 0.45 * size + 0.85 * rng.standard_normal(n_proc) + cat_shift + young + 0.7 * s
    value = AWARD_VALUE.from_normal(z)
    value = np.where((u[:, 6] < 0.4) & (value > 10_000), np.round(value, -3), np.round(value, 2))

    # Bids: single bids are common for niche and front suppliers.
    p_single = np.select([method == 0, method == 1, method == 3], [0.07, 0.10, 0.60], 1.0)
    p_single = np.clip(p_single + 0.25 * niche + 0.30 * s, 0, 1)
    lam = np.select([method == 0, method == 1], [2.8, 1.8], 0.6)
    bids = np.where(u[:, 7] < p_single, 1, 2 + rng.poisson(lam))
    bids = np.minimum(bids, 30)

    # Tender dates: deadline, then award within 90 days; fronts get short submission periods.
    period = np.round(TENDER_DAYS.from_uniform(u[:, 8])).astype(np.int64)
    period = np.where(u[:, 9] < 0.30 * s, 3 + (u[:, 10] * 7).astype(np.int64), period)
    to_award = np.minimum(np.round(rng.gamma(2.0, 16.0, n_proc)), 90).astype(np.int64)
    deadline = award - to_award
    published = deadline - period
    no_tender = u[:, 11] < np.select([method == 2, method == 3], [0.75, 0.4], 0.05)

    start_c = award + (rng.random(n_proc) ** 2 * 61).astype(np.int64)
    end_c = start_c + _whole_terms(cfg, w.chunk, np.round(DURATION_DAYS.from_uniform(rng.random(n_proc))))
    no_period = u[:, 12] < 0.08

    # Estimated value: equal to the award in 79% of notices (measured).
    ratio = np.where(rng.random(n_proc) < 0.79, 1.0, np.exp(rng.normal(0.05, 0.3, n_proc)))
    estimate = np.where(ratio == 1.0, value, np.round(value * ratio, -2))
    no_estimate = u[:, 13] < np.where(method >= 2, 0.35, 0.10)

    # Modifications: 8% of contracts; fronts' values grow 20-60%.
    mod_front = u[:, 14] < 0.30 * s
    mod_legit = u[:, 14] > 1 - (0.07 + 0.10 * niche)
    n_mods = 1 + np.searchsorted(np.array([0.6, 0.9]), rng.random(n_proc), side="right")
    uplift = np.where(mod_front, rng.uniform(0.20, 0.60, n_proc), rng.uniform(0.05, 0.30, n_proc))
    modified = mod_front | mod_legit
    final = np.round(value * (1 + uplift), 2)
    zero_mods = ~modified & (u[:, 15] < 0.15)
    final = np.where(zero_mods, value, final)
    mods = np.where(modified, n_mods, 0)

    # Extra suppliers: frameworks (same award, several suppliers) and second lots (another award).
    extra = rng.random(n_proc)
    n_extra = np.where(extra < 0.09, rng.integers(1, 5, n_proc), np.where(extra < 0.14, 1, 0))
    is_lot = (extra >= 0.09) & (extra < 0.14)
    row_proc = np.concatenate([np.arange(n_proc), np.repeat(np.arange(n_proc), n_extra)])
    row_lot = np.concatenate([np.zeros(n_proc, dtype=np.int64), np.repeat(is_lot.astype(np.int64), n_extra)])
    n_rows = len(row_proc)
    extra_rows = np.arange(n_rows) >= n_proc
    ne = int(extra_rows.sum())
    co_pool = np.flatnonzero(eligible)
    co_world = (rng.random(ne) < 0.65) & (len(co_pool) > 0)
    # Framework partners are the businesses that win anyway (weighted by their expected number of awards).
    co_w = np.cumsum((rate * np.exp(_SIZE_ELASTICITY * w.size_z) * np.maximum(years, 0.1))[co_pool])
    co_biz = co_pool[np.minimum(np.searchsorted(co_w, rng.random(ne) * co_w[-1]), len(co_pool) - 1)] if len(
        co_pool) else np.zeros(ne, dtype=np.int64)
    co_award = award[row_proc[extra_rows]]
    co_active = (created[co_biz] <= co_award) & (ceased_nat[co_biz] | (_days(w.ceased)[co_biz] >= co_award))
    co_world &= co_active & (co_biz != p_biz[row_proc[extra_rows]])
    co_ext = (n_pool * rng.random(ne) ** 2.2).astype(np.int64)
    r_biz = np.concatenate([p_biz, np.where(co_world, co_biz, -1)])
    r_ext = np.concatenate([p_ext, np.where(co_world, -1, co_ext)])

    # Supplier identity as published.
    r_world = r_biz >= 0
    rb = np.maximum(r_biz, 0)
    e_name, e_number, e_missing, _ = _external_suppliers(cfg, np.maximum(r_ext, 0))
    w_number = w.company_number[rb]
    unidentified = rng.random(n_rows) < 0.03
    # Authority-issued ids of unincorporated suppliers are published half the time.
    w_missing = (np.char.startswith(w_number, "ST") & (rng.random(n_rows) < 0.5)) | unidentified
    w_name = np.where(unidentified & (rng.random(n_rows) < 0.3), np.char.upper(w.company_name[rb]),
                      w.company_name[rb])
    sup_name = np.where(r_world, w_name, e_name)
    sup_number = np.where(r_world, w_number, e_number)
    sup_missing = np.where(r_world, w_missing, e_missing)

    # Lot awards carry their own value.
    lot_scale = np.where(row_lot == 1, rng.uniform(0.6, 1.4, n_rows), 1.0)
    pr = row_proc
    r_value = np.round(value[pr] * lot_scale, 2)
    r_bids = np.maximum(bids[pr], np.where(row_lot == 1, 1, 1 + n_extra[pr]))

    proc_key = (np.int64(w.chunk) << np.int64(32)) | np.arange(n_proc, dtype=np.int64)
    ocid = np.char.add("ocds-r6ebe6-", np.char.lower(hash_hex(cfg.seed, "ocid", proc_key, 16)))
    award_id = np.char.add(np.char.add(np.char.lower(hash_hex(cfg.seed, "award-id", proc_key, 8))[pr], "-"),
                           (row_lot + 1).astype(str))
    bid_missing = rng.random(n_rows) < 0.2
    cat_missing = rng.random(n_rows) < 0.03
    cpv_missing = rng.random(n_rows) < 0.02

    frame = pd.DataFrame({
        "ocid": _text(ocid[pr]),
        "award_id": _text(award_id),
        "buyer_id": _text(buyer_ids(cfg)[buyer[pr]]),
        "buyer_name": _text(_B_NAME[buyer[pr]]),
        "supplier_company_number": _text(sup_number, sup_missing),
        "supplier_name": _text(sup_name),
        "procurement_method": _text(_METHODS[method[pr]]),
        "main_category": _text(cat[pr], cat_missing),
        "cpv": _text(cpv[pr], cpv_missing),
        "tender_published_on": _dates(published[pr], no_tender[pr]),
        "tender_deadline": _dates(deadline[pr], no_tender[pr]),
        "award_date": _dates(award[pr]),
        "number_of_tenderers": _ints(r_bids, bid_missing),
        "estimated_value": _floats(np.where(row_lot == 1, r_value, estimate[pr]), no_estimate[pr]),
        "award_value": _floats(r_value),
        "final_value": _floats(np.round(final[pr] * lot_scale, 2), ~(modified | zero_mods)[pr] | (row_lot == 1)),
        "modifications": _ints(mods[pr], ~(modified | zero_mods)[pr] | (row_lot == 1)),
        "contract_start": _dates(start_c[pr], no_period[pr]),
        "contract_end": _dates(end_c[pr], no_period[pr]),
    })
    order = np.lexsort((np.arange(n_rows), ocid[pr], award[pr]))
    frame = frame.iloc[order].drop_duplicates(list(TABLES["contracts"].key)).reset_index(drop=True)
    return frame


# ----------------------------------------------------------------------------------------------------------------
# Transactions

#: Share of payments received in cash and by card, by sector (FATF: cash-intensive businesses).
_CASH = {"pub": .40, "restaurant": .30, "shop": .35, "beauty": .35, "taxi": .40, "gambling": .35, "leisure": .20,
         "garage": .25, "car-sales": .20, "hotel": .15, "car-hire": .15, "cleaning": .08, "property": .05}
_CARD = {"pub": .45, "restaurant": .50, "shop": .50, "beauty": .40, "taxi": .20, "gambling": .30, "leisure": .50,
         "garage": .30, "car-sales": .15, "hotel": .60, "car-hire": .40}
_CHANNELS = np.array(["cash", "transfer", "card", "cheque", "other"], dtype=object)
_CASH_CH, _TRANSFER_CH, _CARD_CH, _CHEQUE_CH, _OTHER_CH = range(5)
# Random transaction kinds: (channel, sign, median GBP at size 0, log sd).
_KINDS = (
    (_CARD_CH, 1, 45.0, 1.0),  # card takings
    (_CASH_CH, 1, 450.0, 0.8),  # cash deposit
    (_TRANSFER_CH, 1, 1_800.0, 1.1),  # customer payment
    (_CHEQUE_CH, 1, 700.0, 0.9),  # cheque paid in
    (_TRANSFER_CH, -1, 900.0, 1.1),  # supplier payment
    (_CARD_CH, -1, 70.0, 0.9),  # card purchase
    (_CASH_CH, -1, 200.0, 0.7),  # cash withdrawal
    (_CHEQUE_CH, -1, 600.0, 0.9),  # cheque paid out
    (_OTHER_CH, -1, 12.0, 0.8),  # bank charges
)
_K_CH = np.array([k[0] for k in _KINDS])
_K_SIGN = np.array([k[1] for k in _KINDS], dtype=np.float64)
_K_MED = np.array([k[2] for k in _KINDS])
_K_SD = np.array([k[3] for k in _KINDS])
#: Countries of ordinary foreign counterparties (trade partners of Scottish businesses).
_FOREIGN = np.array(["IE", "DE", "PL", "IN", "CN", "NL", "FR", "ES", "IT", "US", "BE", "LT", "RO", "PT", "TR",
                     "AE"], dtype=object)
_FOREIGN_P = np.array([.22, .13, .11, .07, .11, .08, .06, .04, .04, .05, .02, .02, .02, .01, .015, .015])
#: High-risk and secrecy jurisdictions: FATF increased monitoring over 2019-2025 (AE, TR, PA, KY, MT, AL, NG, VN,
#: RS in 2019) and offshore / secrecy centres (CY, VG, BZ, SC, HK: EU non-cooperative list, Financial Secrecy Index).
HIGH_RISK = np.array(["AE", "TR", "CY", "PA", "VG", "KY", "MT", "BZ", "SC", "HK", "AL", "RS", "NG", "VN"], dtype=object)
_HIGH_RISK_P = np.array([.18, .14, .12, .08, .08, .05, .05, .04, .04, .06, .05, .04, .04, .03])
_STEALTH_TX = 0.35

# Counterparty pools: kind codes of the hashed ids.
_CP_CUSTOMER, _CP_SUPPLIER, _CP_MERCHANT, _CP_ACQUIRER, _CP_BANK, _CP_LANDLORD, _CP_PAYROLL, _CP_HMRC = range(1, 9)
_CP_FOREIGN, _CP_MULE, _CP_FRESH, _CP_COLLECT, _CP_SHELL, _CP_OFFSHORE, _CP_LENDER = range(9, 16)


def _cp(seed: int, kind: int, a: IntA | int, k: IntA) -> StrA:
    """Opaque counterparty ids of (kind, a, k): the same triple gives the same id in every chunk."""
    with np.errstate(over="ignore"):
        code = (np.uint64(kind) << np.uint64(56)) + (np.asarray(a, dtype=np.uint64) << np.uint64(36)) + np.asarray(
            k, dtype=np.uint64)
    return hash_hex(seed, "counterparty", np.atleast_1d(code), 12)


def _lognormal(rng: np.random.Generator, median: FloatA, sd: FloatA) -> FloatA:
    return np.asarray(median * np.exp(sd * rng.standard_normal(len(median))), dtype=np.float64)


class _Rows:
    """Accumulates transaction rows as parallel arrays."""

    def __init__(self) -> None:
        self.parts: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in ("biz", "t", "amount", "channel", "cp",
                                                                          "country")}

    def add(self, biz: IntA, t: IntA, amount: FloatA, channel: IntA | int, cp: npt.NDArray[Any] | str | None,
            country: npt.NDArray[Any] | str | None) -> None:
        m = len(biz)
        if not m:
            return
        self.parts["biz"].append(biz.astype(np.int64))
        self.parts["t"].append(t.astype(np.int64))
        self.parts["amount"].append(np.round(amount, 2))
        self.parts["channel"].append(np.broadcast_to(np.asarray(channel, dtype=np.int64), (m,)))
        self.parts["cp"].append(np.broadcast_to(np.asarray(cp, dtype=object), (m,)))
        self.parts["country"].append(np.broadcast_to(np.asarray(country, dtype=object), (m,)))

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        empty: dict[str, npt.NDArray[Any]] = {"biz": np.empty(0, np.int64), "t": np.empty(0, np.int64),
                                              "amount": np.empty(0), "channel": np.empty(0, np.int64),
                                              "cp": np.empty(0, object), "country": np.empty(0, object)}
        return {k: np.concatenate(v) if v else empty[k] for k, v in self.parts.items()}


def transactions_table(cfg: SynthConfig, groups: Groups, w: WorldChunk) -> pd.DataFrame:
    """Return 12 months of bank transactions of the covered businesses of a chunk.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (``transaction_coverage``, ``extract_date``).
    groups : Groups
        Crime groups (offshore groups send more to high-risk jurisdictions).
    w : WorldChunk
        Businesses of the chunk with their latent truth.

    Returns
    -------
    DataFrame
        Contract ``transactions`` table, typed as the loader types it, sorted by business and time;
        ``booked_at`` within ``[extract_date - 365 days, extract_date]``.

    Notes
    -----
    Coverage is a hash of the global business index (independent of the truth). Laundering fronts add structured
    or round cash deposits, fan-in bursts from money mules, pass-through and payments to high-risk jurisdictions,
    from their infiltration date on; stealthy fronts a third as often.
    """
    rng = chunk_rng(cfg.seed, w.chunk, "transactions")
    seed = cfg.seed
    extract = int(_days(np.array([cfg.extract]))[0])
    w_start = extract - 365
    created = _days(w.created)
    hi_day = np.where(np.isnat(w.ceased), extract, np.minimum(_days(w.ceased), extract))
    lo_day = np.maximum(created, w_start)
    covered = hash_uniform(seed, "transaction-coverage", w.idx) < cfg.transaction_coverage
    sel = np.flatnonzero(covered & (hi_day >= lo_day) & (created <= extract))
    m = len(sel)
    if not m:
        return _empty("transactions")
    lo = lo_day[sel] * _DAY
    span = (hi_day[sel] - lo_day[sel] + 1) * _DAY
    size = w.size_z[sel]
    scale = np.exp(0.6 * size)
    sector = w.sector[sel]
    cash = np.array([_CASH.get(s, 0.02) for s in sector]) if m else np.empty(0)
    card = np.array([_CARD.get(s, 0.04) for s in sector]) if m else np.empty(0)
    area = w.area[sel].astype(np.int64)
    gidx = w.idx[sel]
    n_area = np.maximum(1, (cfg.businesses * AREA_WEIGHTS[area]).astype(np.int64))

    # Businesses of the chunk by area, for counterparties that are businesses of the world.
    by_area = np.argsort(w.area, kind="stable")
    area_start = np.searchsorted(w.area[by_area], np.arange(_N_AREAS))
    area_count = np.bincount(w.area, minlength=_N_AREAS)

    def world_cp(j: IntA, u: FloatA) -> npt.NDArray[Any]:
        a = area[j]
        pos = (u * area_count[a]).astype(np.int64)
        pick = by_area[area_start[a] + pos]
        pick = np.where(pick == sel[j], by_area[area_start[a] + (pos + 1) % area_count[a]], pick)
        return w.company_number[pick].astype(object)

    def when(j: IntA, u: FloatA, open_hour: int = 7, close_hour: int = 22) -> IntA:
        day = lo[j] + (u * span[j] / _DAY).astype(np.int64) * _DAY
        sec = rng.integers(open_hour * 3600, close_hour * 3600, len(j))
        return np.asarray(day + sec, dtype=np.int64)

    out = _Rows()
    frac = span / (366 * _DAY)

    # Recurring: monthly rent and payroll, quarterly HMRC.
    has_rent = hash_uniform(seed, "tx-rent", gidx) < 0.75
    has_pay = size > -0.8
    has_vat = size > -1.2
    month = np.arange(12)
    offset = (hash_uniform(seed, "tx-day", gidx) * 28).astype(np.int64)
    first = (w_start + offset)[:, None] + (month * 30.44).astype(np.int64)[None, :]
    in_win = (first >= lo_day[sel][:, None]) & (first <= hi_day[sel][:, None])
    rent = np.asarray(np.round(np.exp(7.0 + 0.5 * size + 0.3 * rng.standard_normal(m)), -1), dtype=np.float64)
    landlord = _cp(seed, _CP_LANDLORD, area, (hash_uniform(seed, "tx-landlord", gidx) * np.maximum(
        5, n_area // 50)).astype(np.int64))
    for flag, what, hour in ((has_rent, "rent", 9), (has_pay, "payroll", 6), (has_vat, "hmrc", 10)):
        mask = in_win & flag[:, None]
        if what == "hmrc":
            mask &= (month % 3 == 1)[None, :]
        j, mo = np.nonzero(mask)
        t = first[j, mo] * _DAY + hour * 3600 + rng.integers(0, 3600, len(j))
        if what == "rent":
            out.add(j, t, -rent[j], _TRANSFER_CH, landlord[j], "GB")
        elif what == "payroll":
            amt = -np.exp(8.0 + 0.9 * size[j]) * rng.uniform(0.93, 1.07, len(j))
            out.add(j, t, amt, _TRANSFER_CH, _cp(seed, _CP_PAYROLL, 0, gidx[j]), "GB")
        else:
            amt = -np.exp(7.6 + 0.8 * size[j]) * rng.uniform(0.6, 1.4, len(j))
            out.add(j, t, amt, _TRANSFER_CH, _cp(seed, _CP_HMRC, 0, np.zeros(len(j), dtype=np.int64)), "GB")
    recurring = (in_win & has_rent[:, None]).sum(1) + (in_win & has_pay[:, None]).sum(1) + (
        in_win & has_vat[:, None] & (month % 3 == 1)[None, :]).sum(1)

    # Random day-to-day flows.
    target = np.round(np.clip(80 * np.exp(0.4 * size + 0.25 * rng.standard_normal(m)), 40, 150) * frac)
    n_rand = np.maximum(target.astype(np.int64) - recurring, 3)
    j = np.repeat(np.arange(m), n_rand)
    p_in = np.stack([0.5 * card, 0.5 * cash, np.maximum(0.5 - 0.5 * card - 0.5 * cash - 0.02, 0.03),
                     np.full(m, 0.02), np.full(m, 0.26), np.full(m, 0.12), 0.02 + 0.06 * cash, np.full(m, 0.015),
                     np.full(m, 0.04)], axis=1) if m else np.empty((0, len(_KINDS)))
    kind = _pick_rows(np.cumsum(p_in, axis=1)[j], rng.random(len(j)))
    amount = _lognormal(rng, _K_MED[kind] * scale[j], _K_SD[kind])
    is_cash_in = kind == 1
    r = rng.random(len(j))
    amount = np.where(is_cash_in & (r < 0.30), np.round(amount, -1), amount)
    amount = np.where(is_cash_in & (r < 0.12) & (amount > 500), np.maximum(np.round(amount, -2), 100), amount)
    amount = np.where(is_cash_in & (r < 0.05) & (amount > 1_000), np.round(amount / 500) * 500, amount)
    amount = np.where(kind == 6, np.maximum(np.round(amount, -1), 10), amount)
    amount = np.where(kind == 8, np.round(amount, 2), amount)
    n_r = len(j)
    u_cp = rng.random(n_r)
    u_k = rng.random(n_r)
    foreign_c = _FOREIGN[np.searchsorted(np.cumsum(_FOREIGN_P), rng.random(n_r) * 0.99999, side="right")]
    cp = np.full(n_r, None, dtype=object)
    country = np.full(n_r, None, dtype=object)
    pool_c = np.maximum(40, n_area[j] // 2)
    pool_s = np.maximum(15, n_area[j] // 25)
    m_card = kind == 0
    cp[m_card] = _cp(seed, _CP_ACQUIRER, 0, (u_k[m_card] * 5).astype(np.int64))
    country[m_card] = "GB"
    for kinds, pool_kind, pool, foreign_p, world_p in (((2, 3), _CP_CUSTOMER, pool_c, 0.03, 0.10),
                                                        ((4, 7), _CP_SUPPLIER, pool_s, 0.07, 0.12)):
        mk = np.isin(kind, kinds)
        idx_k = np.flatnonzero(mk)
        kk = (pool[idx_k] * u_k[idx_k] ** 1.6).astype(np.int64)
        cp[idx_k] = _cp(seed, pool_kind, area[j[idx_k]], kk)
        country[idx_k] = "GB"
        fo = idx_k[u_cp[idx_k] < foreign_p]
        fc = foreign_c[fo]
        cp[fo] = _cp(seed, _CP_FOREIGN, np.searchsorted(_FOREIGN, fc, sorter=np.argsort(_FOREIGN)),
                     (u_k[fo] * 400).astype(np.int64))
        country[fo] = fc
        wo = idx_k[(u_cp[idx_k] >= foreign_p) & (u_cp[idx_k] < foreign_p + world_p)]
        cp[wo] = world_cp(j[wo], u_k[wo])
    m_purchase = kind == 5
    cp[m_purchase] = _cp(seed, _CP_MERCHANT, 0, (max(50, cfg.businesses // 100) * u_k[m_purchase] ** 2).astype(
        np.int64))
    country[m_purchase] = np.where(u_cp[m_purchase] < 0.06, np.where(u_cp[m_purchase] < 0.03, "US", "IE"), "GB")
    m_fee = kind == 8
    cp[m_fee] = _cp(seed, _CP_BANK, 0, (hash_uniform(seed, "tx-bank", gidx[j[m_fee]]) * 6).astype(np.int64))
    country[m_fee] = "GB"
    t = when(j, rng.random(n_r))
    out.add(j, t, _K_SIGN[kind] * amount, _K_CH[kind], cp, country)

    # Legitimate look-alikes: big round cash deposits, trade with high-risk jurisdictions, a loan moved straight on.
    legit_round = (cash > 0.1) & (hash_uniform(seed, "tx-legit-round", gidx) < 0.08)
    jr = np.repeat(np.flatnonzero(legit_round), rng.integers(2, 8, int(legit_round.sum())))
    round_cash = np.round(rng.uniform(1.5, 12, len(jr))).astype(np.float64) * 1_000
    out.add(jr, when(jr, rng.random(len(jr)), 9, 17), round_cash, _CASH_CH, None, None)
    legit_hr = hash_uniform(seed, "tx-legit-hr", gidx) < 0.03
    jh = np.repeat(np.flatnonzero(legit_hr), rng.integers(1, 4, int(legit_hr.sum())))
    hr_c = HIGH_RISK[np.searchsorted(np.cumsum(_HIGH_RISK_P), rng.random(len(jh)) * 0.99999, side="right")]
    out.add(jh, when(jh, rng.random(len(jh))), -_lognormal(rng, np.full(len(jh), 3_000.0), np.full(len(jh), 0.8)),
            _TRANSFER_CH, _cp(seed, _CP_FOREIGN, 100, (rng.random(len(jh)) * 5_000).astype(np.int64)), hr_c)
    legit_pt = hash_uniform(seed, "tx-legit-loan", gidx) < 0.03
    jl = np.flatnonzero(legit_pt)
    loan = np.round(_lognormal(rng, np.full(len(jl), 40_000.0), np.full(len(jl), 0.6)), -3)
    t_in = when(jl, rng.random(len(jl)) * 0.95, 9, 16)
    out.add(jl, t_in, loan, _TRANSFER_CH, _cp(seed, _CP_LENDER, 0, (rng.random(len(jl)) * 12).astype(np.int64)),
            "GB")
    t_out = np.minimum(t_in + rng.integers(1, 6, len(jl)) * _DAY, (hi_day[sel][jl] + 1) * _DAY - 1)
    out.add(jl, t_out, -np.round(loan * rng.uniform(0.7, 1.0, len(jl)), 2), _TRANSFER_CH,
            world_cp(jl, rng.random(len(jl))), "GB")

    _laundering(cfg, groups, w, sel, lo_day[sel], hi_day[sel], rng, out)

    arr = out.arrays()
    order = np.lexsort((arr["t"], arr["biz"]))
    biz, tt = arr["biz"][order], arr["t"][order]
    first_of = np.searchsorted(biz, biz, side="left")
    seq = np.arange(len(biz)) - first_of
    key = (gidx[biz] << np.int64(20)) | seq
    return pd.DataFrame({
        "transaction_id": _text(hash_hex(seed, "transaction-id", key, 16)),
        "company_number": _text(w.company_number[sel][biz]),
        "booked_at": pd.Series(tt.astype("datetime64[s]").astype("datetime64[ns]")),
        "amount": _floats(arr["amount"][order]),
        "channel": _text(_CHANNELS[arr["channel"][order]]),
        "counterparty_id": pd.Series(arr["cp"][order], dtype=object),
        "counterparty_country": pd.Series(arr["country"][order], dtype=object),
    })


def _laundering(cfg: SynthConfig, groups: Groups, w: WorldChunk, sel: IntA, lo_day: IntA, hi_day: IntA,
                rng: np.random.Generator, out: _Rows) -> None:
    """Add FATF laundering typologies to the covered laundering fronts (from their infiltration on)."""
    seed = cfg.seed
    launder = w.launder[sel] & ~np.isnat(w.infiltrated_on[sel])
    inf = np.where(launder, _days(w.infiltrated_on[sel]), 0)
    c_lo = np.maximum(lo_day, inf)
    fronts = np.flatnonzero(launder & (c_lo <= hi_day))
    if not len(fronts):
        return
    g = w.group[sel][fronts]
    gs = np.maximum(g, 0)
    k = np.where(w.stealth[sel][fronts], _STEALTH_TX, 1.0)
    lo_s, span_s = c_lo[fronts] * _DAY, (hi_day[fronts] - c_lo[fronts] + 1) * _DAY
    hi_s = (hi_day[fronts] + 1) * _DAY - 1
    cash_sector = np.isin(w.sector[sel][fronts], list(_CASH))
    offshore = groups.offshore[gs]
    group_country = HIGH_RISK[hash_choice(seed, "group-high-risk", gs, _HIGH_RISK_P.tolist())]
    u = rng.random((len(fronts), 4))

    def at(i: IntA, v: FloatA, hour0: int = 8, hour1: int = 20) -> IntA:
        day = lo_s[i] + (v * span_s[i] / _DAY).astype(np.int64) * _DAY
        return np.asarray(np.minimum(day + rng.integers(hour0 * 3600, hour1 * 3600, len(i)), hi_s[i]), dtype=np.int64)

    # Structuring: cash deposits just below GBP 10,000 or in round thousands.
    f = np.flatnonzero(u[:, 0] < np.where(cash_sector, 0.65, 0.3) * k)
    i = np.repeat(f, 2 + rng.poisson(8, len(f)))
    below = rng.random(len(i)) < 0.55
    amt = np.where(below, np.round(rng.uniform(9_000, 9_950, len(i)), -1),
                   np.where(rng.random(len(i)) < 0.5, rng.integers(4, 30, len(i)) * 500.0,
                            rng.integers(2, 16, len(i)) * 1_000.0))
    out.add(fronts[i], at(i, rng.random(len(i)), 9, 17), amt, _CASH_CH, None, None)

    # Fan-in: bursts of small credits from many payers (mules shared within the group), then one debit.
    f = np.flatnonzero(u[:, 1] < 0.4 * k)
    bursts = np.repeat(f, 1 + rng.poisson(1.0, len(f)))
    b_start = at(bursts, rng.random(len(bursts)) * 0.9, 0, 1)
    n_pay = rng.integers(12, 36, len(bursts))
    i = np.repeat(bursts, n_pay)
    b_of = np.repeat(np.arange(len(bursts)), n_pay)
    t_pay = np.minimum(b_start[b_of] + rng.integers(0, 4 * _DAY, len(i)), hi_s[i])
    pay = _lognormal(rng, np.full(len(i), 450.0), np.full(len(i), 0.6))
    pay = np.where(rng.random(len(i)) < 0.5, np.round(pay, -1), np.round(pay, 2))
    mule = rng.random(len(i)) < 0.7
    mule_cp = _cp(seed, _CP_MULE, gs[i], (rng.random(len(i)) * 80).astype(np.int64))
    fresh_cp = _cp(seed, _CP_FRESH, w.idx[sel][fronts][i], np.arange(len(i)))
    out.add(fronts[i], t_pay, pay, _TRANSFER_CH, np.where(mule, mule_cp, fresh_cp).astype(object), "GB")
    total = np.bincount(b_of, weights=pay, minlength=len(bursts))
    t_col = np.minimum(b_start + (4 + rng.integers(1, 4, len(bursts))) * _DAY, hi_s[bursts])
    abroad = rng.random(len(bursts)) < 0.3
    col_country = np.where(abroad, group_country[bursts], "GB").astype(object)
    out.add(fronts[bursts], t_col, -np.round(total * rng.uniform(0.85, 0.98, len(bursts)), 2), _TRANSFER_CH,
            _cp(seed, _CP_COLLECT, gs[bursts], (rng.random(len(bursts)) * 5).astype(np.int64)).astype(object),
            col_country)

    # Pass-through: a large credit paid on within 1-3 days, sometimes to another business of the group.
    f = np.flatnonzero(u[:, 2] < 0.45 * k)
    i = np.repeat(f, 1 + rng.poisson(3, len(f)))
    amt = _lognormal(rng, np.full(len(i), 35_000.0), np.full(len(i), 0.6))
    amt = np.where(rng.random(len(i)) < 0.6, np.maximum(np.round(amt, -3), 1_000), np.round(amt, 2))
    t_in = at(i, rng.random(len(i)) * 0.97, 9, 16)
    src_abroad = rng.random(len(i)) < 0.3
    out.add(fronts[i], t_in, amt, _TRANSFER_CH,
            _cp(seed, _CP_SHELL, gs[i], (rng.random(len(i)) * 10).astype(np.int64)).astype(object),
            np.where(src_abroad, group_country[i], "GB").astype(object))
    t_out = np.minimum(t_in + rng.integers(1, 4, len(i)) * _DAY + rng.integers(-3600, 3600, len(i)), hi_s[i])
    dest = _cp(seed, _CP_SHELL, gs[i], (rng.random(len(i)) * 10).astype(np.int64)).astype(object)
    dest_country = np.where(rng.random(len(i)) < 0.35, group_country[i], "GB").astype(object)
    members = {int(gr): w.company_number[(w.group == gr)] for gr in np.unique(g)}
    to_member = rng.random(len(i)) < 0.3
    for r in np.flatnonzero(to_member):
        mates = members[int(g[i[r]])]
        mates = mates[mates != w.company_number[sel][fronts[i[r]]]]
        if len(mates):
            dest[r] = str(mates[int(rng.random() * len(mates))])
            dest_country[r] = "GB"
    out.add(fronts[i], t_out, -np.round(amt * rng.uniform(0.95, 0.995, len(i)), 2), _TRANSFER_CH, dest,
            dest_country)

    # High-risk jurisdictions: payments abroad, mostly to one country per group.
    f = np.flatnonzero(u[:, 3] < np.where(offshore, 0.7, 0.35) * k)
    i = np.repeat(f, 1 + rng.poisson(4, len(f)))
    country = np.where(rng.random(len(i)) < 0.7, group_country[i],
                       HIGH_RISK[(rng.random(len(i)) * len(HIGH_RISK)).astype(np.int64)]).astype(object)
    amt = _lognormal(rng, np.full(len(i), 12_000.0), np.full(len(i), 0.7))
    amt = np.where(rng.random(len(i)) < 0.5, np.round(amt, -2), np.round(amt, 2))
    out.add(fronts[i], at(i, rng.random(len(i))), -amt, _TRANSFER_CH,
            _cp(seed, _CP_OFFSHORE, gs[i], (rng.random(len(i)) * 6).astype(np.int64)).astype(object), country)


# ----------------------------------------------------------------------------------------------------------------
# Watchlist

_LISTS = ("uk-sanctions", "world-bank-debarment", "uk-disqualified-directors", "opensanctions-pep")
#: Foreign name pools by country (no name part shared with the world's name pool, so they match nobody).
_FOREIGN_NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "RU": (("Dmitry", "Sergei", "Alexei", "Igor", "Oleg", "Vladimir", "Yulia", "Natalia", "Olga", "Mikhail", "Boris",
            "Tatiana"), ("Ivanov", "Petrov", "Volkov", "Sokolov", "Morozov", "Lebedev", "Kozlov", "Novikov",
                         "Fedorov", "Orlova", "Smirnova", "Egorov")),
    "CN": (("Jun", "Hua", "Lei", "Xiaoming", "Yan", "Qiang", "Jing", "Hong", "Ming", "Fang"),
           ("Zhang", "Liu", "Zhao", "Huang", "Zhou", "Wu", "Xu", "Sun", "Ma", "Zhu")),
    "NG": (("Chinedu", "Emeka", "Babatunde", "Ngozi", "Oluwaseun", "Ifeanyi", "Chiamaka", "Tunde", "Yetunde"),
           ("Adeyemi", "Chukwu", "Balogun", "Eze", "Nwosu", "Obi", "Adebayo", "Ogunleye", "Ibrahim")),
    "IN": (("Rajesh", "Suresh", "Vikram", "Anil", "Deepak", "Sunita", "Kavita", "Ramesh", "Sanjay"),
           ("Gupta", "Mehta", "Reddy", "Iyer", "Nair", "Agarwal", "Joshi", "Kapoor", "Verma")),
    "VN": (("Thanh", "Minh", "Tuan", "Huong", "Lan", "Duc", "Quang", "Linh"),
           ("Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui", "Do")),
    "BR": (("Joao", "Pedro", "Rafael", "Lucas", "Gabriela", "Fernanda", "Thiago", "Bruno"),
           ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa", "Carvalho", "Almeida")),
    "IR": (("Reza", "Hossein", "Mehdi", "Ali Reza", "Maryam", "Hamid"),
           ("Rahimi", "Hosseini", "Karimi", "Moradi", "Jafari", "Rezaei")),
    "AE": (("Khalid", "Saeed", "Rashid", "Hamdan", "Mansour"), ("Al Mansoori", "Al Nuaimi", "Al Suwaidi", "Al Falasi")),
    "TR": (("Mehmet", "Mustafa", "Emre", "Burak", "Ayse", "Elif"), ("Yilmaz", "Kaya", "Demir", "Sahin", "Celik")),
    "BY": (("Aliaksandr", "Siarhei", "Uladzimir", "Viktar"), ("Lukashevich", "Kavaliou", "Shauchenka", "Makei")),
    "GB": (("Nigel", "Trevor", "Clive", "Gavin", "Derek", "Wendy", "Janet", "Barry", "Keith", "Lesley"),
           ("Pemberton", "Whitworth", "Ashcroft", "Haddock", "Pickering", "Bramwell", "Thornton", "Crabtree",
            "Fairbairn", "Hollins")),
}
_FOREIGN_PERSON_P = {"RU": .22, "CN": .10, "NG": .08, "IN": .08, "VN": .05, "BR": .05, "IR": .08, "AE": .05,
                     "TR": .05, "BY": .06, "GB": .18}
_COMPANY_FORMS = {"CN": ("{} {} Trading Co., Ltd", "{} {} Industrial Co., Ltd"), "RU": ("OOO {} {}", "JSC {} {}"),
                  "IN": ("{} {} Private Limited", "{} {} Infra Projects Pvt Ltd"), "NG": ("{} {} Nigeria Limited",),
                  "VN": ("{} {} Joint Stock Company",), "BR": ("{} {} Construtora Ltda",),
                  "AE": ("{} {} General Trading FZE", "{} {} LLC"), "TR": ("{} {} Insaat A.S.",),
                  "BD": ("{} {} Builders Ltd",), "KE": ("{} {} Contractors Limited",), "GB": ("{} {} Holdings Limited",
                                                                                               "{} {} Ventures Ltd")}
_COMPANY_WORDS = ("Golden", "Star", "Pacific", "Eastern", "Unity", "Prime", "Global", "Dragon", "Lotus", "Phoenix",
                  "Falcon", "Orient", "Atlas", "Delta", "Sunrise", "Emerald", "Titan", "Nova", "Zenith", "Imperial")
_COMPANY_SECTORS = ("Energy", "Logistics", "Engineering", "Resources", "Technologies", "Minerals", "Shipping",
                    "Capital", "Petroleum", "Pharma", "Metals", "Development")
_COMPANY_COUNTRY_P = {"CN": .16, "RU": .16, "IN": .14, "NG": .08, "VN": .06, "BR": .06, "AE": .10, "TR": .06,
                      "BD": .05, "KE": .05, "GB": .08}
_REASONS = {
    "uk-sanctions": ("Russia: involvement in obtaining a benefit from the Government of Russia",
                     "Russia: working as a director of a strategically significant company",
                     "Global Anti-Corruption: misappropriation of state property", "Global Human Rights",
                     "Counter-Terrorism (International)", "Cyber: ransomware activity",
                     "Global Irregular Migration and Trafficking in Persons", "Iran: nuclear proliferation",
                     "Belarus: support for the regime"),
    "world-bank-debarment": ("Fraudulent practice", "Collusive practice", "Corrupt practice",
                             "Fraudulent and collusive practice", "Cross-debarment (African Development Bank)"),
    "uk-disqualified-directors": ("Unfit conduct: failure to pay tax to HMRC", "Unfit conduct: Bounce Back Loan abuse",
                                  "Unfit conduct: trading to the detriment of creditors",
                                  "Unfit conduct: failure to keep accounting records",
                                  "Disqualified following conviction (CDDA 1986 s2)",
                                  "Unfit conduct: phoenix trading"),
    "opensanctions-pep": ("Member of national legislature", "Senior official of a state-owned enterprise",
                          "Municipal councillor", "Member of the judiciary", "Senior civil servant",
                          "Close associate of a politically exposed person"),
}

#: Reasons that fit Scottish people and businesses (the foreign-policy regimes above do not).
_DOMESTIC_REASONS = {
    ("domestic", "uk-sanctions"): ("Global Irregular Migration and Trafficking in Persons",
                                   "Global Anti-Corruption: bribery"),
    ("domestic", "opensanctions-pep"): ("Municipal councillor", "Member of the Scottish Parliament",
                                        "Close associate of a politically exposed person", "Senior civil servant"),
    ("domestic", "world-bank-debarment"): ("Fraudulent practice", "Collusive practice"),
    ("domestic-company", "uk-sanctions"): ("Global Irregular Migration and Trafficking in Persons",
                                           "Owned or controlled by a designated person"),
    ("domestic-company", "world-bank-debarment"): ("Fraudulent practice", "Collusive practice", "Corrupt practice"),
    ("foreign-company", "uk-sanctions"): ("Russia: involvement in obtaining a benefit from the Government of Russia",
                                          "Russia: carrying on business in a sector of strategic significance",
                                          "Iran: nuclear proliferation", "Counter-Terrorism (International)",
                                          "Belarus: support for the regime",
                                          "Owned or controlled by a designated person"),
}


def _typo(name: str, v: float) -> str:
    """One keyboard slip in a name: swap two letters, drop one or double one (never the first letter)."""
    letters = [i for i, c in enumerate(name) if c.isalpha() and i > 0]
    if len(letters) < 3:
        return name + "e"
    i = letters[int(v * (len(letters) - 1)) % (len(letters) - 1)]
    mode = int(v * 3000) % 3
    if mode == 0 and name[i + 1: i + 2].isalpha():
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if mode == 1:
        return name[:i] + name[i + 1:]
    return name[:i] + name[i] + name[i:]


def name_variant(name: str, kind: str, v: float) -> str:
    """Spell a person's full name as a list might: ``exact``, ``initial``, ``no-middle``, ``swapped`` or ``typo``.

    Parameters
    ----------
    name : str
        ``Given [Middle] Surname``.
    kind : str
        Variant to produce (a no-middle variant of a name without a middle name falls back to ``initial``).
    v : float
        Uniform number in [0, 1) choosing details (which letter a typo hits, punctuation).

    Returns
    -------
    str
        The listed spelling.
    """
    parts = name.split(" ")
    given, middle, surname = parts[0], parts[1:-1], parts[-1]
    if kind == "no-middle" and not middle:
        kind = "initial"
    if kind == "initial":
        return f"{given[0]}{'.' if v < 0.5 else ''} {' '.join([*middle, surname])}"
    if kind == "no-middle":
        return f"{given} {surname}"
    if kind == "swapped":
        upper = surname.upper() if v < 0.6 else surname
        return f"{upper}, {' '.join([given, *middle])}"
    if kind == "typo":
        return " ".join([*parts[:-1], _typo(surname, v)]) if v < 0.6 else " ".join([_typo(given, v), *parts[1:]])
    return name


def _company_variant(name: str, v: float) -> str:
    """Spell a company name with its legal suffix varied (Ltd / Limited / upper case / no suffix)."""
    base = name
    for suffix in (" Ltd", " LLP", " PLC"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
    if v < 0.3:
        return name
    if v < 0.6:
        return base + " Limited"
    if v < 0.8:
        return (base + " LIMITED").upper()
    return base


def watchlist_table(cfg: SynthConfig, groups: Groups) -> pd.DataFrame:
    """Return the watchlist of the whole world (about one entry per 200 businesses, at least 30).

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (seed, size, extract date).
    groups : Groups
        Crime groups; some members and controlled businesses are listed.

    Returns
    -------
    DataFrame
        Contract ``watchlist`` table, typed as the loader types it, in random order.

    Notes
    -----
    Composition: ~14% crime-group members (30% spelt exactly, the rest as variants), ~3% group-controlled
    businesses (suffix variants), ~6% ordinary local people with common names (false positives), the rest foreign
    or unrelated people and companies that match nobody. The group-controlled businesses are read from as few
    chunks of the world as needed (regenerated with :func:`riskmodel.synth.world.make_chunk`).
    """
    rng = chunk_rng(cfg.seed, 0, "watchlist")
    seed = cfg.seed
    n = max(30, cfg.businesses // 200)
    extract = int(_days(np.array([cfg.extract]))[0])
    t2005 = int(_days(np.array([np.datetime64("2005-01-01")]))[0])
    n_groups = len(groups.home_area)
    n_member = round(0.14 * n)
    n_company = max(1, round(0.03 * n))
    n_local = round(0.06 * n)
    n_foreign_co = round(0.25 * n)
    rows: list[dict[str, Any]] = []

    # Crime-group members: listed groups (fewer stealthy ones), core members more often.
    listed_g = np.flatnonzero(hash_uniform(seed, "group-listed", np.arange(n_groups))
                              < np.where(groups.stealth, 0.25, 0.7))
    if not len(listed_g):
        listed_g = np.arange(min(2, n_groups))
    # Groups have 2-8 members, the core (low k) most active: the same hash as the officers generator.
    size = 2 + (hash_uniform(seed, "group-members", listed_g) * 7).astype(np.int64)
    k = np.arange(8)
    exists = k[None, :] < size[:, None]
    cand = (listed_g[:, None] * 8 + k[None, :])[exists]
    p = np.broadcast_to(1.0 / (k + 1.0), exists.shape)[exists]
    take = rng.choice(len(cand), size=min(n_member, len(cand)), replace=False, p=p / p.sum())
    keys = GROUP + cand[take]
    names = person_names(seed, keys)
    variants = np.array(["exact", "initial", "no-middle", "swapped", "typo"])[
        np.searchsorted(np.cumsum([.30, .18, .14, .20, .18]), rng.random(len(keys)) * 0.99999, side="right")]
    lists = np.array(["uk-disqualified-directors", "uk-sanctions", "opensanctions-pep", "world-bank-debarment"])[
        np.searchsorted(np.cumsum([.6, .15, .2, .05]), rng.random(len(keys)) * 0.99999, side="right")]
    for nm, var, ls in zip(names, variants, lists, strict=True):
        rows.append({"name": name_variant(str(nm), str(var), float(rng.random())), "entity_kind": "person",
                     "country": "GB" if rng.random() < 0.9 else None, "list_name": str(ls), "origin": "domestic"})

    # Group-controlled businesses, read from as few chunks as needed.
    n_chunks = -(-cfg.businesses // cfg.chunk_size)
    found: list[str] = []
    for c in rng.permutation(n_chunks):
        if len(found) >= n_company:
            break
        wc = make_chunk(cfg, groups, int(c))
        pick = np.flatnonzero(wc.infiltrated & np.isin(wc.group, listed_g))
        if not len(pick):
            pick = np.flatnonzero(wc.infiltrated)
        pick = rng.permutation(pick)[: n_company - len(found)]
        found.extend(str(x) for x in wc.company_name[pick])
    for nm in found:
        rows.append({"name": _company_variant(nm, float(rng.random())), "entity_kind": "company", "country": "GB",
                     "list_name": "uk-sanctions" if rng.random() < 0.6 else "world-bank-debarment",
                     "origin": "domestic-company"})

    # Ordinary local people with common names (false positives of name screening).
    local_keys = LOCAL + (rng.integers(0, cfg.businesses, n_local) * 4 + rng.integers(0, 2, n_local))
    for nm in person_names(seed, local_keys):
        rows.append({"name": str(nm), "entity_kind": "person", "country": "GB",
                     "list_name": "uk-disqualified-directors" if rng.random() < 0.6 else "opensanctions-pep",
                     "origin": "domestic"})

    # Unrelated foreign (and a few British) people and companies.
    cc = list(_COMPANY_COUNTRY_P)
    cp = np.array([_COMPANY_COUNTRY_P[c] for c in cc])
    for c in rng.choice(len(cc), n_foreign_co, p=cp / cp.sum()):
        country = cc[int(c)]
        forms = _COMPANY_FORMS[country]
        form = forms[int(rng.integers(len(forms)))]
        nm = form.format(_COMPANY_WORDS[int(rng.integers(len(_COMPANY_WORDS)))],
                         _COMPANY_SECTORS[int(rng.integers(len(_COMPANY_SECTORS)))])
        rows.append({"name": nm, "entity_kind": "company", "country": country,
                     "list_name": "world-bank-debarment" if rng.random() < 0.55 else "uk-sanctions",
                     "origin": "foreign-company"})
    world_parts = set(FIRST) | set(LAST)
    n_foreign_p = max(0, n - len(rows))  # also fills in when a small world has few group entries
    pc = list(_FOREIGN_PERSON_P)
    pp = np.array([_FOREIGN_PERSON_P[c] for c in pc])
    for c in rng.choice(len(pc), n_foreign_p, p=pp / pp.sum()):
        country = pc[int(c)]
        firsts, lasts = _FOREIGN_NAMES[country]
        fn = [x for x in firsts if x not in world_parts]
        ln = [x for x in lasts if x not in world_parts]
        nm = f"{fn[int(rng.integers(len(fn)))]} {ln[int(rng.integers(len(ln)))]}"
        if rng.random() < 0.35:
            nm = name_variant(nm, "swapped", 0.0)
        ls = ("uk-disqualified-directors" if country == "GB" and rng.random() < 0.5 else
              str(rng.choice(["uk-sanctions", "opensanctions-pep", "world-bank-debarment"], p=[.55, .35, .10])))
        rows.append({"name": nm, "entity_kind": "person", "country": country, "list_name": ls,
                     "origin": "domestic" if country == "GB" else "foreign"})

    frame = pd.DataFrame(rows)
    m = len(frame)
    frame = frame.iloc[rng.permutation(m)].reset_index(drop=True)
    lists_arr = frame["list_name"].to_numpy(dtype=object)

    # Dates by list: sanctions mostly recent (Russia regime from 2022), debarments and disqualifications for fixed
    # terms (end dates may lie in the future), PEPs leave office.
    u = rng.random((m, 4))
    listed = t2005 + (u[:, 0] * (extract - t2005)).astype(np.int64)
    recent = extract - (u[:, 0] ** 1.5 * (extract - t2005)).astype(np.int64)
    listed = np.where(lists_arr == "uk-sanctions", recent, listed)
    term_years = np.select([lists_arr == "uk-disqualified-directors", lists_arr == "world-bank-debarment"],
                           [2 + u[:, 1] * 13, 1 + u[:, 1] * 9], 0.0)
    fixed_term = (lists_arr == "uk-disqualified-directors") | (lists_arr == "world-bank-debarment")
    delisted = listed + np.round(np.where(fixed_term, term_years * 365.25, 30 + u[:, 2] * (extract - listed))).astype(
        np.int64)
    has_end = np.select([lists_arr == "uk-disqualified-directors", lists_arr == "world-bank-debarment",
                         lists_arr == "uk-sanctions"], [np.ones(m, bool), u[:, 3] < 0.85, u[:, 3] < 0.08],
                        u[:, 3] < 0.25)
    has_end &= fixed_term | (delisted <= extract)
    no_listed = rng.random(m) < 0.03
    pools = [_DOMESTIC_REASONS.get((str(o), str(ls)), _REASONS[str(ls)]) for o, ls in
             zip(frame["origin"], lists_arr, strict=True)]
    reason = np.array([pool[int(v * len(pool))] for pool, v in zip(pools, rng.random(m), strict=True)], dtype=object)
    no_reason = rng.random(m) < 0.05
    prefix = np.select([lists_arr == "uk-sanctions", lists_arr == "world-bank-debarment",
                        lists_arr == "uk-disqualified-directors"], ["UKS-", "WB-", "DQ-"], "OS-")
    entry = np.char.add(prefix.astype(str), hash_hex(seed, "watchlist-entry", np.arange(m), 16))
    return pd.DataFrame({
        "entry_id": _text(entry),
        "name": _text(frame["name"].to_numpy()),
        "entity_kind": _text(frame["entity_kind"].to_numpy()),
        "country": pd.Series(frame["country"].to_numpy(dtype=object), dtype=object),
        "list_name": _text(lists_arr),
        "listed_on": _dates(listed, no_listed),
        "delisted_on": _dates(delisted, ~has_end | no_listed),
        "reason": _text(reason, no_reason),
    })
