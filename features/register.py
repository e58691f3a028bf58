"""Register features: company age, filing behaviour, board churn, directorships and shared registered offices.

Sources are the company register (``companies``, ``view.registered_office``), officer appointments (``officers``)
and filed accounts (``accounts``), all read through the point-in-time view.

Features
--------
company_age_years
    Age at ``as_of``; context for every other register signal (Transcrime 2018, firm age in the risk model of
    infiltrated companies; TI UK 2017 on newly formed shells).
dormant_accounts_switches
    Switches between dormant and trading accounts (BEIS 2019 / TI UK 2017 shell-company dormancy flag).
accounts_filed_late, share_of_accounts_filed_late
    Filings received after the Companies Act 2006 s.442 deadline (Transcrime/DATACROS; Companies House
    late-filing penalties).
years_since_last_accounts_filing
    Gap since the last filing once the first accounts are due (21 months after incorporation), measured to the
    cessation date for ceased businesses (strike-off after companies stop filing; Companies Act 2006 s.1000).
director_appointments_last_12m, director_appointments_last_36m, director_resignations_last_12m,
director_resignations_last_36m
    Board churn (DATACROS "changes of owners and managers" indicator, Transcrime 2018).
current_directors, share_of_current_directors_with_tenure_under_1y
    Board size and how new it is (front directors and straw men, FATF 2018 *Concealment of Beneficial
    Ownership*).
officers_appointed_within_90_days_of_incorporation
    Officers added soon after the founders (shelf-company hand-over, FATF 2018; TI UK 2017).
max_other_directorships_of_current_directors, mean_other_directorships_of_current_directors
    Outlier directorships of the board, formation-agent nominees excluded (Moody's shell-company indicators;
    TI UK 2017 *Hiding in Plain Sight*).
formation_agent_nominee_among_officers
    The business was formed through a formation agent's nominee (ordinary trait, direction either).
businesses_sharing_registered_office, registered_office_at_mass_registration_address
    Co-located businesses at the registered office, with mass-registration hubs flagged separately (TI UK 2017
    mass registration; BEIS 2019 register reform).
officer_rows_with_implausible_data
    Data-quality flag (never a model feature): impossible birth years or appointment dates.

Notes
-----
Director roles are ``director``, ``corporate-director`` and ``llp-member``. A formation-agent nominee is an officer
with more than :data:`NOMINEE_MIN_APPOINTMENTS` appointments known at ``as_of`` of which most lasted under
:data:`NOMINEE_MAX_DAYS` days; nominees are excluded from churn, directorship and early-appointment counts because
their short appointments are how company formation works, not a sign of risk.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from features._filing import add_months, statutory_deadline
from features.catalogue import empty_feature, feature
from features.pit import AsOf
from features.text import few_ascii, is_missing, python_pattern

__all__ = [
    "DIRECTOR_ROLES",
    "MASS_REGISTRATION_MIN_BUSINESSES",
    "NOMINEE_MAX_DAYS",
    "NOMINEE_MIN_APPOINTMENTS",
    "accounts_filed_late",
    "businesses_sharing_registered_office",
    "company_age_years",
    "current_directors",
    "director_appointments_last_12m",
    "director_appointments_last_36m",
    "director_resignations_last_12m",
    "director_resignations_last_36m",
    "dormant_accounts_switches",
    "formation_agent_nominee_among_officers",
    "max_other_directorships_of_current_directors",
    "mean_other_directorships_of_current_directors",
    "office_parts",
    "officer_rows_with_implausible_data",
    "officers_appointed_within_90_days_of_incorporation",
    "registered_office_at_mass_registration_address",
    "share_of_accounts_filed_late",
    "share_of_current_directors_with_tenure_under_1y",
    "years_since_last_accounts_filing",
]

#: Officer roles that sit on the board.
DIRECTOR_ROLES: tuple[str, ...] = ("director", "corporate-director", "llp-member")
#: An officer with more appointments than this, mostly short, is a formation agent's nominee.
NOMINEE_MIN_APPOINTMENTS = 50
#: Appointments shorter than this many days are the nominee's hand-over appointments.
NOMINEE_MAX_DAYS = 60
#: A registered office hosting more live businesses than this is a formation agent's or accountant's hub.
MASS_REGISTRATION_MIN_BUSINESSES = 100
#: Company types that must file annual accounts at Companies House.
FILING_TYPES: tuple[str, ...] = ("ltd", "plc", "llp")
_DAYS_PER_YEAR = 365.25
_REGISTER_REF = "Companies Act 2006 s.441-442 (filing deadlines); Companies House register"


def _memo(view: AsOf, key: str, compute: Callable[[AsOf], Any]) -> Any:
    """Compute an intermediate once per view (features of one build share it; the view is never modified)."""
    return view.memo(f"register:{key}", lambda: compute(view))


def _per_business(view: AsOf, values: np.ndarray | pd.Series, name: str) -> pd.Series:
    """Wrap an array aligned with ``view.index`` as a float Series."""
    return pd.Series(np.asarray(values, dtype="float64"), index=view.index, name=name)


def _bincount(view: AsOf, code: np.ndarray, weights: np.ndarray | pd.Series | None = None) -> np.ndarray:
    """Sum of ``weights`` (or row count) per business position ``code`` (rows with code -1 are ignored)."""
    keep = code >= 0
    w = None if weights is None else np.asarray(weights, dtype="float64")[keep]
    return np.bincount(code[keep], weights=w, minlength=len(view.index)).astype("float64")


def _company_arrays(view: AsOf) -> dict[str, np.ndarray]:
    """Creation date, cessation-by-``as_of`` flag and plc flag per business position."""

    def compute(v: AsOf) -> dict[str, np.ndarray]:
        comp = v.companies
        return {"created": comp["date_of_creation"].to_numpy("datetime64[ns]"),
                "ceased": comp["date_of_cessation"].notna().to_numpy(),
                "public": comp["company_type"].eq("plc").to_numpy()}

    return _memo(view, "company_arrays", compute)


def _lookup(array: np.ndarray, code: np.ndarray, missing: Any) -> np.ndarray:
    """``array[code]`` with ``missing`` where code is -1."""
    if len(array) == 0:
        return np.full(len(code), missing, dtype=array.dtype)
    out = array[np.where(code >= 0, code, 0)]
    out[code < 0] = missing
    return out


def _officer_table(view: AsOf) -> tuple[pd.DataFrame, pd.Index]:
    """Appointments known at ``as_of`` in integer form, and the officer ids indexed by ``person`` code.

    Columns: ``code`` (business position in ``view.index``, -1 for a business not in it), ``person`` (code of the
    officer_id), ``director`` (a board role), ``nominee`` (a formation-agent nominee), ``appointed_on``,
    ``resigned_on`` (NaT while in office at ``as_of``) and ``created`` (the business's creation date).
    """

    def compute(v: AsOf) -> tuple[pd.DataFrame, pd.Index]:
        off = v.officers if v.has("officers") else pd.DataFrame()
        if off.empty:
            ids: pd.Index = pd.Index([], dtype=object)
            empty = np.empty(0, dtype="datetime64[ns]")
            frame = pd.DataFrame({"code": np.empty(0, np.int64), "person": np.empty(0, np.int64),
                                  "director": np.empty(0, bool), "nominee": np.empty(0, bool),
                                  "appointed_on": empty, "resigned_on": empty, "created": empty})
            return frame, ids
        code = v.index.get_indexer(pd.Index(off["company_number"])).astype(np.int64)
        person, ids = pd.factorize(off["officer_id"])
        person = person.astype(np.int64)
        appointed = off["appointed_on"].to_numpy("datetime64[ns]")
        resigned = off["resigned_on"].to_numpy("datetime64[ns]")
        with np.errstate(invalid="ignore"):
            short = (resigned - appointed) < np.timedelta64(NOMINEE_MAX_DAYS, "D")
        size = np.bincount(person, minlength=len(ids))
        short_share = np.bincount(person, weights=short, minlength=len(ids)) / np.maximum(size, 1)
        nominee_person = (size > NOMINEE_MIN_APPOINTMENTS) & (short_share > 0.5)
        frame = pd.DataFrame({
            "code": code, "person": person,
            "director": off["officer_role"].isin(DIRECTOR_ROLES).to_numpy(),
            "nominee": nominee_person[person],
            "appointed_on": appointed, "resigned_on": resigned,
            "created": _lookup(_company_arrays(v)["created"], code, np.datetime64("NaT")),
        })
        return frame, pd.Index(ids, name="officer_id")

    return _memo(view, "officers", compute)


def _officers(view: AsOf) -> pd.DataFrame:
    return _officer_table(view)[0]


def _address_keys(view: AsOf) -> np.ndarray:
    """Integer code of the normalised registered office (postcode and address line) per business of ``view.index``.

    -1 when the postcode or the address line is missing. Postcodes are compared without spaces and case, address
    lines without case and punctuation.
    """

    def compute(v: AsOf) -> np.ndarray:
        office = v.registered_office.reindex(v.index)
        postcode, address = office_parts(office["registered_office_postcode"], office["registered_office_address"])
        pc_code, _ = pd.factorize(postcode)
        ad_code, ad_uniques = pd.factorize(address)
        both = np.where((pc_code >= 0) & (ad_code >= 0), pc_code.astype(np.int64) * (len(ad_uniques) + 1) + ad_code,
                        -1)
        key, _ = pd.factorize(both)
        uniques_missing = both < 0
        key = key.astype(np.int64)
        key[uniques_missing] = -1
        return key

    return _memo(view, "address_keys", compute)


def office_parts(postcode: pd.Series, address: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised registered office parts: postcode without spaces in capitals, address line in lower-case words.

    Blank parts become missing. Two businesses share an office when both parts are present and equal; the
    scoring neighbourhood (:mod:`riskmodel.scoring.neighbourhood`) uses the same rule.
    """
    if len(postcode) > _SMALL:
        return _office_parts(postcode, address)
    # A few rows (one supplier's neighbourhood): remembered results, as each string operation's fixed cost would
    # otherwise dominate. The same function computes what is not remembered, so the results are the same.
    raw = list(zip(postcode.tolist(), address.tolist(), strict=True))
    found = {r: _OFFICE_PARTS[r] for r in raw if r in _OFFICE_PARTS}
    unknown = [r for r in dict.fromkeys(raw) if r not in found]
    if unknown and few_ascii([v for r in unknown for v in r]) is not None:
        computed = {r: (_postcode_ascii(r[0]), _address_ascii(r[1])) for r in unknown}
    elif unknown:
        pcs, ads = _office_parts(pd.Series([r[0] for r in unknown], dtype=object),
                                 pd.Series([r[1] for r in unknown], dtype=object))
        computed = dict(zip(unknown, zip(pcs.tolist(), ads.tolist(), strict=True), strict=True))
    if unknown:
        found.update(computed)
        if len(_OFFICE_PARTS) > 100_000:  # bounded; clearing only costs recomputation
            _OFFICE_PARTS.clear()
        _OFFICE_PARTS.update(computed)
    parts = [found[r] for r in raw]
    return (pd.Series([p[0] for p in parts], index=postcode.index, dtype="string[pyarrow]"),
            pd.Series([p[1] for p in parts], index=address.index, dtype="string[pyarrow]"))


#: Rows up to which office_parts looks up remembered results.
_SMALL = 256
#: Normalised office parts by raw (postcode, address), for office_parts on a few rows.
_OFFICE_PARTS: dict[tuple[object, object], tuple[object, object]] = {}


def _office_parts(postcode: pd.Series, address: pd.Series) -> tuple[pd.Series, pd.Series]:
    pc = postcode.astype("string[pyarrow]").str.upper().str.replace(_SPACES, "", regex=True)
    ad = (address.astype("string[pyarrow]").str.lower().str.replace(_NOT_ALNUM, " ", regex=True).str.strip())
    return pc.where(pc.str.len() > 0), ad.where(ad.str.len() > 0)


_SPACES = r"\s+"
_NOT_ALNUM = r"[^0-9a-z]+"
_SPACES_PY, _NOT_ALNUM_PY = python_pattern(_SPACES), python_pattern(_NOT_ALNUM)


def _postcode_ascii(value: object) -> object:
    """:func:`_office_parts`'s postcode rule on one ASCII value (features.text), missing as None."""
    text = None if is_missing(value) else _SPACES_PY.sub("", str(value).upper())
    return text or None


def _address_ascii(value: object) -> object:
    """:func:`_office_parts`'s address rule on one ASCII value, missing as None."""
    text = None if is_missing(value) else _NOT_ALNUM_PY.sub(" ", str(value).lower()).strip()
    return text or None


def _sort_order(*keys: np.ndarray) -> np.ndarray:
    """Stable order sorting by the last key first, then the others (like ``np.lexsort`` on non-negative ints)."""
    combined = np.zeros(len(keys[0]), np.int64)
    bits = 0
    for key in keys[::-1]:
        width = int(key.max(initial=0)).bit_length()
        if bits + width > 62:
            return np.lexsort(keys)
        combined = (combined << width) | key
        bits += width
    return np.argsort(combined, kind="stable")


def _day_number(dates: np.ndarray) -> np.ndarray:
    """Non-negative day numbers (NaT last) for sorting."""
    days = dates.astype("datetime64[D]").astype(np.int64)
    nat = np.isnat(dates)
    low = days[~nat].min(initial=0)
    out = days - low
    out[nat] = out.max(initial=0) + 1
    return out


def _filings(view: AsOf) -> pd.DataFrame:
    """First filing per accounting period (amendments dropped) of businesses in ``view.index``, with lateness.

    Sorted by business position ``code`` then period end. The deadline is 9 months after the period end (6 for a
    plc); a first period longer than 12 months is due 21 (plc: 18) months after incorporation or 3 months after the
    period end, whichever is later (Companies Act 2006 s.442(3)).
    """

    def compute(v: AsOf) -> pd.DataFrame:
        acc = v.accounts if v.has("accounts") else pd.DataFrame()
        columns = ["code", "period_end", "filed_on", "dormant", "late"]
        if acc.empty:
            return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
        code = v.index.get_indexer(pd.Index(acc["company_number"])).astype(np.int64)
        keep = code >= 0
        code = code[keep]
        start = acc["period_start"].to_numpy("datetime64[ns]")[keep]
        end = acc["period_end"].to_numpy("datetime64[ns]")[keep]
        filed = acc["filed_on"].to_numpy("datetime64[ns]")[keep]
        order = _sort_order(_day_number(filed), _day_number(end), code)
        code, start, end, filed = code[order], start[order], end[order], filed[order]
        first = np.ones(len(code), bool)
        first[1:] = (code[1:] != code[:-1]) | (end[1:] != end[:-1])
        code, start, end, filed = code[first], start[first], end[first], filed[first]
        dormant = acc["accounts_type"].to_numpy()[keep][order][first] == "dormant"
        arrays = _company_arrays(v)
        created = arrays["created"][code]
        public = arrays["public"][code]
        deadline = statutory_deadline(start, end, created, public)
        return pd.DataFrame({"code": code, "period_end": end, "filed_on": filed, "dormant": dormant,
                             "late": filed > deadline})

    return _memo(view, "filings", compute)


# --------------------------------------------------------------------------------------------------- company


@feature(
    sources=("companies",),
    rationale=("Newly formed companies are the usual vehicle for shells and fronts, while takeovers target "
               "established businesses, so age is the context every other register signal is read against."),
    reference="Transcrime (2018) risk factors of infiltrated companies (firm age); TI UK (2017) Hiding in Plain Sight",
    direction="either",
    reason="The business was {value} years old on {as_of}; {peer_share} of {peer_group} were younger",
)
def company_age_years(view: AsOf) -> pd.Series:
    """Years from incorporation (or start of trading) to ``as_of``."""
    comp = view.companies
    return ((view.t - comp["date_of_creation"]).dt.days / _DAYS_PER_YEAR).rename("company_age_years")


# --------------------------------------------------------------------------------------------------- accounts


@feature(
    sources=("accounts",),
    rationale=("Switching between dormant and trading accounts lets a company lie idle and then carry sudden "
               "activity, a shell-company pattern."),
    reference="BEIS (2019) Corporate transparency and register reform; TI UK (2017) shell-company red flags (dormancy)",
    direction="higher-is-riskier",
    reason="The accounts switched between dormant and trading {value} times up to {as_of}; {peer_share} of "
           "{peer_group} switched less often",
)
def dormant_accounts_switches(view: AsOf) -> pd.Series:
    """Switches between dormant and non-dormant accounts, in period order, among filings known at ``as_of``."""
    acc = _filings(view)
    code = acc["code"].to_numpy(np.int64)
    dormant = acc["dormant"].to_numpy(bool)
    switched = np.zeros(len(acc), bool)
    switched[1:] = (code[1:] == code[:-1]) & (dormant[1:] != dormant[:-1])
    values = _per_business(view, _bincount(view, code, switched), "dormant_accounts_switches")
    return values[_bincount(view, code) > 0]


@feature(
    sources=("accounts", "companies"),
    rationale=("Companies used by organised crime file late more often, because accounts are an afterthought for "
               "a front and late filing delays scrutiny."),
    reference=f"{_REGISTER_REF}; Transcrime DATACROS (2018) financial-reporting anomalies",
    direction="higher-is-riskier",
    reason="{value} annual accounts were filed after the statutory deadline up to {as_of}; {peer_share} of "
           "{peer_group} had fewer late filings",
    zero_when_absent=True,
)
def accounts_filed_late(view: AsOf) -> pd.Series:
    """Accounting periods whose first filing arrived after the Companies Act 2006 s.442 deadline."""
    acc = _filings(view)
    code = acc["code"].to_numpy(np.int64)
    return _per_business(view, _bincount(view, code, acc["late"]), "accounts_filed_late")


@feature(
    sources=("accounts", "companies"),
    rationale=("A high share of late filings shows a business that habitually ignores its reporting duties, a "
               "red flag for fronts."),
    reference=f"{_REGISTER_REF}; Transcrime DATACROS (2018) financial-reporting anomalies",
    direction="higher-is-riskier",
    reason="{value} of the annual accounts filed up to {as_of} were late; {peer_share} of {peer_group} had a lower "
           "share",
)
def share_of_accounts_filed_late(view: AsOf) -> pd.Series:
    """Share of accounting periods (first filing each) filed after the statutory deadline."""
    acc = _filings(view)
    code = acc["code"].to_numpy(np.int64)
    filings = _bincount(view, code)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = _bincount(view, code, acc["late"]) / filings
    return _per_business(view, share, "share_of_accounts_filed_late")[filings > 0]


@feature(
    sources=("accounts", "companies"),
    rationale=("A company past its first filing deadline that has stopped filing is overdue; companies used for "
               "crime often stop filing before they are struck off or abandoned."),
    reference=f"{_REGISTER_REF}; Companies Act 2006 s.1000 (striking off companies that stop filing)",
    direction="higher-is-riskier",
    reason="{value} years had passed since the last accounts were filed, as of {as_of}; {peer_share} of {peer_group} "
           "had filed more recently",
)
def years_since_last_accounts_filing(view: AsOf) -> pd.Series:
    """Years from the last filing (or incorporation) to ``as_of`` or cessation, for filers older than 21 months."""
    if not view.has("accounts"):
        return empty_feature()
    comp = view.companies
    acc = _filings(view)
    last = pd.Series(pd.NaT, index=comp.index, dtype="datetime64[ns]")
    if not acc.empty:
        latest = acc.groupby("code")["filed_on"].max()
        last.iloc[latest.index.to_numpy(np.int64)] = latest.to_numpy("datetime64[ns]")
    filer = comp["company_type"].isin(FILING_TYPES) | last.notna()
    end = comp["date_of_cessation"].fillna(view.t)
    due = add_months(comp["date_of_creation"].to_numpy("datetime64[ns]"), 21) < end.to_numpy("datetime64[ns]")
    years = (end - last.fillna(comp["date_of_creation"])).dt.days / _DAYS_PER_YEAR
    return years.where(filer & due).rename("years_since_last_accounts_filing")


# --------------------------------------------------------------------------------------------------- officers


def _director_rows(view: AsOf) -> pd.DataFrame:
    """Director appointments of businesses in ``view.index``, formation-agent nominees excluded."""

    def compute(v: AsOf) -> pd.DataFrame:
        off = _officers(v)
        return off[off["director"] & ~off["nominee"] & (off["code"] >= 0)]

    return _memo(view, "director_rows", compute)


def _appointments_since(view: AsOf, months: int, name: str) -> pd.Series:
    off = _director_rows(view)
    start = view.t - pd.DateOffset(months=months)
    # Founding directors (appointed on or before the creation date) are not churn.
    hit = (off["appointed_on"] > start) & (off["appointed_on"] > off["created"])
    return _per_business(view, _bincount(view, off["code"].to_numpy(np.int64), hit), name)


def _resignations_since(view: AsOf, months: int, name: str) -> pd.Series:
    off = _director_rows(view)
    start = view.t - pd.DateOffset(months=months)
    hit = off["resigned_on"] > start
    return _per_business(view, _bincount(view, off["code"].to_numpy(np.int64), hit), name)


_CHURN_REF = "Transcrime DATACROS (2018) indicator of frequent changes of managers; FATF (2018) Concealment of " \
             "Beneficial Ownership (front directors)"
_CHURN_WHY = ("Frequent changes on the board follow takeovers by criminal groups and the rotation of front "
              "directors; founders' appointments and formation-agent nominees are not counted.")


@feature(
    sources=("officers", "companies"),
    rationale=_CHURN_WHY,
    reference=_CHURN_REF,
    direction="higher-is-riskier",
    reason="{value} directors were appointed in the 12 months before {as_of}; {peer_share} of {peer_group} had fewer",
    zero_when_absent=True,
)
def director_appointments_last_12m(view: AsOf) -> pd.Series:
    """Director appointments after incorporation in the 12 months to ``as_of`` (nominees excluded)."""
    return _appointments_since(view, 12, "director_appointments_last_12m")


@feature(
    sources=("officers", "companies"),
    rationale=_CHURN_WHY,
    reference=_CHURN_REF,
    direction="higher-is-riskier",
    reason="{value} directors were appointed in the 36 months before {as_of}; {peer_share} of {peer_group} had fewer",
    zero_when_absent=True,
)
def director_appointments_last_36m(view: AsOf) -> pd.Series:
    """Director appointments after incorporation in the 36 months to ``as_of`` (nominees excluded)."""
    return _appointments_since(view, 36, "director_appointments_last_36m")


@feature(
    sources=("officers",),
    rationale=_CHURN_WHY,
    reference=_CHURN_REF,
    direction="higher-is-riskier",
    reason="{value} directors resigned in the 12 months before {as_of}; {peer_share} of {peer_group} had fewer",
    zero_when_absent=True,
)
def director_resignations_last_12m(view: AsOf) -> pd.Series:
    """Director resignations in the 12 months to ``as_of`` (nominees excluded)."""
    return _resignations_since(view, 12, "director_resignations_last_12m")


@feature(
    sources=("officers",),
    rationale=_CHURN_WHY,
    reference=_CHURN_REF,
    direction="higher-is-riskier",
    reason="{value} directors resigned in the 36 months before {as_of}; {peer_share} of {peer_group} had fewer",
    zero_when_absent=True,
)
def director_resignations_last_36m(view: AsOf) -> pd.Series:
    """Director resignations in the 36 months to ``as_of`` (nominees excluded)."""
    return _resignations_since(view, 36, "director_resignations_last_36m")


def _current_directors(view: AsOf) -> pd.DataFrame:
    """Directors in office at ``as_of``, one row per (business, person) with the earliest appointment date.

    Nominees are included (they hold the seat); businesses outside ``view.index`` are dropped.
    """

    def compute(v: AsOf) -> pd.DataFrame:
        off = _officers(v)
        cur = off[off["director"] & off["resigned_on"].isna() & (off["code"] >= 0)]
        code, person = cur["code"].to_numpy(np.int64), cur["person"].to_numpy(np.int64)
        order = _sort_order(_day_number(cur["appointed_on"].to_numpy("datetime64[ns]")), person, code)
        code, person = code[order], person[order]
        first = np.ones(len(order), bool)
        first[1:] = (code[1:] != code[:-1]) | (person[1:] != person[:-1])
        return cur.iloc[order[first]]

    return _memo(view, "current_directors", compute)


@feature(
    sources=("officers",),
    rationale=("A board of one is typical of shells and fronts run by a single straw man, while unusually large "
               "boards can seat group members; the count is context for churn and directorships."),
    reference="FATF (2018) Concealment of Beneficial Ownership (nominee and front directors); Companies House register",
    direction="either",
    reason="The business had {value} directors in office on {as_of}; {peer_share} of {peer_group} had fewer",
)
def current_directors(view: AsOf) -> pd.Series:
    """Distinct directors in office at ``as_of`` (NaN for businesses with no officer records)."""
    covered = _bincount(view, _officers(view)["code"].to_numpy(np.int64)) > 0
    counts = _bincount(view, _current_directors(view)["code"].to_numpy(np.int64))
    return _per_business(view, counts, "current_directors")[covered]


@feature(
    sources=("officers",),
    rationale=("A board made mostly of directors appointed in the past year points to a recent change of control, "
               "the moment a business is taken over."),
    reference=_CHURN_REF,
    direction="higher-is-riskier",
    reason="{value} of the directors in office on {as_of} had served under a year; {peer_share} of {peer_group} had "
           "a lower share",
)
def share_of_current_directors_with_tenure_under_1y(view: AsOf) -> pd.Series:
    """Share of directors in office at ``as_of`` appointed in the 12 months before it."""
    cur = _current_directors(view)
    code = cur["code"].to_numpy(np.int64)
    recent = cur["appointed_on"] > view.t - pd.DateOffset(months=12)
    directors = _bincount(view, code)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = _bincount(view, code, recent) / directors
    return _per_business(view, share, "share_of_current_directors_with_tenure_under_1y")[directors > 0]


@feature(
    sources=("officers", "companies"),
    rationale=("Officers added within weeks of incorporation often take over a company formed by someone else "
               "(a shelf company handed to its real controllers); nominees are not counted."),
    reference="FATF (2018) Concealment of Beneficial Ownership (shelf companies); TI UK (2017) Hiding in Plain Sight",
    direction="higher-is-riskier",
    reason="{value} officers were appointed within 90 days after incorporation; {peer_share} of {peer_group} had "
           "fewer",
    zero_when_absent=True,
)
def officers_appointed_within_90_days_of_incorporation(view: AsOf) -> pd.Series:
    """Appointments (any role, nominees excluded) after the creation date and within 90 days of it."""
    off = _officers(view)
    off = off[~off["nominee"]]
    created = off["created"]
    hit = (off["appointed_on"] > created) & (off["appointed_on"] <= created + pd.Timedelta(days=90))
    return _per_business(view, _bincount(view, off["code"].to_numpy(np.int64), hit),
                         "officers_appointed_within_90_days_of_incorporation")


def _other_directorships(view: AsOf) -> pd.DataFrame:
    """Per current (business, director): the director's other current directorships at live businesses."""

    def compute(v: AsOf) -> pd.DataFrame:
        cur = _current_directors(v)
        cur = cur[~cur["nominee"]]
        code = cur["code"].to_numpy(np.int64)
        person = cur["person"].to_numpy(np.int64)
        live = ~_company_arrays(v)["ceased"][code]
        held = np.bincount(person, weights=live, minlength=int(person.max(initial=-1)) + 1)
        return pd.DataFrame({"code": code, "other": held[person] - live})

    return _memo(view, "other_directorships", compute)


_DIRECTORSHIPS_REF = ("Moody's Analytics shell-company indicators (outlier directorships); TI UK (2017) Hiding in "
                      "Plain Sight")


@feature(
    sources=("officers", "companies"),
    rationale=("A director who also sits on an outlying number of other live boards can be a front or a "
               "professional enabler lending a name to many companies; formation-agent nominees are excluded."),
    reference=_DIRECTORSHIPS_REF,
    direction="higher-is-riskier",
    reason="One director held {value} other directorships at live businesses on {as_of}; {peer_share} of "
           "{peer_group} had no director with as many",
)
def max_other_directorships_of_current_directors(view: AsOf) -> pd.Series:
    """Largest number of other live-business directorships held by a current director (nominees excluded)."""
    pairs = _other_directorships(view)
    most = pairs.groupby("code")["other"].max()
    return pd.Series(most.to_numpy("float64"), index=view.index[most.index.to_numpy(np.int64)],
                     name="max_other_directorships_of_current_directors")


@feature(
    sources=("officers", "companies"),
    rationale=("A board whose directors all hold many other directorships is run by people who cannot be managing "
               "each business themselves; formation-agent nominees are excluded."),
    reference=_DIRECTORSHIPS_REF,
    direction="higher-is-riskier",
    reason="The directors in office on {as_of} held {value} other directorships each on average; {peer_share} of "
           "{peer_group} had a lower average",
)
def mean_other_directorships_of_current_directors(view: AsOf) -> pd.Series:
    """Mean number of other live-business directorships of current directors (nominees excluded)."""
    pairs = _other_directorships(view)
    code = pairs["code"].to_numpy(np.int64)
    directors = _bincount(view, code)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = _bincount(view, code, pairs["other"]) / directors
    return _per_business(view, mean, "mean_other_directorships_of_current_directors")[directors > 0]


@feature(
    sources=("officers",),
    rationale=("Formation through an agent's nominee director is how many ordinary companies start; it is recorded "
               "as a trait so that nominees' huge appointment counts do not pass for outlier directorships."),
    reference="TI UK (2017) Hiding in Plain Sight (company formation agents); BEIS (2019) register reform",
    direction="either",
    reason="A formation agent's nominee was an officer of the business up to {as_of} (value {value})",
)
def formation_agent_nominee_among_officers(view: AsOf) -> pd.Series:
    """1 when any appointment known at ``as_of`` is a formation-agent nominee's, else 0 (NaN without officers)."""
    off = _officers(view)
    code = off["code"].to_numpy(np.int64)
    covered = _bincount(view, code) > 0
    hit = (_bincount(view, code, off["nominee"]) > 0).astype("float64")
    return _per_business(view, hit, "formation_agent_nominee_among_officers")[covered]


# --------------------------------------------------------------------------------------------------- address


def _address_counts(view: AsOf) -> tuple[np.ndarray, np.ndarray]:
    """Per business: its address key and the number of live businesses (not ceased by ``as_of``) there."""

    def compute(v: AsOf) -> tuple[np.ndarray, np.ndarray]:
        key = _address_keys(v)
        live = ~_company_arrays(v)["ceased"]
        has = key >= 0
        per_key = np.bincount(key[has], weights=live[has], minlength=int(key.max(initial=-1)) + 1)
        return key, np.where(has, per_key[np.maximum(key, 0)] if len(per_key) else 0.0, 0.0)

    return _memo(view, "address_counts", compute)


_ADDRESS_WHY = ("The register only gives the current registered office, so this assumes offices rarely move. ")


@feature(
    sources=("companies",),
    rationale=(_ADDRESS_WHY + "Many unrelated companies registered at one ordinary address suggest a shared "
               "controller or a front address used by a criminal group (formation-agent and accountant hubs are "
               "flagged separately and left missing here)."),
    reference="TI UK (2017) Hiding in Plain Sight (mass registration at one address); Moody's shell-company "
              "indicators",
    direction="higher-is-riskier",
    reason="{value} other live businesses shared the registered office on {as_of}; {peer_share} of {peer_group} "
           "shared theirs with fewer",
)
def businesses_sharing_registered_office(view: AsOf) -> pd.Series:
    """Other live businesses at the same registered office (NaN at mass-registration hubs or without address)."""
    key, count = _address_counts(view)
    others = count - ~_company_arrays(view)["ceased"]
    ok = (key >= 0) & (count <= MASS_REGISTRATION_MIN_BUSINESSES)
    return _per_business(view, np.where(ok, others, np.nan), "businesses_sharing_registered_office")


@feature(
    sources=("companies",),
    rationale=(_ADDRESS_WHY + "An address hosting over 100 live businesses is a formation agent's or accountant's "
               "service address, an ordinary trait recorded instead of a huge co-location count."),
    reference="TI UK (2017) Hiding in Plain Sight (company service providers' addresses)",
    direction="either",
    reason="The registered office was a mass-registration address on {as_of} (value {value})",
)
def registered_office_at_mass_registration_address(view: AsOf) -> pd.Series:
    """1 when the registered office hosts more than 100 live businesses, else 0 (NaN without address)."""
    key, count = _address_counts(view)
    flag = np.where(key >= 0, (count > MASS_REGISTRATION_MIN_BUSINESSES).astype("float64"), np.nan)
    return _per_business(view, flag, "registered_office_at_mass_registration_address")


# --------------------------------------------------------------------------------------------------- quality


@feature(
    sources=("officers", "companies"),
    rationale=("Impossible birth years or appointments before birth or incorporation point to data errors or "
               "fabricated officers; reported for review, never scored."),
    reference="Companies House register data quality; TI UK (2017) on unverified register entries",
    direction="either",
    reason="{value} officer records held implausible dates up to {as_of}",
    zero_when_absent=True,
    data_quality=True,
)
def officer_rows_with_implausible_data(view: AsOf) -> pd.Series:
    """Appointments with a birth year outside 1900..as_of-16, made before age 16, or before incorporation."""
    off = view.officers if view.has("officers") else pd.DataFrame()
    if off.empty:
        return empty_feature()
    born = off["birth_year"].astype("Float64").to_numpy("float64", na_value=np.nan)
    appointed = off["appointed_on"]
    with np.errstate(invalid="ignore"):
        bad_birth = (born < 1900) | (born > view.t.year - 16)
        too_young = (appointed.dt.year.to_numpy() - born) < 16
    early = (appointed < off["company_number"].map(view.companies["date_of_creation"])).to_numpy()
    bad = bad_birth | too_young | early
    code = view.index.get_indexer(pd.Index(off["company_number"])).astype(np.int64)
    return _per_business(view, _bincount(view, code, bad), "officer_rows_with_implausible_data")
