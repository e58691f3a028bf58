"""The authenticated HTTP service for procurement systems: a thin FastAPI adapter over :class:`RiskScorer`.

Routes: ``GET /health`` (no key), ``GET /v1/model``, ``POST /v1/score``, ``POST /v1/score/batch`` (bounded size).
Every ``/v1`` call needs an API key (``X-API-Key`` header). Keys are stored only as SHA-256 hashes (see
:func:`add_key`) and compared in constant time. Bodies above ``max_body_bytes`` get 413, invalid bodies 422 with
field-level messages, a missing or wrong key 401.

Every call to a ``/v1/`` path appends exactly one JSON line to the audit log, whatever its status (200, 400, 401,
404, 405, 413, 422, 500): time, key id (null when the key is missing or wrong; the key itself, even hashed, is never
written), request id (also sent in the ``X-Request-ID`` header), route (null for a path that is not a ``/v1``
route, since a path can hold anything), status, model version and SHA-256, SHA-256 of the raw request body (null
for a 413, whose body is not read to the end), and the scores and bands of a 200. No names, no bodies, no other
personal data. ``/health``, ``/docs``, ``/openapi.json`` and other paths outside ``/v1/`` are not audited, nor is a
call whose client goes away before its body is complete (nothing is answered). The lines are written by
:class:`_Front`, the ASGI layer that sees every call's final status, so each call gets one line by construction.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from riskmodel.errors import RiskmodelError
from riskmodel.scoring.scorer import RecordError, UnknownBusinessError

__all__ = ["MAX_BATCH", "add_key", "app_from_env", "create_app", "load_keys"]

#: Most company numbers in one batch call.
MAX_BATCH = 100


class ScoreRequest(BaseModel):
    """Score one business: by company number (reference data), or a supplier described by its own records."""

    model_config = ConfigDict(extra="forbid")
    company_number: str | None = Field(default=None, min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$",
                                       description="Company number of a business in the reference data")
    record: dict[str, Any] | None = Field(
        default=None, description="The supplier's own rows with the data contract's field names: "
                                  "{company: {...}, officers: [...], ownership: [...], accounts: [...], "
                                  "licences: [...], contracts: [...], transactions: [...]}; joined to the reference "
                                  "data so network features still work")

    @model_validator(mode="after")
    def _one_of(self) -> ScoreRequest:
        if (self.company_number is None) == (self.record is None):
            raise ValueError("give exactly one of company_number or record")
        return self


class BatchRequest(BaseModel):
    """Score up to ``MAX_BATCH`` businesses of the reference data."""

    model_config = ConfigDict(extra="forbid")
    company_numbers: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class ReasonOut(BaseModel):
    """One reason behind a score."""

    feature: str
    contribution: float = Field(description="exact SHAP value, log-odds")
    text: str


class ScoreOut(BaseModel):
    """A score with its reasons."""

    company_number: str
    risk_score: float = Field(description="calibrated probability of confirmation within the horizon; advisory")
    risk_band: str
    log_odds: float
    reasons: list[ReasonOut]
    model_version: str
    as_of: str

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_keys(path: str | Path) -> dict[str, str]:
    """Read ``{key_id: sha256_of_key}`` from a JSON file written by :func:`add_key`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise RiskmodelError(f"cannot read the API key file {path}: {exc}", path=str(path)) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) and len(v) == 64 for v in data.values()):
        raise RiskmodelError(f"{path} must map key ids to SHA-256 hashes", path=str(path))
    return dict(data)


def add_key(path: str | Path, key_id: str) -> str:
    """Create a new API key for ``key_id``, store its hash in ``path`` and return the key (shown once)."""
    path = Path(path)
    keys = load_keys(path) if path.exists() else {}
    key = secrets.token_urlsafe(32)
    keys[key_id] = _hash(key)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(keys, indent=1, sort_keys=True), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return key


_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")  # ScoreRequest.company_number; fullmatch, so no trailing newline
_SCORE_PATH = "/v1/score"
_JSON = b"application/json"


def _key_id(keys: Mapping[str, str], key: str | None) -> str | None:
    """Return the id of the stored key whose hash matches ``key``, else None.

    Every stored hash is compared, in constant time, so the time taken says nothing about which key (or how much of
    one) matched.
    """
    digest = _hash(key or "")
    found = None
    for key_id, stored in keys.items():
        if hmac.compare_digest(digest, stored) and key:
            found = key_id
    return found


