"""High-risk and secrecy jurisdictions, and country names mapped to ISO 3166 alpha-2 codes.

A maintained reference list, not a feature module: it registers no features. Ownership, watchlist and transaction
features use :func:`is_high_risk` to flag links to jurisdictions where money laundering is hard to detect or
ownership is hard to trace, and :func:`to_iso2` to read countries written as names ("United Kingdom", "Scotland",
"People's Republic of China") or codes.

Lists and their sources (review them after every FATF plenary, February, June and October, and every EU update,
February and October)
----------------------------------------------------------------------------------------------------------------------
FATF_CALL_FOR_ACTION
    FATF public statement "High-Risk Jurisdictions subject to a Call for Action", 24 October 2025 (the "black
    list"): Democratic People's Republic of Korea, Iran, Myanmar. Unchanged since October 2022.
FATF_INCREASED_MONITORING
    FATF "Jurisdictions under Increased Monitoring", 24 October 2025 (the "grey list"), 20 jurisdictions: Algeria,
    Angola, Bolivia, Bulgaria, Cameroon, Côte d'Ivoire, Democratic Republic of the Congo, Haiti, Kenya, Lao PDR,
    Lebanon, Monaco, Namibia, Nepal, South Sudan, Syria, Venezuela, Vietnam, Virgin Islands (UK), Yemen. (Burkina
    Faso, Mozambique, Nigeria and South Africa left the list at that plenary.) The UK's Money Laundering Regulations
    2017, reg. 33 and Schedule 3ZA, require enhanced due diligence for persons established in the jurisdictions of
    both FATF lists; the EU's list of high-risk third countries (Delegated Regulation (EU) 2016/1675 as amended in
    2025) follows them closely.
EU_NON_COOPERATIVE_TAX
    EU list of non-cooperative jurisdictions for tax purposes, Annex I, as confirmed without changes by the Council
    (ECOFIN) on 10 October 2025 (unchanged since 8 October 2024), 11 jurisdictions: American Samoa, Anguilla, Fiji,
    Guam, Palau, Panama, Russia, Samoa, Trinidad and Tobago, US Virgin Islands, Vanuatu.
FSI_2022_TOP10
    Tax Justice Network, Financial Secrecy Index 2022 (published 17 May 2022), the ten biggest suppliers of
    financial secrecy: United States, Switzerland, Singapore, Hong Kong, Luxembourg, Japan, Germany, United Arab
    Emirates, British Virgin Islands, Guernsey. Kept for reference; see SECRECY_JURISDICTIONS for the set used.
SECRECY_JURISDICTIONS
    Secrecy jurisdictions used by :func:`is_high_risk`, built from:
    (a) FSI 2022 top ten without the United States, Japan and Germany: their rank comes from the FSI's scale weight
    (the size of their financial sectors), not from a high secrecy score, and large onshore economies own many
    ordinary UK subsidiaries, so flagging them would not single out anything unusual;
    (b) Cayman Islands, first in the FSI 2020;
    (c) the UK Overseas Territories and Crown Dependencies that offer offshore companies and that the Tax Justice
    Network counts with the British Virgin Islands, Cayman and Guernsey as the UK's "spider's web" of secrecy
    jurisdictions (FSI 2020 commentary): Jersey, Isle of Man, Bermuda, Anguilla, Turks and Caicos Islands, Gibraltar;
    (d) the jurisdictions of incorporation of most offshore entities in the Panama Papers (ICIJ Offshore Leaks,
    2016): British Virgin Islands, Panama, Bahamas, Seychelles, Niue, Samoa, Anguilla.
HIGH_RISK_JURISDICTIONS
    The union of FATF_CALL_FOR_ACTION, FATF_INCREASED_MONITORING, EU_NON_COOPERATIVE_TAX and SECRECY_JURISDICTIONS:
    the default of :func:`is_high_risk`.

The country-name table (ISO 3166-1 alpha-2 short names plus common variants: UK nations, sanctions-list spellings
such as "Russian Federation" or "Korea, Democratic People's Republic of") maps names to codes; a value that is
neither a known code nor a known name maps to missing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import overload

import numpy as np
import pandas as pd

__all__ = [
    "EU_NON_COOPERATIVE_TAX",
    "FATF_CALL_FOR_ACTION",
    "FATF_INCREASED_MONITORING",
    "FSI_2022_TOP10",
    "HIGH_RISK_JURISDICTIONS",
    "LISTS_AS_OF",
    "SECRECY_JURISDICTIONS",
    "UK_CODES",
    "is_high_risk",
    "to_iso2",
]

#: Date of the most recent list used (FATF plenary of 24 October 2025; ECOFIN of 10 October 2025).
LISTS_AS_OF = "2025-10-24"

FATF_CALL_FOR_ACTION: frozenset[str] = frozenset({"KP", "IR", "MM"})

FATF_INCREASED_MONITORING: frozenset[str] = frozenset({
    "DZ", "AO", "BO", "BG", "CM", "CI", "CD", "HT", "KE", "LA", "LB", "MC", "NA", "NP", "SS", "SY", "VE", "VN",
    "VG", "YE",
})

EU_NON_COOPERATIVE_TAX: frozenset[str] = frozenset({"AS", "AI", "FJ", "GU", "PW", "PA", "RU", "WS", "TT", "VI", "VU"})

FSI_2022_TOP10: frozenset[str] = frozenset({"US", "CH", "SG", "HK", "LU", "JP", "DE", "AE", "VG", "GG"})

SECRECY_JURISDICTIONS: frozenset[str] = frozenset(
    (FSI_2022_TOP10 - {"US", "JP", "DE"})
    | {"KY"}
    | {"JE", "IM", "BM", "AI", "TC", "GI"}
    | {"VG", "PA", "BS", "SC", "NU", "WS"}
)

HIGH_RISK_JURISDICTIONS: frozenset[str] = frozenset(
    FATF_CALL_FOR_ACTION | FATF_INCREASED_MONITORING | EU_NON_COOPERATIVE_TAX | SECRECY_JURISDICTIONS
)

#: Codes meaning the United Kingdom.
UK_CODES: frozenset[str] = frozenset({"GB"})

# ISO 3166-1 alpha-2 code -> short English name (the names people write most often).
_ISO_NAMES: dict[str, str] = {
    "AD": "Andorra", "AE": "United Arab Emirates", "AF": "Afghanistan", "AG": "Antigua and Barbuda",
    "AI": "Anguilla", "AL": "Albania", "AM": "Armenia", "AO": "Angola", "AQ": "Antarctica", "AR": "Argentina",
    "AS": "American Samoa", "AT": "Austria", "AU": "Australia", "AW": "Aruba", "AX": "Aland Islands",
    "AZ": "Azerbaijan", "BA": "Bosnia and Herzegovina", "BB": "Barbados", "BD": "Bangladesh", "BE": "Belgium",
    "BF": "Burkina Faso", "BG": "Bulgaria", "BH": "Bahrain", "BI": "Burundi", "BJ": "Benin",
    "BL": "Saint Barthelemy", "BM": "Bermuda", "BN": "Brunei", "BO": "Bolivia", "BQ": "Caribbean Netherlands",
    "BR": "Brazil", "BS": "Bahamas", "BT": "Bhutan", "BV": "Bouvet Island", "BW": "Botswana", "BY": "Belarus",
    "BZ": "Belize", "CA": "Canada", "CC": "Cocos Keeling Islands", "CD": "Democratic Republic of the Congo",
    "CF": "Central African Republic", "CG": "Republic of the Congo", "CH": "Switzerland", "CI": "Cote d'Ivoire",
    "CK": "Cook Islands", "CL": "Chile", "CM": "Cameroon", "CN": "China", "CO": "Colombia", "CR": "Costa Rica",
    "CU": "Cuba", "CV": "Cape Verde", "CW": "Curacao", "CX": "Christmas Island", "CY": "Cyprus", "CZ": "Czechia",
    "DE": "Germany", "DJ": "Djibouti", "DK": "Denmark", "DM": "Dominica", "DO": "Dominican Republic",
    "DZ": "Algeria", "EC": "Ecuador", "EE": "Estonia", "EG": "Egypt", "EH": "Western Sahara", "ER": "Eritrea",
    "ES": "Spain", "ET": "Ethiopia", "FI": "Finland", "FJ": "Fiji", "FK": "Falkland Islands", "FM": "Micronesia",
    "FO": "Faroe Islands", "FR": "France", "GA": "Gabon", "GB": "United Kingdom", "GD": "Grenada", "GE": "Georgia",
    "GF": "French Guiana", "GG": "Guernsey", "GH": "Ghana", "GI": "Gibraltar", "GL": "Greenland", "GM": "Gambia",
    "GN": "Guinea", "GP": "Guadeloupe", "GQ": "Equatorial Guinea", "GR": "Greece",
    "GS": "South Georgia and the South Sandwich Islands", "GT": "Guatemala", "GU": "Guam", "GW": "Guinea-Bissau",
    "GY": "Guyana", "HK": "Hong Kong", "HM": "Heard Island and McDonald Islands", "HN": "Honduras", "HR": "Croatia",
    "HT": "Haiti", "HU": "Hungary", "ID": "Indonesia", "IE": "Ireland", "IL": "Israel", "IM": "Isle of Man",
    "IN": "India", "IO": "British Indian Ocean Territory", "IQ": "Iraq", "IR": "Iran", "IS": "Iceland", "IT": "Italy",
    "JE": "Jersey", "JM": "Jamaica", "JO": "Jordan", "JP": "Japan", "KE": "Kenya", "KG": "Kyrgyzstan",
    "KH": "Cambodia", "KI": "Kiribati", "KM": "Comoros", "KN": "Saint Kitts and Nevis", "KP": "North Korea",
    "KR": "South Korea", "KW": "Kuwait", "KY": "Cayman Islands", "KZ": "Kazakhstan", "LA": "Laos", "LB": "Lebanon",
    "LC": "Saint Lucia", "LI": "Liechtenstein", "LK": "Sri Lanka", "LR": "Liberia", "LS": "Lesotho",
    "LT": "Lithuania", "LU": "Luxembourg", "LV": "Latvia", "LY": "Libya", "MA": "Morocco", "MC": "Monaco",
    "MD": "Moldova", "ME": "Montenegro", "MF": "Saint Martin", "MG": "Madagascar", "MH": "Marshall Islands",
    "MK": "North Macedonia", "ML": "Mali", "MM": "Myanmar", "MN": "Mongolia", "MO": "Macao",
    "MP": "Northern Mariana Islands", "MQ": "Martinique", "MR": "Mauritania", "MS": "Montserrat", "MT": "Malta",
    "MU": "Mauritius", "MV": "Maldives", "MW": "Malawi", "MX": "Mexico", "MY": "Malaysia", "MZ": "Mozambique",
    "NA": "Namibia", "NC": "New Caledonia", "NE": "Niger", "NF": "Norfolk Island", "NG": "Nigeria",
    "NI": "Nicaragua", "NL": "Netherlands", "NO": "Norway", "NP": "Nepal", "NR": "Nauru", "NU": "Niue",
    "NZ": "New Zealand", "OM": "Oman", "PA": "Panama", "PE": "Peru", "PF": "French Polynesia",
    "PG": "Papua New Guinea", "PH": "Philippines", "PK": "Pakistan", "PL": "Poland",
    "PM": "Saint Pierre and Miquelon", "PN": "Pitcairn", "PR": "Puerto Rico", "PS": "Palestine", "PT": "Portugal",
    "PW": "Palau", "PY": "Paraguay", "QA": "Qatar", "RE": "Reunion", "RO": "Romania", "RS": "Serbia", "RU": "Russia",
    "RW": "Rwanda", "SA": "Saudi Arabia", "SB": "Solomon Islands", "SC": "Seychelles", "SD": "Sudan", "SE": "Sweden",
    "SG": "Singapore", "SH": "Saint Helena", "SI": "Slovenia", "SJ": "Svalbard and Jan Mayen", "SK": "Slovakia",
    "SL": "Sierra Leone", "SM": "San Marino", "SN": "Senegal", "SO": "Somalia", "SR": "Suriname",
    "SS": "South Sudan", "ST": "Sao Tome and Principe", "SV": "El Salvador", "SX": "Sint Maarten", "SY": "Syria",
    "SZ": "Eswatini", "TC": "Turks and Caicos Islands", "TD": "Chad", "TF": "French Southern Territories",
    "TG": "Togo", "TH": "Thailand", "TJ": "Tajikistan", "TK": "Tokelau", "TL": "Timor-Leste", "TM": "Turkmenistan",
    "TN": "Tunisia", "TO": "Tonga", "TR": "Turkey", "TT": "Trinidad and Tobago", "TV": "Tuvalu", "TW": "Taiwan",
    "TZ": "Tanzania", "UA": "Ukraine", "UG": "Uganda", "UM": "United States Minor Outlying Islands",
    "US": "United States", "UY": "Uruguay", "UZ": "Uzbekistan", "VA": "Vatican City", "VC": "Saint Vincent",
    "VE": "Venezuela", "VG": "British Virgin Islands", "VI": "United States Virgin Islands", "VN": "Vietnam",
    "VU": "Vanuatu", "WF": "Wallis and Futuna", "WS": "Samoa", "XK": "Kosovo", "YE": "Yemen", "YT": "Mayotte",
    "ZA": "South Africa", "ZM": "Zambia", "ZW": "Zimbabwe",
}

# Other spellings seen in registers and sanctions lists -> code.
_ALIASES: dict[str, str] = {
    "uk": "GB", "u k": "GB", "gbr": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "cymru": "GB", "northern ireland": "GB", "england and wales": "GB", "england wales": "GB",
    "united kingdom of great britain and northern ireland": "GB", "united kingdom great britain": "GB",
    "usa": "US", "u s a": "US", "u s": "US", "united states of america": "US", "america": "US",
    "russian federation": "RU", "peoples republic of china": "CN", "prc": "CN", "china peoples republic of": "CN",
    "republic of china": "TW", "taiwan province of china": "TW", "hong kong sar": "HK", "hong kong sar china": "HK",
    "hong kong china": "HK", "macau": "MO", "macao sar china": "MO", "korea republic of": "KR",
    "republic of korea": "KR",
    "korea south": "KR", "korea": "KR", "democratic peoples republic of korea": "KP",
    "korea democratic peoples republic of": "KP", "dprk": "KP", "korea north": "KP",
    "iran islamic republic of": "IR", "islamic republic of iran": "IR", "viet nam": "VN", "lao pdr": "LA",
    "lao peoples democratic republic": "LA", "syrian arab republic": "SY", "bolivia plurinational state of": "BO",
    "plurinational state of bolivia": "BO", "venezuela bolivarian republic of": "VE",
    "bolivarian republic of venezuela": "VE", "tanzania united republic of": "TZ", "united republic of tanzania": "TZ",
    "congo democratic republic of the": "CD", "democratic republic of congo": "CD", "dr congo": "CD", "drc": "CD",
    "congo kinshasa": "CD", "congo": "CG", "congo brazzaville": "CG", "republic of congo": "CG",
    "ivory coast": "CI", "turkiye": "TR", "czech republic": "CZ", "macedonia": "MK",
    "the former yugoslav republic of macedonia": "MK", "moldova republic of": "MD", "republic of moldova": "MD",
    "burma": "MM", "bvi": "VG", "virgin islands uk": "VG", "virgin islands british": "VG",
    "us virgin islands": "VI", "virgin islands us": "VI", "virgin islands u s": "VI", "cayman": "KY", "uae": "AE",
    "the netherlands": "NL", "holland": "NL", "state of palestine": "PS", "palestinian territories": "PS",
    "micronesia federated states of": "FM", "cabo verde": "CV", "swaziland": "SZ", "kyrgyz republic": "KG",
    "the gambia": "GM", "the bahamas": "BS", "saint vincent and the grenadines": "VC", "st kitts": "KN",
    "nevis": "KN", "brunei darussalam": "BN", "east timor": "TL", "holy see": "VA", "vatican": "VA",
    "republic of ireland": "IE", "eire": "IE", "slovak republic": "SK", "libyan arab jamahiriya": "LY",
    "turks and caicos": "TC", "isle of man": "IM", "curacao": "CW", "sint maarten dutch part": "SX",
    "saint martin french part": "MF", "falkland islands malvinas": "FK", "reunion": "RE", "west bank": "PS",
    "gaza": "PS", "kosovo": "XK", "guernsey channel islands": "GG", "jersey channel islands": "JE",
}

_NON_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


def _key(text: str) -> str:
    """Lookup key of a country name: ASCII, lower case, '&' as 'and', 'St' as 'Saint', no punctuation."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    ascii_text = ascii_text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    ascii_text = _SPACES.sub(" ", _NON_WORD.sub(" ", ascii_text)).strip()
    ascii_text = re.sub(r"^st ", "saint ", ascii_text)
    return ascii_text.removeprefix("the ") if ascii_text not in _ALIASES else ascii_text


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, name in _ISO_NAMES.items():
        lookup[_key(name)] = code
    for alias, code in _ALIASES.items():
        lookup[alias] = code
        lookup[_key(alias)] = code
    return lookup


