"""Model layer: the batch scoring job, its outputs, resume after an interruption, and adapter agreement."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmodel.scoring import RiskScorer, UnknownBusinessError
from riskmodel.scoring.batch import run_score_job
from riskmodel.training.track import TrainResult

OUTPUTS = ("scores.parquet", "scores.csv", "quarantine.csv", "report.html")


@pytest.fixture(scope="module")
def job(world: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("job") / "out"
    run_score_job(world, model_dir, out, chunk_size=1_500)
    return out


def test_every_output_is_written_and_counts_balance(job: Path, world: Path) -> None:
    for name in (*OUTPUTS, "manifest.json", "model_card.md"):
        assert (job / name).is_file(), name
    assert not (job / ".partial").exists()
    m = json.loads((job / "manifest.json").read_text())
    assert m["rows_in"] == m["rows_used"] + m["rows_quarantined"] + m["rows_rejected"]
    assert m["businesses_in"] == m["businesses_scored"] + m["businesses_rejected"]
    assert m["businesses_in"] == len(pd.read_parquet(world / "companies.parquet"))
    assert len(m["model"]["sha256"]) == 64 and len(m["data"]["sha256"]) == 64
    scores = pd.read_parquet(job / "scores.parquet")
    assert len(scores) == m["businesses_scored"]
    assert scores["rank"].tolist() == list(range(1, len(scores) + 1))
    assert (np.diff(scores["log_odds"].to_numpy()) <= 0).all()
    assert scores["risk_score"].between(0, 1).all()
    assert set(scores["risk_band"]) <= {"high", "medium", "low"}
    csv = pd.read_csv(job / "scores.csv", dtype={"company_number": str})
    assert csv["company_number"].tolist() == scores["company_number"].tolist()
    np.testing.assert_allclose(csv["risk_score"], scores["risk_score"])


def test_reasons_are_exact_shap_values_that_raised_the_risk(job: Path) -> None:
    scores = pd.read_parquet(job / "scores.parquet")
    top = scores.head(50)
    contributions = top[[f"reason_{i}_contribution" for i in range(1, 6)]].to_numpy()
    present = ~np.isnan(contributions)
    assert present[:, 0].all(), "every top business has at least one reason"
    assert (contributions[present] > 0).all()
    assert (np.diff(np.where(present, contributions, -np.inf), axis=1) <= 0).all()  # strongest first
    texts = top["reason_1_text"]
    assert texts.str.len().gt(20).all() and not texts.str.contains("{").any()


def test_resume_after_an_interruption_gives_identical_output(world: Path, model_dir: Path, job: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    stop_at = int(np.random.default_rng().integers(1, 6))

    def interrupt(done: int, total: int) -> None:
        if done == stop_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_score_job(world, model_dir, out, chunk_size=1_500, progress=interrupt)
    for name in (*OUTPUTS, "manifest.json"):
        assert not (out / name).exists(), f"{name} must not look finished after an interruption"
    assert len(list((out / ".partial").glob("part-*.parquet"))) == stop_at
    run_score_job(world, model_dir, out, chunk_size=1_500, resume=True)
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (job / name).read_bytes(), name


def test_resume_refuses_a_job_with_other_settings(world: Path, model_dir: Path, tmp_path: Path) -> None:
    from riskmodel.errors import RiskmodelError

    out = tmp_path / "job"

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_score_job(world, model_dir, out, chunk_size=1_500, progress=interrupt)
    with pytest.raises(RiskmodelError, match="chunk_size"):
        run_score_job(world, model_dir, out, chunk_size=2_000, resume=True)


def test_explain_modes(world: Path, model_dir: Path, tmp_path: Path) -> None:
    none = run_score_job(world, model_dir, tmp_path / "none", explain="none").out
    flagged = run_score_job(world, model_dir, tmp_path / "flagged", explain="flagged").out
    s_none = pd.read_parquet(none / "scores.parquet")
    s_flag = pd.read_parquet(flagged / "scores.parquet")
    assert s_none["reason_1_feature"].isna().all()
    low = s_flag["risk_band"] == "low"
    assert s_flag.loc[low, "reason_1_feature"].isna().all()
    assert s_flag.loc[~low, "reason_1_feature"].notna().all()
    np.testing.assert_array_equal(s_none["risk_score"], s_flag["risk_score"])


def test_batch_job_scores_equal_scoring_the_whole_in_memory_build(job: Path, world: Path, model_dir: Path) -> None:
    # The job stages the tables on disk and builds features chunk by chunk on neighbourhoods; scoring the features
    # of the whole loaded data set must give the same scores and reasons for every business, bit for bit.
    import features
    from riskmodel.contract import load_dataset
    from riskmodel.registry import load_model
    from riskmodel.scoring.core import Scorer, company_names

    bundle = load_model(model_dir)
    dataset = load_dataset(world)
    assert dataset.extract_date is not None
    X = features.build(dataset, dataset.extract_date, bundle.feature_names)
    expected = Scorer(bundle, model_dir.name).score_frame(X, dataset.extract_date.isoformat(),
                                                          names=company_names(dataset)).set_index("company_number")
    got = pd.read_parquet(job / "scores.parquet").set_index("company_number")
    assert len(got) == len(expected) > 1_500 * 3  # several chunks
    expected = expected.loc[got.index]
    for column in ["company_name", "risk_score", "log_odds", "risk_band", "reason_1_feature", "reason_1_text",
                   "reason_5_contribution"]:
        pd.testing.assert_series_equal(got[column], expected[column], check_exact=True, check_dtype=False)


def test_scoring_function_agrees_with_the_batch_job(job: Path, world: Path, model_dir: Path) -> None:
    scorer = RiskScorer.load(model_dir, reference=world)
    scores = pd.read_parquet(job / "scores.parquet").set_index("company_number")
    for number in [*scores.index[:5], scores.index[-1]]:
        result = scorer.score(number)
        row = scores.loc[number]
        assert result.risk_score == row["risk_score"] and result.risk_band == row["risk_band"]
        assert [r.text for r in result.reasons] == [row[f"reason_{i}_text"] for i in range(1, 6)
                                                     if row[f"reason_{i}_text"] is not None]
        assert result.model_version == model_dir.name
    with pytest.raises(UnknownBusinessError) as caught:
        scorer.score("NO-SUCH-BUSINESS")
    assert caught.value.evidence["field"] == "company_number"


def test_score_command_and_report(world: Path, model_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from riskmodel.cli import app

    out = tmp_path / "cli"
    result = CliRunner().invoke(app, ["score", str(world), "--model", str(model_dir), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    for words in ("What these scores mean", "What they do not mean", "advisory", "Risk bands", "Top 50 businesses",
                  "Data quality", "SHAP waterfall", 'href="model_card.md"'):
        assert words in page, words
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_a_synthetic_trained_model_is_shown_as_a_demonstration(job: Path, model_dir: Path) -> None:
    from riskmodel.registry import load_model
    from riskmodel.scoring.core import Scorer
    from riskmodel.scoring.report import write_report

    m = json.loads((job / "manifest.json").read_text())
    assert m["model"]["training_data"]["synthetic"] is True
    assert "riskmodel synth" in m["model"]["training_data"]["source"]
    page = (job / "report.html").read_text(encoding="utf-8")
    assert "Demonstration only: this model was trained on synthetic data" in page
    assert page.index("Demonstration only") < page.index("What these scores mean")
    # The same report for a model trained on real data carries no such notice.
    real = {**m, "model": {**m["model"], "training_data": {"source": "agency extract", "synthetic": False}}}
    scores = pd.read_parquet(job / "scores.parquet")
    other = write_report(job.parent / "real.html", scores, real, Scorer(load_model(model_dir)), top_n=3)
    assert "Demonstration only" not in other.read_text(encoding="utf-8")


def test_report_says_which_sources_hold_nothing_about_the_businesses(world: Path, model_dir: Path,
                                                                    tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(world, data, ignore=shutil.ignore_patterns("_truth"))
    officers = pd.read_parquet(data / "officers.parquet")
    officers.iloc[:0].to_parquet(data / "officers.parquet", index=False)
    contracts = pd.read_parquet(data / "contracts.parquet")
    run_score_job(data, model_dir, tmp_path / "out", explain="none")
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["coverage"]["officers"] == {"rows": 0, "rows_on_scored_businesses": 0, "scored_businesses_with_rows": 0}
    on_world = contracts["supplier_company_number"].isin(pd.read_parquet(data / "companies.parquet")["company_number"])
    assert m["coverage"]["contracts"]["rows"] == len(contracts)
    assert 0 < m["coverage"]["contracts"]["rows_on_scored_businesses"] <= int(on_world.sum())
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Sources behind the scores" in page
    assert "No evidence from officers." in page


def test_report_renders_in_headless_chromium(job: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        pytest.skip("no headless Chromium on this machine (Debian: apt-get install chromium); .ci/run installs it")
    shot = tmp_path / "report.png"
    text = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                           (job / "report.html").as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert "Business risk ranking for review" in text and "What they do not mean" in text
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,2400", (job / "report.html").as_uri()], capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000


def _record_of(world: Path, number: str) -> dict[str, object]:
    """A business's own rows from the reference files, as a procurement system would send them."""

    def rows(table: str, key: str) -> list[dict[str, object]]:
        frame = pd.read_parquet(world / f"{table}.parquet")
        frame = frame[frame[key] == number]
        return [{k: (None if pd.isna(v) else str(v)) for k, v in r.items()} for r in frame.to_dict("records")]

    return {"company": rows("companies", "company_number")[0], "officers": rows("officers", "company_number"),
            "ownership": rows("ownership", "company_number"), "accounts": rows("accounts", "company_number"),
            "licences": rows("licences", "holder_company_number"),
            "contracts": rows("contracts", "supplier_company_number")}


