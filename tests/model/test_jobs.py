"""The officers' job service: submit, follow, collect, cancel; keys, scopes, limits, validation, restarts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from support_jobs import free_port, serve, wait_for, zip_folder
from typer.testing import CliRunner

from riskmodel.cli import app as cli_app
from riskmodel.jobs.settings import JobSettings
from riskmodel.jobs.store import JobStore, WorkerRef
from riskmodel.jobs.worker import Worker
from riskmodel.scoring import RiskScorer
from riskmodel.service import add_key, create_app, load_keys
from riskmodel.synth import SynthConfig, generate

BUSINESSES = 400


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic batch of businesses (the officers' upload)."""
    folder = tmp_path_factory.mktemp("jobs-batch") / "batch"
    generate(folder, SynthConfig(businesses=BUSINESSES, seed=11))
    return folder


@pytest.fixture(scope="module")
def reference_run(batch: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What ``riskmodel score`` writes for the batch and the model: what every job must reproduce."""
    out = tmp_path_factory.mktemp("jobs-reference") / "scores"
    result = CliRunner().invoke(cli_app, ["score", str(batch), "--out", str(out), "--model", str(model_dir), "-q"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def scorer(model_dir: Path, batch: Path) -> RiskScorer:
    return RiskScorer.load(model_dir, reference=batch)


@dataclass
class Env:
    client: TestClient
    settings: JobSettings
    keys: dict[str, str]  # key id -> the key itself
    audit: Path

    def h(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who]}

    def submit(self, who: str, content: bytes, name: str = "batch.zip", **data: str) -> httpx.Response:
        return self.client.post("/v1/jobs", files={"files": (name, content, "application/zip")}, data=data,
                                headers=self.h(who))

    def job(self, who: str, job_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/jobs/{job_id}", headers=self.h(who))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def run_worker(self) -> int:
        return Worker(self.settings).run(once=True)

    def audit_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()]


def make_env(tmp_path: Path, scorer: RiskScorer, model_dir: Path, **overrides: Any) -> Env:
    keys_file = tmp_path / "keys.json"
    keys = {who: add_key(keys_file, who) for who in ("alice", "bob", "carol", "dave")}
    values: dict[str, Any] = {"models": {"test model": str(model_dir)}, "chunk_size": 100,
                              "scopes": {"alice": "glasgow", "bob": "glasgow", "carol": "edinburgh"}, **overrides}
    settings = JobSettings(root=tmp_path / "jobs", **values)
    audit = tmp_path / "audit.jsonl"
    client = TestClient(create_app(scorer, load_keys(keys_file), audit, jobs=settings), follow_redirects=False)
    return Env(client, settings, keys, audit)


@pytest.fixture
def env(tmp_path: Path, scorer: RiskScorer, model_dir: Path) -> Env:
    return make_env(tmp_path, scorer, model_dir)


def test_zip_job_runs_and_its_files_equal_riskmodel_score(env: Env, batch: Path, reference_run: Path) -> None:
    content = zip_folder(batch)
    response = env.submit("alice", content, model="test model")
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert (job["state"], job["owner"], job["model"], job["input"]["bytes"]) == ("queued", "alice", "test model",
                                                                                 len(content))
    # Nothing runs in the request: the job waits for a worker.
    assert env.job("alice", job["id"])["state"] == "queued"
    assert env.client.get(f"/v1/jobs/{job['id']}/scores.csv", headers=env.h("alice")).status_code == 409

    assert env.run_worker() == 1
    done = env.job("alice", job["id"])
    chunks = -(-BUSINESSES // env.settings.chunk_size)
    assert (done["state"], done["error"], done["attempts"]) == ("done", None, 1)
    assert done["progress"] == {"done": chunks, "total": chunks}
    manifest = json.loads((reference_run / "manifest.json").read_text())
    assert done["counts"]["businesses_scored"] == manifest["businesses_scored"]
    assert done["counts"]["bands"] == manifest["bands"]
    assert done["validation"]["ok"] is True and done["validation"]["rejected_tables"] == []

    def get(name: str) -> bytes:
        answer = env.client.get(f"/v1/jobs/{job['id']}/{name}", headers=env.h("alice"))
        assert answer.status_code == 200, answer.text
        return answer.content

    assert get("scores.csv") == (reference_run / "scores.csv").read_bytes()
    assert get("quarantine.csv") == (reference_run / "quarantine.csv").read_bytes()
    downloaded = pq.read_table(io.BytesIO(get("scores.parquet")))
    assert downloaded.equals(pq.read_table(reference_run / "scores.parquet"))
    report = env.client.get(f"/v1/jobs/{job['id']}/report", headers=env.h("alice"))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "Business risk ranking for review" in report.text
    assert "script-src" not in report.headers["content-security-policy"]  # default-src 'none': no script runs

    lines = env.audit_lines()
    submit = [x for x in lines if x.get("action") == "submit"]
    assert len(submit) == 1
    assert submit[0]["route"] == "/v1/jobs" and submit[0]["status"] == 202 and submit[0]["job_id"] == job["id"]
    assert submit[0]["files"] == [{"name": "batch.zip", "bytes": len(content),
                                   "sha256": hashlib.sha256(content).hexdigest()}]
    downloads = [(x["route"], x["file"], x["status"]) for x in lines if x.get("action") == "download"]
    assert downloads == [("/v1/jobs/{job_id}/{name}", "scores.csv", 409),
                         ("/v1/jobs/{job_id}/{name}", "scores.csv", 200),
                         ("/v1/jobs/{job_id}/{name}", "quarantine.csv", 200),
                         ("/v1/jobs/{job_id}/{name}", "scores.parquet", 200),
                         ("/v1/jobs/{job_id}/report", "report.html", 200)]


def test_table_files_and_an_as_of_date(env: Env, batch: Path, reference_run: Path) -> None:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in sorted(batch.iterdir())
             if p.is_file()]
    response = env.client.post("/v1/jobs", files=files, data={"as_of": "2025-03-31"}, headers=env.h("bob"))
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert response.json()["model"] == "test model"  # the first configured model is the default
    env.run_worker()
    done = env.job("bob", job_id)
    assert done["state"] == "done" and done["counts"]["as_of"] == "2025-03-31"
    manifest = env.client.get(f"/v1/jobs/{job_id}/manifest.json", headers=env.h("bob")).json()
    assert manifest["as_of"] == "2025-03-31"
    reference = json.loads((reference_run / "manifest.json").read_text())
    assert reference["as_of"] != "2025-03-31"  # the date given was used, not the extract date


def test_every_job_endpoint_and_page_needs_a_key_or_a_session(env: Env, batch: Path) -> None:
    job_id = env.submit("alice", zip_folder(batch)).json()["id"]
    api = [("GET", "/v1/jobs"), ("POST", "/v1/jobs"), ("GET", f"/v1/jobs/{job_id}"),
           ("DELETE", f"/v1/jobs/{job_id}"), ("GET", f"/v1/jobs/{job_id}/report"),
           ("GET", f"/v1/jobs/{job_id}/scores.csv"), ("GET", f"/v1/jobs/{job_id}/quarantine.csv")]
    for method, path in api:
        for headers in ({}, {"X-API-Key": "not-a-key"}, {"X-API-Key": ""}):
            answer = env.client.request(method, path, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
    pages = [("GET", "/jobs"), ("GET", "/jobs/new"), ("POST", "/jobs/new"), ("GET", f"/jobs/{job_id}"),
             ("POST", f"/jobs/{job_id}/cancel"), ("GET", f"/jobs/{job_id}/report"),
             ("GET", f"/jobs/{job_id}/scores.csv"), ("POST", "/logout")]
    for method, path in pages:
        for cookies in ({}, {"riskmodel_session": "forged"}):
            env.client.cookies.clear()
            env.client.cookies.update(cookies)
            answer = env.client.request(method, path)
            assert answer.status_code == 303, (method, path, answer.text)
            assert answer.headers["location"].startswith("/login?next=%2F"), answer.headers["location"]
    env.client.cookies.clear()
    # A page session does not open the API, nor an API key the pages.
    assert env.client.get("/jobs", headers=env.h("alice")).status_code == 303
    assert env.client.get(f"/v1/jobs/{job_id}").status_code == 401
    assert env.job("alice", job_id)["state"] == "queued"  # no call above cancelled it


def login(env: Env, who: str, next_path: str = "/jobs") -> str:
    """Sign in through the login form; return the session's CSRF token (from a page's form)."""
    form = env.client.get(f"/login?next={next_path}")
    assert form.status_code == 200
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    answer = env.client.post("/login", data={"key": env.keys[who], "csrf": token, "next": next_path})
    assert answer.status_code == 303 and answer.headers["location"] == next_path
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and env.keys[who] not in cookie
    page = env.client.get("/jobs/new")
    assert page.status_code == 200
    return page.text.split('name="csrf" value="')[1].split('"')[0]


def test_login_session_csrf_and_logout(env: Env, batch: Path) -> None:
    form = env.client.get("/login")
    token = form.text.split('name="csrf" value="')[1].split('"')[0]
    wrong = env.client.post("/login", data={"key": "wrong", "csrf": token, "next": "/jobs"})
    assert wrong.status_code == 401 and "not accepted" in wrong.text
    assert env.client.post("/login", data={"key": env.keys["alice"], "csrf": "forged"}).status_code == 403
    # An open redirect is refused: only local paths are followed after login.
    evil = env.client.post("/login", data={"key": env.keys["alice"], "csrf": token, "next": "//evil.example/x"})
    assert evil.status_code == 303 and evil.headers["location"] == "/jobs"
    csrf = login(env, "alice")
    content = zip_folder(batch)
    forged = env.client.post("/jobs/new", files={"files": ("batch.zip", content, "application/zip")},
                             data={"csrf": "forged"})
    assert forged.status_code == 403
    submitted = env.client.post("/jobs/new", files={"files": ("batch.zip", content, "application/zip")},
                                data={"csrf": csrf, "model": "test model", "as_of": ""})
    assert submitted.status_code == 303, submitted.text
    job_id = submitted.headers["location"].rsplit("/", 1)[1]
    page = env.client.get(submitted.headers["location"])
    assert page.status_code == 200 and "Queued" in page.text and 'http-equiv="refresh"' in page.text
    assert 'http-equiv="refresh"' not in env.client.get(f"/jobs/{job_id}?refresh=0").text
    assert env.client.post("/logout", data={"csrf": csrf}).status_code == 303
    assert env.client.get("/jobs").status_code == 303  # the session is gone server-side
    lines = [x for x in env.audit_lines() if x["route"] in ("/login", "/jobs/new")]
    assert [(x["route"], x["key_id"], x["status"], x["action"]) for x in lines] == [
        ("/login", None, 401, "login"), ("/login", "alice", 303, "login"), ("/login", "alice", 303, "login"),
        ("/jobs/new", "alice", 303, "submit")]
    assert lines[-1]["job_id"] == job_id


def test_scopes_keep_deployments_apart(env: Env, batch: Path) -> None:
    job_id = env.submit("alice", zip_folder(batch)).json()["id"]
    assert [j["id"] for j in env.client.get("/v1/jobs", headers=env.h("bob")).json()["jobs"]] == [job_id]
    assert env.job("bob", job_id)["owner"] == "alice"  # same scope (glasgow): colleagues see each other's jobs
    for who in ("carol", "dave"):  # edinburgh, and a key with no scope (its own jobs only)
        assert env.client.get("/v1/jobs", headers=env.h(who)).json() == {"jobs": []}
        for method, path in [("GET", f"/v1/jobs/{job_id}"), ("GET", f"/v1/jobs/{job_id}/report"),
                             ("GET", f"/v1/jobs/{job_id}/problems.csv"), ("DELETE", f"/v1/jobs/{job_id}")]:
            assert env.client.request(method, path, headers=env.h(who)).status_code == 404, (who, method, path)
    env.client.cookies.clear()
    login(env, "carol")
    assert env.client.get(f"/jobs/{job_id}").status_code == 404
    assert job_id not in env.client.get("/jobs").text
    assert env.job("alice", job_id)["state"] == "queued"  # carol's DELETE did nothing


def test_an_upload_missing_a_table_is_refused_at_once(env: Env, batch: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    for path in batch.iterdir():
        if path.is_file() and path.stem not in ("companies", "licences"):
            (partial / path.name).write_bytes(path.read_bytes())
    response = env.submit("alice", zip_folder(partial))
    assert response.status_code == 422
    assert response.json()["problems"] == ["required table missing: expected companies.csv or companies.parquet",
                                           "required table missing: expected licences.csv or licences.parquet"]
    assert env.client.get("/v1/jobs", headers=env.h("alice")).json() == {"jobs": []}
    assert not list((env.settings.root / "jobs").iterdir())  # nothing of the refused upload is kept


def test_invalid_data_fail_validation_with_the_report(env: Env, batch: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in batch.iterdir():
        if path.is_file():
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else None
            if frame is not None and path.stem == "companies":
                frame.drop(columns=["company_type"]).to_csv(broken / "companies.csv", index=False)
            else:
                (broken / path.name).write_bytes(path.read_bytes())
    job_id = env.submit("alice", zip_folder(broken)).json()["id"]
    env.run_worker()
    job = env.job("alice", job_id)
    assert job["state"] == "failed"
    assert job["error"].startswith("the data do not meet the contract: 1 table(s) rejected (companies)")
    assert job["validation"]["ok"] is False and job["validation"]["rejected_tables"] == ["companies"]
    assert any(p["column"] == "company_type" and p["level"] == "table" for p in job["validation"]["sample"])
    assert job["progress"] == {"done": 0, "total": 0}  # failed before any scoring
    problems = env.client.get(f"/v1/jobs/{job_id}/problems.csv", headers=env.h("alice"))
    assert problems.status_code == 200
    assert "company_type" in pd.read_csv(io.StringIO(problems.text))["column"].tolist()
    assert env.client.get(f"/v1/jobs/{job_id}/scores.csv", headers=env.h("alice")).status_code == 409
    login(env, "alice")
    page = env.client.get(f"/jobs/{job_id}").text
    assert "Why the job failed" in page and "Validation report" in page and "company_type" in page


def test_unsafe_zips_are_refused(env: Env, batch: Path) -> None:
    companies = (batch / "companies.parquet").read_bytes()

    def zipped(*entries: tuple[str | zipfile.ZipInfo, bytes]) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            for name, data in entries:
                zf.writestr(name, data)
        return buffer.getvalue()

    link = zipfile.ZipInfo("officers.csv")
    link.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
    cases = {
        "zip-slip": zipped(("companies.parquet", companies), ("../../evil.csv", b"x")),
        "absolute": zipped(("/srv/evil.csv", b"x"), ("companies.parquet", companies)),
        "symlink": zipped(("companies.parquet", companies), (link, b"/etc/passwd")),
        "deep": zipped(("a/b/companies.parquet", companies)),
        "not a zip": b"PK\x03\x04 not really",
    }
    for case, content in cases.items():
        response = env.submit("alice", content)
        assert response.status_code == 422, (case, response.text)
    assert env.submit("alice", cases["zip-slip"]).json()["problems"] == [
        "../../evil.csv: a path that leaves the folder ('..')"]
    assert env.client.get("/v1/jobs", headers=env.h("alice")).json() == {"jobs": []}
    assert not list((env.settings.root / "jobs").iterdir())
    assert not (env.settings.root.parent / "evil.csv").exists()


def test_upload_size_limit(tmp_path: Path, scorer: RiskScorer, model_dir: Path, batch: Path) -> None:
    env = make_env(tmp_path, scorer, model_dir, max_upload_mb=0.1)
    content = zip_folder(batch)
    assert len(content) > 0.1 * 1024 * 1024
    too_big = env.submit("alice", content)
    assert too_big.status_code == 413 and too_big.json()["detail"] == f"request body larger than {104857} bytes"
    # Without a key the upload limit does not apply: the default (64 KiB) does, before the 401.
    assert env.client.post("/v1/jobs", files={"files": ("b.zip", content[:90_000])}).status_code == 413
    assert env.client.post("/v1/jobs", files={"files": ("b.zip", content[:1000])}).status_code == 401
    refused = [x for x in env.audit_lines() if x["route"] == "/v1/jobs"]
    assert [(x["status"], x["key_id"]) for x in refused] == [(413, "alice"), (413, None), (401, None)]
    assert env.client.get("/v1/jobs", headers=env.h("alice")).json() == {"jobs": []}


def test_pending_limit_gives_429(tmp_path: Path, scorer: RiskScorer, model_dir: Path, batch: Path) -> None:
    env = make_env(tmp_path, scorer, model_dir, max_pending=1)
    content = zip_folder(batch)
    assert env.submit("alice", content).status_code == 202
    assert env.submit("bob", content).status_code == 429  # same scope
    assert env.submit("carol", content).status_code == 202  # another scope has its own allowance


def test_cancel_a_queued_and_a_running_job(env: Env, batch: Path) -> None:
    content = zip_folder(batch)
    queued = env.submit("alice", content).json()["id"]
    answer = env.client.delete(f"/v1/jobs/{queued}", headers=env.h("alice"))
    assert answer.status_code == 200 and answer.json()["state"] == "cancelled"
    assert env.client.delete(f"/v1/jobs/{queued}", headers=env.h("alice")).status_code == 409
    running = env.submit("alice", content).json()["id"]
    worker = Worker(env.settings)
    claimed = worker.store.claim(worker.ref)
    assert claimed is not None and claimed.id == running
    answer = env.client.delete(f"/v1/jobs/{running}", headers=env.h("bob"))
    assert answer.status_code == 202 and answer.json()["cancel_requested"] is True
    worker.process(claimed)  # stops at its first check
    job = env.job("alice", running)
    assert (job["state"], job["error"]) == ("cancelled", "cancelled at the officer's request")
    assert not (env.settings.job_dir(running) / "out").exists()
    assert env.run_worker() == 0  # nothing left to run


def test_a_job_whose_worker_died_is_resumed_then_failed_after_its_attempts(env: Env, batch: Path) -> None:
    store = JobStore(env.settings.db_url)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    ghost = WorkerRef("ghost", Worker(env.settings).ref.host, int(dead.stdout))  # a process that has exited
    job_id = env.submit("alice", zip_folder(batch)).json()["id"]
    assert store.claim(ghost) is not None
    worker = Worker(env.settings)
    assert worker.recover() == [job_id]
    job = env.job("alice", job_id)
    assert job["state"] == "queued" and job["note"].startswith(f"resumed: its worker (process {ghost.pid}")
    # A job whose worker keeps dying is failed with the reason once it had its runs.
    for _ in range(env.settings.max_attempts - 1):
        assert store.claim(ghost) is not None
        worker.recover()
    job = env.job("alice", job_id)
    assert (job["state"], job["attempts"]) == ("failed", env.settings.max_attempts)
    assert job["error"] == (f"the job was run {env.settings.max_attempts} time(s) and its worker (process "
                            f"{ghost.pid} on {ghost.host}) stopped each time; it is not tried again")


def test_retention_deletes_old_finished_jobs_with_their_files(env: Env, batch: Path) -> None:
    job_id = env.submit("alice", zip_folder(batch)).json()["id"]
    kept = env.submit("alice", zip_folder(batch)).json()["id"]
    env.client.delete(f"/v1/jobs/{job_id}", headers=env.h("alice"))
    assert env.settings.job_dir(job_id).is_dir()
    with sqlite3.connect(env.settings.root / "jobs.db") as db:  # finished 31 days ago (retention: 30)
        db.execute("UPDATE jobs SET finished = datetime('now', '-31 days') WHERE id = ?", (job_id,))
    assert Worker(env.settings).clean() == 1
    assert not env.settings.job_dir(job_id).exists()
    assert [j["id"] for j in env.client.get("/v1/jobs", headers=env.h("alice")).json()["jobs"]] == [kept]


def test_service_killed_mid_job_and_restarted_finishes_it_once(tmp_path: Path, model_dir: Path, batch: Path,
                                                                reference_run: Path) -> None:
    keys = tmp_path / "keys.json"
    key = add_key(keys, "alice")
    config = tmp_path / "jobs.toml"
    config.write_text('chunk_size = 20\nworkers = 1\npoll_seconds = 0.2\n[models]\n"test model" = "'
                      + str(model_dir) + '"\n')
    options = {"model": model_dir, "reference": batch, "keys": keys, "config": config, "port": free_port()}
    headers = {"X-API-Key": key}
    with serve(tmp_path, **options) as first:
        answer = httpx.post(f"{first.url}/v1/jobs", headers=headers, timeout=30,
                            files={"files": ("batch.zip", zip_folder(batch), "application/zip")})
        assert answer.status_code == 202, answer.text
        job_url = f"{first.url}/v1/jobs/{answer.json()['id']}"

        def midway() -> dict[str, Any] | None:
            job: dict[str, Any] = httpx.get(job_url, headers=headers, timeout=10).json()
            return job if job["state"] == "running" and job["progress"]["done"] >= 2 else None

        seen = wait_for(midway, 120, "the job to be running with two chunks done", every=0.02)
        first.kill()  # the service and its worker, at once, mid-job
    db = tmp_path / "jobs" / "jobs.db"
    with sqlite3.connect(db) as conn:
        state, done, total = conn.execute("SELECT state, progress_done, progress_total FROM jobs").fetchone()
    assert state == "running" and seen["progress"]["done"] <= done < total, (state, done, total)
    with serve(tmp_path, **options) as second:
        job_url = job_url.replace(first.url, second.url)

        def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = httpx.get(job_url, headers=headers, timeout=10).json()
            return job if job["state"] not in ("queued", "validating", "running") else None

        job = wait_for(finished, 180, "the resumed job to finish", every=0.2)
        assert (job["state"], job["attempts"]) == ("done", 2), job
        assert job["note"].startswith("resumed: its worker (process ")
        scores = httpx.get(f"{job_url}/scores.csv", headers=headers, timeout=30)
        parquet = httpx.get(f"{job_url}/scores.parquet", headers=headers, timeout=30)
    assert scores.content == (reference_run / "scores.csv").read_bytes()
    assert pq.read_table(io.BytesIO(parquet.content)).equals(pq.read_table(reference_run / "scores.parquet"))
    frame = pd.read_csv(io.BytesIO(scores.content))
    assert frame["company_number"].is_unique and len(frame) == job["counts"]["businesses_scored"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone() == (1,)
    out = tmp_path / "jobs" / "jobs" / job["id"] / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in reference_run.iterdir())  # no leftover part or temporary file


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("no Chromium on this machine (Debian package chromium, installed by .ci/run): the browser "
                    "test needs a real browser")
    return found


def test_officer_in_a_real_browser_without_javascript(tmp_path: Path, model_dir: Path, batch: Path,
                                                     reference_run: Path) -> None:
    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the dev extra) drives the browser")
    shots = Path(os.environ.get("RISKMODEL_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    keys = tmp_path / "keys.json"
    key = add_key(keys, "officer-1")
    config = tmp_path / "jobs.toml"
    config.write_text('chunk_size = 10\nrefresh_seconds = 1\npoll_seconds = 0.2\n[models]\n"champion (test)" = "'
                      + str(model_dir) + '"\n[scopes]\n"officer-1" = "glasgow"\n')
    upload = tmp_path / "batch.zip"
    upload.write_bytes(zip_folder(batch))
    with serve(tmp_path, model=model_dir, reference=batch, keys=keys, config=config, port=free_port()) as served, \
            sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        context = browser.new_context(java_script_enabled=False, accept_downloads=True,
                                      viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.goto(f"{served.url}/jobs")
        assert page.url == f"{served.url}/login?next=%2Fjobs"  # no session: the login page
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        assert page.url == f"{served.url}/jobs"
        assert page.get_by_text("No jobs yet").is_visible()
        page.get_by_role("link", name="Submit a new job").click()
        page.get_by_label("Tables, or a zip of them").set_input_files(upload)
        page.get_by_label("Model").select_option("champion (test)")
        page.screenshot(path=shots / "1-form.png", full_page=True)
        page.get_by_role("button", name="Submit job").click()
        job_id = page.url.rsplit("/", 1)[1]
        assert page.url == f"{served.url}/jobs/{job_id}"

        page.goto(f"{served.url}/jobs")

        def running() -> bool:
            page.reload()
            return page.locator("progress").count() == 1

        wait_for(running, 120, "the job's progress bar in the list", every=0.1)
        assert page.get_by_text("Running", exact=True).count() == 1
        assert page.get_by_text(re.compile(r"^\d+ of 40 chunks \(\d+%\)$")).count() == 1
        page.screenshot(path=shots / "2-list-progress.png", full_page=True)

        page.goto(f"{served.url}/jobs/{job_id}")  # its <meta http-equiv="refresh"> reloads it until the job ends
        page.get_by_text("Done", exact=True).wait_for(timeout=120_000)
        assert page.locator('meta[http-equiv="refresh"]').count() == 0
        page.screenshot(path=shots / "3-job-done.png", full_page=True)
        page.get_by_role("link", name="Open the report").click()
        assert page.get_by_role("heading", name="Business risk ranking for review").is_visible()
        page.screenshot(path=shots / "4-report.png")
        page.go_back()
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the scores (CSV)").click()
        saved = tmp_path / "downloaded-scores.csv"
        download.value.save_as(saved)
        assert saved.read_bytes() == (reference_run / "scores.csv").read_bytes()

        # 200% zoom: a 640 px wide window at scale 2 lays out as a 1280 px window zoomed to 200%.
        zoomed = browser.new_context(viewport={"width": 640, "height": 800}, device_scale_factor=2)
        zoomed.add_cookies(context.cookies())
        zpage = zoomed.new_page()
        zpage.goto(f"{served.url}/jobs/{job_id}")
        assert zpage.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        zpage.screenshot(path=shots / "5-job-done-200pct.png", full_page=True)
        browser.close()
    lines = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(x["route"], x["key_id"], x.get("action"), x.get("file")) for x in lines] == [
        ("/login", "officer-1", "login", None), ("/jobs/new", "officer-1", "submit", None),
        ("/jobs/{job_id}/report", "officer-1", "download", "report.html"),
        ("/jobs/{job_id}/{name}", "officer-1", "download", "scores.csv")]