_LOOKUP = _build_lookup()
_CODES = frozenset(_ISO_NAMES)


def _one_to_iso2(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    upper = text.upper()
    if len(upper) == 2 and upper in _CODES:
        return upper
    if upper == "UK":
        return "GB"
    return _LOOKUP.get(_key(text))


def to_iso2(values: pd.Series) -> pd.Series:
    """Map country codes or names to ISO 3166 alpha-2 codes (unknown or empty values become None).

    Parameters
    ----------
    values : Series
        ISO alpha-2 codes or country names, in any case ("gb", "United Kingdom", "Scotland", "Russian Federation").

    Returns
    -------
    Series
        Codes with the same index, ``None`` where the value is empty or not recognised.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.array([_one_to_iso2(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


@overload
def is_high_risk(codes: str | None, lists: frozenset[str] | None = None) -> bool: ...  # type: ignore[overload-overlap]
@overload
def is_high_risk(codes: pd.Series, lists: frozenset[str] | None = None) -> pd.Series: ...
@overload
def is_high_risk(codes: Iterable[str | None], lists: frozenset[str] | None = None) -> np.ndarray: ...


def is_high_risk(codes: str | pd.Series | Iterable[str | None] | None,
                 lists: frozenset[str] | None = None) -> bool | pd.Series | np.ndarray:
    """Whether each jurisdiction is on a high-risk or secrecy list (missing or unknown values are not).

    Parameters
    ----------
    codes : str, Series or iterable of str
        ISO alpha-2 codes (country names are accepted too, see :func:`to_iso2`).
    lists : frozenset of str, optional
        Codes to test against; default :data:`HIGH_RISK_JURISDICTIONS`.

    Returns
    -------
    bool, Series of bool or ndarray of bool
        Same shape as ``codes``: a bool for a scalar, a Series with the same index for a Series, else an array.
    """
    wanted = HIGH_RISK_JURISDICTIONS if lists is None else lists
    if codes is None or isinstance(codes, str):
        return _one_to_iso2(codes) in wanted
    series = codes if isinstance(codes, pd.Series) else pd.Series(list(codes), dtype=object)
    flags = to_iso2(series).isin(wanted)
    return flags if isinstance(codes, pd.Series) else flags.to_numpy()
