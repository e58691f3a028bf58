"""Faults: a batch job killed at random moments, outputs that cannot be written, two trainings on one new store.

The batch job (``riskmodel score``) must resume after a SIGKILL at any moment to exactly the files of a job never
stopped, and never leave an incomplete file under a final name. When it cannot write (disk full, no permission,
an output path under a file) it must say which path and why (exit code 1, not a crash) and leave nothing that
looks finished. Two ``riskmodel train`` started together on a new MLflow store must both succeed.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from support_model import FAST

from riskmodel.errors import OutputWriteError
from riskmodel.scoring.batch import run_score_job
from riskmodel.synth import SynthConfig, generate
from riskmodel.training.track import TrainResult

#: Outputs compared byte for byte with an uninterrupted run (the report carries no time: it is compared too).
DATA_OUTPUTS = ("scores.parquet", "scores.csv", "quarantine.csv", "model_card.md", "report.html")
#: Manifest entries that differ between two runs of the same job.
MANIFEST_TIMES = ("timings", "businesses_per_second")
#: What a batch job adds to a write error.
RESUME_HINT = ". Once that is fixed, run the job again with --resume to continue from the last finished chunk"
CHUNK = 150
PARTS = 8  # 1,199 businesses scored (one company row is quarantined) in chunks of CHUNK
#: Kill trials: STRATIFIED at seeded random moments spread evenly over a whole job's duration, and one each
#: after a marker of a short phase (a time-based kill rarely lands in a window of a few hundredths of a second).
STRATIFIED = 16
SEED = 20_261_122
_rng = np.random.default_rng(SEED)
TIMED = [(i + float(_rng.random())) / STRATIFIED for i in range(STRATIFIED)]
MARKED = {  # name: (file pattern under OUT that starts the phase, longest extra delay in seconds)
    "parts": (".partial/part-00003.parquet", 0.1),
    "merge": (".scores.parquet.*.tmp", 0.02),
    "report": ("quarantine.csv", 0.01),
    "cleanup": ("manifest.json", 0.0),
}
MARK_DELAYS = {name: float(_rng.uniform(0, top)) for name, (_, top) in MARKED.items()}
#: Where each kill landed, filled by the trials (printed and checked by test_kill_points_spread_over_the_job).
LANDINGS: dict[str, str] = {}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "riskmodel", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "400"}  # no wrapped lines in messages


@dataclass(frozen=True)
class Reference:
    """An uninterrupted job of the module's world: its folder, its duration and how many businesses it scored."""

    out: Path
    seconds: float
    businesses: int


@pytest.fixture(scope="module")
def faults_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small world with a few bad rows (so quarantine.csv has content) for the kill trials."""
    folder = tmp_path_factory.mktemp("faults") / "world"
    generate(folder, SynthConfig(businesses=1_200, seed=13))
    officers = pd.read_parquet(folder / "officers.parquet")
    officers.loc[officers.index[[5, 50, 500]], "officer_role"] = "wizard"
    officers.to_parquet(folder / "officers.parquet", index=False)
    companies = pd.read_parquet(folder / "companies.parquet")
    companies.loc[companies.index[7], "company_type"] = "guild"
    companies.to_parquet(folder / "companies.parquet", index=False)
    return folder


def _score(world: Path, model: Path, out: Path, *more: str) -> list[str]:
    return ["score", str(world), "--model", str(model), "--out", str(out), "--chunk-size", str(CHUNK), "--quiet",
            *more]


@pytest.fixture(scope="module")
def reference(faults_world: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Two uninterrupted jobs: they must agree (the trials rely on it); the faster gives the job's duration."""
    runs = []
    for name in ("first", "second"):
        out = tmp_path_factory.mktemp("reference") / name
        started = time.monotonic()
        done = subprocess.run(_cli(*_score(faults_world, model_dir, out)), capture_output=True, text=True,
                              env=_env(), check=False, timeout=300)
        runs.append((time.monotonic() - started, out))
        assert done.returncode == 0, done.stderr
    (_, first), (_, second) = runs
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["chunks"] == PARTS and len(pd.read_csv(first / "quarantine.csv")) == 4
    reference = Reference(first, min(seconds for seconds, _ in runs), int(manifest["businesses_scored"]))
    _assert_same_as_reference(second, reference)
    assert _stable_manifest(second / "manifest.json") == _stable_manifest(first / "manifest.json")
    return reference


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str]]:
    """Run the CLI in this process (``riskmodel.cli.main``): its exit code and what it wrote to stderr."""
    from riskmodel import cli

    monkeypatch.setattr(cli.err_console, "width", 400)

    def run(*args: str) -> tuple[int, str]:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["riskmodel", *args])
        with pytest.raises(SystemExit) as done:
            cli.main()
        code = done.value.code
        return code if isinstance(code, int) else int(code is not None), capsys.readouterr().err

    return run