class _AuditLog:
    """Append-only JSON-lines audit log shared by every worker process.

    The file is opened once with ``O_APPEND`` and each line goes out in a single ``os.write``: the kernel appends
    each write whole at the end of the file, so lines from concurrent requests and from several uvicorn workers
    never interleave, with no lock and no user-space buffer to flush.
    """

    def __init__(self, path: str | Path, model_info: Mapping[str, Any]) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        self.version = model_info["version"]
        self.sha256 = model_info["sha256"]

    def write(self, route: str | None, request_id: str, key_id: str | None, status: int, scores: list[list[Any]],
              body: bytes | None) -> None:
        """Append one line: time, key id, request id, route, status, model, input hash, scores and bands."""
        line = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "key_id": key_id,
                "request_id": request_id, "route": route, "status": status, "model_version": self.version,
                "model_sha256": self.sha256,
                "input_sha256": None if body is None else hashlib.sha256(body).hexdigest(), "scores": scores}
        data = (json.dumps(line) + "\n").encode("ascii")  # json.dumps escapes non-ASCII
        written = os.write(self.fd, data)
        while written < len(data):  # only on a short write (disk full, signal): finish the line
            written += os.write(self.fd, data[written:])


class _Front:
    """ASGI entry point: the body-size limit, every ``/v1`` call's audit line, and a fast path for ``POST /v1/score``.

    The body is read here, up to the limit, before FastAPI sees the request: a body over the limit, declared or
    streamed, gets 413 (an exception raised from inside FastAPI's body reading would come out as 400), and the read
    body is then replayed to FastAPI.

    The fast path answers only the case it can answer for certain: a valid key, a JSON body that is exactly
    ``{"company_number": <valid number>}`` and a business of the reference data. It then sends the score's
    pre-serialised bytes and writes the audit line itself, skipping FastAPI's routing, dependency injection and
    pydantic validation (most of the per-call cost). Anything else (no or wrong key, bad JSON, a bad or extra field,
    an unknown business) goes to the FastAPI app, so every error response (401, 422 with ``loc``, 404) comes from
    the one documented code path and cannot drift from it.

    Auditing is done here and nowhere else: the fast path writes its line, a 413 writes its line, and a ``/v1`` call
    replayed to FastAPI writes its line when its response starts (before the client gets it), with the status
    FastAPI sends: routes only leave their score summaries in ``request.state.audit_scores``. The request id is made
    here too (``request.state.audit_request_id``, which the routes' ``X-Request-ID`` header uses) and added to any
    response that has no ``X-Request-ID``. If the app fails without starting a response, the server answers 500 and
    the line says 500.
    """

    def __init__(self, app: FastAPI, limit: int, fast_score: Callable[[str], tuple[bytes, list[Any]]],
                 keys: Mapping[str, str], audit: _AuditLog) -> None:
        self.app = app
        self.fastapi = app  # for OpenAPI and tests
        self.limit = limit
        self.fast_score = fast_score
        self.keys = keys
        self.audit = audit
        # The route named in an audit line: a /v1 route's path, never a client's arbitrary path.
        self.routes = frozenset(path for route in app.routes
                                if isinstance(path := getattr(route, "path", None), str) and path.startswith("/v1/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = key = content_type = None
        for name, value in scope["headers"]:
            if name == b"content-length" and declared is None:
                declared = value
            elif name == b"x-api-key" and key is None:
                key = value
            elif name == b"content-type" and content_type is None:
                content_type = value
        path = scope["path"]
        audited = path.startswith("/v1/")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send, path if audited else None, key)
            return
        try:
            body = await self._read(receive)
        except _Disconnected:  # the client went away mid-body: nobody to answer, nothing to audit
            return
        if body is None:
            await self._reject(send, path if audited else None, key)
            return
        if not audited:
            await self.app(scope, _replay(body, receive), send)
            return
        key_id = self._key_id(key)
        if key_id is not None and path == _SCORE_PATH and scope["method"] == "POST":
            answer = self._answer(body, content_type)
            if answer is not None:
                await self._send_score(send, body, *answer, key_id)
                return
        await self._replay_audited(scope, receive, send, body, key_id)

    def _key_id(self, key: bytes | None) -> str | None:
        """Return the id of the caller's key (None when missing or wrong) from the raw ``X-API-Key`` header."""
        return _key_id(self.keys, key.decode("latin-1") if key else None)  # Starlette decodes headers as latin-1

    async def _read(self, receive: Receive) -> bytes | None:
        """Read the whole body; None once it is over the limit, :class:`_Disconnected` if the client goes away."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _answer(self, body: bytes, content_type: bytes | None) -> tuple[bytes, list[Any]] | None:
        """Return the score's bytes and audit summary if a call with a valid key surely succeeds, else None.

        Accepts a subset of what FastAPI and ``ScoreRequest`` accept (same JSON parser, same field rules), so a
        request taken here would have had the same 200 answer there.
        """
        if content_type is None or content_type.split(b";", 1)[0].strip().lower() != _JSON:
            return None
        try:
            data = json.loads(body)
        except ValueError:  # JSONDecodeError and undecodable bytes
            return None
        if type(data) is not dict or len(data) != 1:
            return None
        number = data.get("company_number")
        if type(number) is not str or _NUMBER.fullmatch(number) is None:
            return None
        try:
            return self.fast_score(number)
        except UnknownBusinessError:
            return None

    async def _send_score(self, send: Send, body: bytes, text: bytes, scores: list[Any], key_id: str) -> None:
        """Audit, then send the 200 with the same headers as the FastAPI route."""
        rid = str(uuid.uuid4())
        self.audit.write(_SCORE_PATH, rid, key_id, 200, [scores], body)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-request-id", rid.encode("ascii")), (b"content-length", b"%d" % len(text)),
                                (b"content-type", _JSON)]})
        await send({"type": "http.response.body", "body": text})

    async def _replay_audited(self, scope: Scope, receive: Receive, send: Send, body: bytes,
                              key_id: str | None) -> None:
        """Hand a ``/v1`` call to FastAPI and write its one audit line as its response starts."""
        rid = str(uuid.uuid4())
        state = scope.setdefault("state", {})
        state["audit_request_id"] = rid
        route = scope["path"] if scope["path"] in self.routes else None
        status: int | None = None

        async def audited(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start" and status is None:
                status = int(message["status"])
                # Before the client gets anything; a failed write fails the call (the server answers 500).
                scores = state.get("audit_scores", []) if status == 200 else []  # none for a failed response
                self.audit.write(route, rid, key_id, status, scores, body)
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    message = {**message, "headers": [*headers, (b"x-request-id", rid.encode("ascii"))]}
            await send(message)

        try:
            await self.app(scope, _replay(body, receive), audited)
        finally:
            if status is None:  # the app failed (or returned) without a response: the server sends 500
                self.audit.write(route, rid, key_id, 500, [], body)

    async def _reject(self, send: Send, path: str | None, key: bytes | None) -> None:
        """Answer 413; audit it (input hash null: the body was not read to the end) if ``path`` is a ``/v1/`` path."""
        body = json.dumps({"detail": f"request body larger than {self.limit} bytes"}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if path is not None:
            rid = str(uuid.uuid4())
            self.audit.write(path if path in self.routes else None, rid, self._key_id(key), 413, [], None)
            headers.append((b"x-request-id", rid.encode("ascii")))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class _Disconnected(Exception):
    pass


def _replay(body: bytes, receive: Receive) -> Receive:
    """Wrap ``receive`` to give the already-read body once, then defer to the real one (for disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def create_app(scorer: Any, keys: dict[str, str], audit_log: str | Path, *, max_body_bytes: int = 65_536) -> Any:
    """Build the FastAPI application.

    Parameters
    ----------
    scorer : RiskScorer
        Loaded scoring function (model + reference data).
    keys : dict
        ``{key_id: sha256_of_key}``.
    audit_log : str or Path
        JSON-lines file the service appends to.
    max_body_bytes : int
        Largest accepted request body.

    Returns
    -------
    ASGI application
        The FastAPI app (as ``.fastapi``) behind the body-size limit, the audit log and the ``POST /v1/score``
        fast path. The FastAPI app alone has none of these three.
    """
    bundle = scorer.scorer.bundle
    model_info = {"name": "riskmodel", "version": scorer.scorer.version,
                  "sha256": bundle.metadata["files"]["model.txt"],
                  "train_as_of": bundle.metadata.get("train_as_of"), "scores_as_of": scorer.as_of.isoformat(),
                  "catalogue_version": bundle.metadata.get("catalogue_version"),
                  "bands": [{"name": n, "min_score": s} for n, _, s in bundle.bands],
                  "score_meaning": bundle.metadata.get("score_meaning")}
    audit_log_ = _AuditLog(audit_log, model_info)

    app = FastAPI(title="riskmodel", version=str(model_info["version"]),
                  description="Advisory risk scores of businesses for human review. A score never decides alone.")
    header = APIKeyHeader(name="X-API-Key", auto_error=False)

    # Dependencies and routes are ``async def``: a plain ``def`` runs in Starlette's thread pool, and the hop there
    # and back costs more than the work itself (hashing a key, making an id).
    async def authenticate(key: str | None = Depends(header)) -> str:
        found = _key_id(keys, key)
        if found is None:
            raise HTTPException(status_code=401, detail="a valid X-API-Key header is required",
                                headers={"WWW-Authenticate": "API-Key"})
        return found

    # _Front writes every /v1 call's audit line, with the status it sends; a route only leaves its scores and bands
    # in ``request.state.audit_scores`` and uses _Front's request id.
    def summarise(request: Request, results: list[dict[str, Any]]) -> None:
        request.state.audit_scores = [[r.get("risk_score"), r.get("risk_band")] for r in results]

    async def request_id(request: Request, response: Response) -> str:
        # Set per route rather than by an HTTP middleware: Starlette's BaseHTTPMiddleware costs latency per call.
        rid: str = getattr(request.state, "audit_request_id", None) or str(uuid.uuid4())  # None without _Front
        response.headers["X-Request-ID"] = rid
        return rid

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "model_version": model_info["version"], "scores_as_of": model_info["scores_as_of"]}

    @app.get("/v1/model")
    async def model(key_id: str = Depends(authenticate), rid: str = Depends(request_id)) -> dict[str, Any]:
        return model_info

    @functools.lru_cache(maxsize=100_000)
    def cached(number: str) -> tuple[bytes, list[Any]]:
        # Scores of the reference data are fixed for the service's lifetime: keep each one's JSON bytes, validated
        # once against the response model, so a call costs no re-serialisation, and its audit summary.
        result = ScoreOut.model_validate(scorer.score(number).to_dict()).model_dump()
        return json.dumps(result).encode("utf-8"), [result["risk_score"], result["risk_band"]]

    def one(number: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(cached(number)[0])
        return result

    async def scored_record(request: Request, record: dict[str, Any], rid: str) -> Response:
        # Feature building takes tens of milliseconds: off the event loop, so known-business calls keep flowing.
        try:
            result = await run_in_threadpool(scorer.score_record, record)
        except RecordError as exc:
            problems = exc.evidence.get("problems") or [{"field": exc.evidence.get("field", ""),
                                                         "message": exc.message}]
            detail = [{"loc": ["body", "record", *str(p["field"]).split(".")], "msg": p["message"],
                       "type": "record_error"} for p in problems]
            raise HTTPException(status_code=422, detail=detail) from None
        out = ScoreOut.model_validate(result.to_dict()).model_dump()
        summarise(request, [out])
        return Response(content=json.dumps(out).encode("utf-8"), media_type="application/json",
                        headers={"X-Request-ID": rid})

    @app.post("/v1/score", response_model=ScoreOut)
    async def score(body: ScoreRequest, request: Request, key_id: str = Depends(authenticate),
                    rid: str = Depends(request_id)) -> Response:
        # Reached only when the fast path in _Front declines (or the app is called without it): the reference.
        if body.record is not None:
            return await scored_record(request, body.record, rid)
        assert body.company_number is not None
        try:
            text, summary = cached(body.company_number)
        except UnknownBusinessError as exc:
            raise HTTPException(status_code=404, detail=exc.message) from None
        request.state.audit_scores = [summary]
        return Response(content=text, media_type="application/json", headers={"X-Request-ID": rid})

    @app.post("/v1/score/batch", response_model=list[ScoreOut])
    async def batch(body: BatchRequest, request: Request, key_id: str = Depends(authenticate),
                    rid: str = Depends(request_id)) -> list[dict[str, Any]]:
        try:
            results = [one(n) for n in body.company_numbers]
        except UnknownBusinessError as exc:
            raise HTTPException(status_code=404, detail=exc.message) from None
        summarise(request, results)
        return results

    return _Front(app, max_body_bytes, cached, keys, audit_log_)


def app_from_env() -> Any:
    """Build the app from ``RISKMODEL_SERVE_*`` variables: the factory each uvicorn worker process calls.

    ``riskmodel serve --workers N`` sets ``RISKMODEL_SERVE_MODEL``, ``RISKMODEL_SERVE_REFERENCE``,
    ``RISKMODEL_SERVE_KEYS``, ``RISKMODEL_SERVE_AUDIT_LOG`` and ``RISKMODEL_SERVE_MAX_BODY_BYTES``.
    """
    from riskmodel.scoring import RiskScorer

    env = os.environ
    scorer = RiskScorer.load(env["RISKMODEL_SERVE_MODEL"], reference=env["RISKMODEL_SERVE_REFERENCE"])
    return create_app(scorer, load_keys(env["RISKMODEL_SERVE_KEYS"]), env["RISKMODEL_SERVE_AUDIT_LOG"],
                      max_body_bytes=int(env.get("RISKMODEL_SERVE_MAX_BODY_BYTES", "65536")))