def test_score_record_of_a_known_business_equals_score(world: Path, model_dir: Path) -> None:
    scorer = RiskScorer.load(model_dir, reference=world)
    number = str(scorer.scores.index[0])  # the top-ranked business: its reasons are many and specific
    assert scorer.score_record(_record_of(world, number)) == scorer.score(number)


def _same(a: pd.Series, b: pd.Series) -> list[str]:
    """Names of the features that differ (NaN equals NaN).

    Equal up to the order of floating-point sums: a rebuild moves the business's rows to the end of each table, so a
    sum over a group (a buyer's award value) may differ in its last bit from the reference's.
    """
    return [c for c in a.index if not np.isclose(a[c], b[c], rtol=1e-12, atol=0.0, equal_nan=True)]


def _variants(world: Path, number: str, other: str) -> list[dict[str, object]]:
    """A business's record as sent, and changed in the ways that move it in the network."""
    record = _record_of(world, number)
    mate = _record_of(world, other)
    company = dict(record["company"])  # type: ignore[call-overload]
    moved = {**company, "registered_office_postcode": mate["company"]["registered_office_postcode"],  # type: ignore
             "registered_office_address": mate["company"]["registered_office_address"]}  # type: ignore[index]
    shared = [{**row, "company_number": number} for row in mate["officers"]][:2]  # type: ignore[attr-defined]
    new = {**company, "company_number": "NEW00002"}
    return [record, {**record, "company": moved}, {**record, "officers": [*record["officers"], *shared]},  # type: ignore
            {**record, "officers": [], "ownership": []},
            {"company": new, "officers": [{**row, "company_number": "NEW00002"} for row in
                                          record["officers"]]},  # type: ignore[attr-defined]
            # Only tables outside the network change: the network's features keep their reference values.
            {**record, "accounts": record["accounts"][1:], "licences": record["licences"][1:],  # type: ignore[index]
             "contracts": [*record["contracts"], *[{**row, "supplier_company_number": number}  # type: ignore[misc]
                                                  for row in mate["contracts"][:1]]]}]  # type: ignore[index]