def _stable_manifest(path: Path) -> dict[str, object]:
    manifest = json.loads(path.read_text())
    for key in MANIFEST_TIMES:
        manifest.pop(key)
    return manifest


def _assert_same_as_reference(out: Path, reference: Reference, names: tuple[str, ...] = DATA_OUTPUTS) -> None:
    for name in names:
        assert (out / name).read_bytes() == (reference.out / name).read_bytes(), f"{name} differs"


def _assert_nothing_incomplete(out: Path, reference: Reference) -> None:
    """Every file under a final name is complete: outputs equal the reference's, parts and staged tables read."""
    present = [name for name in DATA_OUTPUTS if (out / name).exists()]
    _assert_same_as_reference(out, reference, tuple(present))
    if (out / "manifest.json").exists():
        assert present == list(DATA_OUTPUTS), "a manifest before every output was written"
        assert _stable_manifest(out / "manifest.json") == _stable_manifest(reference.out / "manifest.json")
    partial = out / ".partial"
    for part in partial.glob("part-*.parquet"):
        index = int(part.stem.split("-")[1])
        assert pq.read_table(part).num_rows == min(CHUNK, reference.businesses - index * CHUNK), part.name
    for table in (partial / "staged").glob("*.arrow"):
        with ipc.open_file(str(table)) as reader:
            reader.read_all()
    if (partial / "job.json").exists():
        json.loads((partial / "job.json").read_text())


def _landing(out: Path, world: Path, finished: bool) -> str:
    """Which phase of the job a kill stopped, read from what it left in ``out``."""
    if finished:
        return "finished before the kill"
    partial = out / ".partial"
    if (out / "manifest.json").exists():
        return "clean-up (after the manifest)"
    if any((out / name).exists() for name in DATA_OUTPUTS):
        return "final files (after the merge)"
    parts = len(list(partial.glob("part-*.parquet")))
    if parts:
        return "merge (all parts done)" if parts == PARTS else "parts (some done)"
    if not (partial / "job.json").exists():
        return "start-up (nothing recorded)"
    staged = {p.stem for p in (partial / "staged").glob("*.arrow")}
    if staged < {p.stem for p in world.glob("*.parquet")}:
        return "staging"
    return "indexes (staged, no part yet)"


def _wait_for(proc: subprocess.Popen[bytes], out: Path, pattern: str, limit: float) -> None:
    """Return once ``pattern`` matches a file under ``out`` or the process has ended."""
    ends = time.monotonic() + limit
    while proc.poll() is None and time.monotonic() < ends:
        if next(out.glob(pattern), None) is not None:
            return
        time.sleep(0.002)


def _kill_and_resume(trial: str, faults_world: Path, model_dir: Path, reference: Reference, out: Path,
                     run_cli: Callable[..., tuple[int, str]], delay: float | None = None,
                     marker: tuple[str, float] | None = None) -> None:
    """Start a job, SIGKILL it after ``delay`` or after ``marker``, check what it left, resume it and compare."""
    args = _score(faults_world, model_dir, out)
    with open(out.parent / "killed.err", "wb") as err:
        proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=err, env=_env())
        try:
            if marker is None:
                assert delay is not None
                proc.wait(timeout=delay)
            else:
                _wait_for(proc, out, marker[0], limit=3 * reference.seconds)
                time.sleep(marker[1])
        except subprocess.TimeoutExpired:
            pass
        finally:
            proc.send_signal(signal.SIGKILL)
            code = proc.wait()
    finished = code == 0
    assert finished or code == -signal.SIGKILL, (code, (out.parent / "killed.err").read_text())
    LANDINGS[trial] = _landing(out, faults_world, finished)
    _assert_nothing_incomplete(out, reference)
    recorded = (out / ".partial" / "job.json").exists()

    code, err_text = run_cli(*[arg for arg in args if arg != "--quiet"], "--resume")
    assert code == 0, err_text
    # A job stopped before it recorded anything starts again from the beginning, and says so.
    notice = f"nothing to resume in {out} (no unfinished job is recorded there): scoring from the start"
    assert err_text.strip() == (notice if not recorded else ""), err_text
    assert sorted(os.listdir(out)) == sorted(os.listdir(reference.out)), "left-over files after the resumed job"
    _assert_same_as_reference(out, reference)
    assert _stable_manifest(out / "manifest.json") == _stable_manifest(reference.out / "manifest.json")


