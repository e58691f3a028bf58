"""Annual accounts and licence applications of the synthetic world, with a weak latent crime signal.

Accounts (one row per filing; Companies House rules and iXBRL accounts data)
-----------------------------------------------------------------------------
- *Who files.* Companies, LLPs and other incorporated bodies file annual accounts with the registrar (Companies
  Act 2006, s.441); sole traders and (Scottish and limited) partnerships do not. A few never file at all.
- *Periods.* Each business has an accounting reference date (ARD). Balance-sheet months and month-ends follow the
  measured shares of 30,748 real iXBRL filings (97% month-ends; March, November and December most common). A new
  company's first accounts run from incorporation to an ARD 6-18 months later (s.391: 6 to 18 months);
  later periods are twelve months long. Filings for periods ending on or before the world's start date are not
  generated.
- *Filing dates.* The deadline for a private company is nine months after the period end (s.442). Most filings
  come in the last three months before it; about 8% are late (10-24 months), more so for a chronically late
  minority; a few filings are never made, and a business that is struck off often stops filing a year or two
  before (the registrar strikes off companies that stop filing, s.1000). Dissolved businesses file nothing after
  dissolution; businesses in liquidation or administration often stop filing.
- *Accounts type.* Micro-entity ~72%, dormant ~12%, small ~9%, abridged ~4%, full ~2%, group ~1% (Companies House
  filing statistics; small-company and micro-entity regimes of s.382-384B). Full and group accounts go to the
  largest businesses; many small businesses file small or abridged accounts by choice. Dormant businesses (shell
  and holding companies, businesses marked dormant) file dormant accounts: no employees and no money figures
  beyond an occasional nil net assets.
- *Figures.* A Gaussian copula on the business's latent size (``size_z``, smaller in earlier years as the
  business grows with age, plus a small yearly noise and drift, so a business is consistent over the years;
  standardised over the chunk's filings) and on correlated field residuals (most of them fixed per business).
  Marginals are the measured quantiles of real iXBRL filings (employees, cash, net assets, current assets,
  tangible fixed assets, debtors, creditors within a year); rank correlations follow the measured ones
  (employees~current assets 0.41, net assets~current assets 0.64, cash~current assets 0.79). Which fields a
  filing reports depends on its size, and the copula maps each field's latent through the distribution of the
  latent *among the filings that report it*, so the reported values keep the real marginals whatever the
  selection. Reporting cash is independent of reporting current assets (as measured) and more likely for larger
  businesses. When a filing reports both, cash is a share of current assets drawn from the measured
  cash/current-assets ratios (median 0.55, 12% all cash; lower for larger businesses, higher with reserves), so
  cash never exceeds current assets; when debtors are reported too, they are the rest of the current assets less
  a little stock (in real filings cash plus debtors equals current assets for the median filing). Filings with
  cash but no current assets take cash from the measured pooled quantiles. Micro-entity accounts leave the profit
  and loss account empty (small companies need not file one, s.444); small, abridged, full and group accounts
  report turnover, and full and group accounts also cost of sales, gross profit and operating profit. Turnover
  is the sector's turnover per head (cash-intensive sectors at their usual levels) times the headcount (at least
  one), with the wide spread measured on real filers. Creditors after one year (loans) are an assumption: the
  real iXBRL sample does not tag them.
- *Noise.* About 1.5% of legitimate businesses each show a growth spurt, a cash and turnover surge, a collapse
  (net assets and cash fall), a start-up ramp, a streak of late filings or a dormancy flip, at a random date.

Crime signal in accounts (weak and noisy; only businesses used for laundering, a third as strong when stealthy)
-----------------------------------------------------------------------------------------------------------------
FATF and the NCA describe laundering through cash-intensive fronts: takings are inflated with criminal cash, so
turnover and cash grow out of line with staff and with sector peers, gross margins look too good (the extra
"sales" come with few purchases) and the front's filings become erratic. After ``infiltrated_on`` a laundering business
gets +0.5 to 1.5 standard deviations on its cash and turnover latents (a little on current assets, so cash is a
larger share of them), a sudden growth step after a takeover (half of them), more late filings, dormancy flips
(dormant one year, trading the next) and, when it is struck off, a higher chance of having stopped filing first.
About as many legitimate businesses show each trait by chance (see *Noise*).

Licences (one row per application; Scottish licensing board and local authority registers)
------------------------------------------------------------------------------------------
- *Who needs which licence.* Premises licences for the sale of alcohol (Licensing (Scotland) Act 2005) for pubs,
  hotels, licensed restaurants, off-sales shops and some leisure and gambling venues, issued by the council's
  licensing board; licences under the Civic Government (Scotland) Act 1982 from the council: late hours catering
  (takeaways, restaurants), taxi and private hire car operators, second-hand dealers (car sales, garages,
  second-hand shops), metal dealers (scrap: SIC 38320), public entertainment (leisure venues) and street traders;
  HMO licences (Housing (Scotland) Act 2006) for letting businesses; gambling premises licences (Gambling Act
  2005, also from the licensing board in Scotland); waste carrier registration (SEPA) and the SIA approved
  contractor scheme for security firms. A few other businesses hold some licence.
- *Life of a licence.* Applications come some months after the business starts (or after a takeover); decisions
  take one to four months, longer when there are objections, a police representation or a continued hearing;
  undecided applications are pending at the extract. Civic Government, HMO, waste and security licences run for
  one to three years (1982 Act Sch.1: at most three) and are renewed by a new application before expiry;
  premises licences for alcohol and gambling do not expire. Licences are refused (objections, police
  representations), revoked or suspended, surrendered when the business ceases or sells the premises (an
  application still undecided then is withdrawn, recorded as surrendered), and expire when not renewed. Statuses
  are snapshots at the extract, dated by ``status_date`` for revocations, suspensions, surrenders and expiries.
  The mix (about 75% granted, 8% expired, 6% surrendered, 5% pending, 4% refused, 1-2% revoked or suspended) is
  close to the real Gambling Commission premises register (80% granted); that register, a snapshot of current
  licences, has more pending (12%) than a history of applications can.
- *Transfers.* Some premises pass to a new holder: a new application for the same premises postcode by another
  business of the same sector and area, while the old holder surrenders.
- *Objections.* Mostly none (Poisson, mean about 0.3: neighbours, noise, community councils); the chief
  constable objects to about 2% of applications.

Crime signal in licences (weak; licence fronts only, much weaker when stealthy)
-------------------------------------------------------------------------------
The Scottish Serious Organised Crime strategy and Police Scotland's licensing work use licensing as a disruption
tool: the chief constable is notified of every application and may object or report on the applicant and
connected persons (Licensing (Scotland) Act 2005 s.21-23, with the "fit and proper person" ground added by the Air
Weapons and Licensing (Scotland) Act 2015 s.43; Civic Government (Scotland) Act 1982 Sch.1 paras 2-3 and
5(3)(a)(ii)). Fronts used for licences get more
police objections (about 12%), more objections, more refusals, revocations and suspensions, apply for licences
soon after incorporation or takeover, and pass premises between businesses of the same crime group (the same
premises postcode appears under a new company when the old one is wound up). Legitimate businesses also get
objections and the occasional refusal.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

from riskmodel.synth.rand import QuantileSampler, chunk_rng, normal_from_uniform, quantile_sampler
from riskmodel.synth.reference import AREAS
from riskmodel.synth.world import Groups, SynthConfig, WorldChunk, postcodes

__all__ = ["accounts_table", "licences_table"]

Days = npt.NDArray[Any]  # datetime64[D] arrays (numpy's stubs type datetime arithmetic loosely)
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]

_NAT = np.datetime64("NaT", "D")
_FAR = np.datetime64("2200-01-01", "D")

# ----------------------------------------------------------------------------------------------------------------
# Accounts: reference figures
# ----------------------------------------------------------------------------------------------------------------

#: Legal forms that file no accounts with the registrar.
_NO_ACCOUNTS = ("unincorporated", "scottish-partnership", "limited-partnership")
#: Measured share of balance-sheet months (real iXBRL filings), January..December.
_MONTH_SHARES = np.array([0.055, 0.046, 0.178, 0.059, 0.044, 0.052, 0.053, 0.028, 0.026, 0.058, 0.239, 0.162])
#: Measured share of balance-sheet dates on a month end.
_MONTH_END_SHARE = 0.97
#: Target share of dormant filings (Companies House: about one accounts filing in eight is dormant).
_DORMANT_SHARE = 0.12
#: Share of dormant filings reporting nil net assets (the rest leave the balance sheet empty).
_DORMANT_NET_ASSETS_FILL = 0.2

#: Measured quantiles of reported values (real iXBRL filings, all filings pooled; the top is capped).
_CASH = quantile_sampler([0, 0.003, 0.0031, 0.016, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1],
                         [-60_000, -1, 0, 0, 1, 2, 201, 7_786, 54_244, 243_096, 519_585, 1_819_445, 3e7])
#: Net assets: 15% negative, 3.6% nil (pooled); the nil mass is shared with dormant filings (see below).
_NET_ASSETS_PROBS = [0, 0.01, 0.05, 0.10, 0.149, 0.15, 0.186, 0.19, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1]
_NET_ASSETS_VALUES = [-5e6, -211_918, -23_309, -4_262, -1, 0, 0, 1, 1, 1_289, 28_334, 195_663, 574_930, 2_736_754,
                      5e7]
_CURRENT_ASSETS = quantile_sampler([0, 0.014, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1],
                                   [0, 0, 10, 172, 3_582, 21_099, 92_127, 361_249, 831_222, 3_299_571, 5e7])
_TANGIBLE = quantile_sampler([0, 0.042, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1],
                             [0, 0, 1, 225, 1_272, 8_846, 76_928, 452_145, 986_103, 4_037_325, 1e8])
_DEBTORS = quantile_sampler([0, 0.02, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1],
                            [0, 0, 3, 138, 2_261, 17_530, 110_041, 453_106, 987_124, 3_525_564, 3e7])
_CREDITORS = quantile_sampler([0, 0.135, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1],
                              [0, 0, 1_459, 14_599, 69_035, 275_115, 586_235, 2_371_963, 2e7])
#: Cash as a share of current assets when both are reported (measured: q02 0.0005, q05 0.006, q10 0.031,
#: q25 0.178, q50 0.554, q75 0.909; 12% hold nothing but cash; the share falls with size, rank correlation -0.3).
#: The low tail is a little heavier than measured: the real pooled cash quantiles owe their low end to dormant
#: companies' nominal cash (GBP 1-100 of share capital), which dormant filings here do not report.
_CASH_SHARE = quantile_sampler([0, 0.004, 0.02, 0.05, 0.10, 0.15, 0.25, 0.50, 0.75, 0.80, 0.85, 0.88, 1],
                               [0, 0, 0.0003, 0.004, 0.02, 0.055, 0.155, 0.554, 0.9089, 0.9564, 0.9904, 1, 1])
#: Loadings of the cash-share latent on the current-assets and net-assets latents (net rank correlation with current
#: assets about -0.2; businesses with reserves keep them as cash, which gives cash~net assets 0.69 as measured).
_SHARE_ON_CA, _SHARE_ON_NA = -0.4, 0.4
#: Creditors after one year (loans): an assumption, the real sample does not tag them.
_LOANS = quantile_sampler([0, 0.10, 0.25, 0.50, 0.75, 0.90, 0.99, 1],
                          [100, 2_000, 9_000, 30_000, 100_000, 350_000, 3e6, 2e7])

#: Measured employee counts (real iXBRL filings): point masses 0..10 (a few fractional averages below 1), above 10
#: the tail. The published pmf leaves 8.4% above 10, but 3.7% of real values are fractional (mostly 0.01-0.14), so
#: 5.4% is put above 10 and the fractional mass between 0 and 1; the pooled q90 is then 5, as measured.
_EMP_ZERO = 0.277
_EMP_POINTS = np.array([0.030, 0.311, 0.178, 0.055, 0.034, 0.0185, 0.013, 0.0098, 0.0073, 0.0062, 0.006])
_EMP_TAIL = quantile_sampler([0, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1],
                             [11, 12, 14, 20, 33, 58, 94, 311, 3000])
_EMP_FILL = 0.80

#: Fields drawn from the copula, with their fill rate among non-dormant filings and the slope of the (probit) fill
#: probability on the latent size.
_FIELDS = ("employees", "current_assets", "cash", "net_assets", "tangible_fixed_assets", "debtors",
           "creditors_within_one_year", "creditors_after_one_year", "per_head")
_FILL = {"employees": (_EMP_FILL, 0.0), "current_assets": (0.70, 0.3), "cash": (0.40, 0.4),
         "net_assets": (0.85, 0.0), "tangible_fixed_assets": (0.48, 0.3), "creditors_within_one_year": (0.10, 0.2),
         "creditors_after_one_year": (0.08, 0.5)}
#: Debtors are itemised with cash (real filings: 62% of filings reporting cash report debtors, 1-3% of the others);
#: a business whose current assets are all cash has no debtors to report.
_DEBTORS_WITH_CASH, _DEBTORS_WITHOUT_CASH = 0.62, 0.01


def _without_dormant(probs: list[float], values: list[float], nil: float) -> QuantileSampler:
    """Build the sampler of non-dormant filings.

    Pooled with a share ``nil`` of dormant zeros, its values have the quantiles ``values`` at ``probs`` (the dormant
    zeros take their place inside the zero mass).
    """
    p = np.asarray(probs, dtype=float)
    v = np.asarray(values, dtype=float)
    zero_hi = p[v <= 0].max()
    adjusted = np.where(p < zero_hi, p, p - nil) / (1 - nil)
    return QuantileSampler(np.clip(adjusted, 0, 1), v)


#: Share of reported net assets that come from dormant filings' nil balance sheets.
_DORMANT_NIL = _DORMANT_SHARE * _DORMANT_NET_ASSETS_FILL / (_DORMANT_SHARE * _DORMANT_NET_ASSETS_FILL
                                                              + (1 - _DORMANT_SHARE) * _FILL["net_assets"][0])
_NET_ASSETS = _without_dormant(_NET_ASSETS_PROBS, _NET_ASSETS_VALUES, _DORMANT_NIL)
_SAMPLERS: dict[str, QuantileSampler] = {
    "current_assets": _CURRENT_ASSETS, "cash": _CASH, "net_assets": _NET_ASSETS, "tangible_fixed_assets": _TANGIBLE,
    "debtors": _DEBTORS, "creditors_within_one_year": _CREDITORS, "creditors_after_one_year": _LOANS}

#: Correlations of the latent size S and the field latents (Pearson, set so that the rank correlations of the
#: reported values match the measured ones: employees~current assets 0.41, net assets~current assets 0.64,
#: cash~current assets 0.79, debtors~current assets 0.82, creditors~current assets 0.76, cash~net assets 0.69,
#: tangible~net assets 0.39). ``per_head`` is turnover per head relative to the sector.
_CORR = np.array([
    # S     E     CA    C     N     T     D     W     L     P
    [1.00, 0.75, 0.60, 0.50, 0.45, 0.40, 0.55, 0.55, 0.40, 0.15],  # S
    [0.75, 1.00, 0.45, 0.42, 0.27, 0.25, 0.40, 0.40, 0.30, 0.00],  # employees
    [0.60, 0.45, 1.00, 0.82, 0.67, 0.36, 0.84, 0.78, 0.30, 0.30],  # current_assets
    [0.50, 0.42, 0.82, 1.00, 0.70, 0.20, 0.50, 0.55, 0.20, 0.35],  # cash
    [0.45, 0.27, 0.67, 0.70, 1.00, 0.40, 0.50, 0.40, 0.00, 0.25],  # net_assets
    [0.40, 0.25, 0.36, 0.20, 0.40, 1.00, 0.30, 0.35, 0.50, 0.20],  # tangible_fixed_assets
    [0.55, 0.40, 0.84, 0.50, 0.50, 0.30, 1.00, 0.70, 0.30, 0.30],  # debtors
    [0.55, 0.40, 0.78, 0.55, 0.40, 0.35, 0.70, 1.00, 0.35, 0.20],  # creditors_within_one_year
    [0.40, 0.30, 0.30, 0.20, 0.00, 0.50, 0.30, 0.35, 1.00, 0.10],  # creditors_after_one_year
    [0.15, 0.00, 0.30, 0.35, 0.25, 0.20, 0.30, 0.20, 0.10, 1.00],  # per_head
])
#: Share of a field residual's variance fixed per business (the rest varies year to year).
_PERSISTENCE = 0.75

#: Median turnover per head (employees, at least one) by sector, GBP: relative levels from ONS Annual Business
#: Survey turnover per employment, scaled to the measured turnover per head of small UK filers (median 26,895).
_PER_HEAD = {"pub": 26_000, "restaurant": 22_000, "hotel": 26_000, "beauty": 15_000, "garage": 35_000,
             "car-sales": 70_000, "taxi": 18_000, "waste": 42_000, "construction": 38_000, "security": 18_000,
             "property": 30_000, "shop": 42_000, "gambling": 30_000, "leisure": 22_000, "cleaning": 15_000,
             "car-hire": 38_000, "other": 28_000}
#: Spread (log scale) of turnover per head within a sector (measured turnover per head: q25/q50 0.27, q90/q50 6.7).
_PER_HEAD_SPREAD = 1.5
#: Cost of sales as a share of turnover by sector (ONS ABS purchases / turnover, rounded).
_COST_SHARE = {"pub": 0.45, "restaurant": 0.35, "hotel": 0.25, "beauty": 0.15, "garage": 0.55, "car-sales": 0.82,
               "taxi": 0.20, "waste": 0.55, "construction": 0.65, "security": 0.25, "property": 0.35, "shop": 0.72,
               "gambling": 0.30, "leisure": 0.30, "cleaning": 0.25, "car-hire": 0.45, "other": 0.45}

#: Accounts types among non-dormant filings (Companies House filing statistics, dormant removed).
_TYPE_SHARES = {"group": 0.011 / 0.88, "full": 0.023 / 0.88, "small": 0.09 / 0.88, "abridged": 0.04 / 0.88,
                "other": 0.003}

#: Growth of the latent size with log age (as ``size_z`` in :mod:`riskmodel.synth.world`): a business's earlier
#: filings show it smaller.
_AGE_GROWTH = 0.35
#: Chance that a legitimate business shows each noisy trait (growth spurt, cash surge, collapse, start-up ramp,
#: late streak, dormancy flip) at some random date.
_LEGIT_TRAIT = 0.015


# ----------------------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------------------

def _td(days: npt.ArrayLike) -> npt.NDArray[np.timedelta64]:
    """Whole days as numpy timedeltas."""
    return np.round(np.asarray(days, dtype=np.float64)).astype(np.int64).astype("timedelta64[D]")


def _year(d: Days) -> Ints:
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


def _period_end(year: Ints, month: Ints, day: Ints) -> Days:
    """Balance-sheet date in ``year``: the month end when ``day`` is 0, else that day of the month (1-28)."""
    m = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    last = (m + 1).astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.where(day == 0, last, m.astype("datetime64[D]") + _td(day - 1))


def _random_date(rng: np.random.Generator, lo: Days, hi: Days | np.datetime64) -> Days:
    """Draw a uniform day between ``lo`` and ``hi`` (``lo`` when the interval is empty)."""
    span = np.maximum((hi - lo).astype(np.int64), 0)
    return lo + _td(np.floor(rng.random(len(lo)) * (span + 1)))


def _dates(d: Days) -> pd.Series:
    return pd.Series(np.asarray(d, dtype="datetime64[D]").astype("datetime64[ns]"))


def _floats(values: Floats, present: Bools) -> pd.Series:
    return pd.Series(np.where(present, values, np.nan), dtype="float64")


def _strings(values: npt.NDArray[np.str_], present: Bools | None = None) -> pd.Series:
    out = np.asarray(values).astype(object)
    if present is not None:
        out[~present] = None
    return pd.Series(out, dtype=object)


def _cholesky_residuals() -> tuple[Floats, Floats]:
    """Return the loadings of the fields on S and a Cholesky factor of their residual correlation."""
    rho = np.asarray(_CORR[0, 1:], dtype=np.float64)
    resid = _CORR[1:, 1:] - np.outer(rho, rho)
    return rho, np.asarray(np.linalg.cholesky(resid), dtype=np.float64)  # fails loudly if _CORR is not definite


_RHO, _RESID_CHOL = _cholesky_residuals()
_ZGRID = np.linspace(-9.0, 9.0, 721)
_SGRID = np.linspace(-8.0, 8.0, 401)


@lru_cache(maxsize=64)
def _selected_cdf(rho: float, a: float, b: float) -> Floats:
    """CDF on ``_ZGRID`` of ``z = rho*S + sqrt(1-rho^2)*e`` among filings reporting the field.

    A filing reports the field with probability ``ndtr(a + b*S)``; S and e are standard normal. Mapping a latent
    through this CDF and then through the field's quantiles gives the reported values the measured marginals.
    """
    w = np.exp(-0.5 * _SGRID**2) * ndtr(a + b * _SGRID)
    w = w / w.sum()
    sig = np.sqrt(max(1.0 - rho**2, 1e-6))
    cdf = ndtr((_ZGRID[:, None] - rho * _SGRID[None, :]) / sig) @ w
    return np.asarray(np.clip(cdf, 1e-12, 1 - 1e-12), dtype=np.float64)


def _fill_intercept(rate: float, slope: float) -> float:
    """Probit intercept giving ``rate`` on average over a standard-normal size."""
    return float(normal_from_uniform(np.array([rate]))[0] * np.sqrt(1 + slope**2))


def _to_uniform(z: Floats, field: str, rate: float, slope: float) -> Floats:
    rho = float(_RHO[_FIELDS.index(field)])
    cdf = _selected_cdf(rho, _fill_intercept(rate, slope), slope)
    # Linear interpolation on the uniform grid (faster than np.interp's search).
    pos = np.clip((z - _ZGRID[0]) / (_ZGRID[1] - _ZGRID[0]), 0, len(_ZGRID) - 1 - 1e-9)
    i = pos.astype(np.int64)
    frac = pos - i
    return cdf[i] * (1 - frac) + cdf[i + 1] * frac


def _employee_pmf() -> Floats:
    """Point masses (0, fractional, 1..10) for non-dormant filings, so that pooled with dormant zeros they match."""
    nd_rows = (1 - _DORMANT_SHARE) * _EMP_FILL
    zero = (_EMP_ZERO * (nd_rows + _DORMANT_SHARE) - _DORMANT_SHARE) / nd_rows
    rest = _EMP_POINTS * (1 - zero) / (1 - _EMP_ZERO)
    return np.concatenate([[zero], rest])


_EMP_CUM = np.cumsum(_employee_pmf())


def _employees(u: Floats) -> Floats:
    """Employee counts at probabilities ``u``."""
    band = np.searchsorted(_EMP_CUM, u, side="right")
    lo = np.concatenate([[0.0], _EMP_CUM])[np.minimum(band, len(_EMP_CUM))]
    width = np.diff(np.concatenate([[0.0], _EMP_CUM]))[np.minimum(band, len(_EMP_CUM) - 1)]
    frac_pos = np.clip((u - lo) / np.maximum(width, 1e-12), 0, 1)
    fractional = np.round(np.exp(np.log(0.01) + frac_pos * (np.log(0.9) - np.log(0.01))), 2)
    tail_u = np.clip((u - _EMP_CUM[-1]) / (1 - _EMP_CUM[-1]), 0, 1)
    tail = np.round(_EMP_TAIL.from_uniform(tail_u))
    ints = np.maximum(band - 1, 0).astype(np.float64)  # bands 2..11 are 1..10 employees
    return np.select([band == 0, band == 1, band <= 11], [np.zeros_like(u), fractional, ints], tail)


# ----------------------------------------------------------------------------------------------------------------
# Accounts
# ----------------------------------------------------------------------------------------------------------------

def accounts_table(cfg: SynthConfig, groups: Groups, w: WorldChunk) -> pd.DataFrame:
    """Return the ``accounts`` rows (one per filing) of a chunk's businesses.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (seed, start and extract dates).
    groups : Groups
        Crime groups of the world (the signal is carried by the chunk's per-business truth).
    w : WorldChunk
        Businesses of the chunk with their latent truth.

    Returns
    -------
    DataFrame
        Contract ``accounts`` table, typed as the loader types it (dates ``datetime64[ns]``, money and employees
        ``float64`` with NaN where not reported), contract columns in order.

    Notes
    -----
    Only ``chunk_rng(cfg.seed, w.chunk, "accounts")`` is drawn from, so a chunk's filings are a pure function of
    the seed and the chunk. The mechanisms and their sources are in the module docstring.
    """
    del groups  # the per-business truth in ``w`` carries everything needed
    rng = chunk_rng(cfg.seed, w.chunk, "accounts")
    n = len(w)
    start, extract = cfg.start, cfg.extract
    created = w.created.astype("datetime64[D]")
    has_ceased = ~np.isnat(w.ceased)
    ceased = np.where(has_ceased, w.ceased, _FAR).astype("datetime64[D]")
    strength = np.where(w.stealth, 0.3, 1.0)
    inf_on = np.where(w.launder, w.infiltrated_on, _FAR).astype("datetime64[D]")

    # ---- business level ------------------------------------------------------------------------------------
    files = ~np.isin(w.company_type, _NO_ACCOUNTS) & (rng.random(n) >= 0.01)
    month = rng.choice(12, n, p=_MONTH_SHARES / _MONTH_SHARES.sum()).astype(np.int64) + 1
    day = np.where(rng.random(n) < _MONTH_END_SHARE, 0, rng.integers(1, 29, n)).astype(np.int64)
    first_accounts = np.asarray(created + np.timedelta64(183, "D") > start)  # first period from incorporation
    lower = np.maximum(created + np.timedelta64(183, "D"), start + np.timedelta64(1, "D"))
    upper = np.minimum(ceased, extract - np.timedelta64(1, "D"))
    y0 = _year(lower)
    y0 = np.where(_period_end(y0, month, day) < lower, y0 + 1, y0)
    y1 = _year(upper)
    y1 = np.where(_period_end(y1, month, day) > upper, y1 - 1, y1)
    count = np.where(files, np.clip(y1 - y0 + 1, 0, None), 0)

    def trait(p: float) -> tuple[Bools, Days]:
        flag = rng.random(n) < p
        return flag, _random_date(rng, created, extract)

    surge, surge_on = trait(_LEGIT_TRAIT)
    spurt, spurt_on = trait(_LEGIT_TRAIT)
    collapse, collapse_on = trait(_LEGIT_TRAIT)
    late_streak, late_on = trait(_LEGIT_TRAIT)
    flip, flip_on = trait(_LEGIT_TRAIT)
    ramp = rng.random(n) < _LEGIT_TRAIT
    surge_size = rng.uniform(0.5, 1.5, n)
    spurt_size = rng.uniform(0.5, 1.0, n)
    collapse_size = rng.uniform(0.8, 2.0, n)
    # Crime: laundering through the business after infiltration.
    crime_shift = rng.uniform(0.5, 1.5, n) * strength
    takeover_growth = w.launder & ~w.set_up_by_group & (rng.random(n) < 0.5 * strength)
    crime_flip = w.launder & (rng.random(n) < 0.3 * strength)
    crime_stop = w.launder & (rng.random(n) < 0.7 * strength)

    shell = rng.random(n) < 0.082  # dormant shells and holding companies, dormant throughout
    dormant_from = np.where(w.status == "dormant", created + _td((extract - created).astype(np.int64)
                                                                  * rng.uniform(0.0, 0.8, n)), _FAR)
    chronic = rng.random(n) < 0.10
    drift = rng.normal(0.0, 0.05, n)
    stop = has_ceased & (rng.random(n) < np.where(crime_stop, 1.0, 0.3))
    stop |= np.isin(w.status, ["liquidation", "administration"]) & (rng.random(n) < 0.6)
    stop_after = np.where(has_ceased, ceased, extract) - _td(rng.uniform(1.0, 2.0, n) * 365)
    small_pref = rng.standard_normal(n)
    big_pref = rng.standard_normal(n)
    abridged_pref = rng.random(n) < 0.3
    cost_share = np.array([_COST_SHARE[s] for s in w.sector])
    per_head = np.array([_PER_HEAD[s] for s in w.sector], dtype=np.float64)

    # ---- one row per accounting period ---------------------------------------------------------------------
    rep = np.repeat(np.arange(n), count)
    m = len(rep)
    k = np.arange(m) - np.repeat(np.cumsum(count) - count, count)
    year = y0[rep] + k
    pe = _period_end(year, month[rep], day[rep])
    ps = np.maximum(_period_end(year - 1, month[rep], day[rep]) + np.timedelta64(1, "D"), created[rep])
    ps = np.where((k == 0) & first_accounts[rep], created[rep], ps)
    post = pe > inf_on[rep]

    # Dormancy: shells and businesses marked dormant stay dormant (a front trades after infiltration); flipping
    # businesses trade except for one dormant period (fronts: the year before a takeover, or the first year of a
    # shell the group later activates).
    dormant = (shell[rep] | (pe > dormant_from[rep])) & ~post
    ref = np.where(w.set_up_by_group, inf_on + np.timedelta64(365, "D"), inf_on)[rep]
    flip_period = flip[rep] & (pe > flip_on[rep]) & (pe <= flip_on[rep] + np.timedelta64(365, "D"))
    flip_period |= crime_flip[rep] & (pe > ref - np.timedelta64(365, "D")) & (pe <= ref)
    dormant = np.where(flip[rep] | crime_flip[rep], flip_period, dormant)

    # Filing date: mostly in the three months before the nine-month deadline; some late.
    p_late = (0.06 + 0.2 * chronic[rep] + 0.45 * (late_streak[rep] & (pe > late_on[rep]))
              + 0.25 * strength[rep] * post)
    late = rng.random(m) < p_late
    on_time = 270 * (1 - rng.beta(np.where(dormant, 1.5, 1.1), np.where(dormant, 1.5, 4.0)))
    late_lag = np.minimum(285 + rng.exponential(90, m), 730)
    lag = np.where(late, late_lag, np.maximum(on_time, 5))
    filed = pe + _td(lag)
    keep = (filed <= extract) & (filed <= ceased[rep]) & (rng.random(m) >= 0.02)
    keep &= ~(stop[rep] & (pe > stop_after[rep]))

    rep, k, pe, ps, filed, post, dormant = rep[keep], k[keep], pe[keep], ps[keep], filed[keep], post[keep], \
        dormant[keep]
    m = len(rep)

    # ---- latent size and field latents ---------------------------------------------------------------------
    # ``size_z`` is the size at the extract; earlier filings show the business younger and (as in the world's
    # size-age relation) smaller. The latent is standardised over the chunk's filings so that the copula's
    # marginals hold whatever the world's age mix (shrunk towards N(0, 1) when a chunk has few filings).
    mid = (count[rep] - 1) / 2
    years_in = (pe - created[rep]).astype(np.int64) / 365.25
    years_now = (extract - created[rep]).astype(np.int64) / 365.25
    size = (w.size_z[rep] + _AGE_GROWTH * (np.log(np.maximum(years_in, 0.1)) - np.log(np.maximum(years_now, 0.1)))
            + drift[rep] * (k - mid) + 0.15 * rng.standard_normal(m))
    weight = m / (m + 500.0)
    centre = weight * float(size.mean()) if m else 0.0
    scale = weight * float(size.std()) + (1 - weight) if m else 1.0
    size = (size - centre) / max(scale, 1e-6)
    size += np.where(ramp[rep], 0.35 * np.minimum(years_in, 4.0) - 0.7, 0.0)
    size += np.where(spurt[rep] & (pe > spurt_on[rep]), spurt_size[rep], 0.0)
    size += np.where(takeover_growth[rep] & post, spurt_size[rep], 0.0)
    collapsed = collapse[rep] & (pe > collapse_on[rep])
    size -= np.where(collapsed, collapse_size[rep], 0.0)

    nf = len(_FIELDS)
    resid_b = rng.standard_normal((n, nf)) @ _RESID_CHOL.T
    resid_t = rng.standard_normal((m, nf)) @ _RESID_CHOL.T
    z = _RHO[None, :] * size[:, None] + np.sqrt(_PERSISTENCE) * resid_b[rep] + np.sqrt(1 - _PERSISTENCE) * resid_t
    col = {f: i for i, f in enumerate(_FIELDS)}
    shift = np.where(surge[rep] & (pe > surge_on[rep]), surge_size[rep], 0.0) + np.where(post, crime_shift[rep],
                                                                                          0.0)
    z[:, col["cash"]] += shift
    z[:, col["per_head"]] += shift
    z[:, col["current_assets"]] += 0.4 * shift
    z[:, col["net_assets"]] -= np.where(collapsed, 1.5 * collapse_size[rep], 0.0)
    z[:, col["cash"]] -= np.where(collapsed, collapse_size[rep], 0.0)

    # ---- which fields are reported -------------------------------------------------------------------------
    itemise = rng.standard_normal(n)
    fills: dict[str, Bools] = {}
    for f, (rate, slope) in _FILL.items():
        # A detailed balance sheet reports most fields together; cash is tagged independently of them (real
        # filings: phi 0.03 between reporting cash and reporting current assets).
        common = 0.0 if f == "cash" else 0.6
        u = (common * itemise[rep] + 0.5 * rng.standard_normal(n)[rep]
             + np.sqrt(1 - common**2 - 0.25) * rng.standard_normal(m))
        fills[f] = ~dormant & (u < _fill_intercept(rate, slope) + slope * size)
    # Cash share of current assets: falls with size; fronts and cash surges hold more cash, collapses less.
    z_ca, z_na = z[:, col["current_assets"]], z[:, col["net_assets"]]
    ca_na = _CORR[1 + col["current_assets"], 1 + col["net_assets"]]
    own = np.sqrt(1 - _SHARE_ON_CA**2 - _SHARE_ON_NA**2 - 2 * _SHARE_ON_CA * _SHARE_ON_NA * ca_na)
    z_share = (_SHARE_ON_CA * z_ca + _SHARE_ON_NA * z_na
               + own * (np.sqrt(0.6) * rng.standard_normal(n)[rep] + np.sqrt(0.4) * rng.standard_normal(m)))
    z_share += 0.6 * shift - np.where(collapsed, collapse_size[rep], 0.0)
    share = np.minimum(_CASH_SHARE.from_normal(z_share), 1.0)
    p_debtors = np.minimum(0.95, _DEBTORS_WITH_CASH / 0.6 * np.sqrt(1 - share))
    fills["debtors"] = ~dormant & (rng.random(m) < np.where(fills["cash"], p_debtors, _DEBTORS_WITHOUT_CASH))

    values: dict[str, Floats] = {}
    for f, sampler in _SAMPLERS.items():
        rate, slope = _FILL.get(f, _FILL["cash"])
        values[f] = np.round(sampler.from_uniform(_to_uniform(z[:, col[f]], f, rate, slope)))
    employees = _employees(_to_uniform(z[:, col["employees"]], "employees", *_FILL["employees"]))

    # Balance-sheet consistency: cash is a share of current assets; debtors are most of the rest.
    ca = values["current_assets"]
    both = fills["cash"] & fills["current_assets"]
    cash = np.where(both, np.round(np.maximum(ca, 0) * share), values["cash"])
    stock = np.where(rng.random(m) < 0.6, 0.0, rng.beta(1.0, 4.0, m))
    all3 = both & fills["debtors"]
    values["debtors"] = np.where(all3, np.round(np.maximum(ca - cash, 0) * (1 - stock)), values["debtors"])
    values["cash"] = cash

    # ---- accounts type -------------------------------------------------------------------------------------
    big = 0.9 * size + np.sqrt(1 - 0.81) * big_pref[rep]
    smallish = 0.2 * size + np.sqrt(1 - 0.2**2) * (0.8 * small_pref[rep] + 0.6 * rng.standard_normal(m))
    t_group = float(normal_from_uniform(np.array([1 - _TYPE_SHARES["group"]]))[0])
    t_full = float(normal_from_uniform(np.array([1 - _TYPE_SHARES["group"] - _TYPE_SHARES["full"]]))[0])
    share_sa = (_TYPE_SHARES["small"] + _TYPE_SHARES["abridged"]) / (1 - _TYPE_SHARES["group"] - _TYPE_SHARES["full"])
    t_small = float(normal_from_uniform(np.array([1 - share_sa]))[0])
    kind = np.select(
        [dormant, big > t_group, big > t_full, smallish > t_small, rng.random(m) < _TYPE_SHARES["other"]],
        ["dormant", "group", "full", np.where(abridged_pref[rep], "abridged", "small"), "other"], "micro-entity")

    # ---- profit and loss (small, abridged, full and group accounts) ----------------------------------------
    reports_pl = np.isin(kind, ["small", "abridged", "full", "group"]) & (rng.random(m) < 0.92)
    full_pl = np.isin(kind, ["full", "group"]) & reports_pl & (rng.random(m) < 0.95)
    heads = np.maximum(employees, 1)
    z_ph = z[:, col["per_head"]]
    legit_turnover = per_head[rep] * heads * np.exp(_PER_HEAD_SPREAD * (z_ph - shift))
    turnover = np.round(per_head[rep] * heads * np.exp(_PER_HEAD_SPREAD * z_ph))
    # Fronts buy some stock to make the extra takings look plausible, but not in proportion.
    cost = np.round((legit_turnover + 0.4 * (turnover - legit_turnover))
                    * np.clip(cost_share[rep] * np.exp(rng.normal(0, 0.15, m)), 0, 0.98))
    gross = turnover - cost
    margin = rng.normal(0.08, 0.11, m)
    operating = np.round(np.minimum(legit_turnover * margin + (turnover - legit_turnover) * 0.9, gross))

    # ---- dormant filings: no employees, nil or empty balance sheet ----------------------------------------
    employees = np.where(dormant, 0.0, employees)
    emp_fill = dormant | fills["employees"]
    na_fill = fills["net_assets"] | (dormant & (rng.random(m) < _DORMANT_NET_ASSETS_FILL))
    values["net_assets"] = np.where(dormant, 0.0, values["net_assets"])

    frame = pd.DataFrame({
        "company_number": _strings(w.company_number[rep]),
        "period_start": _dates(ps),
        "period_end": _dates(pe),
        "filed_on": _dates(filed),
        "accounts_type": _strings(kind),
        "employees": _floats(employees, emp_fill),
        "turnover": _floats(turnover, reports_pl),
        "cost_of_sales": _floats(cost, full_pl),
        "gross_profit": _floats(gross, full_pl),
        "operating_profit": _floats(operating, full_pl),
        "cash": _floats(values["cash"], fills["cash"]),
        "debtors": _floats(values["debtors"], fills["debtors"]),
        "current_assets": _floats(values["current_assets"], fills["current_assets"]),
        "tangible_fixed_assets": _floats(values["tangible_fixed_assets"], fills["tangible_fixed_assets"]),
        "creditors_within_one_year": _floats(values["creditors_within_one_year"],
                                             fills["creditors_within_one_year"]),
        "creditors_after_one_year": _floats(values["creditors_after_one_year"], fills["creditors_after_one_year"]),
        "net_assets": _floats(values["net_assets"], na_fill),
    })
    return frame


# ----------------------------------------------------------------------------------------------------------------
# Licences
# ----------------------------------------------------------------------------------------------------------------

_TYPES = ("premises-alcohol", "late-hours-catering", "taxi-operator", "private-hire-operator", "second-hand-dealer",
          "metal-dealer", "public-entertainment", "street-trader", "hmo", "gambling-premises", "waste-carrier",
          "security-contractor", "other")
_T = {t: i for i, t in enumerate(_TYPES)}
_PREFIX = np.array(["PL", "LHC", "TXO", "PHO", "SHD", "MDL", "PEL", "STL", "HMO", "GPL", "WCR", "ACS", "LIC"])
#: Share of licences granted for three years rather than one (0 for premises-alcohol and gambling-premises, which do
#: not expire under the Licensing (Scotland) Act 2005 and the Gambling Act 2005); civic licences run up to three
#: years (Civic Government (Scotland) Act 1982 Sch.1), HMO licences up to three (Housing (Scotland) Act 2006), SEPA
#: waste carrier registrations three.
_TERM_3Y_SHARE = np.array([0, 0.6, 0.7, 0.7, 1.0, 0.7, 0.5, 0.6, 1.0, 0, 1.0, 0.5, 0.5])
_NO_EXPIRY = np.array([t in ("premises-alcohol", "gambling-premises") for t in _TYPES])
#: The licence attaches to premises (transferable, premises postcode always given).
_PREMISES = np.array([t in ("premises-alcohol", "late-hours-catering", "public-entertainment", "gambling-premises",
                            "second-hand-dealer", "metal-dealer", "hmo", "other") for t in _TYPES])
_TRANSFERABLE = np.array([t in ("premises-alcohol", "late-hours-catering", "public-entertainment",
                                "gambling-premises") for t in _TYPES])
#: Relative objection rates (alcohol and late-night premises draw most neighbours' representations).
_OBJECTION_RATE = np.array([1.6, 1.4, 0.5, 0.5, 0.4, 0.8, 1.2, 0.6, 1.2, 1.6, 0.4, 0.3, 0.6])
_BOARD_TYPES = np.array([t in ("premises-alcohol", "gambling-premises") for t in _TYPES])


def _board(council: str) -> str:
    """Licensing board of a council (the board issues premises and gambling licences)."""
    special = {"Glasgow City Council": "Glasgow Licensing Board",
               "Comhairle nan Eilean Siar": "Western Isles Licensing Board"}
    return special.get(council, council.removesuffix(" Council") + " Licensing Board")


_COUNCILS = np.array([a.council for a in AREAS])
_BOARDS = np.array([_board(a.council) for a in AREAS])
_REGULATOR = {"waste-carrier": "Scottish Environment Protection Agency",
              "security-contractor": "Security Industry Authority"}


def _licence_probabilities(w: WorldChunk, u: Floats) -> Floats:
    """Chance that each business holds each licence type (n x types); ``u`` splits taxi operators."""
    n = len(w)
    p = np.zeros((n, len(_TYPES)))
    s, sic = w.sector, w.sic

    def put(mask: Bools, kind: str, prob: float | Floats) -> None:
        p[:, _T[kind]] = np.where(mask, np.maximum(p[:, _T[kind]], prob), p[:, _T[kind]])

    put(s == "pub", "premises-alcohol", 0.95)
    put(s == "pub", "public-entertainment", 0.2)
    put(sic == "56101", "premises-alcohol", 0.6)
    put(sic == "56102", "premises-alcohol", 0.15)
    put(sic == "56210", "premises-alcohol", 0.3)
    put(np.isin(sic, ["56101", "56102"]), "late-hours-catering", 0.45)
    put(sic == "56103", "late-hours-catering", 0.75)
    put(sic == "56103", "premises-alcohol", 0.08)
    put(s == "hotel", "premises-alcohol", 0.85)
    put(s == "hotel", "public-entertainment", 0.15)
    put(s == "hotel", "late-hours-catering", 0.1)
    put(s == "taxi", "taxi-operator", np.where(u < 0.55, 0.9, 0.0))
    put(s == "taxi", "private-hire-operator", np.where(u >= 0.55, 0.9, 0.0))
    put(s == "waste", "waste-carrier", 0.9)
    put(sic == "38320", "metal-dealer", 0.85)
    put(s == "security", "security-contractor", 0.85)
    put(s == "gambling", "gambling-premises", 0.85)
    put(s == "gambling", "premises-alcohol", 0.2)
    put(s == "garage", "second-hand-dealer", 0.3)
    put(s == "garage", "metal-dealer", 0.12)
    put(s == "car-sales", "second-hand-dealer", 0.7)
    put(sic == "47110", "premises-alcohol", 0.6)
    put(np.isin(sic, ["47190", "47260"]), "premises-alcohol", 0.15)
    put(s == "shop", "second-hand-dealer", np.where(sic == "47789", 0.6, 0.1))
    put(sic == "68209", "hmo", 0.25)
    put(sic == "68320", "hmo", 0.15)
    put(sic == "68100", "hmo", 0.05)
    put(s == "leisure", "public-entertainment", 0.6)
    put(s == "leisure", "premises-alcohol", 0.25)
    put(s == "construction", "waste-carrier", 0.08)
    put(s == "beauty", "other", 0.1)
    put(s == "car-hire", "other", 0.1)
    uninc = w.company_type == "unincorporated"
    put(uninc, "street-trader", np.where(np.isin(s, ["restaurant", "shop"]), 0.3, 0.05))
    return p


def licences_table(cfg: SynthConfig, groups: Groups, w: WorldChunk) -> pd.DataFrame:
    """Return the ``licences`` rows (one per application) of a chunk's businesses.

    Parameters
    ----------
    cfg : SynthConfig
        World parameters (seed, start and extract dates).
    groups : Groups
        Crime groups of the world (transfers between a group's businesses use the chunk's ``w.group``).
    w : WorldChunk
        Businesses of the chunk with their latent truth.

    Returns
    -------
    DataFrame
        Contract ``licences`` table, typed as the loader types it (``objections`` ``Int64``, ``police_objection``
        ``boolean``, dates ``datetime64[ns]``), contract columns in order. ``licence_id`` is unique across the
        world: it is derived from the holder's global business index.

    Notes
    -----
    Only ``chunk_rng(cfg.seed, w.chunk, "licences")`` is drawn from. The mechanisms and their sources are in the
    module docstring.
    """
    del groups
    rng = chunk_rng(cfg.seed, w.chunk, "licences")
    n = len(w)
    extract = cfg.extract
    window = np.datetime64(cfg.start_date.replace(year=cfg.start_date.year - 3, day=1), "D")
    created = w.created.astype("datetime64[D]")
    ceased = np.where(np.isnat(w.ceased), _FAR, w.ceased).astype("datetime64[D]")
    front = w.licence & ~w.stealth
    crime = np.where(front, 1.0, np.where(w.licence, 0.3, 0.0))  # strength of the signal per business

    # ---- licence lines: one per (business, licence type), several HMOs for letting businesses --------------
    p = _licence_probabilities(w, rng.random(n))
    main = p.argmax(axis=1)
    fronts = w.licence & (p.max(axis=1) > 0)  # fronts hold their sector's main licence
    p[fronts, main[fronts]] = 0.98
    other = (p.max(axis=1) == 0) & (rng.random(n) < 0.03)
    extra = rng.choice(len(_TYPES), n, p=_other_type_shares(w))
    p[other, extra[other]] = 1.0
    hold = rng.random(p.shape) < p
    owner, ltype = np.nonzero(hold)
    hmo = ltype == _T["hmo"]
    copies = np.where(hmo, 1 + rng.poisson(0.6, len(owner)), 1)
    owner, ltype = np.repeat(owner, copies), np.repeat(ltype, copies)
    nl = len(owner)

    # Premises: near the business (same area); shared with the registered office when that is the business's own.
    own_pc = (w.address_kind[owner] == "own") & (rng.random(nl) < 0.7) & ~(ltype == _T["hmo"])
    premises = np.where(own_pc, w.postcode[owner], postcodes(rng, w.area[owner]))
    has_premises = _PREMISES[ltype] | (np.isin(ltype, [_T["taxi-operator"], _T["private-hire-operator"]])
                                       & (rng.random(nl) < 0.6))
    area = w.area[owner]

    # First application: some months after the business starts (fronts: within weeks), or later in its life.
    gap = rng.exponential(np.where(front[owner] & w.set_up_by_group[owner], 25.0, 150.0))
    first = created[owner] + _td(gap)
    later = rng.random(nl) < 0.3
    first = np.where(later, _random_date(rng, first, np.minimum(ceased[owner], extract)), first)
    takeover = w.licence[owner] & ~w.set_up_by_group[owner] & (rng.random(nl) < 0.6 * crime[owner])
    first = np.where(takeover, w.infiltrated_on[owner] + _td(rng.exponential(40.0, nl)), first)
    term_years = np.where(_NO_EXPIRY[ltype], 0, np.where(rng.random(nl) < _TERM_3Y_SHARE[ltype], 3, 1))
    old = first < window
    span = np.where(term_years > 0, term_years * 365, 4 * 365)
    first = np.where(old, window + _td(rng.random(nl) * span), first)
    end = ceased[owner]
    lapse = rng.random(nl) < 0.4  # the business gives up the activity
    lapse_on = _random_date(rng, first, extract)
    end_kind = np.where(lapse & (lapse_on < end), 1, np.where(end < _FAR, 2, 0))  # 0 none, 1 lapse, 2 cease
    end = np.where(lapse & (lapse_on < end), lapse_on, end)
    ok = (first <= extract) & (first < end)
    owner, ltype, premises, has_premises, area, first, term_years, end, end_kind = (
        owner[ok], ltype[ok], premises[ok], has_premises[ok], area[ok], first[ok], term_years[ok], end[ok],
        end_kind[ok])
    nl = len(owner)

    # ---- transfers: the premises pass to another business (of the same group for fronts) -------------------
    t_owner, t_end, t_new, t_when = _transfers(rng, w, owner, ltype, first, end, crime, extract)
    end[t_owner] = t_end
    end_kind[t_owner] = 3
    lines_owner = np.concatenate([owner, t_new])
    lines_type = np.concatenate([ltype, ltype[t_owner]])
    lines_premises = np.concatenate([premises, premises[t_owner]])
    lines_has_premises = np.concatenate([has_premises, np.ones(len(t_new), dtype=bool)])
    lines_area = np.concatenate([area, area[t_owner]])
    lines_first = np.concatenate([first, t_when])
    lines_term = np.concatenate([term_years, term_years[t_owner]])
    t_lapse = rng.random(len(t_new)) < 0.4
    t_lapse_on = _random_date(rng, t_when, np.full(len(t_new), extract))
    t_end_date = np.where(t_lapse & (t_lapse_on < ceased[t_new]), t_lapse_on, ceased[t_new])
    t_kind = np.where(t_lapse & (t_lapse_on < ceased[t_new]), 1, np.where(ceased[t_new] < _FAR, 2, 0))
    lines_end = np.concatenate([end, t_end_date])
    lines_kind = np.concatenate([end_kind, t_kind])

    rows = _simulate(rng, lines_first, lines_term, lines_end, lines_kind, ceased[lines_owner], lines_type,
                     crime[lines_owner], extract)
    line, applied, decided, expires, status, status_date, police, objections = rows

    o = lines_owner[line]
    t = lines_type[line]
    # Holder: the business; ~10% of register entries carry only a name.
    named_only = rng.random(len(line)) < 0.10
    trading = np.char.upper(np.char.replace(np.char.replace(np.char.replace(w.company_name, " Ltd", ""), " LLP", ""),
                                            " PLC", ""))  # per business: np.char fails on empty arrays
    holder_name = np.where(named_only & (rng.random(len(line)) < 0.5), trading[o], w.company_name[o])
    holder_name = np.where(named_only, holder_name, w.company_name[o])
    council = _COUNCILS[lines_area[line]]
    authority = np.where(_BOARD_TYPES[t], _BOARDS[lines_area[line]], council)
    for kind, body in _REGULATOR.items():
        authority = np.where(t == _T[kind], body, authority)

    # Opaque, world-unique ids: the holder's global index and a per-holder counter, through a bijection of 48 bits.
    order = np.lexsort((line, applied, o))
    counter = np.empty(len(line), dtype=np.int64)
    first_pos = np.r_[0, np.flatnonzero(np.diff(o[order])) + 1]
    starts = np.repeat(first_pos, np.diff(np.r_[first_pos, len(order)]))
    counter[order] = np.arange(len(order)) - starts
    seq = _scramble48((w.idx[o].astype(np.uint64) << np.uint64(10)) + counter.astype(np.uint64))
    years = _year(applied)
    licence_id = [f"{pre}/{y}/{s:012X}" for pre, y, s in zip(_PREFIX[t], years.tolist(), seq.tolist(), strict=True)]

    frame = pd.DataFrame({
        "licence_id": pd.Series(licence_id, dtype=object),
        "authority": _strings(authority),
        "licence_type": _strings(np.array(_TYPES)[t]),
        "holder_company_number": _strings(w.company_number[o], ~named_only),
        "holder_name": _strings(holder_name),
        "premises_postcode": _strings(lines_premises[line], lines_has_premises[line]),
        "applied_on": _dates(applied),
        "decided_on": _dates(decided),
        "expires_on": _dates(expires),
        "status": _strings(status),
        "status_date": _dates(status_date),
        "police_objection": pd.array(police, dtype="boolean"),
        "objections": pd.array(objections, dtype="Int64"),
    })
    return frame.iloc[order].reset_index(drop=True)


def _scramble48(key: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Mix 48-bit keys bijectively (odd multipliers and xor-shifts modulo 2**48): distinct keys, distinct ids."""
    mask = np.uint64((1 << 48) - 1)
    x = (key ^ np.uint64(0x5DEECE66D3A7)) & mask
    with np.errstate(over="ignore"):
        x = (x * np.uint64(0x9E3779B97F4B)) & mask
        x ^= x >> np.uint64(23)
        x = (x * np.uint64(0xBF58476D1CE5)) & mask
        x ^= x >> np.uint64(21)
    return x


def _other_type_shares(w: WorldChunk) -> Floats:
    """Licence types held by the ~3% of other businesses that hold one."""
    shares = np.zeros(len(_TYPES))
    for kind, share in (("other", 0.4), ("public-entertainment", 0.15), ("late-hours-catering", 0.1),
                        ("second-hand-dealer", 0.15), ("waste-carrier", 0.15), ("street-trader", 0.05)):
        shares[_T[kind]] = share
    return shares / shares.sum()


def _transfers(rng: np.random.Generator, w: WorldChunk, owner: Ints, ltype: Ints, first: Days, end: Days,
               crime: Floats, extract: np.datetime64) -> tuple[Ints, Days, Ints, Days]:
    """Choose premises transfers: (line index, transfer date, new holder, new holder's application date).

    Fronts pass premises to another business of their group in the chunk (phoenix: when the front is wound up,
    at its cessation); legitimate premises pass to a business of the same sector and area.
    """
    n = len(w)
    nl = len(owner)
    created = w.created.astype("datetime64[D]")
    ceased = np.where(np.isnat(w.ceased), _FAR, w.ceased).astype("datetime64[D]")
    p = np.where(crime[owner] > 0, 0.5 * crime[owner], 0.06) * _TRANSFERABLE[ltype]
    cand = rng.random(nl) < p
    stop = np.minimum(end, extract - np.timedelta64(30, "D"))
    when = _random_date(rng, first + np.timedelta64(200, "D"), stop)
    phoenix = (crime[owner] > 0) & (ceased[owner] < _FAR)
    when = np.where(phoenix, ceased[owner] - _td(rng.integers(0, 60, nl)), when)
    cand &= (when > first + np.timedelta64(60, "D")) & (when <= stop)

    # Candidate new holders: another business of the same crime group (fronts) or of the same sector and area.
    sector_codes = np.unique(w.sector, return_inverse=True)[1].astype(np.int64)
    trade_block = len(AREAS) * sector_codes + w.area
    group_block = np.where(w.group >= 0, w.group, -1)
    by_crime = crime[owner] > 0
    new = np.full(nl, -1, dtype=np.int64)
    for blocks, use in ((group_block, by_crime), (trade_block, ~by_crime)):
        by_block = np.argsort(blocks, kind="stable")
        sorted_blocks = blocks[by_block]
        lo = np.searchsorted(sorted_blocks, blocks[owner], side="left")
        hi = np.searchsorted(sorted_blocks, blocks[owner], side="right")
        for _ in range(6):
            pick = lo + np.floor(rng.random(nl) * np.maximum(hi - lo, 1)).astype(np.int64)
            cand_new = by_block[np.minimum(pick, n - 1)]
            alive = (created[cand_new] + np.timedelta64(14, "D") <= when) & (ceased[cand_new] > when)
            good = cand & use & (new < 0) & (hi - lo > 1) & (cand_new != owner) & alive
            new = np.where(good, cand_new, new)
    sel = np.flatnonzero(cand & (new >= 0))
    new_holder = new[sel]
    apply_on = when[sel] - _td(rng.integers(7, 60, len(sel)))
    apply_on = np.maximum(apply_on, created[new_holder] + np.timedelta64(1, "D"))
    return sel, when[sel], new_holder, apply_on


def _simulate(rng: np.random.Generator, first: Days, term_years: Ints, end: Days, end_kind: Ints, ceased: Days,
              ltype: Ints, crime: Floats, extract: np.datetime64) -> tuple[
        Ints, Days, Days, Days, npt.NDArray[np.str_], Days, Bools, Ints]:
    """Simulate the applications of each licence line, round by round (first, renewals, re-applications).

    ``end`` is when the line ends and ``end_kind`` why: 0 the holder goes on, 1 it gives up the activity, 2 it
    ceases, 3 it transfers the premises; ``ceased`` is the holder's cessation (far in the future when it goes on).
    """
    out: list[tuple[Ints, Days, Days, Days, npt.NDArray[np.str_], Days, Bools, Ints]] = []
    line = np.arange(len(first))
    applied = first.astype("datetime64[D]")
    end = end.copy()
    while len(line):
        m = len(line)
        cr = crime[line]
        t = ltype[line]
        objections = rng.poisson(0.3 * _OBJECTION_RATE[t] * (1 + 1.5 * cr))
        police = rng.random(m) < (0.018 + 0.11 * cr) * np.where(_BOARD_TYPES[t], 1.3, 0.9)
        lag = (30 + rng.exponential(40.0, m) + (objections > 0) * rng.exponential(60.0, m)
               + police * rng.exponential(120.0, m) + (rng.random(m) < 0.18) * rng.exponential(300.0, m))
        decided = applied + _td(lag)
        # A holder that just applied gives up the activity only later; one that ceases or sells the premises before
        # the decision withdraws the application (recorded as surrendered on that day, undecided).
        later = (end_kind[line] == 1) & (end[line] < decided)
        end[line[later]] = np.minimum(decided[later] + _td(rng.integers(30, 365, int(later.sum()))),
                                      ceased[line[later]])
        withdrawn = (np.minimum(end[line], ceased[line]) < decided) & (end[line] <= extract)
        pending = (decided > extract) & ~withdrawn
        p_refuse = 0.03 + 0.03 * np.minimum(objections, 4) + 0.3 * police + 0.04 * cr
        refused = ~pending & ~withdrawn & (rng.random(m) < p_refuse)
        granted = ~pending & ~withdrawn & ~refused
        term = term_years[line]
        expires = np.where(granted & (term > 0), decided + _td(term * 365 - rng.integers(0, 2, m)), _NAT)
        natural_end = np.where(term > 0, expires, _FAR)
        valid_end = np.minimum(np.minimum(natural_end, end[line]), extract)
        revoked = granted & (rng.random(m) < 0.012 + 0.05 * cr) & (valid_end > decided)
        suspended = granted & ~revoked & (rng.random(m) < 0.005 + 0.015 * cr) & (valid_end > decided)
        event_on = _random_date(rng, decided + np.timedelta64(1, "D"), valid_end)

        renew_on = expires - _td(rng.integers(14, 90, m))
        renews = granted & ~revoked & ~suspended & (term > 0) & (renew_on < end[line]) & (renew_on <= extract)
        kind = end_kind[line]
        ended = end[line] <= np.minimum(natural_end, extract)  # the line ends while this licence is current
        surrender = granted & ~revoked & ~suspended & ~renews & ended & (
            (kind == 3) | ((kind == 2) & (rng.random(m) < 0.6)) | ((kind == 1) & (term == 0)))
        lapsed = granted & ~revoked & ~suspended & ~renews & ~surrender & (term > 0) & (expires <= extract)
        status = np.select([pending, refused, revoked, suspended, surrender | withdrawn, lapsed],
                           ["pending", "refused", "revoked", "suspended", "surrendered", "expired"], "granted")
        status_date = np.select([revoked | suspended, surrender | withdrawn, lapsed], [event_on, end[line], expires],
                                _NAT)
        undecided = pending | withdrawn
        out.append((line, applied, np.where(undecided, _NAT, decided), np.where(undecided, _NAT, expires), status,
                    status_date, police, objections))

        # Refused applicants sometimes apply again months later.
        reapply_on = decided + _td(rng.integers(90, 270, m))
        reapply = refused & (rng.random(m) < 0.25) & (reapply_on < end[line]) & (reapply_on <= extract)
        nxt = renews | reapply
        applied = np.where(renews, renew_on, reapply_on)[nxt]
        line = line[nxt]
    if not out:  # no licence lines in the chunk
        no_days = np.empty(0, dtype="datetime64[D]")
        out.append((line, no_days, no_days, no_days, np.empty(0, dtype="<U11"), no_days, np.empty(0, dtype=bool),
                    np.empty(0, dtype=np.int64)))
    cols = list(zip(*out, strict=True))
    return (np.concatenate(cols[0]), np.concatenate(cols[1]), np.concatenate(cols[2]), np.concatenate(cols[3]),
            np.concatenate(cols[4]), np.concatenate(cols[5]), np.concatenate(cols[6]), np.concatenate(cols[7]))