def test_score_record_neighbourhood_equals_a_full_rebuild(world: Path, model_dir: Path) -> None:
    from riskmodel.scoring.scorer import _record_tables

    scorer = RiskScorer.load(model_dir, reference=world)
    linked = scorer.scores.index[np.flatnonzero(scorer.neighbourhood.graph.adjacency.getnnz(axis=1)[  # type: ignore
        scorer.neighbourhood.graph.nodes.get_indexer(scorer.scores.index)] > 0)]  # type: ignore[union-attr]
    rng = np.random.default_rng(7)
    # Also a business at the most crowded office (the one before it moves there) and a supplier of the busiest buyer.
    from features.register import office_parts

    comp = pd.read_parquet(world / "companies.parquet")
    postcode, address = office_parts(comp["registered_office_postcode"], comp["registered_office_address"])
    office = postcode + "|" + address
    crowded = comp.loc[office == office.value_counts().index[0], "company_number"]
    assert len(crowded) > 100  # a mass-registration address: the neighbourhood holds only a sample of it
    contracts = pd.read_parquet(world / "contracts.parquet")
    buyer = contracts["buyer_id"].value_counts().index[0]
    supplier = contracts.loc[contracts["buyer_id"] == buyer, "supplier_company_number"].dropna()
    numbers = [*scorer.scores.index[:3], *rng.choice(scorer.scores.index, 6, replace=False),
               *rng.choice(linked, 6, replace=False), *supplier[supplier.isin(scorer.scores.index)].iloc[:1],
               *crowded[crowded.isin(scorer.scores.index)].iloc[:1]]
    checked = 0
    for i, number in enumerate(numbers):
        for v, record in enumerate(_variants(world, str(number), str(numbers[(i + 1) % len(numbers)]))):
            tables = _record_tables(record, scorer.as_of)
            key = str(tables["companies"]["company_number"].iloc[0])
            # The record as sent leaves the network's rows as they were (the check is skipped); a new business not.
            if v in (0, 4):
                assert scorer.neighbourhood.dataset(key, tables).unchanged == (v == 0)  # type: ignore[union-attr]
            if v == 0:  # only its transactions, left out of the record, differ from the reference
                assert scorer.neighbourhood.changed(key, tables) <= {"transactions"}  # type: ignore[union-attr]
            fast = scorer._neighbourhood_features(key, tables)
            full = scorer._rebuild_features(key, tables)
            if fast is None:
                continue  # the records moved a link between other businesses: score_record rebuilds
            assert _same(fast.loc[key], full.loc[key]) == [], (number, record.keys())
            checked += 1
    assert checked >= 68  # nearly every case takes the shortcut
    assert scorer.score_record(_record_of(world, str(numbers[4]))) == scorer.score(str(numbers[4]))