@pytest.mark.parametrize("fraction", TIMED, ids=[f"at-{f:.0%}" for f in TIMED])
def test_sigkill_at_a_random_moment_then_resume_gives_identical_output(
        fraction: float, faults_world: Path, model_dir: Path, reference: Reference, tmp_path: Path,
        run_cli: Callable[..., tuple[int, str]]) -> None:
    _kill_and_resume(f"at {fraction:.0%} of {reference.seconds:.1f} s", faults_world, model_dir, reference,
                     tmp_path / "out", run_cli, delay=fraction * reference.seconds)


@pytest.mark.parametrize("phase", list(MARKED))
def test_sigkill_in_a_short_phase_then_resume_gives_identical_output(
        phase: str, faults_world: Path, model_dir: Path, reference: Reference, tmp_path: Path,
        run_cli: Callable[..., tuple[int, str]]) -> None:
    pattern = MARKED[phase][0]
    _kill_and_resume(f"{MARK_DELAYS[phase] * 1000:.0f} ms after {pattern}", faults_world, model_dir, reference,
                     tmp_path / "out", run_cli, marker=(pattern, MARK_DELAYS[phase]))


def test_kill_points_spread_over_the_job() -> None:
    if len(LANDINGS) < STRATIFIED + len(MARKED):
        pytest.skip("runs after the kill trials of this module (not all of them ran)")
    counts = Counter(LANDINGS.values())
    print("\nkill points:", *(f"  {trial}: {where}" for trial, where in LANDINGS.items()), sep="\n")
    print("kills per phase:", dict(counts))
    stopped = [where for where in counts if where != "finished before the kill"]
    assert len(stopped) >= 4, counts  # the trials stopped the job in several phases, not one


# --- outputs that cannot be written -------------------------------------------------------------------------


def _no_space_limit(limit: int) -> Callable[[], None]:
    """A pre-exec function: no file of the process may grow beyond ``limit`` bytes (a full disk, for it)."""

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_files


def _looks_unfinished(out: Path) -> None:
    assert not (out / "manifest.json").exists()
    for name in os.listdir(out):
        assert not name.endswith(".tmp"), f"temporary file {name} left in {out}"


def test_a_full_disk_fails_with_a_clear_message_and_a_later_resume_completes(
        faults_world: Path, model_dir: Path, reference: Reference, tmp_path: Path,
        run_cli: Callable[..., tuple[int, str]]) -> None:
    out = tmp_path / "out"
    args = _score(faults_world, model_dir, out)
    # Every file of the job fits under the limit but scores.csv, its largest: the disk "fills up" at the merge.
    limit = (reference.out / "scores.csv").stat().st_size - 1
    done = subprocess.run(_cli(*args), capture_output=True, text=True, env=_env(), check=False, timeout=300,
                          preexec_fn=_no_space_limit(limit))
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (
        f"error: cannot write {out / 'scores.csv'}: the file would pass the largest size allowed (a file size limit "
        f"of the process or file system){RESUME_HINT}")
    _looks_unfinished(out)
    assert not (out / "scores.csv").exists()
    assert len(list((out / ".partial").glob("part-*.parquet"))) == PARTS
    code, err_text = run_cli(*args, "--resume")
    assert code == 0, err_text
    _assert_same_as_reference(out, reference)
    assert sorted(os.listdir(out)) == sorted(os.listdir(reference.out))


