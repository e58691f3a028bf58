"""The authenticated HTTP service for procurement systems: a thin FastAPI adapter over :class:`RiskScorer`.

Routes: ``GET /health`` (no key), ``GET /v1/model``, ``POST /v1/score``, ``POST /v1/score/batch`` (bounded size).
Every ``/v1`` call needs an API key (``X-API-Key`` header). Keys are stored only as SHA-256 hashes (see
:func:`add_key`) and compared in constant time. Bodies above ``max_body_bytes`` get 413, invalid bodies 422 with
field-level messages, a missing or wrong key 401. Every ``/v1`` call appends one JSON line to the audit log: time,
key id, request id, route, status, model version and SHA-256, SHA-256 of the request body, and the scores and bands;
no names or other personal data.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field

from riskmodel.errors import RiskmodelError
from riskmodel.scoring.scorer import UnknownBusinessError

__all__ = ["MAX_BATCH", "add_key", "app_from_env", "create_app", "load_keys"]

#: Most company numbers in one batch call.
MAX_BATCH = 100


class ScoreRequest(BaseModel):
    """Score one business of the reference data."""

    model_config = ConfigDict(extra="forbid")
    company_number: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$",
                                description="Company number of a business in the reference data")


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


class _BodyLimit:
    """ASGI middleware: answer 413 to any request body larger than ``limit`` bytes (declared or streamed)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.fastapi: Any = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._reject(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body larger than {self.limit} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


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
        The FastAPI app (as ``.app``) wrapped in the body-size limit.
    """
    bundle = scorer.scorer.bundle
    model_info = {"name": "riskmodel", "version": scorer.scorer.version,
                  "sha256": bundle.metadata["files"]["model.txt"],
                  "train_as_of": bundle.metadata.get("train_as_of"), "scores_as_of": scorer.as_of.isoformat(),
                  "catalogue_version": bundle.metadata.get("catalogue_version"),
                  "bands": [{"name": n, "min_score": s} for n, _, s in bundle.bands],
                  "score_meaning": bundle.metadata.get("score_meaning")}
    lock = threading.Lock()
    audit_path = Path(audit_log)
    audit_path.parent.mkdir(parents=True, exist_ok=True)
    audit_file = open(audit_path, "a", encoding="utf-8")  # noqa: SIM115 - open for the app's lifetime

    app = FastAPI(title="riskmodel", version=str(model_info["version"]),
                  description="Advisory risk scores of businesses for human review. A score never decides alone.")
    header = APIKeyHeader(name="X-API-Key", auto_error=False)

    def authenticate(key: str | None = Depends(header)) -> str:
        digest = _hash(key or "")
        found = None
        for key_id, stored in keys.items():  # every stored hash is compared, in constant time
            if hmac.compare_digest(digest, stored) and key:
                found = key_id
        if found is None:
            raise HTTPException(status_code=401, detail="a valid X-API-Key header is required",
                                headers={"WWW-Authenticate": "API-Key"})
        return found

    def audit(request: Request, rid: str, key_id: str, status: int, results: list[dict[str, Any]],
              body: bytes) -> None:
        line = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "key_id": key_id,
                "request_id": rid, "route": request.url.path, "status": status,
                "model_version": model_info["version"], "model_sha256": model_info["sha256"],
                "input_sha256": hashlib.sha256(body).hexdigest(),
                "scores": [[r.get("risk_score"), r.get("risk_band")] for r in results]}
        with lock:
            audit_file.write(json.dumps(line) + "\n")
            audit_file.flush()

    def request_id(response: Response) -> str:
        # Set per route rather than by an HTTP middleware: Starlette's BaseHTTPMiddleware costs latency per call.
        rid = str(uuid.uuid4())
        response.headers["X-Request-ID"] = rid
        return rid

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "model_version": model_info["version"], "scores_as_of": model_info["scores_as_of"]}

    @app.get("/v1/model")
    async def model(request: Request, key_id: str = Depends(authenticate),
                    rid: str = Depends(request_id)) -> dict[str, Any]:
        audit(request, rid, key_id, 200, [], await request.body())
        return model_info

    @functools.lru_cache(maxsize=100_000)
    def cached(number: str) -> tuple[str, dict[str, Any]]:
        # Scores of the reference data are fixed for the service's lifetime: keep each one's JSON, validated once
        # against the response model, so a call costs no re-serialisation.
        result = ScoreOut.model_validate(scorer.score(number).to_dict()).model_dump()
        return json.dumps(result), {"risk_score": result["risk_score"], "risk_band": result["risk_band"]}

    def one(number: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(cached(number)[0])
        return result

    @app.post("/v1/score", response_model=ScoreOut)
    async def score(body: ScoreRequest, request: Request, key_id: str = Depends(authenticate),
                    rid: str = Depends(request_id)) -> Response:
        raw = await request.body()
        try:
            text, summary = cached(body.company_number)
        except UnknownBusinessError as exc:
            audit(request, rid, key_id, 404, [], raw)
            raise HTTPException(status_code=404, detail=exc.message) from None
        audit(request, rid, key_id, 200, [summary], raw)
        return Response(content=text, media_type="application/json", headers={"X-Request-ID": rid})

    @app.post("/v1/score/batch", response_model=list[ScoreOut])
    async def batch(body: BatchRequest, request: Request, key_id: str = Depends(authenticate),
                    rid: str = Depends(request_id)) -> list[dict[str, Any]]:
        raw = await request.body()
        try:
            results = [one(n) for n in body.company_numbers]
        except UnknownBusinessError as exc:
            audit(request, rid, key_id, 404, [], raw)
            raise HTTPException(status_code=404, detail=exc.message) from None
        audit(request, rid, key_id, 200, results, raw)
        return results

    limited = _BodyLimit(app, max_body_bytes)
    limited.fastapi = app  # for OpenAPI and tests
    return limited


def app_from_env() -> Any:
    """Build the app from ``RISKMODEL_SERVE_*`` variables: the factory each uvicorn worker process calls.

    ``riskmodel serve --workers N`` sets ``RISKMODEL_SERVE_MODEL``, ``RISKMODEL_SERVE_REFERENCE``,
    ``RISKMODEL_SERVE_KEYS``, ``RISKMODEL_SERVE_AUDIT_LOG`` and ``RISKMODEL_SERVE_MAX_BODY_BYTES``.
    """
    import os

    from riskmodel.scoring import RiskScorer

    env = os.environ
    scorer = RiskScorer.load(env["RISKMODEL_SERVE_MODEL"], reference=env["RISKMODEL_SERVE_REFERENCE"])
    return create_app(scorer, load_keys(env["RISKMODEL_SERVE_KEYS"]), env["RISKMODEL_SERVE_AUDIT_LOG"],
                      max_body_bytes=int(env.get("RISKMODEL_SERVE_MAX_BODY_BYTES", "65536")))
