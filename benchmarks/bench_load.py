"""Benchmark of the contract loader: rows/s and peak memory of reading and validating large tables.

Run on demand; this is not a test::

    make bench                                     # runs: python benchmarks/bench_load.py
    python benchmarks/bench_load.py --companies 20000 --transactions 50000 --repeats 1   # smoke run
    python benchmarks/bench_load.py --only transactions --repeats 5 --json bench.json

What it does:

1. Generates a ``companies`` table (default 1,000,000 rows) and a ``transactions`` table (default 5,000,000 rows)
   with seeded, vectorised numpy code. Values follow the contract (``riskmodel.contract.spec``) except for 0.1 %
   of the rows, which carry an unknown enumeration value or a date before the contract's earliest date, so the
   quarantine path is exercised. Each table is written as CSV and as parquet with
   :func:`riskmodel.contract.io.write_table` into a temporary folder (or ``--workdir``, which is reused when it
   already holds files generated with the same sizes and seed). Generation is not timed.
2. Every measurement runs in a fresh Python subprocess, so its peak memory is that of the load alone:

   * ``loader``: :func:`riskmodel.contract.io.read_table_file` then :func:`riskmodel.contract.validate.validate_table`,
     timed separately;
   * ``pandas``: a plain ``pandas.read_csv(path)`` / ``pandas.read_parquet(path)`` of the same file, as the
     baseline the loader is compared with.

   The child reports wall seconds, rows kept and quarantined, the RSS right after its imports and its peak RSS
   (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, KiB on Linux); the increment is peak minus baseline.
   On Linux ``ru_maxrss`` survives fork + exec (a child starts with its parent's high-water mark), so the parent
   process imports nothing but the standard library and generates the data in a subprocess too; the child also
   reports ``VmHWM`` from ``/proc/self/status`` (the high-water mark of its own address space) as a cross-check.
3. Each measurement is repeated ``--repeats`` times (default 3); the table shows medians, followed by the loader's
   overhead over plain pandas (time and RSS increment) as ratios. ``--json FILE`` also writes every run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEED = 20240611
#: Share of deliberately bad rows (quarantine path).
BAD_SHARE = 0.001
#: Companies that own the transactions.
ACCOUNT_HOLDERS = 50_000
#: Bump when the generated data changes, so cached files in --workdir are regenerated.
GENERATOR_VERSION = 1
TABLES = ("companies", "transactions")
FORMATS = ("csv", "parquet")
READERS = ("loader", "pandas")

# --------------------------------------------------------------------------------------------------------------------
# Data generation (in a subprocess: numpy, pandas and riskmodel are imported lazily, so that the parent stays small
# and the pandas baseline child does not pay for riskmodel's imports).
# --------------------------------------------------------------------------------------------------------------------

_NAME_FIRST = (
    "Abbey", "Albion", "Argyll", "Atlantic", "Balmoral", "Beacon", "Ben Nevis", "Border", "Bridge", "Caledonian",
    "Castle", "Central", "Clyde", "Coastal", "Crown", "Dee", "Eagle", "Eden", "Firth", "Forth", "Glen", "Granite",
    "Harbour", "Heather", "Highland", "Iona", "Island", "Kelvin", "Kingdom", "Lomond", "Lothian", "Marine",
    "Meadow", "Morven", "Northern", "Oak", "Orkney", "Pentland", "Pioneer", "Quarry", "Riverside", "Rowan",
    "Saltire", "Shetland", "Skye", "Spey", "Summit", "Tay", "Thistle", "Tweed", "Union", "Valley", "Victoria",
    "Wallace", "Waverley", "Western", "Whisky", "Willow", "Café Royal", "O'Neill",
)
_NAME_SECOND = (
    "Autos", "Bakery", "Builders", "Capital", "Care", "Catering", "Cleaning", "Construction", "Consulting",
    "Developments", "Distribution", "Electrical", "Energy", "Engineering", "Estates", "Finance", "Fisheries",
    "Foods", "Holdings", "Hospitality", "Imports", "Investments", "Joinery", "Logistics", "Management", "Media",
    "Motors", "Plumbing", "Property", "Recycling", "Retail", "Scaffolding", "Security", "Services", "Solutions",
    "Taxis", "Technology", "Trading", "Transport", "Ventures", "& Sons", "& Co",
)
_NAME_SUFFIX = {
    "ltd": "LTD", "plc": "PLC", "llp": "LLP", "limited-partnership": "LP", "scottish-partnership": "",
    "unincorporated": "", "other": "",
}
_COMPANY_TYPE_P = {
    "ltd": 0.80, "plc": 0.01, "llp": 0.04, "limited-partnership": 0.03, "scottish-partnership": 0.03,
    "unincorporated": 0.05, "other": 0.04,
}
_COMPANY_STATUS_P = {
    "active": 0.70, "dormant": 0.08, "liquidation": 0.04, "administration": 0.01, "dissolved": 0.15, "other": 0.02,
}
_CHANNEL_P = {"transfer": 0.50, "card": 0.30, "cash": 0.08, "cheque": 0.04, "other": 0.08}
_COUNTRY_P = {
    "GB": 0.86, "IE": 0.03, "NL": 0.015, "DE": 0.015, "FR": 0.015, "ES": 0.01, "PL": 0.01, "US": 0.01, "AE": 0.008,
    "CN": 0.007, "CY": 0.005, "TR": 0.005,
}
_SIC_CODES = (
    "01110", "03110", "10710", "41100", "41201", "43210", "43220", "43341", "45111", "45200", "46190", "47110",
    "47190", "47710", "49320", "49410", "55100", "56101", "56102", "56302", "62020", "64209", "68100", "68209",
    "69201", "70229", "74990", "77110", "81210", "82990", "86900", "93290", "96020", "96090", "99999",
)
_POSTCODE_AREAS = ("AB", "DD", "DG", "EH", "FK", "G", "IV", "KA", "KW", "KY", "ML", "PA", "PH", "TD", "ZE")
_POSTCODE_LETTERS = tuple("ABDEFGHJLNPQRSTUWXYZ")
_STREETS = ("High", "Main", "Church", "Station", "Victoria", "Mill", "Bridge", "King", "Queen", "Park", "Castle")
_STREET_KINDS = ("Street", "Road", "Lane", "Avenue", "Place", "Crescent", "Terrace", "Wynd")
#: Values the generator plants in bad rows.
_BAD_COMPANY_TYPE = "sole-trader"
_BAD_CHANNEL = "crypto"
_BAD_DATE = "1750-06-30"  # before the contract's MIN_DATE (1800-01-01)


def _pick(rng: Any, values: tuple[str, ...] | dict[str, float], n: int) -> Any:
    """Draw ``n`` values (uniformly from a tuple, or with the probabilities of a dict) as a numpy str array."""
    import numpy as np

    if isinstance(values, dict):
        keys = np.array(list(values))
        p = np.array(list(values.values()), dtype=np.float64)
        return keys[rng.choice(len(keys), size=n, p=p / p.sum())]
    return np.array(values)[rng.integers(0, len(values), size=n)]


def _cat(*parts: Any) -> Any:
    """Element-wise concatenation of numpy str arrays (or scalars)."""
    import numpy as np

    out = np.asarray(parts[0], dtype=np.str_)
    for part in parts[1:]:
        out = np.char.add(out, np.asarray(part, dtype=np.str_))
    return out


def _digits(numbers: Any, width: int) -> Any:
    import numpy as np

    return np.char.zfill(np.asarray(numbers).astype(np.str_), width)


def _with_missing(values: Any, present: Any) -> Any:
    """Object array with None where ``present`` is False."""
    out = values.astype(object)
    out[~present] = None
    return out


def _company_numbers(n: int, seed: int) -> Any:
    """``n`` unique company numbers: SC + 6 digits (other Companies House prefixes once the SC range is full).

    The first numbers do not depend on ``n``, so the transaction account holders exist in any companies table with
    at least :data:`ACCOUNT_HOLDERS` rows.
    """
    import numpy as np

    prefixes = np.array(["SC", "SO", "SL", "NI", "OC"])
    blocks = -(-n // 1_000_000)
    if blocks > len(prefixes):
        raise SystemExit(f"at most {len(prefixes) * 1_000_000:,} companies can be generated")
    slots = np.random.default_rng([seed, 1]).permutation(blocks * 1_000_000)[:n]
    return _cat(prefixes[slots // 1_000_000], _digits(slots % 1_000_000, 6))


def _bad_rows(rng: Any, n: int) -> tuple[Any, Any]:
    """Two disjoint sets of row positions (0.1 % of ``n`` in all): bad enumeration, bad date."""
    n_bad = max(2, round(n * BAD_SHARE)) if n >= 2 else 0
    rows = rng.choice(n, size=n_bad, replace=False)
    return rows[: n_bad // 2], rows[n_bad // 2:]


def make_companies(n: int, seed: int) -> tuple[Any, int]:
    """A typed ``companies`` frame of ``n`` rows and the number of rows planted to fail validation."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, 2])
    company_type = _pick(rng, _COMPANY_TYPE_P, n)
    status = _pick(rng, _COMPANY_STATUS_P, n)
    types = np.array(list(_COMPANY_TYPE_P))
    suffix = np.array([_NAME_SUFFIX[t] for t in types])[_index_of(types, company_type)]
    name = np.char.strip(_cat(_pick(rng, _NAME_FIRST, n), " ", _pick(rng, _NAME_SECOND, n), " ", suffix))

    start, end = np.datetime64("1990-01-01"), np.datetime64("2024-12-31")
    span = int((end - start).astype(np.int64))
    created = start + rng.integers(0, span + 1, size=n).astype("timedelta64[D]")
    ceased_rows = np.isin(status, ["dissolved", "liquidation"]) & (rng.random(n) < 0.9)
    remaining = (end - created).astype(np.int64)
    ceased = created + (rng.random(n) * (remaining + 1)).astype(np.int64).astype("timedelta64[D]")
    ceased[~ceased_rows] = np.datetime64("NaT")

    sic = _pick(rng, _SIC_CODES, n)
    second_sic = rng.random(n) < 0.2
    sic = np.where(second_sic, _cat(sic, ";", _pick(rng, _SIC_CODES, n)), sic)
    postcode = _cat(
        _pick(rng, _POSTCODE_AREAS, n), rng.integers(1, 30, size=n), " ", rng.integers(0, 10, size=n),
        _pick(rng, _POSTCODE_LETTERS, n), _pick(rng, _POSTCODE_LETTERS, n),
    )
    address = _cat(rng.integers(1, 300, size=n), " ", _pick(rng, _STREETS, n), " ", _pick(rng, _STREET_KINDS, n))

    frame = pd.DataFrame({
        "company_number": _company_numbers(n, seed).astype(object),
        "company_name": name.astype(object),
        "company_type": company_type.astype(object),
        "company_status": status.astype(object),
        "date_of_creation": pd.to_datetime(created),
        "date_of_cessation": pd.to_datetime(ceased),
        "sic_codes": _with_missing(sic, rng.random(n) < 0.8),
        "registered_office_postcode": _with_missing(postcode, rng.random(n) < 0.9),
        "registered_office_address": _with_missing(address, rng.random(n) < 0.85),
    })
    bad_enum, bad_date = _bad_rows(rng, n)
    frame.loc[bad_enum, "company_type"] = _BAD_COMPANY_TYPE
    frame.loc[bad_date, "date_of_creation"] = pd.Timestamp(_BAD_DATE)
    return frame, len(bad_enum) + len(bad_date)


