"""Reference data for the synthetic world, with the sources of the figures.

Shares and quantiles marked *measured* come from the real public data in ``../shared/realdata`` (Companies House
iXBRL accounts and company profiles, Contracts Finder OCDS, the Gambling Commission premises register), as recorded
in ``docs/synth.md``. Relative risks by sector follow the Scottish Serious Organised Crime strategy's list of
sectors and the sectors of Italian companies confiscated from organised crime (same data folder).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AREAS", "DIVISIONS", "SECTOR_RISK", "Division", "Area", "sector_of"]


@dataclass(frozen=True)
class Division:
    """A SIC 2007 division with its share of businesses and representative five-digit codes."""

    division: str
    share: float  # percent of businesses (measured: first SIC code of real company profiles)
    codes: tuple[tuple[str, float], ...]


# Measured division shares (top 40 divisions of 8,805 real company profiles); the remaining 6.81% is spread over
# divisions that matter to this domain (waste, gambling, car hire, ...).
DIVISIONS: tuple[Division, ...] = (
    Division("68", 11.15, (("68209", 0.5), ("68100", 0.3), ("68320", 0.2))),
    Division("43", 6.83, (("43999", 0.3), ("43210", 0.25), ("43220", 0.2), ("43341", 0.15), ("43390", 0.1))),
    Division("70", 6.46, (("70229", 0.8), ("70100", 0.2))),
    Division("62", 5.60, (("62020", 0.5), ("62012", 0.3), ("62090", 0.2))),
    Division("47", 5.07, (("47110", 0.3), ("47260", 0.05), ("47190", 0.15), ("47910", 0.3), ("47730", 0.05),
                          ("47789", 0.15))),
    Division("46", 4.28, (("46900", 0.5), ("46190", 0.5))),
    Division("82", 4.13, (("82990", 0.9), ("82110", 0.1))),
    Division("74", 3.94, (("74909", 0.6), ("74100", 0.2), ("74200", 0.2))),
    Division("96", 3.65, (("96020", 0.6), ("96090", 0.3), ("96040", 0.1))),
    Division("86", 3.49, (("86900", 0.6), ("86210", 0.2), ("86230", 0.2))),
    Division("99", 3.33, (("99999", 1.0),)),
    Division("41", 3.28, (("41100", 0.3), ("41202", 0.35), ("41201", 0.35))),
    Division("98", 3.26, (("98000", 1.0),)),
    Division("56", 2.85, (("56101", 0.3), ("56102", 0.15), ("56103", 0.3), ("56302", 0.2), ("56210", 0.05))),
    Division("64", 2.78, (("64209", 0.6), ("64999", 0.4))),
    Division("71", 2.39, (("71129", 0.6), ("71111", 0.4))),
    Division("45", 1.95, (("45200", 0.6), ("45111", 0.4))),
    Division("69", 1.82, (("69201", 0.6), ("69102", 0.4))),
    Division("49", 1.75, (("49320", 0.5), ("49410", 0.5))),
    Division("85", 1.61, (("85590", 0.7), ("85600", 0.3))),
    Division("81", 1.43, (("81210", 0.5), ("81300", 0.3), ("81222", 0.2))),
    Division("59", 1.23, (("59111", 1.0),)),
    Division("93", 1.14, (("93130", 0.4), ("93290", 0.4), ("93199", 0.2))),
    Division("90", 0.86, (("90030", 1.0),)),
    Division("55", 0.84, (("55100", 0.6), ("55900", 0.4))),
    Division("33", 0.76, (("33120", 1.0),)),
    Division("58", 0.74, (("58190", 1.0),)),
    Division("78", 0.66, (("78109", 0.5), ("78200", 0.5))),
    Division("42", 0.66, (("42990", 1.0),)),
    Division("63", 0.66, (("63990", 1.0),)),
    Division("73", 0.65, (("73110", 1.0),)),
    Division("25", 0.55, (("25620", 1.0),)),
    Division("32", 0.50, (("32990", 1.0),)),
    Division("01", 0.47, (("01500", 1.0),)),
    Division("66", 0.45, (("66190", 1.0),)),
    Division("87", 0.41, (("87300", 1.0),)),
    Division("61", 0.40, (("61900", 1.0),)),
    Division("80", 0.40, (("80100", 1.0),)),
    Division("10", 0.40, (("10710", 1.0),)),
    Division("52", 0.39, (("52290", 1.0),)),
    Division("38", 0.60, (("38110", 0.5), ("38320", 0.5))),
    Division("92", 0.35, (("92000", 1.0),)),
    Division("77", 0.60, (("77110", 1.0),)),
    Division("88", 0.60, (("88990", 1.0),)),
    Division("94", 0.60, (("94990", 1.0),)),
    Division("53", 0.40, (("53202", 1.0),)),
    Division("79", 0.40, (("79110", 1.0),)),
    Division("72", 0.30, (("72190", 1.0),)),
    Division("23", 0.30, (("23610", 1.0),)),
    Division("16", 0.30, (("16230", 1.0),)),
    Division("18", 0.30, (("18129", 1.0),)),
    Division("35", 0.30, (("35110", 1.0),)),
    Division("95", 0.30, (("95110", 1.0),)),
    Division("60", 0.20, (("60200", 1.0),)),
    Division("20", 0.20, (("20590", 1.0),)),
    Division("28", 0.20, (("28990", 1.0),)),
    Division("37", 0.20, (("37000", 1.0),)),
    Division("39", 0.15, (("39000", 1.0),)),
)

#: Sector groups used by the crime process and the licence/contract generators, by SIC code prefix.
_SECTOR_PREFIXES: tuple[tuple[str, str], ...] = (
    ("56302", "pub"), ("561", "restaurant"), ("562", "restaurant"), ("5510", "hotel"), ("559", "hotel"),
    ("96020", "beauty"), ("96040", "beauty"), ("45200", "garage"), ("451", "car-sales"), ("49320", "taxi"),
    ("38", "waste"), ("41", "construction"), ("42", "construction"), ("43", "construction"), ("80", "security"),
    ("68", "property"), ("47110", "shop"), ("47260", "shop"), ("4719", "shop"), ("4778", "shop"),
    ("92", "gambling"), ("93", "leisure"), ("81210", "cleaning"), ("812", "cleaning"), ("77110", "car-hire"),
)


def sector_of(sic: str) -> str:
    """Sector group of a five-digit SIC code (``other`` when none applies)."""
    for prefix, group in _SECTOR_PREFIXES:
        if sic.startswith(prefix):
            return group
    return "other"


#: Relative risk of infiltration by sector group. Sources: Scottish Government, Serious Organised Crime Strategy
#: (2022) names pubs, restaurants, shops, garages, nail bars, hairdressers, construction, property, waste, taxis
#: and security; Transcrime's analysis of confiscated Italian companies (lift measured against the real UK
#: profiles: construction 2.7, hotels/restaurants 2.2, transport 2.1, waste 4.0).
SECTOR_RISK: dict[str, float] = {
    "pub": 4.0, "restaurant": 3.0, "hotel": 2.0, "beauty": 3.0, "garage": 3.0, "car-sales": 2.0, "taxi": 3.0,
    "waste": 4.0, "construction": 2.5, "security": 4.0, "property": 1.5, "shop": 2.5, "gambling": 3.0,
    "leisure": 1.5, "cleaning": 2.0, "car-hire": 2.0, "other": 0.3,
}


@dataclass(frozen=True)
class Area:
    """A Scottish postcode area with its council (also the licensing authority) and policing division."""

    area: str
    share: float  # percent of Scottish businesses (measured on real company profiles)
    council: str
    division: str


AREAS: tuple[Area, ...] = (
    Area("G", 24.14, "Glasgow City Council", "Greater Glasgow"),
    Area("EH", 17.00, "City of Edinburgh Council", "Edinburgh"),
    Area("AB", 12.32, "Aberdeen City Council", "North East"),
    Area("FK", 6.65, "Falkirk Council", "Forth Valley"),
    Area("PA", 5.91, "Renfrewshire Council", "Renfrewshire and Inverclyde"),
    Area("DD", 5.17, "Dundee City Council", "Tayside"),
    Area("KY", 5.17, "Fife Council", "Fife"),
    Area("ML", 5.17, "North Lanarkshire Council", "Lanarkshire"),
    Area("KA", 4.43, "East Ayrshire Council", "Ayrshire"),
    Area("IV", 3.69, "Highland Council", "Highlands and Islands"),
    Area("TD", 3.69, "Scottish Borders Council", "The Lothians and Scottish Borders"),
    Area("DG", 2.71, "Dumfries and Galloway Council", "Dumfries and Galloway"),
    Area("PH", 2.22, "Perth and Kinross Council", "Tayside"),
    Area("KW", 0.74, "Highland Council", "Highlands and Islands"),
    Area("ZE", 0.49, "Shetland Islands Council", "Highlands and Islands"),
    Area("HS", 0.49, "Comhairle nan Eilean Siar", "Highlands and Islands"),
)
