"""Model layer: the authenticated HTTP service (401 / 422 / 413 / 404, audit log, agreement with the core)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from riskmodel.registry import export_model
from riskmodel.scoring import RiskScorer
from riskmodel.service import MAX_BATCH, add_key, create_app, load_keys
from riskmodel.training.track import TrainResult


@pytest.fixture(scope="module")
def scorer(trained: TrainResult, world: Path, tmp_path_factory: pytest.TempPathFactory) -> RiskScorer:
    folder = export_model(str(trained.model_version), tmp_path_factory.mktemp("svc-models"))
    return RiskScorer.load(folder, reference=world)


@pytest.fixture
def service(scorer: RiskScorer, tmp_path: Path) -> tuple[TestClient, str, Path]:
    keys = tmp_path / "keys.json"
    key = add_key(keys, "procurement-test")
    audit = tmp_path / "audit.jsonl"
    return TestClient(create_app(scorer, load_keys(keys), audit, max_body_bytes=4096)), key, audit


def test_keys_are_stored_hashed(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    key = add_key(keys, "a")
    stored = json.loads(keys.read_text())
    assert key not in keys.read_text() and len(stored["a"]) == 64


def test_401_without_a_valid_key(service: tuple[TestClient, str, Path], scorer: RiskScorer) -> None:
    client, _, _ = service
    number = str(scorer.scores.index[0])
    assert client.post("/v1/score", json={"company_number": number}).status_code == 401
    assert client.post("/v1/score", json={"company_number": number},
                       headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/v1/model", headers={"X-API-Key": ""}).status_code == 401
    assert client.get("/health").status_code == 200


def test_score_agrees_with_the_scoring_function(service: tuple[TestClient, str, Path], scorer: RiskScorer) -> None:
    client, key, _ = service
    for number in scorer.scores.index[:3]:
        response = client.post("/v1/score", json={"company_number": str(number)}, headers={"X-API-Key": key})
        assert response.status_code == 200
        assert response.headers["X-Request-ID"]
        assert response.json() == scorer.score(str(number)).to_dict()


def test_batch_and_its_bound(service: tuple[TestClient, str, Path], scorer: RiskScorer) -> None:
    client, key, _ = service
    numbers = [str(n) for n in scorer.scores.index[:10]]
    response = client.post("/v1/score/batch", json={"company_numbers": numbers}, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert [r["company_number"] for r in response.json()] == numbers
    too_many = client.post("/v1/score/batch", json={"company_numbers": ["A1"] * (MAX_BATCH + 1)},
                           headers={"X-API-Key": key})
    assert too_many.status_code in (413, 422)


def test_422_names_the_field(service: tuple[TestClient, str, Path]) -> None:
    client, key, _ = service
    bad = client.post("/v1/score", json={"company_number": "SC 12; DROP"}, headers={"X-API-Key": key})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "company_number"
    extra = client.post("/v1/score", json={"company_number": "SC1", "name": "x"}, headers={"X-API-Key": key})
    assert extra.status_code == 422 and extra.json()["detail"][0]["loc"][-1] == "name"
    unknown = client.post("/v1/score", json={"company_number": "NOSUCH1"}, headers={"X-API-Key": key})
    assert unknown.status_code == 404


def test_413_for_a_large_body(service: tuple[TestClient, str, Path]) -> None:
    client, key, _ = service
    response = client.post("/v1/score", content=b'{"company_number": "' + b"A" * 10_000 + b'"}',
                           headers={"X-API-Key": key, "Content-Type": "application/json"})
    assert response.status_code == 413


def test_audit_log_has_one_line_per_call_and_no_personal_data(service: tuple[TestClient, str, Path],
                                                              scorer: RiskScorer, world: Path) -> None:
    client, key, audit = service
    numbers = [str(n) for n in scorer.scores.index[:3]]
    for number in numbers:
        client.post("/v1/score", json={"company_number": number}, headers={"X-API-Key": key})
    client.get("/v1/model", headers={"X-API-Key": key})
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 4
    assert {"time", "key_id", "request_id", "model_version", "model_sha256", "input_sha256", "scores"} <= set(lines[0])
    assert lines[0]["key_id"] == "procurement-test" and lines[0]["scores"][0][1] in {"high", "medium", "low"}
    text = audit.read_text()
    names = pd.read_parquet(world / "companies.parquet").set_index("company_number").loc[numbers, "company_name"]
    officers = pd.read_parquet(world / "officers.parquet")
    assert not any(name in text for name in names)
    assert not any(name in text for name in officers["officer_name"].head(200))
    assert key not in text


def test_openapi_documents_the_routes(service: tuple[TestClient, str, Path]) -> None:
    client, _, _ = service
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/score", "/v1/score/batch", "/v1/model", "/health"} <= set(paths)