def test_no_space_left_while_writing_a_part(faults_world: Path, model_dir: Path, reference: Reference,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    calls = Counter[str]()
    write_table = pq.ParquetWriter.write_table

    def full_disk(self: pq.ParquetWriter, *args: object, **kwargs: object) -> None:
        calls["parquet"] += 1
        if calls["parquet"] == 3:  # the third part
            raise OSError(errno.ENOSPC, "No space left on device")
        write_table(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full_disk)
    with pytest.raises(OutputWriteError) as caught:
        run_score_job(faults_world, model_dir, out, chunk_size=CHUNK)
    part = out / ".partial" / "part-00002.parquet"
    assert str(caught.value) == f"cannot write {part}: no space left on the device{RESUME_HINT}"
    assert caught.value.evidence == {"path": str(part), "errno": errno.ENOSPC, "errno_name": "ENOSPC",
                                     "cause": "no space left on the device",
                                     "detail": "[Errno 28] No space left on device", "resumable": True}
    assert sorted(p.name for p in (out / ".partial").glob("*part-*")) == ["part-00000.parquet", "part-00001.parquet"]
    _looks_unfinished(out)
    assert not any((out / name).exists() for name in DATA_OUTPUTS)
    monkeypatch.undo()
    run_score_job(faults_world, model_dir, out, chunk_size=CHUNK, resume=True)
    _assert_same_as_reference(out, reference)


def test_an_output_write_error_crosses_processes_whole() -> None:
    # A Dask worker's part-writing error reaches the client pickled: its evidence must survive.
    import pickle

    error = OutputWriteError.of("/out/.partial/part-00001.parquet", OSError(errno.EDQUOT, "Disk quota exceeded"))
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert (type(copy), str(copy), copy.evidence) == (
        OutputWriteError, "cannot write /out/.partial/part-00001.parquet: the disk quota is used up",
        {"path": "/out/.partial/part-00001.parquet", "errno": errno.EDQUOT, "errno_name": "EDQUOT",
         "cause": "the disk quota is used up", "detail": "[Errno 122] Disk quota exceeded"})


def test_an_output_folder_under_a_file_fails_with_a_clear_message(faults_world: Path, model_dir: Path,
                                                                  tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should go\n")
    out = blocker / "out"
    done = subprocess.run(_cli(*_score(faults_world, model_dir, out)), capture_output=True, text=True, env=_env(),
                          check=False, timeout=300)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == (
        f"error: cannot write {out / '.partial'}: a part of the path is a file, not a folder{RESUME_HINT}")
    assert blocker.read_text() == "a file where the output folder should go\n"


def test_permission_denied_fails_with_a_clear_message(faults_world: Path, model_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      run_cli: Callable[..., tuple[int, str]]) -> None:
    # Root writes anywhere: an output folder the user may not write is simulated where the job first writes in it
    # (the mkdir of its work folder), with the error the system gives there.
    out = tmp_path / "out"
    out.mkdir()
    mkdir = Path.mkdir

    def refuse(self: Path, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        if self.is_relative_to(out) and self != out:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        mkdir(self, mode, parents, exist_ok)

    monkeypatch.setattr(Path, "mkdir", refuse)
    code, err_text = run_cli(*_score(faults_world, model_dir, out))
    assert code == 1, err_text
    assert err_text.strip() == (
        f"error: cannot write {out / '.partial'}: permission denied{RESUME_HINT}")
    assert os.listdir(out) == []


def test_features_and_export_to_a_path_under_a_file_fail_with_a_clear_message(
        example_dir: Path, trained: TrainResult, tmp_path: Path, run_cli: Callable[..., tuple[int, str]]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, err_text = run_cli("features", str(example_dir), "--as-of", "2025-06-30", "--out",
                             str(blocker / "features.parquet"))
    assert (code, err_text.strip()) == (
        1, f"error: cannot write {blocker / 'features.parquet'}: a file is where a folder should be ({blocker})")
    version = str(trained.model_version)
    code, err_text = run_cli("export", version, "--out", str(blocker / "models"))
    assert (code, err_text.strip()) == (
        1, f"error: cannot write {blocker / 'models' / f'riskmodel-{version}'}: a part of the path is a file, not a "
           f"folder ({blocker / 'models'})")
    assert sorted(os.listdir(tmp_path)) == ["example", "file"] and blocker.read_text() == "x"


# --- two trainings on one new MLflow store ------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "world"
    generate(folder, SynthConfig(businesses=2_000, seed=3))
    return folder


@pytest.fixture
def new_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A RISKMODEL_HOME with no store yet, for the commands this test starts."""
    home = tmp_path / "home"
    monkeypatch.setenv("RISKMODEL_HOME", str(home))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return home


def test_two_trainings_started_together_on_a_new_store_both_succeed(tiny_world: Path, new_home: Path,
                                                                     tmp_path: Path) -> None:
    import mlflow

    overrides = [arg for setting in FAST for arg in ("--set", setting)]
    logs = [(tmp_path / f"train-{i}.out", tmp_path / f"train-{i}.err") for i in range(2)]
    runs = []
    for stdout, stderr in logs:  # started back to back: both create the store's tables at about the same moment
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            runs.append(subprocess.Popen(_cli("train", str(tiny_world), *overrides), stdout=out, stderr=err,
                                         env=_env()))
    codes = [run.wait(timeout=600) for run in runs]
    assert codes == [0, 0], [err.read_text()[-3000:] for _, err in logs]
    uri = f"sqlite:///{new_home / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri, uri)  # not mlflow's process-wide store: the session's store stays current
    experiment = client.get_experiment_by_name("riskmodel")
    assert experiment is not None
    top = [r for r in client.search_runs([experiment.experiment_id])
           if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(r.info.status for r in top) == ["FINISHED", "FINISHED"]
    versions = client.search_model_versions("name='riskmodel'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert {v.run_id for v in versions} == {r.info.run_id for r in top}
    printed = {line.split("registered as riskmodel version ")[1].split(" ")[0]
               for stdout, _ in logs for line in stdout.read_text().splitlines() if "registered as" in line}
    assert printed == {"1", "2"}