def _index_of(keys: Any, values: Any) -> Any:
    """Position of each of ``values`` in ``keys`` (all values must occur)."""
    import numpy as np

    order = np.argsort(keys)
    return order[np.searchsorted(keys, values, sorter=order)]


def make_transactions(n: int, seed: int) -> tuple[Any, int]:
    """A typed ``transactions`` frame of ``n`` rows and the number of rows planted to fail validation."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, 3])
    holders = _company_numbers(ACCOUNT_HOLDERS, seed)
    # A few businesses hold most of the transactions (Zipf-like activity).
    weights = 1.0 / np.arange(1, len(holders) + 1) ** 0.8
    company = holders[rng.choice(len(holders), size=n, p=weights / weights.sum())]

    start = np.datetime64("2019-01-01T00:00:00")
    span = int((np.datetime64("2024-12-31T23:59:59") - start).astype(np.int64))
    booked = start + rng.integers(0, span + 1, size=n).astype("timedelta64[s]")

    channel = _pick(rng, _CHANNEL_P, n)
    magnitude = np.minimum(np.round(rng.lognormal(mean=5.0, sigma=1.6, size=n), 2), 5_000_000.0)
    amount = np.where(rng.random(n) < 0.45, magnitude, -magnitude)

    accounts = _cat("ACC", _digits(rng.integers(0, 200_000, size=n), 8))
    counterparty = np.where(rng.random(n) < 0.5, accounts, holders[rng.integers(0, len(holders), size=n)])
    has_counterparty = np.where(channel == "cash", rng.random(n) < 0.05, rng.random(n) < 0.85)
    has_country = has_counterparty & (rng.random(n) < 0.9)

    frame = pd.DataFrame({
        "transaction_id": _cat("TX", _digits(rng.permutation(n) + 1, 10)).astype(object),
        "company_number": company.astype(object),
        "booked_at": pd.to_datetime(booked),
        "amount": amount,
        "channel": channel.astype(object),
        "counterparty_id": _with_missing(counterparty, has_counterparty),
        "counterparty_country": _with_missing(_pick(rng, _COUNTRY_P, n), has_country),
    })
    bad_enum, bad_date = _bad_rows(rng, n)
    frame.loc[bad_enum, "channel"] = _BAD_CHANNEL
    frame.loc[bad_date, "booked_at"] = pd.Timestamp(_BAD_DATE + "T12:00:00")
    return frame, len(bad_enum) + len(bad_date)


def generate(table: str, rows: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Generate one table and write it as CSV and parquet; runs in a subprocess (``--generate``)."""
    from riskmodel.contract.io import write_table
    from riskmodel.contract.spec import TABLES as SPECS

    makers = {"companies": make_companies, "transactions": make_transactions}
    t0 = time.perf_counter()
    frame, n_bad = makers[table](rows, seed)
    t1 = time.perf_counter()
    paths = {fmt: workdir / f"{table}.{fmt}" for fmt in FORMATS}
    for path in paths.values():
        write_table(frame, path, SPECS[table])
    return {"bad_rows": n_bad, "generate_s": t1 - t0, "write_s": time.perf_counter() - t1,
            "files": {fmt: str(path) for fmt, path in paths.items()},
            "mib": {fmt: path.stat().st_size / 2**20 for fmt, path in paths.items()}}


