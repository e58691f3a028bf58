"""The ``riskmodel`` command line: a thin adapter over the library.

Exit codes: 0 success (data clean), 1 data problems (rows quarantined or tables rejected) or a riskmodel error,
2 usage error, 3 internal error (a bug: please report it with ``--debug`` output).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from riskmodel import __version__
from riskmodel.contract import TABLES, Dataset, load_dataset, validate_dataset
from riskmodel.errors import RiskmodelError
from riskmodel.jobs.command import jobs_worker

__all__ = ["app", "main"]

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

app = typer.Typer(
    name="riskmodel",
    help="Advisory risk scores for organised-crime infiltration of businesses, for human review.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
err_console = Console(stderr=True)
_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        console.print(f"riskmodel {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Advisory risk scores for organised-crime infiltration of businesses, for human review."""
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else (logging.INFO if verbose else logging.WARNING),
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )


def _summary_table(dataset: Dataset) -> Table:
    table = Table(title=f"Data set {dataset.root}", title_justify="left")
    for name in ("table", "file", "read", "kept", "quarantined", "rejected", "status"):
        table.add_column(name, justify="right" if name in ("read", "kept", "quarantined", "rejected") else "left")
    for row in dataset.summary.itertuples(index=False):
        style = {"ok": "green", "absent": "yellow"}.get(str(row.status), "red")
        table.add_row(str(row.table), str(row.file or "-"), f"{row.rows_read:,}", f"{row.rows_kept:,}",
                      f"{row.rows_quarantined:,}", f"{row.rows_rejected:,}", f"[{style}]{row.status}[/{style}]")
    return table


def _problems_table(dataset: Dataset, limit: int) -> Table:
    problems = dataset.problems
    order = problems["level"].map({"table": 0, "row": 1, "warning": 2})
    shown = problems.assign(_o=order).sort_values(["_o", "table", "row"], kind="stable").head(limit)
    table = Table(title=f"Problems ({len(problems):,})", title_justify="left", show_lines=False)
    for name in ("level", "table", "row", "column", "value", "rule", "problem"):
        table.add_column(name, overflow="fold")
    for row in shown.itertuples(index=False):
        cells = ["" if pd.isna(v) else str(v) for v in (row.level, row.table, row.row, row.column, row.value)]
        table.add_row(*cells[:4], cells[4][:60], str(row.rule), str(row.message))
    return table


@app.command()
def validate(
    data_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, dir_okay=True, readable=True, metavar="DATA_DIR",
        help="Folder of contract tables (TABLE.csv or TABLE.parquet).")],
    quarantine_dir: Annotated[Path | None, typer.Option(
        help="Write quarantine/<table>.csv files (bad rows with reasons) into this folder.")] = None,
    problems_csv: Annotated[Path | None, typer.Option(help="Write every problem found to this CSV file.")] = None,
    max_problems: Annotated[int, typer.Option(min=0, help="Problems to print on the terminal.")] = 50,
) -> None:
    """Check a data set against the data contract and report every problem at once."""
    dataset = validate_dataset(data_dir)
    console.print(_summary_table(dataset))
    if dataset.extract_date is not None:
        console.print(f"Extract date: {dataset.extract_date}" + (
            "" if "extract_date" in dataset.metadata else " (latest event date; no dataset.json)"))
    if len(dataset.problems):
        console.print(_problems_table(dataset, max_problems))
        if len(dataset.problems) > max_problems:
            console.print(f"... {len(dataset.problems) - max_problems:,} more: use --problems-csv to see them all")
    if quarantine_dir is not None:
        for path in dataset.write_quarantine(quarantine_dir):
            console.print(f"wrote {path}")
    if problems_csv is not None:
        problems_csv.parent.mkdir(parents=True, exist_ok=True)
        dataset.problems.to_csv(problems_csv, index=False)
        console.print(f"wrote {problems_csv}")
    if dataset.is_clean:
        console.print("[green]The data set meets the contract.[/green]")
        raise typer.Exit(EXIT_OK)
    console.print(f"[red]{dataset.rows_quarantined:,} row(s) quarantined; "
                  f"{len(dataset.rejected_tables)} table(s) rejected.[/red]")
    raise typer.Exit(EXIT_PROBLEMS)


