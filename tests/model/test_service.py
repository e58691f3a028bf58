"""Model layer: the authenticated HTTP service (401 / 422 / 413 / 404, audit log, agreement with the core)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from riskmodel.cli import app
from riskmodel.errors import RiskmodelError
from riskmodel.registry import export_model
from riskmodel.scoring import RiskScorer
from riskmodel.service import MAX_BATCH, _AuditLog, add_key, app_from_env, create_app, load_keys
from riskmodel.training.track import TrainResult


@pytest.fixture(scope="module")
def scorer(trained: TrainResult, world: Path, tmp_path_factory: pytest.TempPathFactory) -> RiskScorer:
    folder = export_model(str(trained.model_version), tmp_path_factory.mktemp("svc-models"))
    return RiskScorer.load(folder, reference=world)


@pytest.fixture(scope="module")
def record(scorer: RiskScorer, world: Path) -> tuple[str, dict[str, Any]]:
    """A business of the reference data and its own rows, as a supplier would send them in ``{"record": ...}``."""
    number = str(scorer.scores.index[0])

    def rows(table: str) -> list[dict[str, Any]]:
        frame = pd.read_parquet(world / f"{table}.parquet")
        frame = frame[frame["company_number"] == number].astype(object)
        return [{k: (None if pd.isna(v) else str(v)) for k, v in r.items()} for r in frame.to_dict("records")]

    return number, {"company": rows("companies")[0], "officers": rows("officers"), "ownership": rows("ownership"),
                    "accounts": rows("accounts")}


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
    client, key, audit = service
    numbers = [str(n) for n in scorer.scores.index[:10]]
    response = client.post("/v1/score/batch", json={"company_numbers": numbers}, headers={"X-API-Key": key})
    assert response.status_code == 200
    assert [r["company_number"] for r in response.json()] == numbers
    most = [str(n) for n in scorer.scores.index[:MAX_BATCH]]
    full = client.post("/v1/score/batch", json={"company_numbers": most}, headers={"X-API-Key": key})
    assert full.status_code == 200 and len(full.json()) == MAX_BATCH
    # One over the documented maximum (OpenAPI maxItems): 422 naming the field, and no score at all.
    schema = client.get("/openapi.json").json()["components"]["schemas"]["BatchRequest"]
    assert schema["properties"]["company_numbers"]["maxItems"] == MAX_BATCH
    too_many = client.post("/v1/score/batch", json={"company_numbers": [*most, str(scorer.scores.index[MAX_BATCH])]},
                           headers={"X-API-Key": key})
    assert too_many.status_code == 422 and too_many.json()["detail"][0]["loc"] == ["body", "company_numbers"]
    assert "risk_score" not in too_many.text and "risk_band" not in too_many.text
    # One unknown business among known ones: 404 and no partial scores either.
    partial = client.post("/v1/score/batch", json={"company_numbers": [*numbers, "NOSUCH1"]},
                          headers={"X-API-Key": key})
    assert partial.status_code == 404 and "risk_score" not in partial.text
    bad_item = client.post("/v1/score/batch", json={"company_numbers": [numbers[0], "Jane Doe"]},
                           headers={"X-API-Key": key})
    assert bad_item.status_code == 422 and bad_item.json()["detail"][0]["loc"] == ["body", "company_numbers", 1]
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line["status"], len(line["scores"])) for line in lines] == [
        (200, 10), (200, MAX_BATCH), (422, 0), (404, 0), (422, 0)]


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


# The POST /v1/score fast path (service._Front) must answer exactly as the FastAPI route would.

_BAD_BODIES: list[tuple[bytes, str]] = [
    (b'{"company_number": "SC 12; DROP"}', "application/json"),
    (b'{"company_number": "SC1", "name": "x"}', "application/json"),
    (b'{"company_number": ""}', "application/json"),
    (b'{"company_number": "' + b"A" * 33 + b'"}', "application/json"),
    (b'{"company_number": "SC1\\n"}', "application/json"),  # Python's re "$" would accept the newline
    (b'{"company_number": "SC\\u00e91"}', "application/json"),
    (b'{"company_number": 123}', "application/json"),
    (b'{"company_number": null}', "application/json"),
    (b'{"company_numbers": ["SC1"]}', "application/json"),
    (b"{}", "application/json"),
    (b'["SC1"]', "application/json"),
    (b'"SC1"', "application/json"),
    (b"{bad", "application/json"),
    (b"\xff\xfe", "application/json"),
    (b"", "application/json"),
    (b'{"company_number": "SC1"}', "text/plain"),
    (b'{"company_number": "NOSUCH1"}', "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), _BAD_BODIES)
def test_fast_path_errors_match_the_fastapi_route(service: tuple[TestClient, str, Path], body: bytes,
                                                  content_type: str) -> None:
    client, key, _ = service
    front: Any = client.app
    reference = TestClient(front.fastapi)  # the same app without the fast path
    headers = {"X-API-Key": key, "Content-Type": content_type}
    fast = client.post("/v1/score", content=body, headers=headers)
    slow = reference.post("/v1/score", content=body, headers=headers)
    assert fast.status_code == slow.status_code and fast.status_code in (404, 422)
    assert fast.json() == slow.json()
    if fast.status_code == 422:
        assert fast.json()["detail"][0]["loc"][0] == "body"
    # Without a valid key the front answers 401 whatever the body (FastAPI would parse the body first), with the
    # same answer as FastAPI's own key check gives a well-formed body.
    well_formed = reference.post("/v1/score", json={"company_number": "SC1"}, headers={"X-API-Key": "wrong"})
    assert well_formed.status_code == 401
    for headers in ({"Content-Type": content_type}, {"X-API-Key": "wrong", "Content-Type": content_type}):
        fast = client.post("/v1/score", content=body, headers=headers)
        assert fast.status_code == 401 and fast.json() == well_formed.json()
        assert fast.headers["www-authenticate"] == well_formed.headers["www-authenticate"] == "API-Key"


def test_fast_path_answers_valid_calls_without_fastapi(service: tuple[TestClient, str, Path],
                                                       scorer: RiskScorer) -> None:
    client, key, audit = service
    front: Any = client.app
    calls = 0
    inner = front.app  # the FastAPI app, which the fast path must not reach for a valid call

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        nonlocal calls
        calls += 1
        await inner(scope, receive, send)

    front.app = counting
    reference = TestClient(inner)
    number = str(scorer.scores.index[1])
    for content_type in ("application/json", "application/json; charset=utf-8"):
        fast = client.post("/v1/score", content=json.dumps({"company_number": number}),
                           headers={"X-API-Key": key, "Content-Type": content_type})
        slow = reference.post("/v1/score", json={"company_number": number}, headers={"X-API-Key": key})
        assert fast.status_code == slow.status_code == 200
        assert fast.content == slow.content and fast.json() == scorer.score(number).to_dict()
        assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
        assert fast.headers["X-Request-ID"] != slow.headers["X-Request-ID"]
    assert calls == 0
    lines = [json.loads(line) for line in audit.read_text().splitlines()]  # the bare FastAPI app does not audit
    assert len(lines) == 2 and lines[1]["request_id"] == fast.headers["X-Request-ID"]
    assert all(line["route"] == "/v1/score" and line["status"] == 200 for line in lines)
    sent = json.dumps({"company_number": number}).encode()
    assert lines[0]["input_sha256"] == lines[1]["input_sha256"] == hashlib.sha256(sent).hexdigest()


def test_fast_path_audits_one_line_per_answered_call(service: tuple[TestClient, str, Path],
                                                     scorer: RiskScorer) -> None:
    client, key, audit = service
    numbers = [str(n) for n in scorer.scores.index[:5]]
    ids = []
    for i in range(40):
        response = client.post("/v1/score", content=json.dumps({"company_number": numbers[i % 5]}),
                               headers={"X-API-Key": key, "Content-Type": "application/json"})
        assert response.status_code == 200
        ids.append(response.headers["X-Request-ID"])
    assert client.post("/v1/score", json={"company_number": "NOSUCH1"}, headers={"X-API-Key": key}).status_code == 404
    client.post("/v1/score", json={"company_number": numbers[0]})  # 401: audited too, with no key id
    client.post("/v1/score", json={"company_number": "a b"}, headers={"X-API-Key": key})  # 422: audited too
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 43
    assert [line["request_id"] for line in lines[:40]] == ids and len(set(ids)) == 40
    assert [line["status"] for line in lines] == [200] * 40 + [404, 401, 422]
    assert [line["key_id"] for line in lines[40:]] == ["procurement-test", None, "procurement-test"]
    expected = {n: [scorer.score(n).risk_score, scorer.score(n).risk_band] for n in numbers}
    assert [line["scores"] for line in lines[:40]] == [[expected[numbers[i % 5]]] for i in range(40)]
    body = json.dumps({"company_number": numbers[0]}).encode()
    assert lines[0]["input_sha256"] == hashlib.sha256(body).hexdigest()


def test_fast_path_413_declared_and_streamed(service: tuple[TestClient, str, Path]) -> None:
    client, key, audit = service
    big = b'{"company_number": "' + b"A" * 10_000 + b'"}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold on the streamed bytes
        for start in range(0, len(big), 1000):
            yield big[start:start + 1000]

    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    assert client.post("/v1/score", content=big, headers=headers).status_code == 413
    streamed = client.post("/v1/score", content=chunks(), headers=headers)
    assert streamed.status_code == 413 and "larger than 4096 bytes" in streamed.json()["detail"]
    assert client.post("/v1/score/batch", content=chunks(), headers=headers).status_code == 413
    assert client.post("/health", content=big, headers=headers).status_code == 413  # outside /v1: not audited
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line["route"], line["status"], line["input_sha256"]) for line in lines] == [
        ("/v1/score", 413, None), ("/v1/score", 413, None), ("/v1/score/batch", 413, None)]


def test_audit_lines_stay_whole_across_writers(tmp_path: Path) -> None:
    # Two writers on one file, as two uvicorn workers: each line is one O_APPEND write, so none interleave.
    path = tmp_path / "audit.jsonl"
    info = {"version": "v", "sha256": "0" * 64}
    writers = [_AuditLog(path, info), _AuditLog(path, info)]

    def write(writer: _AuditLog, tag: str) -> None:
        for i in range(500):
            writer.write("/v1/score", f"{tag}-{i}", tag, 200, [[0.5, "high"]] * 20, b"x")

    threads = [threading.Thread(target=write, args=(w, t)) for w, t in zip(writers, "ab", strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == 1000 and {line["key_id"] for line in lines} == {"a", "b"}


def test_score_with_records(scorer: RiskScorer, record: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    key = add_key(tmp_path / "keys.json", "procurement-test")
    audit = tmp_path / "audit.jsonl"
    client = TestClient(create_app(scorer, load_keys(tmp_path / "keys.json"), audit))  # default 64 KiB limit
    number, record = record
    headers = {"X-API-Key": key}
    by_record = client.post("/v1/score", json={"record": record}, headers=headers)
    by_number = client.post("/v1/score", json={"company_number": number}, headers=headers)
    assert by_record.status_code == 200, by_record.text
    assert by_record.json() == by_number.json() == scorer.score_record(record).to_dict()
    bad = {**record, "company": {**record["company"], "date_of_creation": "31/12/2020"}}
    response = client.post("/v1/score", json={"record": bad}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "record", "company[0]", "date_of_creation"]
    both = client.post("/v1/score", json={"company_number": number, "record": record}, headers=headers)
    assert both.status_code == 422 and "exactly one" in both.text
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [line["status"] for line in lines] == [200, 200, 422, 422]
    assert record["company"]["company_name"] not in audit.read_text()


# Every /v1 call, whatever its outcome, appends exactly one audit line (written by service._Front).

_LIMIT = 65_536  # the default, so a supplier's record fits
# Every field an audit line holds, and nothing else.
_AUDIT_FIELDS = {"time", "key_id", "request_id", "route", "status", "model_version", "model_sha256", "input_sha256",
                 "scores"}


def test_every_v1_call_appends_exactly_one_audit_line(scorer: RiskScorer, record: tuple[str, dict[str, Any]],
                                                      world: Path, tmp_path: Path) -> None:
    key = add_key(tmp_path / "keys.json", "procurement-test")
    audit = tmp_path / "audit.jsonl"
    client = TestClient(create_app(scorer, load_keys(tmp_path / "keys.json"), audit, max_body_bytes=_LIMIT))
    number, own = record
    numbers = [str(n) for n in scorer.scores.index[:3]]
    bad_record = {**own, "company": {**own["company"], "date_of_creation": "31/12/2020"}}
    wrong = "wrong-" + key[6:]  # as long as a real key, and in none of the stored hashes
    valid, json_type = {"X-API-Key": key}, {"Content-Type": "application/json"}

    def body(data: Any) -> bytes:
        return json.dumps(data).encode()

    big = body({"company_number": "A" * (_LIMIT + 10)})

    def streamed() -> Iterator[bytes]:  # no Content-Length: over the limit only once streamed
        for start in range(0, len(big), 8192):
            yield big[start:start + 8192]

    # (what the call is, method, path, raw body, headers, expected status, expected key id, expected route)
    calls: list[tuple[str, str, str, bytes | Iterator[bytes], dict[str, str], int, str | None, str | None]] = [
        ("200 by number (fast path)", "POST", "/v1/score", body({"company_number": number}),
         {**valid, **json_type}, 200, "procurement-test", "/v1/score"),
        ("200 by number (FastAPI route)", "POST", "/v1/score", body({"company_number": number}),
         {**valid, "Content-Type": "application/vnd.riskmodel+json"}, 200, "procurement-test", "/v1/score"),
        ("200 by record", "POST", "/v1/score", body({"record": own}), {**valid, **json_type}, 200,
         "procurement-test", "/v1/score"),
        ("200 batch", "POST", "/v1/score/batch", body({"company_numbers": numbers}), {**valid, **json_type}, 200,
         "procurement-test", "/v1/score/batch"),
        ("200 model", "GET", "/v1/model", b"", valid, 200, "procurement-test", "/v1/model"),
        ("401 missing key", "POST", "/v1/score", body({"company_number": number}), json_type, 401, None,
         "/v1/score"),
        ("401 wrong key", "POST", "/v1/score", body({"company_number": number}), {"X-API-Key": wrong, **json_type},
         401, None, "/v1/score"),
        ("401 wrong key, batch", "POST", "/v1/score/batch", body({"company_numbers": numbers}),
         {"X-API-Key": wrong, **json_type}, 401, None, "/v1/score/batch"),
        ("401 empty key, model", "GET", "/v1/model", b"", {"X-API-Key": ""}, 401, None, "/v1/model"),
        ("404 unknown business", "POST", "/v1/score", body({"company_number": "NOSUCH1"}), {**valid, **json_type},
         404, "procurement-test", "/v1/score"),
        ("404 unknown business, batch", "POST", "/v1/score/batch", body({"company_numbers": [number, "NOSUCH1"]}),
         {**valid, **json_type}, 404, "procurement-test", "/v1/score/batch"),
        ("404 unknown /v1 path", "GET", "/v1/Jane%20Doe", b"", valid, 404, "procurement-test", None),
        ("405 GET on /v1/score", "GET", "/v1/score", b"", valid, 405, "procurement-test", "/v1/score"),
        ("422 bad body shape", "POST", "/v1/score", body({"company_number": "a b"}), {**valid, **json_type}, 422,
         "procurement-test", "/v1/score"),
        ("422 extra field", "POST", "/v1/score", body({"company_number": number, "officer_name": "x"}),
         {**valid, **json_type}, 422, "procurement-test", "/v1/score"),
        ("422 malformed JSON", "POST", "/v1/score", b'{"company_number": ', {**valid, **json_type}, 422,
         "procurement-test", "/v1/score"),
        ("401 malformed JSON, wrong key", "POST", "/v1/score", b'{"company_number": ',
         {"X-API-Key": wrong, **json_type}, 401, None, "/v1/score"),
        ("401 unknown /v1 path, no key", "GET", "/v1/Jane%20Doe", b"", {}, 401, None, None),
        ("422 bad record", "POST", "/v1/score", body({"record": bad_record}), {**valid, **json_type}, 422,
         "procurement-test", "/v1/score"),
        ("400 undecodable body", "POST", "/v1/score", b'{"company_number": "\xff"}', {**valid, **json_type}, 400,
         "procurement-test", "/v1/score"),
        ("413 declared", "POST", "/v1/score", big, {**valid, **json_type}, 413, "procurement-test", "/v1/score"),
        ("413 streamed", "POST", "/v1/score/batch", streamed(), {**valid, **json_type}, 413, "procurement-test",
         "/v1/score/batch"),
        ("413 wrong key", "POST", "/v1/score", big, {"X-API-Key": wrong, **json_type}, 413, None, "/v1/score"),
    ]
    sent: list[bytes] = []
    for what, method, path, content, headers, status, key_id, route in calls:
        before = audit.read_text().splitlines() if audit.exists() else []
        response = client.request(method, path, content=content, headers=headers)
        lines = audit.read_text().splitlines()
        assert response.status_code == status, (what, response.text)
        assert len(lines) == len(before) + 1, what
        line = json.loads(lines[-1])
        assert set(line) == _AUDIT_FIELDS, what  # only these: no names, no bodies, no keys
        assert (line["status"], line["key_id"], line["route"]) == (status, key_id, route), what
        assert all(isinstance(s, float) and b in {"high", "medium", "low"} for s, b in line["scores"]), what
        assert response.headers.get_list("X-Request-ID") == [line["request_id"]], what
        if status == 413:  # refused before the body was read to the end
            assert line["input_sha256"] is None, what
        else:
            assert isinstance(content, bytes)
            assert line["input_sha256"] == hashlib.sha256(content).hexdigest(), what
            sent.append(content)
        assert line["model_version"] and len(line["model_sha256"]) == 64, what
        assert line["scores"] if status == 200 and path != "/v1/model" else line["scores"] == [], what
    for health in ("/health", "/openapi.json", "/docs"):  # outside /v1: not audited
        assert client.get(health).status_code == 200
    assert client.get("/nosuch").status_code == 404
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == len(calls) and len({line["request_id"] for line in lines}) == len(calls)

    text = audit.read_text()
    companies = pd.read_parquet(world / "companies.parquet").set_index("company_number")
    officers = pd.read_parquet(world / "officers.parquet")
    assert not any(name in text for name in companies.loc[[number, *numbers], "company_name"])
    assert not any(o["officer_name"] in text for o in own["officers"])
    assert not any(name in text for name in officers["officer_name"].head(200))
    assert key not in text and wrong not in text
    assert hashlib.sha256(key.encode()).hexdigest() not in text
    assert hashlib.sha256(wrong.encode()).hexdigest() not in text
    assert "Jane" not in text and "officer_name" not in text
    assert not any(raw.decode("latin-1") in text for raw in sent if raw)


def test_an_unexpected_error_is_audited_as_500(service: tuple[TestClient, str, Path], scorer: RiskScorer,
                                               record: tuple[str, dict[str, Any]],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    client, key, audit = service
    front: Any = client.app
    quiet = TestClient(front, raise_server_exceptions=False)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(scorer, "score_record", boom)
    response = quiet.post("/v1/score", json={"record": {"company": {}}}, headers={"X-API-Key": key})
    assert response.status_code == 500

    async def failing(scope: Any, receive: Any, send: Any) -> None:  # fails without starting a response
        raise RuntimeError("boom")

    monkeypatch.setattr(front, "app", failing)
    assert quiet.get("/v1/model", headers={"X-API-Key": key}).status_code == 500
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line["route"], line["status"], line["key_id"], line["scores"]) for line in lines] == [
        ("/v1/score", 500, "procurement-test", []), ("/v1/model", 500, "procurement-test", [])]
    assert response.headers["X-Request-ID"] == lines[0]["request_id"]


# The audit log cannot be written: by default the call gets 503 and no score leaves; with audit_failure="serve"
# it is answered and logged as unaudited. Either way the service recovers by itself once the log can be written.

_AUDIT_FAILED = {"detail": "the audit log cannot be written; no score is given without an audit record"}
_needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(),
                                     reason="needs /dev/full (Linux), where every write fails with ENOSPC")


def _service_log(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "riskmodel.service" and r.levelno == level]


@_needs_dev_full
@pytest.mark.parametrize("policy", ["refuse", "serve"])
def test_audit_failure_refuses_or_serves_then_recovers(scorer: RiskScorer, record: tuple[str, dict[str, Any]],
                                                       tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                       policy: str) -> None:
    key = add_key(tmp_path / "keys.json", "procurement-test")
    audit = tmp_path / "audit.jsonl"
    options = {} if policy == "refuse" else {"audit_failure": "serve"}  # "refuse" is the default
    client = TestClient(create_app(scorer, load_keys(tmp_path / "keys.json"), audit, max_body_bytes=_LIMIT,
                                   **options))
    number, own = record
    numbers = [str(n) for n in scorer.scores.index[:3]]
    valid, json_type = {"X-API-Key": key}, {"Content-Type": "application/json"}
    # (what, method, path, body, headers, status when the log can be written): the fast path, each FastAPI route,
    # and the answers written by the front itself (401, 413).
    calls: list[tuple[str, str, str, bytes, dict[str, str], int]] = [
        ("score, fast path", "POST", "/v1/score", json.dumps({"company_number": number}).encode(),
         {**valid, **json_type}, 200),
        ("score, FastAPI route", "POST", "/v1/score", json.dumps({"company_number": number}).encode(),
         {**valid, "Content-Type": "application/vnd.riskmodel+json"}, 200),
        ("score by record", "POST", "/v1/score", json.dumps({"record": own}).encode(), {**valid, **json_type}, 200),
        ("batch", "POST", "/v1/score/batch", json.dumps({"company_numbers": numbers}).encode(),
         {**valid, **json_type}, 200),
        ("model", "GET", "/v1/model", b"", valid, 200),
        ("unknown business", "POST", "/v1/score", b'{"company_number": "NOSUCH1"}', {**valid, **json_type}, 404),
        ("no key", "POST", "/v1/score", json.dumps({"company_number": number}).encode(), json_type, 401),
        ("too large", "POST", "/v1/score", b"x" * (_LIMIT + 1), {**valid, **json_type}, 413),
    ]
    caplog.set_level(logging.DEBUG)
    for what, method, path, body, headers, status in calls:
        audit.unlink(missing_ok=True)
        audit.symlink_to("/dev/full")  # the next write fails with ENOSPC, as on a full disk
        caplog.clear()
        failed = client.request(method, path, content=body, headers=headers)
        rid = failed.headers["X-Request-ID"]
        errors = _service_log(caplog, logging.ERROR)
        assert len(errors) == 1 and "ENOSPC" in errors[0] and rid in errors[0], (what, errors)
        assert client.get("/health").json()["audit"] == "failing", what
        assert client.get("/health").json()["status"] == "degraded", what
        if policy == "refuse":
            assert failed.status_code == 503, what
            assert failed.json() == _AUDIT_FAILED, what
            assert "refused with 503" in errors[0] and f"status {status}" in errors[0], what
        else:
            assert failed.status_code == status, what
            assert "served unaudited" in errors[0] and f"status {status}" in errors[0], what
        assert ("risk_score" in failed.text) == (policy == "serve" and status == 200 and path != "/v1/model"), what
        # The log can be written again (a regular file in its place): the next call reopens it, by itself.
        audit.unlink()
        again = client.request(method, path, content=body, headers=headers)
        assert again.status_code == status, what
        lines = [json.loads(line) for line in audit.read_text().splitlines()]
        assert [(line["request_id"], line["status"]) for line in lines] == [(again.headers["X-Request-ID"], status)]
        assert client.get("/health").json()["audit"] == "ok", what
        assert any("written again after 1 failed write" in m for m in _service_log(caplog, logging.WARNING)), what
    texts = [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    assert not any(key in text or own["company"]["company_name"] in text for text in texts)


@_needs_dev_full
def test_audit_lines_go_to_the_file_the_path_names(service: tuple[TestClient, str, Path], scorer: RiskScorer,
                                                    tmp_path: Path) -> None:
    client, key, audit = service
    front: Any = client.app
    number = str(scorer.scores.index[0])
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    body = json.dumps({"company_number": number}).encode()

    def ids(path: Path) -> list[str]:
        return [json.loads(line)["request_id"] for line in path.read_text().splitlines()]

    first = client.post("/v1/score", content=body, headers=headers)
    # A descriptor that is not the log file any more (here one on /dev/full, where writes fail): the line goes to
    # the file the path names, so nothing is refused.
    os.close(front.audit.fd)
    front.audit.fd = os.open("/dev/full", os.O_WRONLY)
    stale = client.post("/v1/score", content=body, headers=headers)
    # Removed while open (lines written to it would be lost with no error): recreated before the line.
    audit.unlink()
    removed = client.post("/v1/score", content=body, headers=headers)
    # Renamed away, as a log rotation does: the old file keeps its lines, the next line starts a new file.
    audit.rename(tmp_path / "audit.jsonl.1")
    rotated = client.post("/v1/score", content=body, headers=headers)
    responses = [first, stale, removed, rotated]
    assert [r.status_code for r in responses] == [200] * 4
    assert ids(tmp_path / "audit.jsonl.1") == [removed.headers["X-Request-ID"]]
    assert ids(audit) == [rotated.headers["X-Request-ID"]]
    assert not front.audit.failing and front.audit.failures == 0


def test_audit_write_torn_by_a_failure_leaves_the_next_line_whole(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    log = _AuditLog(path, {"version": "v", "sha256": "0" * 64})
    real = os.write
    tries: list[int] = []

    def failing(fd: int, data: bytes) -> int:  # a short write, then EIO: part of a line is in the file
        if fd != log.fd:
            return real(fd, data)
        tries.append(len(data))
        if len(tries) == 1:
            return real(fd, data[:20])
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "write", failing)
    assert log.write("/v1/score", "r1", "k", 200, [[0.5, "high"]], b"x") is False
    monkeypatch.undo()
    assert log.failing and log.error is not None and log.error.errno == errno.EIO and log.torn
    assert log.write("/v1/score", "r2", "k", 200, [[0.5, "high"]], b"x") is True
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and len(lines[0]) == 20 and json.loads(lines[1])["request_id"] == "r2"
    assert not log.failing and log.error is None and not log.torn


def test_audit_failure_setting_is_checked(scorer: RiskScorer, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # riskmodel serve hands the setting to each uvicorn worker in RISKMODEL_SERVE_AUDIT_FAILURE ("refuse" if unset).
    monkeypatch.setattr(RiskScorer, "load", lambda *args, **kwargs: scorer)
    add_key(tmp_path / "env-keys.json", "a")
    for name, value in {"MODEL": "m", "REFERENCE": "r", "KEYS": str(tmp_path / "env-keys.json"),
                        "AUDIT_LOG": str(tmp_path / "env-audit.jsonl")}.items():
        monkeypatch.setenv(f"RISKMODEL_SERVE_{name}", value)
    monkeypatch.delenv("RISKMODEL_SERVE_AUDIT_FAILURE", raising=False)
    monkeypatch.delenv("RISKMODEL_JOBS_DIR", raising=False)
    assert app_from_env().serve_unaudited is False
    monkeypatch.setenv("RISKMODEL_SERVE_AUDIT_FAILURE", "serve")
    assert app_from_env().serve_unaudited is True
    with pytest.raises(RiskmodelError, match="audit_failure must be one of refuse, serve") as caught:
        create_app(scorer, {}, tmp_path / "audit.jsonl", audit_failure="ignore")
    assert caught.value.evidence == {"audit_failure": "ignore", "allowed": ["refuse", "serve"]}
    with pytest.raises(RiskmodelError, match="cannot open the audit log") as unopened:
        create_app(scorer, {}, Path("/proc/audit.jsonl"))
    assert unopened.value.evidence["path"] == "/proc/audit.jsonl"
    key_file = tmp_path / "keys.json"
    add_key(key_file, "a")
    result = CliRunner().invoke(app, ["serve", "--reference", str(tmp_path), "--keys", str(key_file),
                                      "--audit-failure", "ignore"])
    assert result.exit_code == 2 and "--audit-failure must be one of refuse, serve" in result.output


@contextlib.contextmanager
def _uvicorn(asgi: Any) -> Iterator[tuple[str, int]]:
    """Serve ``asgi`` with uvicorn on a loopback port, in a thread, its loggers at DEBUG and propagating to root."""
    import uvicorn

    names = ("uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    levels = {name: logging.getLogger(name).level for name in names}
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # log_config=None: uvicorn installs no handlers of its own, so its records reach the root logger (and caplog).
    server = uvicorn.Server(uvicorn.Config(asgi, log_config=None, log_level="debug", access_log=True,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started or not thread.is_alive():
                break
            threading.Event().wait(0.02)
        assert server.started, "uvicorn did not start"
        port = int(sock.getsockname()[1])
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@_needs_dev_full
def test_keys_never_logged_and_limits_over_real_http(scorer: RiskScorer, record: tuple[str, dict[str, Any]],
                                                     tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import httpx

    key = add_key(tmp_path / "keys.json", "procurement-test")
    wrong = "wrong-" + key[6:]  # as long as a real key
    audit = tmp_path / "audit.jsonl"
    front = create_app(scorer, load_keys(tmp_path / "keys.json"), audit, max_body_bytes=4096)
    number, own = record
    numbers = [str(n) for n in scorer.scores.index[:3]]
    caplog.set_level(logging.DEBUG)  # every logger: the service's, uvicorn's, FastAPI's, the client's
    with _uvicorn(front) as (base, port), httpx.Client(base_url=base, timeout=30) as http:
        for headers in ({"X-API-Key": key}, {"X-API-Key": wrong}, {}):
            http.post("/v1/score", json={"company_number": number}, headers=headers)
            http.post("/v1/score", json={"company_number": "a b"}, headers=headers)
            http.post("/v1/score", content=b'{"company_number": ', headers=headers)
            http.post("/v1/score/batch", json={"company_numbers": numbers}, headers=headers)
            http.get("/v1/model", headers=headers)
            http.get("/v1/Jane%20Doe", headers=headers)
        wrongs = [http.post("/v1/score", json={"company_number": number}, headers={"X-API-Key": wrong}),
                  http.post("/v1/score/batch", json={"company_numbers": numbers}, headers={"X-API-Key": wrong}),
                  http.get("/v1/model", headers={"X-API-Key": wrong}), http.get("/v1/model")]
        assert [r.status_code for r in wrongs] == [401] * 4
        assert not any("risk_score" in r.text or "model_sha256" in r.text for r in wrongs)
        by_record = http.post("/v1/score", json={"record": own}, headers={"X-API-Key": key})
        assert by_record.status_code == 413  # the record is larger than this service's 4 KiB

        big = b'{"company_number": "' + b"A" * 5000 + b'"}'
        declared = http.post("/v1/score", content=big, headers={"X-API-Key": key, "Content-Type": "application/json"})
        chunked = http.post("/v1/score", content=iter([big[i:i + 1000] for i in range(0, len(big), 1000)]),
                            headers={"X-API-Key": key, "Content-Type": "application/json"})
        assert chunked.request.headers["transfer-encoding"] == "chunked"
        assert (declared.status_code, chunked.status_code) == (413, 413)
        assert declared.json() == chunked.json() == {"detail": "request body larger than 4096 bytes"}
        # A gigabyte declared and never sent: refused at once from the headers, without waiting for the body.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(b"POST /v1/score/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-API-Key: "
                        + key.encode() + b"\r\nContent-Length: 1000000000\r\n\r\n")
            assert raw.recv(65536).startswith(b"HTTP/1.1 413 ")

        kept = audit.read_text()
        audit.unlink()
        audit.symlink_to("/dev/full")  # an audit failure: its error record must not hold the key either
        assert http.post("/v1/score", json={"company_number": number}, headers={"X-API-Key": key}).status_code == 503
        assert http.get("/v1/model", headers={"X-API-Key": wrong}).status_code == 503
        audit.unlink()

    records = caplog.records
    assert {"uvicorn.access", "uvicorn.error", "riskmodel.service"} <= {r.name for r in records}
    assert sum(r.name == "uvicorn.access" for r in records) == 28  # every call above
    assert sum(r.name == "riskmodel.service" and r.levelno == logging.ERROR for r in records) == 2
    texts = [caplog.text, *(r.getMessage() for r in records), *(repr(r.args) for r in records),
             *(repr(r.__dict__) for r in records), kept]
    for secret in (key, wrong, hashlib.sha256(key.encode()).hexdigest(), hashlib.sha256(wrong.encode()).hexdigest()):
        assert not any(secret in text for text in texts)
    lines = [json.loads(line) for line in kept.splitlines()]
    assert len(lines) == 18 + 4 + 1 + 3 and all(set(line) == _AUDIT_FIELDS for line in lines)
    assert not any(own["company"]["company_name"] in text for text in texts)


# schemathesis against the service's own OpenAPI schema, in process (ASGI, no network).

_V1 = ["GET /v1/model", "POST /v1/score", "POST /v1/score/batch"]


def test_schemathesis_fuzzes_the_services_own_schema(scorer: RiskScorer, tmp_path: Path) -> None:
    schemathesis = pytest.importorskip("schemathesis", reason="schemathesis (dev extra) fuzzes the OpenAPI schema")
    from hypothesis import given
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi import checks
    from support_fuzz import fuzz_settings

    key = add_key(tmp_path / "keys.json", "fuzz")
    wrong = "wrong-" + key[6:]
    audit = tmp_path / "audit.jsonl"
    front = create_app(scorer, load_keys(tmp_path / "keys.json"), audit)  # the default limit: 64 KiB
    reached = 0  # /v1 calls that reached the service, including those schemathesis's checks send on their own

    async def counted(scope: Any, receive: Any, send: Any) -> None:
        nonlocal reached
        reached += scope["type"] == "http" and scope["path"].startswith("/v1/")
        await front(scope, receive, send)

    schema = schemathesis.openapi.from_asgi("/openapi.json", counted)
    operations = {op.label: op for op in (result.ok() for result in schema.get_all_operations())}
    assert sorted(operations) == ["GET /health", *_V1]
    sent: Counter[tuple[str, str, str, int]] = Counter()  # (sweep, operation, mode, status) per generated request

    def record_case(case: Any) -> bool:
        return isinstance(case.body, dict) and "record" in case.body

    def keyed(case: Any, sweep: str) -> None:
        # Every default check: no 5xx, status codes, content types, headers and bodies as documented, schema-valid
        # requests accepted, schema-invalid ones refused, auth not ignored. One exception: a supplier's record
        # (values checked by the data contract, with rules a JSON schema cannot state) may be valid to the schema
        # and still get 422 naming the field.
        excluded = [checks.positive_data_acceptance] if record_case(case) else []
        response = case.call_and_validate(headers={"X-API-Key": key}, excluded_checks=excluded)
        sent[(sweep, case.operation.label, case.meta.generation.mode.value, response.status_code)] += 1

    conformance = [schemathesis.checks.not_a_server_error, checks.status_code_conformance,
                   checks.content_type_conformance, checks.response_schema_conformance,
                   checks.response_headers_conformance]

    def fuzz(operation: Any, mode: GenerationMode) -> None:
        @fuzz_settings(40)
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            keyed(case, "fuzz")

        run()

    def unauthorised(operation: Any, mode: GenerationMode, sweep: str) -> None:
        @fuzz_settings(10)
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            if case.headers:
                case.headers.pop("X-API-Key", None)
            response = case.call(headers={"X-API-Key": wrong} if sweep == "wrong key" else None)
            # A negative case may negate the key itself: schemathesis then leaves the header out.
            carried = response.request.headers.get("X-API-Key")
            assert carried in ((wrong, None) if sweep == "wrong key" else (None,))
            assert response.status_code == 401, (sweep, response.text)
            assert response.json() == {"detail": "a valid X-API-Key header is required"}
            case.validate_response(response, checks=conformance)
            sent[("wrong key" if carried else "no key", operation.label, mode.value, response.status_code)] += 1

        run()

    # Coverage: schemathesis's deterministic boundary and type cases for each operation (and unexpected methods).
    for operation in operations.values():
        config = schema.config.generation_for(operation=operation, phase="coverage")
        for case in schema.iter_coverage_cases(operation, generation_modes=list(GenerationMode),
                                               generation_config=config):
            keyed(case, "coverage")
    # Fuzzing with a valid key: generated requests that fit the schema, and ones that break it.
    for label, operation in operations.items():
        for mode in [GenerationMode.POSITIVE] if label == "GET /health" else list(GenerationMode):
            fuzz(operation, mode)
    # Without a key and with a wrong one: 401 on every /v1 operation, whatever the body, and no score.
    for label in _V1:
        for mode in GenerationMode:
            for sweep in ("no key", "wrong key"):
                unauthorised(operations[label], mode, sweep)

    totals = Counter({sweep: 0 for sweep in ("coverage", "fuzz", "no key", "wrong key")})
    for (sweep, *_), count in sent.items():
        totals[sweep] += count
    logging.getLogger("riskmodel.fuzz").info("schemathesis: %d generated requests %s, %d /v1 calls reached the "
                                             "service; statuses %s", sum(totals.values()), dict(totals), reached,
                                             sorted(sent.items()))
    assert not any(status >= 500 for (_, _, _, status) in sent)
    # Each operation was exercised in each sweep, with schema-valid and schema-invalid requests alike.
    assert {(sweep, label) for sweep, label, _, _ in sent} == {
        *((sweep, label) for sweep in ("coverage", "fuzz") for label in operations),
        *((sweep, label) for sweep in ("no key", "wrong key") for label in _V1)}
    fuzzed = {op: {status for (sweep, label, _, status) in sent if (sweep, label) == ("fuzz", op)} for op in operations}
    assert fuzzed["GET /health"] == fuzzed["GET /v1/model"] - {401} == {200}  # 401: security negated
    assert {404, 422} <= fuzzed["POST /v1/score"] and {404, 422} <= fuzzed["POST /v1/score/batch"]
    # The audit log held up: one line per /v1 call, only its fields, no key.
    text = audit.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == reached and all(set(line) == _AUDIT_FIELDS for line in lines)
    assert key not in text and wrong not in text