def prepare_files(workdir: Path, sizes: dict[str, int], seed: int) -> dict[str, dict[str, Any]]:
    """Generate and write the benchmark files (reusing matching ones in ``workdir``); return their manifest."""
    manifest_path = workdir / "manifest.json"
    manifest: dict[str, dict[str, Any]] = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for table, rows in sizes.items():
        want = {"rows": rows, "seed": seed, "generator": GENERATOR_VERSION}
        entry = manifest.get(table, {})
        if {k: entry.get(k) for k in want} == want and all(Path(p).exists() for p in entry.get("files", {}).values()):
            print(f"reusing {table} files in {workdir}", flush=True)
            continue
        made = _run_self(["--generate", table, str(rows), str(seed), str(workdir)], timeout=None)
        if "error" in made:
            raise SystemExit(f"generating {table} failed: {made['error']}")
        manifest[table] = {**want, **made}
        manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        print(f"generated {table}: {rows:,} rows ({made['bad_rows']:,} bad) in {made['generate_s']:.1f} s, written "
              f"as CSV ({made['mib']['csv']:,.1f} MiB) and parquet ({made['mib']['parquet']:,.1f} MiB) in "
              f"{made['write_s']:.1f} s", flush=True)
    return manifest


# --------------------------------------------------------------------------------------------------------------------
# Measurement (child processes)
# --------------------------------------------------------------------------------------------------------------------