def test_score_record_rebuilds_when_a_person_crosses_the_link_threshold(world: Path, model_dir: Path) -> None:
    from features.network import MAX_SHARED_BUSINESSES
    from riskmodel.scoring.scorer import _record_tables

    scorer = RiskScorer.load(model_dir, reference=world)
    officers = pd.read_parquet(world / "officers.parquet")
    current = officers[officers["resigned_on"].isna()]
    counts = current.groupby("officer_id")["company_number"].nunique()
    person = str(counts[(counts >= 2) & (counts <= 5)].index[0])  # links a few businesses today
    host = str(scorer.scores.index[-1])
    row = current[current["officer_id"] == person].iloc[0].to_dict()
    extra = [{**{k: (None if pd.isna(v) else str(v)) for k, v in row.items()}, "company_number": host,
              "appointed_on": str(dt.date(2001, 1, 1) + dt.timedelta(days=i))} for i in range(MAX_SHARED_BUSINESSES)]
    record = _record_of(world, host)
    record = {**record, "officers": [*record["officers"], *extra]}  # type: ignore[list-item]
    tables = _record_tables(record, scorer.as_of)
    assert scorer._neighbourhood_features(host, tables) is None
    before = scorer.rebuilds
    result = scorer.score_record(record)
    assert scorer.rebuilds == before + 1
    full = scorer._rebuild_features(host, tables)
    assert result.risk_score == scorer.scorer.score_frame(full.loc[[host]], scorer.as_of.isoformat())[
        "risk_score"].iloc[0]


