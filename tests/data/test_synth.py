"""`riskmodel synth`: contract-valid, deterministic, truth kept apart, crime signal present but weak."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest

from riskmodel.contract import validate_dataset
from riskmodel.synth import TRUTH_DIR, SynthConfig, generate

REPO = Path(__file__).resolve().parents[2]
N = 4000


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "world"
    generate(out, SynthConfig(businesses=N, seed=3, chunk_size=1500))
    return out


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generated_world_meets_the_contract_with_no_problem_at_all(world: Path) -> None:
    dataset = validate_dataset(world)
    assert dataset.problems.empty, dataset.problems.head(20).to_dict("records")
    assert len(dataset["companies"]) == N
    for table in ("officers", "ownership", "accounts", "licences", "contracts", "labels", "transactions",
                  "watchlist"):
        assert len(dataset[table]) > 0, table


def test_same_seed_gives_byte_identical_files(world: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(again, SynthConfig(businesses=N, seed=3, chunk_size=1500))
    assert _digest(again) == _digest(world)


def test_another_seed_gives_another_world(world: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    generate(other, SynthConfig(businesses=N, seed=4, chunk_size=1500))
    assert _digest(other)["companies.parquet"] != _digest(world)["companies.parquet"]


def test_csv_output_matches_parquet_output(world: Path, tmp_path: Path) -> None:
    as_csv = tmp_path / "csv"
    generate(as_csv, SynthConfig(businesses=N, seed=3, chunk_size=1500), fmt="csv")
    a, b = validate_dataset(world), validate_dataset(as_csv)
    assert b.problems.empty
    for table in a.tables:
        pd.testing.assert_frame_equal(a[table], b[table], check_dtype=False, obj=table)


def test_truth_is_apart_and_never_read_by_product_code(world: Path) -> None:
    assert (world / TRUTH_DIR / "businesses.parquet").is_file()
    assert not any(p.suffix in (".csv", ".parquet") for p in world.glob("*truth*"))
    # Only the generator and its evaluation tooling may name the truth folder.
    allowed = {REPO / "riskmodel" / "synth"}
    offenders = []
    for path in [*(REPO / "riskmodel").rglob("*.py"), *(REPO / "features").rglob("*.py")]:
        if any(parent in allowed for parent in path.parents):
            continue
        if re.search(r"[\"']_truth|TRUTH_DIR", path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_labels_are_positive_unlabelled_and_mostly_right(world: Path) -> None:
    truth = pd.read_parquet(world / TRUTH_DIR / "businesses.parquet").set_index("company_number")
    labels = validate_dataset(world)["labels"]
    positives = labels.loc[labels["label"] == 1, "company_number"].unique()
    infiltrated = truth.index[truth["infiltrated"]]
    assert 0.005 < truth["infiltrated"].mean() < 0.05
    detected = len(set(positives) & set(infiltrated)) / len(infiltrated)
    assert 0.05 < detected < 0.6  # a minority of infiltrated businesses is ever detected
    precision = truth.loc[positives, "infiltrated"].mean()
    assert 0.8 < precision < 1.0  # a few positives are wrong
    assert labels["labelled_on"].dt.year.nunique() >= 4  # detections spread over years


def test_crime_signals_point_the_right_way_but_are_weak(world: Path) -> None:
    ds = validate_dataset(world)
    truth = pd.read_parquet(world / TRUTH_DIR / "businesses.parquet").set_index("company_number")
    lic = ds["licences"].dropna(subset=["holder_company_number"])
    lic = lic.assign(infiltrated=truth["infiltrated"].reindex(lic["holder_company_number"]).to_numpy())
    police = lic.groupby("infiltrated")["police_objection"].mean()
    assert police[True] > 1.5 * police[False]
    assert police[False] > 0  # legitimate businesses get objections too
    own = ds["ownership"].assign(infiltrated=lambda f: truth["infiltrated"].reindex(f["company_number"]).to_numpy())
    corporate = own.groupby("infiltrated")["owner_kind"].apply(lambda s: (s == "corporate").mean())
    assert corporate[True] > corporate[False] > 0


def test_synth_command_writes_a_valid_folder(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "cli"
    done = subprocess.run([sys.executable, "-m", "riskmodel", "synth", "--businesses", "300", "--seed", "1",
                           "--out", str(out), "--quiet"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "companies" in done.stdout
    assert validate_dataset(out).is_clean


@pytest.mark.realdata
def test_calibration_against_real_data(tmp_path: Path) -> None:
    real = REPO.parent / "shared" / "realdata"
    if not (real / "ch_accounts_financials").is_dir():
        pytest.skip(f"real data not found at {real}")
    from riskmodel.synth.compare import compare_real

    out = tmp_path / "calibration"
    generate(out, SynthConfig(businesses=20_000, seed=0))
    result = compare_real(out, real)
    assert result.divisions["pass"].all(), result.divisions
    failing = result.quantiles[~result.quantiles["pass"]]
    assert failing.empty, failing