def _maxrss_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def _vmhwm_mib() -> float | None:
    """Peak RSS of this process's own address space (Linux), unaffected by the parent's."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def child(reader: str, table: str, path: Path) -> dict[str, Any]:
    """One measurement; runs in a fresh interpreter (``--child``)."""
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (imported before the baseline in both readers, for comparable baselines)

    if reader == "loader":
        from riskmodel.contract.io import read_table_file
        from riskmodel.contract.spec import TABLES as SPECS
        from riskmodel.contract.validate import validate_table

        baseline = _maxrss_mib()
        t0 = time.perf_counter()
        raw = read_table_file(path, table)
        t1 = time.perf_counter()
        result = validate_table(SPECS[table], raw)
        t2 = time.perf_counter()
        return {"read_s": t1 - t0, "validate_s": t2 - t1, "total_s": t2 - t0, "rows": result.rows_read,
                "kept": result.rows_kept, "quarantined": result.rows_quarantined, "rejected": result.rejected,
                "problems": len(result.problems), "baseline_mib": baseline, "peak_mib": _maxrss_mib(),
                "vmhwm_mib": _vmhwm_mib()}
    baseline = _maxrss_mib()
    t0 = time.perf_counter()
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    t1 = time.perf_counter()
    return {"read_s": t1 - t0, "validate_s": None, "total_s": t1 - t0, "rows": len(frame), "kept": None,
            "quarantined": None, "rejected": None, "problems": None, "baseline_mib": baseline,
            "peak_mib": _maxrss_mib(), "vmhwm_mib": _vmhwm_mib()}


def _run_self(args: list[str], timeout: float | None) -> dict[str, Any]:
    """Run this script with ``args`` in a fresh interpreter and return the JSON it prints last (or the error)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    report: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def run_child(reader: str, table: str, path: Path, timeout: float) -> dict[str, Any]:
    """Run :func:`child` in a fresh subprocess and return its report (or the error)."""
    return _run_self(["--child", reader, table, str(path)], timeout)


