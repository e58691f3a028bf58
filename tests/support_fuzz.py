"""Running ``riskmodel`` commands on generated data sets through the real entry point, and judging the outcome.

A command may succeed (exit 0, bad rows quarantined) or stop with a clear message (exit 1, or 2 for a usage error);
it may never crash (exit 3, "internal error") or print a Python traceback, and it may never lose a row silently.
The ``check_*`` functions hold every run to that, using what the generator recorded about each mutation
(:class:`strategies.Mutation`) and the library's own validation of the same files for the counts.

Examples tried are counted per test (:class:`Tally`); set ``RISKMODEL_FUZZ_REPORT`` to a JSON file to collect the
counts, and ``RISKMODEL_FUZZ_EXAMPLES`` to raise the number of examples (a campaign: that many for validate,
features and score, a tenth of it for train).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import math
import os
import re
import subprocess
import sys
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, Phase, settings
from strategies import GeneratedDataset

from riskmodel.contract import Dataset, validate_dataset

__all__ = ["TRACEBACK", "Run", "Tally", "check_features", "check_score", "check_train", "check_validate",
           "fuzz_settings", "run_main", "run_subprocess"]

log = logging.getLogger("riskmodel.fuzz")

TRACEBACK = "Traceback (most recent call last)"


def fuzz_settings(default: int, share: float = 1.0, *, shrink: bool = True) -> settings:
    """Reproducible settings: ``default`` examples, or ``share`` of the campaign's ``RISKMODEL_FUZZ_EXAMPLES``.

    A command's examples are split between tests (one per mutation kind: ``share=1/9``; train takes a tenth; tests
    of the generators themselves, ``share=0``, keep their default).
    ``shrink=False`` for commands that take seconds a run: a failure already names its mutations, and shrinking
    would rerun the command hundreds of times.
    """
    raw = os.environ.get("RISKMODEL_FUZZ_EXAMPLES", "")
    wanted = math.ceil(int(raw) * share) if raw.strip() else default
    phases = [p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain)]
    return settings(max_examples=max(default, wanted), deadline=None, derandomize=True, database=None, phases=phases,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example, HealthCheck.filter_too_much])


@dataclass
class Run:
    """A finished command: exit code and what it printed."""

    args: list[str]
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"riskmodel {' '.join(self.args)} -> exit {self.code}\n--- stdout\n{self.stdout[-3000:]}\n"
                f"--- stderr\n{self.stderr[-3000:]}")

    @property
    def message(self) -> str:
        """Standard error on one line (rich wraps long lines)."""
        return " ".join(self.stderr.split())


def run_main(args: list[str]) -> Run:
    """Run ``riskmodel ARGS`` in this process through :func:`riskmodel.cli.main` (its error handling included)."""
    from riskmodel import cli

    out, err = io.StringIO(), io.StringIO()
    argv, widths = sys.argv, (cli.console._width, cli.err_console._width)
    sys.argv = ["riskmodel", *args]
    # Wide consoles: the tables and messages then hold each name on one line.
    cli.console._width = cli.err_console._width = 400
    code: int
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
        cli.console._width, cli.err_console._width = widths
    return Run(list(args), code, out.getvalue(), err.getvalue())


def run_subprocess(args: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``python -m riskmodel ARGS`` as a real process (the installed entry point, a fresh interpreter)."""
    done = subprocess.run([sys.executable, "-m", "riskmodel", *args], capture_output=True, text=True, check=False,
                          env={"COLUMNS": "400", "PATH": "/usr/bin:/bin", **(env or {})}, timeout=600)
    return Run(list(args), done.returncode, done.stdout, done.stderr)