@app.command()
def contract(
    table: Annotated[str | None, typer.Argument(help="Show one table only.")] = None,
) -> None:
    """Print the input data contract: tables, columns, types and allowed values."""
    names = [table] if table else list(TABLES)
    for name in names:
        if name not in TABLES:
            err_console.print(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
            raise typer.Exit(EXIT_USAGE)
        spec = TABLES[name]
        grid = Table(title=f"{name}: {spec.description} (key: {', '.join(spec.key)})", title_justify="left")
        for col_name in ("column", "type", "required", "allowed values", "notes"):
            grid.add_column(col_name, overflow="fold")
        for col in spec.columns:
            marks = [m for m, on in (("snapshot", col.snapshot), ("event", col.event), ("protected", col.protected),
                                     ("non-negative", col.non_negative)) if on]
            grid.add_row(col.name, col.dtype.value, "no" if col.nullable else "yes", ", ".join(col.allowed or ()),
                         "; ".join([*marks, col.description]))
        console.print(grid)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Folder for the demo's data and outputs.")] = Path("riskmodel-demo"),
    businesses: Annotated[int, typer.Option(min=100, help="Businesses in the synthetic world.")] = 20_000,
    train_model: Annotated[bool, typer.Option("--train/--no-train", help="Train and register a model.")] = True,
) -> None:
    """Run the main job end to end on the embedded default: synthetic world, contract check, training, scoring."""
    from riskmodel.config import load_config
    from riskmodel.registry import promote as run_promotion
    from riskmodel.synth import SynthConfig, generate
    from riskmodel.tracking import tracking_uri
    from riskmodel.training.track import train as run_training

    data_dir = workdir / "synth"
    steps = 4 if train_model else 2
    console.print(f"1/{steps} Generating a synthetic world of {businesses:,} businesses into {data_dir}")
    generate(data_dir, SynthConfig(businesses=businesses, seed=0))
    console.print(f"2/{steps} Checking it against the data contract")
    dataset = validate_dataset(data_dir)
    console.print(_summary_table(dataset))
    if not dataset.is_clean:
        console.print(_problems_table(dataset, 50))
        raise typer.Exit(EXIT_PROBLEMS)
    if train_model:
        console.print(f"3/{steps} Training the default experiment (MLflow store: {tracking_uri()})")
        result = run_training(data_dir, load_config())
        keys = ["pr_auc", "roc_auc", "precision_at_100", "recall_at_top_1pct", "brier", "positives", "businesses"]
        console.print(_measures_table("Evaluation set", {k: result.metrics.get(k, float("nan")) for k in keys}))
        console.print("A small world has few businesses labelled after the training date, so these figures are "
                      "noisy; benchmarks/eval_training.py measures against the synthetic truth.")
        promotion = run_promotion(data_dir)
        console.print(f"riskmodel version {result.model_version} is challenger"
                      + (" and champion" if promotion.promoted else "") + "; browse runs with: riskmodel ui")
        from riskmodel.scoring.batch import run_score_job

        console.print(f"4/{steps} Scoring every business with version {result.model_version}")
        job = run_score_job(data_dir, f"models:/riskmodel/{result.model_version}", workdir / "scores")
        console.print(f"Open the officers' report: {(job.out / 'report.html').resolve()}")
    console.print("[green]Demo complete.[/green] "
                  "(The bundled hand-made example: riskmodel validate on riskmodel/data/example.)")


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the data set into (truth goes to OUT/_truth).")] = Path(
        "synth-data"),
    businesses: Annotated[int, typer.Option(min=1, help="Number of businesses.")] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed: the same seed gives identical files.")] = 0,
    file_format: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    chunk_size: Annotated[int, typer.Option(min=100, help="Businesses generated per chunk.")] = 50_000,
    compare_real: Annotated[Path | None, typer.Option(
        help="After generating, compare distributions with the real data in this folder (e.g. ../shared/realdata)."
    )] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Generate a synthetic world with a latent organised-crime process (fictional data)."""
    from rich.progress import Progress

    from riskmodel.synth import SynthConfig, generate

    cfg = SynthConfig(businesses=businesses, seed=seed, chunk_size=chunk_size)
    with Progress(console=err_console, disable=quiet, transient=True) as bar:
        task = bar.add_task("generating", total=businesses)
        counts = generate(out, cfg, file_format, progress=lambda done, _total: bar.update(task, completed=done))
    grid = Table(title=f"Synthetic data set {out} (seed {seed})", title_justify="left")
    grid.add_column("table")
    grid.add_column("rows", justify="right")
    for name, rows in counts.items():
        grid.add_row(name, f"{rows:,}")
    console.print(grid)
    if compare_real is not None:
        from riskmodel.synth.compare import compare_real as run_compare

        result = run_compare(out, compare_real)
        for title, frame in (("Quantiles (target: within 30%)", result.quantiles),
                             ("SIC division shares, % (target: within 2 points)", result.divisions),
                             ("Procurement method, %", result.procurement),
                             ("Licence status, % (real: Gambling Commission register)", result.licence_status),
                             ("Sections of infiltrated businesses vs Italian confiscated companies, %",
                              result.infiltrated_sections.reset_index(names="section"))):
            console.print(_frame_table(title, frame))
        console.print("[green]calibration targets met[/green]" if result.passed else
                      "[yellow]some calibration targets missed (see pass column)[/yellow]")


@app.command("drift")
def drift_command(
    synthetic: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A synthetic data set folder.")],
    real: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="A real data set folder (e.g. imported).")],
    feature_set: Annotated[str, typer.Option("--features", help="Feature set or comma-separated features.")] = "all",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the whole report (with bins) as JSON.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="List features without real evidence too.")] = False,
) -> None:
    """Compare a synthetic data set with a real one: population stability index per feature and column."""
    import json

    from riskmodel.synth.drift import drift_report

    names: list[str] | str = feature_set.split(",") if "," in feature_set else feature_set
    report = drift_report(synthetic, real, names=names)
    shown = report.features if show_all else report.features[report.features["status"] == "compared"]
    cols = ["feature", "status", "psi", "level", "synthetic_present", "real_present", "synthetic_median",
            "real_median", "worst_bin"]
    console.print(_frame_table(f"Features: {report.synthetic_businesses:,} synthetic businesses as of "
                               f"{report.synthetic_as_of}, {report.real_businesses:,} real as of {report.real_as_of}",
                               shown[cols].round(3)))
    absent = int((report.features["status"] != "compared").sum())
    if absent and not show_all:
        console.print(f"{absent} features have no real evidence (their sources hold nothing about the real "
                      "businesses, or they are missing for all of them); --all lists them.")
    console.print(_frame_table("Source columns (PSI over present values)", report.columns.round(3)))
    if json_out is not None:
        payload = {"synthetic_as_of": str(report.synthetic_as_of), "real_as_of": str(report.real_as_of),
                   "features": report.features.to_dict("records"), "columns": report.columns.to_dict("records"),
                   "bins": {k: v.to_dict("records") for k, v in {**report.bins, **report.column_bins}.items()}}
        json_out.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
        console.print(f"wrote {json_out}")


@app.command("features")
def features_command(
    data_dir: Annotated[Path | None, typer.Argument(
        exists=True, file_okay=False, dir_okay=True, metavar="DATA_DIR", help="Folder of contract tables.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Point in time of the features, YYYY-MM-DD.")] = None,
    out: Annotated[Path | None, typer.Option(help="Output file (.parquet or .csv).")] = None,
    feature_set: Annotated[str, typer.Option(
        help="Feature set: all, family:<module> or without:<module>.")] = "all",
    list_features: Annotated[bool, typer.Option("--list", help="Print the feature catalogue and exit.")] = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    scheduler: Annotated[str | None, typer.Option(help=SCHEDULER_HELP)] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Businesses per partition (--engine dask).")] = 20_000,
) -> None:
    """Build point-in-time features per business (or list the feature catalogue)."""
    import datetime as dt

    import features as feature_pipelines

    if list_features:
        feature_pipelines.load_families()
        grid = Table(title=f"Feature catalogue ({len(feature_pipelines.CATALOGUE)} features)", title_justify="left")
        for col_name in ("feature", "family", "sources", "direction", "rationale", "reference"):
            grid.add_column(col_name, overflow="fold")
        for spec in feature_pipelines.CATALOGUE.values():
            grid.add_row(spec.name + (" (data quality)" if spec.data_quality else ""), spec.family,
                         ", ".join(spec.sources), spec.direction, spec.rationale, spec.reference)
        console.print(grid)
        return
    if data_dir is None or as_of is None or out is None:
        err_console.print("DATA_DIR, --as-of and --out are required (or use --list)")
        raise typer.Exit(EXIT_USAGE)
    try:
        when = dt.date.fromisoformat(as_of)
    except ValueError:
        err_console.print(f"--as-of {as_of!r} is not a date as YYYY-MM-DD")
        raise typer.Exit(EXIT_USAGE) from None
    if out.suffix.lower() not in (".parquet", ".csv"):
        err_console.print(f"--out {out} must end in .parquet or .csv")
        raise typer.Exit(EXIT_USAGE)
    engine, scheduler = _engine(engine, scheduler)
    if engine == "dask":
        if out.suffix.lower() != ".parquet":
            err_console.print(f"--engine dask writes partitioned parquet: --out {out} must end in .parquet")
            raise typer.Exit(EXIT_USAGE)
        from riskmodel.distributed import features_job

        try:
            names = feature_pipelines.feature_set(feature_set)
        except KeyError as exc:
            err_console.print(f"unknown feature set or feature: {exc}")
            raise typer.Exit(EXIT_USAGE) from None
        businesses, quarantined = features_job(data_dir, when, names, out, scheduler=scheduler,
                                               chunk_size=chunk_size, announce=console.print, show_progress=True)
        console.print(f"wrote {businesses:,} businesses x {len(names)} features as of {when} to {out} "
                      "(partitioned parquet)")
        if quarantined:
            console.print(f"[yellow]{quarantined:,} input rows were quarantined (see riskmodel validate)[/yellow]")
        return
    dataset = load_dataset(data_dir)
    try:
        frame = feature_pipelines.build(dataset, when, feature_set)
    except KeyError as exc:
        err_console.print(f"unknown feature set or feature: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    from riskmodel.errors import writing
    from riskmodel.files import atomic_write

    with writing(out):  # disk full, no permission: an error naming the file, not a crash
        out.parent.mkdir(parents=True, exist_ok=True)
    # Never a half-written file under the final name.
    atomic_write(out, frame.to_parquet if out.suffix.lower() == ".parquet" else frame.to_csv)
    console.print(f"wrote {len(frame):,} businesses x {frame.shape[1]} features as of {when} to {out}")
    if dataset.rows_quarantined:
        console.print(f"[yellow]{dataset.rows_quarantined:,} input rows were quarantined (see riskmodel validate)"
                      "[/yellow]")


ENGINE_HELP = "Where the job runs: local (this process) or dask (a cluster; see --scheduler)."
SCHEDULER_HELP = ("Dask scheduler address, e.g. tcp://host:8786 (default: $DASK_SCHEDULER_ADDRESS, else a "
                  "LocalCluster sized to this machine).")


def _engine(engine: str, scheduler: str | None) -> tuple[str, str | None]:
    from riskmodel.engine import resolve_engine

    try:
        return resolve_engine(engine, scheduler)
    except RiskmodelError as exc:
        err_console.print(str(exc))
        raise typer.Exit(EXIT_USAGE) from None


def _parse_date(option: str, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        err_console.print(f"{option} {value!r} is not a date as YYYY-MM-DD")
        raise typer.Exit(EXIT_USAGE) from None


def _measures_table(title: str, measures: dict[str, float]) -> Table:
    grid = Table(title=title, title_justify="left")
    grid.add_column("measure")
    grid.add_column("value", justify="right")
    for key, value in measures.items():
        grid.add_row(key, "n/a" if pd.isna(value) else (f"{value:,.0f}" if float(value).is_integer() and abs(value) > 1
                                                          else f"{value:.4f}"))
    return grid


@app.command()
def train(
    data_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, dir_okay=True, metavar="DATA_DIR",
        help="Folder of contract tables, with labels.")],
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", exists=True, dir_okay=False,
        help="Experiment TOML (default experiments/default.toml).")] = None,
    as_of: Annotated[str | None, typer.Option(help="Training date YYYY-MM-DD (overrides data.as_of).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a config value: section.key=value (TOML value), repeatable.")] = None,
    no_register: Annotated[bool, typer.Option("--no-register", help="Log the run without registering the model.")
                           ] = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    scheduler: Annotated[str | None, typer.Option(help=SCHEDULER_HELP)] = None,
) -> None:
    """Train, evaluate and track a model in MLflow; register it as riskmodel@challenger."""
    from riskmodel.config import load_config
    from riskmodel.tracking import tracking_uri
    from riskmodel.training.track import train as run_training

    overrides = list(set_ or [])
    if as_of is not None:
        _parse_date("--as-of", as_of)
        overrides.append(f"data.as_of={as_of}")
    cfg = load_config(config, overrides)
    console.print(f"Training experiment {cfg.name!r} on {data_dir} (MLflow: {tracking_uri()})")
    engine, scheduler = _engine(engine, scheduler)
    result = run_training(data_dir, cfg, register=not no_register, engine=engine, scheduler=scheduler,
                          announce=console.print, show_progress=True)
    fm = result.fitted
    console.print(f"training date {fm.as_of}; validation window to {fm.validation_end}; "
                  f"{len(fm.index):,} businesses; {int((fm.status == 1).sum()):,} positives known at the training date")
    keys = ["pr_auc", "roc_auc", "precision_at_50", "precision_at_100", "precision_at_500", "recall_at_top_1pct",
            "brier", "positives", "businesses", "explanations_per_second", "trees"]
    console.print(_measures_table("Evaluation set (businesses unlabelled at the training date; positives = labelled "
                                  "after it)", {k: result.metrics.get(k, float("nan")) for k in keys}))
    where = f"registered as riskmodel version {result.model_version} (alias challenger)" if result.model_version \
        else "not registered"
    console.print(f"run {result.run_id}; {where}. Compare runs with: riskmodel ui")


@app.command()
def score(
    data_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, dir_okay=True, metavar="DATA_DIR", help="Folder of contract tables.")],
    out: Annotated[Path, typer.Option(help="Output folder (scores, quarantine, manifest, report).")],
    model: Annotated[str, typer.Option(help="MLflow model URI or exported model folder.")
                     ] = "models:/riskmodel@champion",
    as_of: Annotated[str | None, typer.Option(help="Scoring date YYYY-MM-DD (default: the extract date).")] = None,
    explain: Annotated[str, typer.Option(help="Reasons for: all, flagged (above the lowest band) or none.")] = "all",
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted job from its last chunk.")
                      ] = False,
    chunk_size: Annotated[int, typer.Option(min=1, help="Businesses per chunk.")] = 20_000,
    top: Annotated[int, typer.Option(min=1, help="Businesses shown in detail in the report.")] = 50,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "local",
    scheduler: Annotated[str | None, typer.Option(help=SCHEDULER_HELP)] = None,
) -> None:
    """Score every business of DATA_DIR: ranked scores with reasons, quarantine, manifest and an HTML report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from riskmodel.scoring.batch import run_score_job
    from riskmodel.scoring.core import EXPLAIN_MODES

    if explain not in EXPLAIN_MODES:
        err_console.print(f"--explain must be one of {', '.join(EXPLAIN_MODES)}, got {explain!r}")
        raise typer.Exit(EXIT_USAGE)
    when = _parse_date("--as-of", as_of)
    engine, scheduler = _engine(engine, scheduler)
    with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, disable=quiet, transient=True) as bar:
        task = bar.add_task("chunks", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_score_job(data_dir, model, out, as_of=when, explain=explain, resume=resume,
                               chunk_size=chunk_size, top_n=top, progress=progress, engine=engine,
                               scheduler=scheduler, announce=None if quiet else err_console.print)
    if not quiet:
        m = result.manifest
        console.print(f"scored {m['businesses_scored']:,} businesses as of {m['as_of']} with riskmodel version "
                      f"{m['model']['version']}: " + ", ".join(f"{k} {v:,}" for k, v in m["bands"].items()))
        console.print(f"wrote {out}/scores.parquet, scores.csv, quarantine.csv, report.html, manifest.json")


@app.command()
def serve(
    reference: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Reference data set.")],
    keys: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="API key file (riskmodel add-key).")],
    model: Annotated[str, typer.Option(help="MLflow model URI or exported model folder.")
                     ] = "models:/riskmodel@champion",
    audit_log: Annotated[Path, typer.Option(help="JSON-lines audit log to append to.")] = Path("riskmodel-audit.jsonl"),
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    max_body_bytes: Annotated[int, typer.Option(min=1024, help="Largest accepted request body.")] = 65_536,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads the model and reference).")] = 1,
    audit_failure: Annotated[str, typer.Option(
        help="When an audit line cannot be written: 'refuse' the call with 503 (no unaudited scores) or 'serve' it "
             "and log it as unaudited.")] = "refuse",
    jobs_dir: Annotated[Path | None, typer.Option(
        file_okay=False, envvar="RISKMODEL_JOBS_DIR",
        help="Also run the batch job service (/v1/jobs and the officers' pages at /jobs) with its database and "
             "files in this folder, and its worker processes.")] = None,
    jobs_config: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, envvar="RISKMODEL_JOBS_CONFIG",
        help="Job service TOML: limits, models offered, key scopes (see docs/officers.md).")] = None,
) -> None:
    """Serve scores over authenticated HTTP (POST /v1/score, /v1/score/batch; GET /v1/model, /health, /docs)."""
    import os

    import uvicorn

    from riskmodel.service import AUDIT_FAILURE, load_keys

    if audit_failure not in AUDIT_FAILURE:
        err_console.print(f"--audit-failure must be one of {', '.join(AUDIT_FAILURE)}, got {audit_failure!r}")
        raise typer.Exit(EXIT_USAGE)
    load_keys(keys)  # fail here, not in every worker, on a bad key file
    os.environ.update({"RISKMODEL_SERVE_MODEL": str(model), "RISKMODEL_SERVE_REFERENCE": str(reference),
                       "RISKMODEL_SERVE_KEYS": str(keys), "RISKMODEL_SERVE_AUDIT_LOG": str(audit_log),
                       "RISKMODEL_SERVE_MAX_BODY_BYTES": str(max_body_bytes),
                       "RISKMODEL_SERVE_AUDIT_FAILURE": audit_failure})
    pool = None
    if jobs_dir is not None:  # the job service: its settings checked here, its workers started by this process
        from riskmodel.jobs.pool import WorkerPool
        from riskmodel.jobs.settings import JobSettings

        jobs = JobSettings.load(jobs_dir, jobs_config, served_model=str(model))
        jobs.root.mkdir(parents=True, exist_ok=True)
        os.environ.update({"RISKMODEL_JOBS_DIR": str(jobs_dir), "RISKMODEL_JOBS_CONFIG": str(jobs_config or "")})
        pool = WorkerPool(jobs_dir, jobs_config, jobs.workers)
        pool.start()
        console.print(f"job service: pages at http://{host}:{port}/jobs, {jobs.workers} job worker(s), "
                      f"jobs in {jobs_dir}")
    else:
        os.environ.pop("RISKMODEL_JOBS_DIR", None)
    console.print(f"serving on http://{host}:{port} with {workers} worker(s) once the reference data are scored "
                  "(docs at /docs)")
    try:
        uvicorn.run("riskmodel.service:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)  # the audit log is the record of calls
    finally:
        if pool is not None:
            pool.stop()


app.command("jobs-worker")(jobs_worker)


@app.command("add-key")
def add_key_command(
    key_id: Annotated[str, typer.Argument(help="Name of the client the key is for (recorded in the audit log).")],
    keys: Annotated[Path, typer.Option(dir_okay=False, help="API key file to add to.")] = Path("riskmodel-keys.json"),
) -> None:
    """Create an API key for the HTTP service: the key is printed once, only its SHA-256 hash is stored."""
    from riskmodel.service import add_key

    console.print(add_key(keys, key_id))
    err_console.print(f"stored the hash of {key_id!r}'s key in {keys}; the key above is not stored anywhere")


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port of the MLflow UI.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Open the MLflow UI on the tracking store riskmodel uses."""
    import os
    import shutil as sh

    from riskmodel.tracking import artifact_root, tracking_uri

    # The mlflow installed beside this interpreter (the one riskmodel imports) before any other on PATH.
    beside = Path(sys.executable).with_name("mlflow")
    exe = str(beside) if beside.is_file() else (sh.which("mlflow") or str(beside))
    args = [exe, "ui", "--backend-store-uri", tracking_uri(), "--host", host, "--port", str(port)]
    root = artifact_root()
    if root:
        args += ["--default-artifact-root", root]
    console.print(" ".join(args))
    os.execv(exe, args)  # noqa: S606 -- an argv list, no shell: host and port reach mlflow only as option values


@app.command()
def promote(
    data_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, dir_okay=True, metavar="DATA_DIR", help="Data to compare the models on.")],
    force: Annotated[bool, typer.Option("--force", help="Promote even if the challenger is worse (recorded).")
                     ] = False,
    as_of: Annotated[str | None, typer.Option(help="Compare on labels after this date (default: the later "
                                                   "training date of the two models).")] = None,
) -> None:
    """Make the challenger the champion if it ranks at least as well as the champion on the same data."""
    from riskmodel.registry import promote as run_promotion

    result = run_promotion(data_dir, force=force, as_of=_parse_date("--as-of", as_of))
    champion = "none" if result.champion_pr_auc is None else f"{result.champion_pr_auc:.4f}"
    console.print(f"compared on {result.businesses:,} businesses unlabelled at {result.as_of} "
                  f"({result.positives} labelled positive after it): challenger v{result.challenger_version} "
                  f"PR-AUC {result.challenger_pr_auc:.4f}, champion "
                  f"{'v' + result.champion_version if result.champion_version else ''} {champion}")
    if result.promoted:
        console.print(f"[green]champion -> version {result.challenger_version}[/green]"
                      + (" (forced; recorded on the version)" if result.forced else ""))
    else:
        console.print("[yellow]not promoted: the challenger ranks worse than the champion (use --force to "
                      "override; it is recorded)[/yellow]")
        raise typer.Exit(EXIT_PROBLEMS)


@app.command("export")
def export_command(
    model: Annotated[str, typer.Argument(help="Alias, version or models:/ URI (e.g. champion, 3).")] = "champion",
    out: Annotated[Path, typer.Option(help="Parent folder of the exported model.")] = Path("models"),
) -> None:
    """Write a registered model version to OUT/riskmodel-<version>/ for offline use (checksums verified)."""
    from riskmodel.registry import export_model

    folder = export_model(model, out)
    console.print(f"exported to {folder} (model.txt, metadata.json, checksums.sha256)")


@app.command("import")
def import_command(
    format_name: Annotated[str, typer.Argument(metavar="FORMAT", help=(
        "Source format: ocds, bods, ch-companies, ch-accounts, licence-register, watchlist or amlsim."))],
    sources: Annotated[list[Path], typer.Argument(
        exists=True, file_okay=True, dir_okay=False, readable=True, metavar="SOURCE...", help="Source files.")],
    out: Annotated[Path, typer.Option(help="Data set folder to write the contract tables into.")],
    mapping: Annotated[str | None, typer.Option(
        help="licence-register: a column mapping (TOML file) or a built-in one (gambling-commission).")] = None,
    extract_date: Annotated[str | None, typer.Option(
        help="Date the sources were extracted, YYYY-MM-DD (written to dataset.json; never guessed).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace tables already in --out.")] = False,
    start_date: Annotated[str | None, typer.Option(
        help="amlsim: the date of step 0, YYYY-MM-DD (default 2017-01-01, AMLSim's own).")] = None,
    prefix: Annotated[str | None, typer.Option(
        help="amlsim: prefix of the account ids (default AMLSIM-), to keep two runs apart in one data set.")] = None,
) -> None:
    """Import public-format files (OCDS, BODS, Companies House, registers, lists) into contract tables."""
    from rich.markup import escape

    from riskmodel.importers import import_sources

    options: dict[str, object] = {"mapping": mapping} if mapping is not None else {}
    if start_date is not None:
        options["start_date"] = _parse_date("--start-date", start_date)
    if prefix is not None:
        options["prefix"] = prefix
    result = import_sources(format_name, list(sources), out, options, overwrite=overwrite,
                            extract_date=_parse_date("--extract-date", extract_date))
    manifest = result.manifest
    grid = Table(title=f"riskmodel import {format_name} -> {out}", title_justify="left")
    for column in ("source", "records in", "mapped", "quarantined"):
        grid.add_column(column, justify="left" if column == "source" else "right")
    for name, counts in manifest["sources"].items():
        grid.add_row(name, *(f"{counts.get(k, 0):,}" for k in ("records_in", "records_mapped", "records_quarantined")))
    console.print(grid)
    tables = Table(title="Tables", title_justify="left")
    for column in ("table", "rows mapped", "written", "quarantined"):
        tables.add_column(column, justify="left" if column == "table" else "right")
    for name, counts in manifest["tables"].items():
        tables.add_row(name, *(f"{counts[k]:,}" for k in ("rows_mapped", "rows_written", "rows_quarantined")))
    console.print(tables)
    for reason in manifest["top_reasons"][:5]:
        console.print(f"  {reason['count']:,} x {escape(reason['reason'])}")
    for warning in manifest["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    console.print(f"Quarantine and manifest: {out / 'imports' / format_name}")


def _frame_table(title: str, frame: pd.DataFrame) -> Table:
    grid = Table(title=title, title_justify="left")
    shown = frame.reset_index() if not isinstance(frame.index, pd.RangeIndex) else frame
    for col in shown.columns:
        grid.add_column(str(col))
    for row in shown.itertuples(index=False):
        grid.add_row(*("" if pd.isna(v) else str(v) for v in row))
    return grid


def main() -> None:
    """Entry point: run the CLI, turning errors into messages and exit codes instead of tracebacks.

    Usage errors are handled by typer itself (message and exit code 2); what reaches this function is either a
    riskmodel error (a message and exit code 1) or a bug (exit code 3, traceback only with ``--debug``).
    """
    try:
        app()
    except RiskmodelError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        sys.exit(EXIT_PROBLEMS)
    except Exception as exc:  # the last line of defence against tracebacks for users
        if _state["debug"]:
            raise
        err_console.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc}\n"
                          "This is a bug in riskmodel; run again with --debug and report the output.")
        sys.exit(EXIT_INTERNAL)
