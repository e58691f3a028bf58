"""Importers: the formats public bodies publish, in; contract tables, out (``riskmodel import``).

Each format is one module with a reader (source files in, :class:`~riskmodel.importers.base.Record` items out); the
shared pipeline (:func:`~riskmodel.importers.base.run_import`) stages, validates through the contract, quarantines
and counts. Readers are imported only when their format is used.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from riskmodel.errors import RiskmodelError
from riskmodel.importers.base import ImportResult, Reader, Record, run_import

__all__ = ["FORMATS", "Format", "ImportResult", "Record", "import_sources"]


@dataclass(frozen=True)
class Format:
    """An import format: its name, the tables it writes, where its reader is and what it reads."""

    name: str
    tables: tuple[str, ...]
    reader: str
    reads: str

    def load(self) -> Reader:
        """Import the format's reader."""
        module, function = self.reader.split(":")
        return cast(Reader, getattr(importlib.import_module(module), function))


#: Every format ``riskmodel import`` reads.
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("ocds", ("contracts",), "riskmodel.importers.ocds:read",
           "Open Contracting Data Standard releases, release packages or records (JSON or JSON lines)"),
    Format("bods", ("ownership",), "riskmodel.importers.bods:read",
           "Beneficial Ownership Data Standard 0.2 statements (JSON or JSON lines)"),
    Format("ch-companies", ("companies",), "riskmodel.importers.companies_house:read_companies",
           "Companies House company profiles (bulk CSV or the profile fields as CSV)"),
    Format("ch-accounts", ("accounts",), "riskmodel.importers.companies_house:read_accounts",
           "Companies House accounts data extracted from iXBRL (CSV)"),
    Format("licence-register", ("licences",), "riskmodel.importers.licences:read",
           "a licence register CSV with a column mapping (--mapping FILE.toml, or the built-in "
           "gambling-commission mapping)"),
    Format("watchlist", ("watchlist",), "riskmodel.importers.watchlist:read",
           "debarment and sanctions lists: World Bank, IDB, EBRD, OpenSanctions targets.simple CSV"),
    Format("amlsim", ("companies", "transactions", "labels"), "riskmodel.importers.amlsim:read",
           "IBM AMLSim outputs: nodes/accounts and transactions (old sample and newer layouts)"),
)}


def import_sources(format_name: str, sources: list[str | Path], out: str | Path,
                   options: Mapping[str, Any] | None = None, *, overwrite: bool = False,
                   extract_date: dt.date | None = None) -> ImportResult:
    """Import source files of one format into contract tables in ``out``.

    Parameters
    ----------
    format_name : str
        A key of :data:`FORMATS`.
    sources : list of str or Path
        Source files.
    out : str or Path
        Data set folder.
    options : mapping, optional
        Format options (e.g. ``mapping`` for ``licence-register``).
    overwrite : bool
        Replace tables already in ``out``.
    extract_date : date, optional
        Written to ``dataset.json``.

    Returns
    -------
    ImportResult

    Raises
    ------
    RiskmodelError
        Unknown format, missing source, or a table already in ``out``.
    """
    if format_name not in FORMATS:
        raise RiskmodelError(f"unknown import format {format_name!r}; the formats are: {', '.join(FORMATS)}",
                             field="format", value=format_name, allowed=list(FORMATS))
    return run_import(format_name, FORMATS[format_name].load(), [Path(s) for s in sources], Path(out), options,
                      overwrite=overwrite, extract_date=extract_date)