def test_score_record_of_a_new_supplier_and_bad_fields(world: Path, model_dir: Path) -> None:
    from riskmodel.scoring import RecordError

    scorer = RiskScorer.load(model_dir, reference=world)
    record = _record_of(world, str(scorer.scores.index[0]))
    company = dict(record["company"])  # type: ignore[call-overload]
    company["company_number"] = "NEW00001"
    result = scorer.score_record({"company": company})
    assert result.company_number == "NEW00001" and 0 <= result.risk_score <= 1
    bad = {**company, "date_of_creation": "31/12/2020"}
    with pytest.raises(RecordError) as caught:
        scorer.score_record({"company": bad})
    assert caught.value.evidence["field"] == "company[0].date_of_creation"
    with pytest.raises(RecordError) as caught:
        scorer.score_record({"company": company, "directors": []})
    assert caught.value.evidence["field"] == "directors"
    for nested in ({"nested": [1, 2]}, ["a", "b"]):  # str() of either would otherwise pass as a name
        with pytest.raises(RecordError) as caught:
            scorer.score_record({"company": {**company, "company_name": nested}})
        assert caught.value.evidence["field"] == "company[0].company_name"


def test_mlflow_models_serve_gives_the_same_scores_and_reasons(trained: TrainResult, job: Path, world: Path,
                                                               store: Path) -> None:
    import os
    import socket
    import sys
    import time

    import httpx

    import features
    from riskmodel.contract import load_dataset
    from riskmodel.tracking import tracking_uri

    exe = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    if not Path(exe).exists():
        pytest.skip("the mlflow command is not installed next to this Python")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # MLflow starts the server as `uvicorn ...` through the shell: the environment's bin folder must be on PATH,
    # as it is for anyone who activated it.
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(),
           "PATH": f"{Path(exe).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    server = subprocess.Popen([exe, "models", "serve", "-m", f"models:/riskmodel/{trained.model_version}",
                               "--env-manager", "local", "-p", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        scores = pd.read_parquet(job / "scores.parquet").set_index("company_number").head(20)
        dataset = load_dataset(world)
        assert dataset.extract_date is not None
        names = trained.fitted.bundle.feature_names
        X = features.build(dataset, dataset.extract_date, names).loc[scores.index].reset_index()
        payload = {"dataframe_split": json.loads(X.to_json(orient="split", index=False)),
                   "params": {"as_of": str(dataset.extract_date), "model_version": str(trained.model_version)}}
        response = httpx.post(f"http://127.0.0.1:{port}/invocations", json=payload, timeout=60)
        assert response.status_code == 200, response.text
        out = pd.DataFrame(response.json()["predictions"]).set_index("company_number")
        np.testing.assert_allclose(out["risk_score"].astype(float), scores["risk_score"], rtol=0, atol=1e-12)
        assert (out["risk_band"] == scores["risk_band"]).all()
        for i in range(1, 6):
            assert (out[f"reason_{i}_text"].fillna("") == scores[f"reason_{i}_text"].fillna("")).all()
    finally:
        server.terminate()
        server.wait(timeout=30)
