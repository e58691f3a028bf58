"""Generated bad input through ``riskmodel score`` and ``riskmodel train`` (issue 9, "Bad input, generated").

The companion of ``tests/data/test_fuzz_commands.py`` for the commands that need a model or a tracking store:
score runs with the session's model (trained on the 10,000-business synthetic world) on tiny generated data sets,
train runs with the fast settings in the session's private MLflow store, without registering (the other model tests
rely on the registry's aliases). Every run goes through :func:`riskmodel.cli.main` and is judged by
:mod:`support_fuzz`: success with every business scored or quarantined, or a clear stop; never a crash.
"""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import KINDS, GeneratedDataset, datasets, mutated_datasets, write_dataset
from support import read_raw_csv
from support_fuzz import Tally, check_score, check_train, fuzz_settings, run_main, run_subprocess
from support_model import FAST


@pytest.mark.parametrize("kind", KINDS)
def test_score_puts_every_business_in_scores_or_quarantine(kind: str, model_dir: Path) -> None:
    tally = Tally(f"score [{kind}]")

    @fuzz_settings(2, share=1 / len(KINDS), shrink=False)
    @given(data=mutated_datasets(include=kind), chunk_size=st.sampled_from([1, 3, 20_000]),
           explain=st.sampled_from(["all", "flagged", "none"]), quiet=st.booleans())
    def check(data: GeneratedDataset, chunk_size: int, explain: str, quiet: bool) -> None:
        with TemporaryDirectory() as tmp:
            folder = write_dataset(Path(tmp) / "data", data)
            out = Path(tmp) / "scores"
            run = run_main(["score", str(folder), "--model", str(model_dir), "--out", str(out), "--top", "5",
                            "--chunk-size", str(chunk_size), "--explain", explain, *(["--quiet"] if quiet else [])])
            tally.add(data, run)
            check_score(data, folder, run, out)

    with tally:
        check()


def test_score_as_a_real_process_on_generated_bad_input(model_dir: Path) -> None:
    tally = Tally("score (subprocess)")

    @fuzz_settings(1, share=0.02, shrink=False)
    @given(data=mutated_datasets(min_size=2))
    def check(data: GeneratedDataset) -> None:
        with TemporaryDirectory() as tmp:
            folder = write_dataset(Path(tmp) / "data", data)
            out = Path(tmp) / "scores"
            run = run_subprocess(["score", str(folder), "--model", str(model_dir), "--out", str(out), "--quiet"])
            tally.add(data, run)
            check_score(data, folder, run, out)

    with tally:
        check()


def test_score_with_every_company_row_quarantined_scores_none_and_says_why(example_dir: Path, model_dir: Path,
                                                                          tmp_path: Path) -> None:
    # Found by the generated runs: the streamed companies table came out with no columns (KeyError:
    # company_number), then LightGBM refused to score no business. Now nothing is scored and nothing is lost.
    companies = read_raw_csv(example_dir / "companies.csv")
    companies["date_of_creation"] = "31/12/2020"
    companies.to_csv(example_dir / "companies.csv", index=False)
    out = tmp_path / "scores"
    run = run_main(["score", str(example_dir), "--model", str(model_dir), "--out", str(out), "--quiet"])
    assert run.code == 0, run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert (manifest["businesses_in"], manifest["businesses_scored"], manifest["businesses_rejected"]) == (
        len(companies), 0, len(companies))
    scores = pd.read_parquet(out / "scores.parquet")
    assert scores.empty and {"company_number", "risk_score", "risk_band", "rank"} <= set(scores.columns)
    quarantine = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False)
    rows = quarantine[quarantine["table"] == "companies"]
    assert rows["company_number"].tolist() == companies["company_number"].tolist()
    assert rows["reason"].str.contains("'31/12/2020' is not a date").all()
    assert (out / "report.html").exists()


def test_train_trains_or_stops_with_a_clear_message(store: Path) -> None:
    tally = Tally("train")
    options = [arg for setting in [*FAST, "name=fuzz"] for arg in ("--set", setting)]

    @fuzz_settings(3, share=0.1, shrink=False)
    @given(data=mutated_datasets(datasets(24, 40, training=True), max_size=2))
    def check(data: GeneratedDataset) -> None:
        with TemporaryDirectory() as tmp:
            folder = write_dataset(Path(tmp) / "data", data)
            run = run_main(["train", str(folder), *options, "--no-register"])
            tally.add(data, run)
            check_train(data, folder, run)

    with tally:
        check()