@dataclass
class Tally:
    """Examples tried by one test, their exit codes, the mutations they carried and the messages they stopped with."""

    test: str
    examples: int = 0
    exit_codes: Counter[int] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)

    def add(self, data: GeneratedDataset, run: Run) -> None:
        """Count one example."""
        self.examples += 1
        self.exit_codes[run.code] += 1
        self.kinds.update(m.kind for m in data.mutations)
        self.formats.update(data.formats.values())
        if run.code and run.stderr.strip():
            # The message's first line without numbers and paths: the kinds of stops, not each instance.
            first = run.message.split(" - ")[0]
            self.messages[re.sub(r"\d+", "N", re.sub(r"/\S+", "PATH", first))[:160]] += 1

    def __enter__(self) -> Tally:
        return self

    def __exit__(self, *_: object) -> None:
        self.publish()  # the counts are published even when an example fails

    def publish(self) -> None:
        """Log the counts, and add them to the JSON file named by ``RISKMODEL_FUZZ_REPORT`` (one key per test)."""
        record = {"examples": self.examples, "exit_codes": {str(k): v for k, v in sorted(self.exit_codes.items())},
                  "mutation_kinds": dict(sorted(self.kinds.items())), "formats": dict(self.formats),
                  "messages": dict(self.messages.most_common())}
        log.info("%s: %d generated inputs tried; exit codes %s", self.test, self.examples, record["exit_codes"])
        target = os.environ.get("RISKMODEL_FUZZ_REPORT")
        if target:
            path = Path(target)
            report = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
            report[self.test] = record
            path.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")


def _no_crash(run: Run, data: GeneratedDataset) -> str:
    context = f"--- data set\n{data.describe()}\n{run}"
    assert TRACEBACK not in run.stdout + run.stderr, context
    assert run.code in (0, 1, 2), context
    assert "internal error" not in run.stderr, context
    return context


def _names_every_rejected_table(text: str, dataset: Dataset, context: str) -> None:
    flat = " ".join(text.split())
    for table in dataset.rejected_tables:
        assert table in flat, f"the message does not name the rejected table {table}\n{context}"


def _assert_rejections_expected(data: GeneratedDataset, dataset: Dataset, context: str) -> None:
    """Tables are rejected exactly when a mutation removed one of their columns."""
    assert set(dataset.rejected_tables) == set(data.rejected_tables()), (
        f"rejected {dataset.rejected_tables}, expected {sorted(data.rejected_tables())}\n"
        f"{dataset.problems[dataset.problems['level'] == 'table'].to_dict('records')}\n{context}")


def check_validate(data: GeneratedDataset, folder: Path, run: Run, quarantine_dir: Path) -> None:
    """``riskmodel validate``: counts balance, every bad row is quarantined, valid odd values are kept."""
    context = _no_crash(run, data)
    dataset = validate_dataset(folder)
    _assert_rejections_expected(data, dataset, context)
    assert run.code == (0 if dataset.is_clean else 1), context
    if run.code:
        _names_every_rejected_table(run.stdout, dataset, context)
        assert "row(s) quarantined" in run.stdout, context
    summary = dataset.summary.set_index("table")
    expected = data.expected_rows()
    flat = " ".join(run.stdout.split())
    for name, frame in data.tables.items():
        counts = summary.loc[name]
        assert counts["rows_read"] == len(frame), (name, context)
        assert counts["rows_read"] == counts["rows_kept"] + counts["rows_quarantined"] + counts["rows_rejected"]
        if name in data.rejected_tables():
            assert counts["rows_kept"] == counts["rows_quarantined"] == 0, (name, context)
            for column in data.rejected_tables()[name]:
                assert column in flat, (f"the report does not name the missing column {name}.{column}", context)
            continue
        assert counts["rows_rejected"] == 0, (name, context)
        quarantined = set(dataset.quarantine[name]["source_row"].astype(int))
        kept = set(dataset.tables[name].index.astype(int))
        assert not quarantined & kept and len(quarantined | kept) == len(frame), (name, context)
        for row, outcome in expected.get(name, {}).items():
            if outcome == "quarantine":
                assert row in quarantined, f"{name} row {row} carries a bad value but was kept\n{context}"
            elif outcome == "keep" and row not in kept:
                q = dataset.quarantine[name]
                reasons = q.loc[q["source_row"].astype(int) == row, "quarantine_reasons"].tolist()
                raise AssertionError(f"{name} row {row} holds a valid value but was quarantined: {reasons}\n{context}")
        written = quarantine_dir / f"{name}.csv"
        if quarantined:
            rows = pd.read_csv(written, usecols=["source_row"])["source_row"]
            assert set(rows) == quarantined, (name, context)
        else:
            assert not written.exists(), (name, context)