# --------------------------------------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------------------------------------


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the successful runs of one measurement."""
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"error": runs[-1]["error"] if runs else "no runs"}
    out: dict[str, Any] = {k: _median(ok, k) for k in ("read_s", "validate_s", "total_s", "baseline_mib",
                                                        "peak_mib", "vmhwm_mib")}
    out["increment_mib"] = statistics.median(r["peak_mib"] - r["baseline_mib"] for r in ok)
    for key in ("rows", "kept", "quarantined", "problems"):
        out[key] = ok[-1][key]
    out["rows_per_s"] = out["rows"] / out["total_s"] if out["total_s"] else None
    out["failed_runs"] = len(runs) - len(ok)
    return out


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def render(results: list[dict[str, Any]]) -> str:
    """Plain-text results table followed by the loader/pandas ratios."""
    header = ("table", "format", "reader", "rows", "file MiB", "read s", "valid. s", "total s", "rows/s",
              "base MiB", "peak MiB", "+RSS MiB", "kept", "quarant.")
    lines = []
    for res in results:
        m = res["median"]
        if "error" in m:
            lines.append((res["table"], res["format"], res["reader"], f"{res['rows']:,}", f"{res['file_mib']:.1f}",
                          "FAILED: " + m["error"], *[""] * 8))
            continue
        lines.append((res["table"], res["format"], res["reader"], f"{m['rows']:,}", f"{res['file_mib']:.1f}",
                      _fmt(m["read_s"], ".2f"), _fmt(m["validate_s"], ".2f"), _fmt(m["total_s"], ".2f"),
                      _fmt(m["rows_per_s"], ",.0f"), _fmt(m["baseline_mib"], ",.0f"), _fmt(m["peak_mib"], ",.0f"),
                      _fmt(m["increment_mib"], ",.0f"),
                      _fmt(m["kept"], ","), _fmt(m["quarantined"], ",")))
    widths = [max(len(str(row[i])) for row in (header, *lines)) for i in range(len(header))]
    text_cols = {0, 1, 2}

    def row_text(row: tuple[str, ...]) -> str:
        cells = [str(c).ljust(w) if i in text_cols else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                      strict=True))]
        return "  ".join(cells).rstrip()

    out = [row_text(header), "  ".join("-" * w for w in widths)]
    out.extend(row_text(row) for row in lines)

    out.append("")
    out.append("loader overhead over plain pandas (median loader / median pandas):")
    by_key = {(r["table"], r["format"], r["reader"]): r["median"] for r in results}
    for table, fmt in dict.fromkeys((r["table"], r["format"]) for r in results):
        loader, pandas = by_key.get((table, fmt, "loader")), by_key.get((table, fmt, "pandas"))
        if not loader or not pandas or "error" in loader or "error" in pandas:
            continue
        time_ratio = loader["total_s"] / pandas["total_s"]
        peak_ratio = loader["peak_mib"] / pandas["peak_mib"]
        inc_ratio = loader["increment_mib"] / pandas["increment_mib"] if pandas["increment_mib"] > 0 else None
        out.append(f"  {table:<12} {fmt:<8} time x{time_ratio:.1f} ({loader['total_s']:.2f} s vs "
                   f"{pandas['total_s']:.2f} s), peak RSS x{peak_ratio:.1f}, RSS increment x{_fmt(inc_ratio, '.1f')}"
                   f" ({loader['increment_mib']:,.0f} vs {pandas['increment_mib']:,.0f} MiB)")
    return "\n".join(out)


def _environment() -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    versions = {"python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
                "pyarrow": pa.__version__}
    from importlib.metadata import PackageNotFoundError, version

    try:
        versions["pandera"] = version("pandera")
        versions["riskmodel"] = version("riskmodel")
    except PackageNotFoundError:  # pragma: no cover - versions are informational; a missing one is left out
        pass
    return {"versions": versions, "cpus": os.cpu_count(), "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Subprocess entry points (internal).
    if argv[:1] == ["--child"]:
        reader, table, path = argv[1:4]
        print(json.dumps(child(reader, table, Path(path))))
        return 0
    if argv[:1] == ["--generate"]:
        table, rows, seed, folder = argv[1:5]
        print(json.dumps(generate(table, int(rows), int(seed), Path(folder))))
        return 0
    if argv[:1] == ["--environment"]:
        print(json.dumps(_environment()))
        return 0

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=1_000_000, help="rows of companies (default 1,000,000)")
    parser.add_argument("--transactions", type=int, default=5_000_000,
                        help="rows of transactions (default 5,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; medians are shown (default 3)")
    parser.add_argument("--workdir", type=Path, help="folder for the generated files (kept and reused; default: a "
                                                     "temporary folder, deleted afterwards)")
    parser.add_argument("--only", choices=TABLES, help="benchmark one table only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write all runs and medians to FILE")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED})")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds allowed per measurement (default 3600)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    tables = [args.only] if args.only else list(TABLES)
    sizes = {t: {"companies": args.companies, "transactions": args.transactions}[t] for t in tables}
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="riskmodel-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = _run_self(["--environment"], timeout=600)
    print(f"riskmodel loader benchmark: {', '.join(f'{t} {n:,} rows' for t, n in sizes.items())}; "
          f"{args.repeats} run(s) each; {env['cpus']} CPUs; "
          + ", ".join(f"{k} {v}" for k, v in env["versions"].items()), flush=True)
    try:
        manifest = prepare_files(workdir, sizes, args.seed)
        results = []
        for table in tables:
            entry = manifest[table]
            for fmt in FORMATS:
                path = Path(entry["files"][fmt])
                runs: dict[str, list[dict[str, Any]]] = {reader: [] for reader in READERS}
                for i in range(args.repeats):
                    for reader in READERS:
                        report = run_child(reader, table, path, args.timeout)
                        runs[reader].append(report)
                        shown = report.get("error") or (f"{report['total_s']:.2f} s, peak {report['peak_mib']:,.0f}"
                                                        f" MiB")
                        print(f"  {table} {fmt} {reader} run {i + 1}/{args.repeats}: {shown}", flush=True)
                for reader in READERS:
                    median = summarise(runs[reader])
                    if reader == "loader" and "error" not in median and median["quarantined"] != entry["bad_rows"]:
                        print(f"  WARNING: {table} {fmt}: {median['quarantined']:,} rows quarantined, "
                              f"{entry['bad_rows']:,} planted", flush=True)
                    results.append({"table": table, "format": fmt, "reader": reader, "rows": entry["rows"],
                                    "bad_rows_planted": entry["bad_rows"], "file_mib": entry["mib"][fmt],
                                    "median": median, "runs": runs[reader]})
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    parent_mib = _maxrss_mib()
    print()
    print(render(results))
    print(f"\npeak RSS of the benchmark's parent process: {parent_mib:,.0f} MiB (a child's ru_maxrss cannot be lower)")
    hwm_gap = [abs(r["median"]["peak_mib"] - r["median"]["vmhwm_mib"]) for r in results
               if "error" not in r["median"] and r["median"].get("vmhwm_mib") is not None]
    if hwm_gap:
        print(f"ru_maxrss vs the child's own VmHWM: largest difference {max(hwm_gap):,.0f} MiB")
    if args.json:
        args.json.write_text(json.dumps({"config": {**vars(args), "workdir": str(args.workdir),
                                                    "json": str(args.json)},
                                         "environment": env, "results": results}, indent=2), encoding="utf-8")
        print(f"\nresults written to {args.json}")
    return 0 if all("error" not in r["median"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
