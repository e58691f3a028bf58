"""Model layer: the authenticated HTTP service (401 / 422 / 413 / 404, audit log, agreement with the core)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from riskmodel.registry import export_model
from riskmodel.scoring import RiskScorer
from riskmodel.service import MAX_BATCH, _AuditLog, add_key, create_app, load_keys
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
    for headers in ({"X-API-Key": key, "Content-Type": content_type}, {"Content-Type": content_type},
                    {"X-API-Key": "wrong", "Content-Type": content_type}):
        fast = client.post("/v1/score", content=body, headers=headers)
        slow = reference.post("/v1/score", content=body, headers=headers)
        assert fast.status_code == slow.status_code and fast.status_code in (401, 404, 422)
        assert fast.json() == slow.json()
        assert fast.headers.get("www-authenticate") == slow.headers.get("www-authenticate")
        if fast.status_code == 422:
            assert fast.json()["detail"][0]["loc"][0] == "body"


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
        ("422 malformed JSON, wrong key", "POST", "/v1/score", b'{"company_number": ',
         {"X-API-Key": wrong, **json_type}, 422, None, "/v1/score"),
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
        assert (line["status"], line["key_id"], line["route"]) == (status, key_id, route), what
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