def _stopped_clearly(run: Run, dataset: Dataset, context: str) -> None:
    assert run.code == 1, context
    assert run.stderr.lstrip().startswith("error:"), context
    _names_every_rejected_table(run.stderr, dataset, context)


def _existing(dataset: Dataset, when: dt.date) -> set[str]:
    companies = dataset.tables["companies"]
    return set(companies.loc[companies["date_of_creation"] <= pd.Timestamp(when), "company_number"])


def check_features(data: GeneratedDataset, folder: Path, run: Run, out: Path, as_of: dt.date) -> None:
    """``riskmodel features``: one row per kept business that existed at ``as_of``, or a clear stop."""
    context = _no_crash(run, data)
    dataset = validate_dataset(folder)
    _assert_rejections_expected(data, dataset, context)
    if dataset.rejected_tables:
        _stopped_clearly(run, dataset, context)
        assert not out.exists(), context
        return
    assert run.code == 0, context
    if out.suffix == ".parquet":
        numbers = pd.read_parquet(out).index.to_series().astype(str)
    else:
        numbers = pd.read_csv(out, usecols=["company_number"], dtype=str, keep_default_na=False)["company_number"]
    assert numbers.is_unique, context
    assert set(numbers) == _existing(dataset, as_of), context
    if dataset.rows_quarantined:
        assert "input rows were quarantined" in " ".join(run.stdout.split()), context


def check_score(data: GeneratedDataset, folder: Path, run: Run, out: Path) -> None:
    """``riskmodel score``: every business of the input is in the scores or in quarantine.csv, counts balance."""
    context = _no_crash(run, data)
    dataset = validate_dataset(folder)
    _assert_rejections_expected(data, dataset, context)
    if dataset.rejected_tables:
        _stopped_clearly(run, dataset, context)
        assert not (out / "manifest.json").exists(), context
        return
    assert run.code == 0, context
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    when = dt.date.fromisoformat(manifest["as_of"])
    rows_in = len(data.tables["companies"])
    assert manifest["businesses_in"] == rows_in, context
    assert manifest["businesses_scored"] + manifest["businesses_rejected"] == rows_in, (manifest, context)
    scores = pd.read_parquet(out / "scores.parquet")
    assert scores["company_number"].is_unique and len(scores) == manifest["businesses_scored"], context
    scored = set(scores["company_number"])
    assert scored == _existing(dataset, when), context
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False)
    companies = quarantine[quarantine["table"] == "companies"]
    rows = companies.loc[companies["source_row"] != "", "source_row"].astype(int)
    assert set(rows) == set(dataset.quarantine["companies"]["source_row"].astype(int)), context
    not_scored = companies[companies["reason"].str.startswith("business not scored")]
    assert set(not_scored["company_number"]) == set(dataset.tables["companies"]["company_number"]) - scored, context
    assert len(scored) + len(rows) + len(not_scored) == rows_in, context
    for table, counts in manifest["rows"].items():
        assert counts["rows_read"] == counts["rows_kept"] + counts["rows_quarantined"] + counts["rows_rejected"]
        in_file = quarantine[(quarantine["table"] == table) & (quarantine["source_row"] != "")]
        assert len(in_file) == counts["rows_quarantined"], (table, context)


_TRAINED = re.compile(r"training date (\d{4}-\d{2}-\d{2}); validation window to \S+; ([\d,]+) businesses")


def check_train(data: GeneratedDataset, folder: Path, run: Run) -> None:
    """``riskmodel train``: a model trained on every kept business of the training date, or a clear stop."""
    context = _no_crash(run, data)
    dataset = validate_dataset(folder)
    _assert_rejections_expected(data, dataset, context)
    if dataset.rejected_tables:
        _stopped_clearly(run, dataset, context)
        return
    if run.code:
        _stopped_clearly(run, dataset, context)  # e.g. too few positives left once bad rows are quarantined
        return
    found = _TRAINED.search(" ".join(run.stdout.split()))
    assert found is not None, context
    as_of = dt.date.fromisoformat(found.group(1))
    assert int(found.group(2).replace(",", "")) == len(_existing(dataset, as_of)), context
