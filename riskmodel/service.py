"""The authenticated HTTP service for procurement systems: a thin FastAPI adapter over :class:`RiskScorer`.

Routes: ``GET /health`` (no key), ``GET /v1/model``, ``POST /v1/score``, ``POST /v1/score/batch`` (bounded size).
Every ``/v1`` call needs an API key (``X-API-Key`` header). Keys are stored only as SHA-256 hashes (see
:func:`add_key`) and compared in constant time. Bodies above ``max_body_bytes`` get 413, then a missing or wrong key
gets 401 whatever the body and path, and only then are bodies validated (invalid ones get 422 with field-level
messages).

Every call to a ``/v1/`` path appends exactly one JSON line to the audit log, whatever its status (200, 400, 401,
404, 405, 413, 422, 500): time, key id (null when the key is missing or wrong; the key itself, even hashed, is never
written), request id (also sent in the ``X-Request-ID`` header), route (null for a path that is not a ``/v1``
route, since a path can hold anything), status, model version and SHA-256, SHA-256 of the raw request body (null
for a 413, whose body is not read to the end), and the scores and bands of a 200. No names, no bodies, no other
personal data. ``/health``, ``/docs``, ``/openapi.json`` and other paths outside ``/v1/`` are not audited, nor is a
call whose client goes away before its body is complete (nothing is answered). The lines are written by
:class:`_Front`, the ASGI layer that sees every call's final status, so each call gets one line by construction.

When the audit line cannot be written (disk full, I/O error, the log's folder removed), the call is refused with
503 and no score leaves (``audit_failure="refuse"``, the default), or, if so configured
(``audit_failure="serve"``), answered anyway and logged as an unaudited call. Either way the failure is logged
(errno, request id, route; never a key or a body), ``/health`` reports ``"audit": "failing"``, and the next call
reopens the file, so the service recovers by itself once the log can be written again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from starlette.concurrency import run_in_threadpool

from riskmodel.contract import TABLES
from riskmodel.errors import RiskmodelError
from riskmodel.scoring.scorer import RECORD_TABLES, RecordError, UnknownBusinessError

if TYPE_CHECKING:
    from riskmodel.jobs.settings import JobSettings

__all__ = ["AUDIT_FAILURE", "MAX_BATCH", "add_key", "app_from_env", "create_app", "load_keys"]

#: Most company numbers in one batch call.
MAX_BATCH = 100

#: What the service does when an audit line cannot be written: refuse the call with 503, or serve it unaudited.
AUDIT_FAILURE = ("refuse", "serve")

logger = logging.getLogger(__name__)

_CompanyNumber = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]


def _record_schema() -> dict[str, Any]:
    """Describe what ``score_record`` checks first in a supplier's record: its parts and each row's field names.

    The values are left open: the data contract's own validation types and checks them, with rules a JSON schema
    cannot state (dates against the scoring date, one field against another), and answers 422 naming the field.
    """
    def row(table: str) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False,
                "properties": {c.name: {} for c in TABLES[table].columns}}

    company = row("companies")
    company["properties"]["company_number"] = {"type": "string", "pattern": r"\S"}
    company["required"] = ["company_number"]
    parts = {key: {"anyOf": [{"type": "array", "items": row(table)}, {"type": "null"}]}
             for key, table in RECORD_TABLES.items() if key != "company"}
    return {"type": "object", "additionalProperties": False, "required": ["company"],
            "properties": {"company": company, **parts}}


def _exactly_one(schema: dict[str, Any]) -> None:
    """State ``ScoreRequest``'s rule in its JSON schema: one of the two fields, never null, no default."""
    for field in schema["properties"].values():
        field.pop("default", None)
        field.update(*(s for s in field.pop("anyOf", []) if s.get("type") != "null"))  # null is refused too
    schema["properties"]["record"].update(_record_schema())
    schema["oneOf"] = [{"required": ["company_number"]}, {"required": ["record"]}]


class ScoreRequest(BaseModel):
    """Score one business: by company number (reference data), or a supplier described by its own records."""

    # The schema states "exactly one of" (oneOf), and neither field takes null, so that a request the schema
    # allows is one the validator below allows too (the service's own OpenAPI schema is fuzzed against it).
    model_config = ConfigDict(extra="forbid", json_schema_extra=_exactly_one)
    company_number: _CompanyNumber | None = Field(default=None,
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
    company_numbers: list[_CompanyNumber] = Field(
        min_length=1, max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} company numbers; more get 422 and no score at all")


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


class ErrorOut(BaseModel):
    """An error answer: what went wrong, in words."""

    detail: str


_UNAUTHORISED = "a valid X-API-Key header is required"
_AUDIT_FAILED = "the audit log cannot be written; no score is given without an audit record"

# Error answers documented on every /v1 route, besides FastAPI's own 422.
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No X-API-Key header, or a wrong one (checked before the body)"},
    413: {"model": ErrorOut, "description": "Request body larger than the service's limit"},
    503: {"model": ErrorOut, "description": "The audit log cannot be written, so no answer is given"},
}
_BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    400: {"model": ErrorOut, "description": "A body that cannot be parsed at all (not UTF-8 text)"},
    404: {"model": ErrorOut, "description": "A company number that is not a business of the reference data"}}

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

    The file is opened with ``O_APPEND`` and each line goes out in a single ``os.write``: the kernel appends
    each write whole at the end of the file, so lines from concurrent requests and from several uvicorn workers
    never interleave, with no lock and no user-space buffer to flush.

    A write that fails (``OSError``: disk full, I/O error) does not raise: :meth:`write` returns False, keeps the
    error in :attr:`error`, sets :attr:`failing` and closes the file, which the next write reopens by its path, so
    the log recovers by itself once it can be written again. Each line goes to the file the path names when it is
    written: a file removed (lines written to it would be lost without any error) or renamed away (rotated) while
    open is reopened, or recreated, first.

    Raises
    ------
    RiskmodelError
        If the file cannot be opened at start-up (a service must not start without its audit log).
    """

    def __init__(self, path: str | Path, model_info: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.version = model_info["version"]
        self.sha256 = model_info["sha256"]
        self.failing = False
        self.error: OSError | None = None
        self.failures = 0  # failed writes since the last line written
        self.torn = False  # a failed write left part of a line: the next line starts on a new line
        self.fd: int | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except OSError as exc:
            raise RiskmodelError(f"cannot open the audit log {self.path}: {exc.strerror}", path=str(self.path),
                                 errno=exc.errno) from None

    def _open(self) -> int:
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        return self.fd

    def write(self, route: str | None, request_id: str, key_id: str | None, status: int, scores: list[list[Any]],
              body: bytes | None, extra: Mapping[str, Any] | None = None) -> bool:
        """Append one line: time, key id, request id, route, status, model, input hash, scores and bands.

        Returns
        -------
        bool
            True once the whole line is written, False if it could not be (see :attr:`error`).
        """
        line = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), "key_id": key_id,
                "request_id": request_id, "route": route, "status": status, "model_version": self.version,
                "model_sha256": self.sha256,
                "input_sha256": None if body is None else hashlib.sha256(body).hexdigest(), "scores": scores}
        line.update({k: v for k, v in (extra or {}).items() if k not in line})  # what a route adds: job id, action
        data = (json.dumps(line) + "\n").encode("ascii")  # json.dumps escapes non-ASCII
        try:
            fd = self.fd
            if fd is None or not self._current(fd):  # closed after a failure, or the file was removed or rotated
                self._close()
                fd = self._open()
            self._write_all(fd, b"\n" + data if self.torn else data)
        except OSError as exc:
            self._fail(exc)
            return False
        if self.failing:
            logger.warning("audit log %s written again after %d failed write(s)", self.path, self.failures)
        self.failing, self.error, self.failures, self.torn = False, None, 0, False
        return True

    def _current(self, fd: int) -> bool:
        """Whether ``fd`` is still the file the path names (not removed, renamed away or replaced)."""
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _write_all(self, fd: int, data: bytes) -> None:
        written = 0
        try:
            while written < len(data):  # more than one write only after a short write (disk full, signal)
                count = os.write(fd, data[written:])
                if count <= 0:
                    raise OSError(errno.EIO, "the audit log took no bytes")
                written += count
        except OSError:
            self.torn = self.torn or written > 0
            raise

    def _fail(self, exc: OSError) -> None:
        self.failing, self.error = True, exc
        self.failures += 1
        self._close()

    def _close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            with contextlib.suppress(OSError):  # already failing; the next write opens the file anew
                os.close(fd)


class _Front:
    """ASGI entry point: the body-size limit, the key check, every ``/v1`` call's audit line, and a fast path.

    The body is read here, up to the limit, before FastAPI sees the request: a body over the limit, declared or
    streamed, gets 413 (an exception raised from inside FastAPI's body reading would come out as 400), and the read
    body is then replayed to FastAPI. A ``/v1`` call without a valid key is answered 401 here, whatever its path and
    body: FastAPI would parse the body before its key dependency runs, and answer malformed JSON with 422.

    The fast path answers only the case it can answer for certain: a valid key, a JSON body that is exactly
    ``{"company_number": <valid number>}`` and a business of the reference data. It then sends the score's
    pre-serialised bytes and writes the audit line itself, skipping FastAPI's routing, dependency injection and
    pydantic validation (most of the per-call cost). Anything else with a valid key (bad JSON, a bad or extra
    field, an unknown business) goes to the FastAPI app, so every error response (422 with ``loc``, 404) comes from
    the one documented code path and cannot drift from it.

    Auditing is done here and nowhere else: the fast path writes its line, a 413 writes its line, and a ``/v1`` call
    replayed to FastAPI writes its line when its response starts (before the client gets it), with the status
    FastAPI sends: routes only leave their score summaries in ``request.state.audit_scores``. The request id is made
    here too (``request.state.audit_request_id``, which the routes' ``X-Request-ID`` header uses) and added to any
    response that has no ``X-Request-ID``. If the app fails without starting a response, the server answers 500 and
    the line says 500.

    When a line cannot be written, the call gets 503 and nothing of its answer leaves, unless ``serve_unaudited``
    (then it is answered and logged as unaudited). The 503 itself has no line: the log cannot be written.
    """

    def __init__(self, app: FastAPI, limit: int, fast_score: Callable[[str], tuple[bytes, list[Any]]],
                 keys: Mapping[str, str], audit: _AuditLog, serve_unaudited: bool = False,
                 limits: Mapping[str, tuple[int, Callable[[Scope], Awaitable[bool]]]] | None = None) -> None:
        self.app = app
        # Paths with a body limit of their own (uploads), for the callers their gate lets through.
        self.limits = dict(limits or {})
        self.fastapi = app  # for OpenAPI and tests
        self.limit = limit
        self.fast_score = fast_score
        self.keys = keys
        self.audit = audit
        self.serve_unaudited = serve_unaudited
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
        limit = await self._limit(scope)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, path if audited else None, key, limit)
            return
        try:
            body = await self._read(receive, limit)
        except _Disconnected:  # the client went away mid-body: nobody to answer, nothing to audit
            return
        if body is None:
            await self._reject(send, path if audited else None, key, limit)
            return
        if not audited:
            await self.app(scope, _replay(body, receive), send)
            return
        key_id = self._key_id(key)
        if key_id is None:
            await self._unauthorised(send, path, body)
            return
        if path == _SCORE_PATH and scope["method"] == "POST":
            answer = self._answer(body, content_type)
            if answer is not None:
                await self._send_score(send, body, *answer, key_id)
                return
        await self._replay_audited(scope, receive, send, body, key_id)

    def _audit(self, route: str | None, rid: str, key_id: str | None, status: int, scores: list[Any],
               body: bytes | None, extra: Mapping[str, Any] | None = None) -> bool:
        """Write the call's audit line; False if it could not be and the call must get 503 instead."""
        if self.audit.write(route, rid, key_id, status, scores, body, extra):
            return True
        error = self.audit.error
        code = errno.errorcode.get(error.errno, str(error.errno)) if error and error.errno else "?"
        # Request id, route and status only: never the key, the body or the raw path (a path can hold anything).
        outcome = "served unaudited" if self.serve_unaudited else "refused with 503"
        logger.error("audit log %s cannot be written (%s: %s): request %s to %s with status %d %s",
                     self.audit.path, code, error.strerror if error else "", rid, route, status, outcome)
        return self.serve_unaudited

    async def _send_error(self, send: Send, status: int, detail: str, rid: str | None,
                          headers: list[tuple[bytes, bytes]] | None = None) -> None:
        """Send ``{"detail": detail}`` with ``status`` (and the request id), as FastAPI's HTTPException would."""
        text = json.dumps({"detail": detail}).encode()
        head = [(b"content-type", _JSON), (b"content-length", b"%d" % len(text)), *(headers or [])]
        if rid is not None:
            head.append((b"x-request-id", rid.encode("ascii")))
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": text})

    async def _unauthorised(self, send: Send, path: str, body: bytes) -> None:
        """Answer 401 to a ``/v1`` call without a valid key (503 if its audit line cannot be written)."""
        rid = str(uuid.uuid4())
        if not self._audit(path if path in self.routes else None, rid, None, 401, [], body):
            await self._send_error(send, 503, _AUDIT_FAILED, rid)
            return
        await self._send_error(send, 401, _UNAUTHORISED, rid, [(b"www-authenticate", b"API-Key")])

    def _key_id(self, key: bytes | None) -> str | None:
        """Return the id of the caller's key (None when missing or wrong) from the raw ``X-API-Key`` header."""
        return _key_id(self.keys, key.decode("latin-1") if key else None)  # Starlette decodes headers as latin-1

    async def _limit(self, scope: Scope) -> int:
        """Return the body limit: its path's own for a POST its gate lets through (an upload), else the default."""
        own = self.limits.get(scope["path"])
        if own is not None and scope["method"] == "POST" and await own[1](scope):
            return own[0]
        return self.limit

    async def _read(self, receive: Receive, limit: int) -> bytes | None:
        """Read the whole body; None once it is over the limit, :class:`_Disconnected` if the client goes away."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Disconnected
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
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
        """Audit, then send the 200 with the same headers as the FastAPI route (503 if the audit fails)."""
        rid = str(uuid.uuid4())
        if not self._audit(_SCORE_PATH, rid, key_id, 200, [scores], body):
            await self._send_error(send, 503, _AUDIT_FAILED, rid)
            return
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
        refused = False

        async def audited(message: Message) -> None:
            nonlocal status, refused
            if refused:  # the 503 has gone out in place of the app's answer: drop the rest of that answer
                return
            if message["type"] == "http.response.start" and status is None:
                status = int(message["status"])
                # Before the client gets anything: if the line cannot be written, the answer becomes a 503.
                scores = state.get("audit_scores", []) if status == 200 else []  # none for a failed response
                matched = getattr(scope.get("route"), "path", None)  # the route FastAPI matched: /v1/jobs/{job_id}
                where = matched if matched in self.routes else route
                if not self._audit(where, rid, key_id, status, scores, body, state.get("audit_extra")):
                    refused = True
                    await self._send_error(send, 503, _AUDIT_FAILED, rid)
                    return
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    message = {**message, "headers": [*headers, (b"x-request-id", rid.encode("ascii"))]}
            await send(message)

        try:
            await self.app(scope, _replay(body, receive), audited)
        finally:
            if status is None:  # the app failed (or returned) without a response: the server sends 500
                self._audit(route, rid, key_id, 500, [], body)  # a 500 holds no score, whatever the outcome

    async def _reject(self, send: Send, path: str | None, key: bytes | None, limit: int) -> None:
        """Answer 413; audit it (input hash null: the body was not read to the end) if ``path`` is a ``/v1/`` path."""
        rid = None
        if path is not None:
            rid = str(uuid.uuid4())
            if not self._audit(path if path in self.routes else None, rid, self._key_id(key), 413, [], None):
                await self._send_error(send, 503, _AUDIT_FAILED, rid)
                return
        await self._send_error(send, 413, f"request body larger than {limit} bytes", rid)


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


def create_app(scorer: Any, keys: dict[str, str], audit_log: str | Path, *, max_body_bytes: int = 65_536,
               audit_failure: str = "refuse", jobs: JobSettings | None = None) -> Any:
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
    audit_failure : {"refuse", "serve"}
        When a call's audit line cannot be written: ``"refuse"`` answers 503 and gives no score (the default; no
        unaudited scores), ``"serve"`` answers the call anyway and logs it as unaudited (an error with its request
        id and status).
    jobs : JobSettings, optional
        Add the job service (:mod:`riskmodel.jobs`): ``/v1/jobs`` and the officers' pages, whose uploads have
        their own body limit (``jobs.max_upload_mb``) for an authenticated caller.

    Returns
    -------
    ASGI application
        The FastAPI app (as ``.fastapi``) behind the body-size limit, the audit log and the ``POST /v1/score``
        fast path. The FastAPI app alone has none of these three.

    Raises
    ------
    RiskmodelError
        If ``audit_failure`` is not one of :data:`AUDIT_FAILURE`, or the audit log cannot be opened.
    """
    if audit_failure not in AUDIT_FAILURE:
        raise RiskmodelError(f"audit_failure must be one of {', '.join(AUDIT_FAILURE)}, got {audit_failure!r}",
                             audit_failure=audit_failure, allowed=list(AUDIT_FAILURE))
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
        if found is None:  # _Front answers this itself first; kept for the bare app and the OpenAPI security
            raise HTTPException(status_code=401, detail=_UNAUTHORISED, headers={"WWW-Authenticate": "API-Key"})
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
        # Always 200: the process is up and the next /v1 call retries the audit log (a load balancer that took a
        # refusing instance out would keep it from ever recovering). Per worker process: each has its own log file.
        failing = audit_log_.failing
        return {"status": "degraded" if failing else "ok", "audit": "failing" if failing else "ok",
                "model_version": model_info["version"], "scores_as_of": model_info["scores_as_of"]}

    @app.get("/v1/model", responses=_ERRORS)
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

    @app.post("/v1/score", response_model=ScoreOut, responses=_BODY_ERRORS)
    async def score(body: ScoreRequest, request: Request, key_id: str = Depends(authenticate),
                    rid: str = Depends(request_id)) -> Response:
        # Reached only when the fast path in _Front declines (or the app is called without it): the reference.
        if body.record is not None:
            return await scored_record(request, body.record, rid)
        try:
            text, summary = cached(cast(str, body.company_number))  # ScoreRequest holds exactly one of the two
        except UnknownBusinessError as exc:
            raise HTTPException(status_code=404, detail=exc.message) from None
        request.state.audit_scores = [summary]
        return Response(content=text, media_type="application/json", headers={"X-Request-ID": rid})

    @app.post("/v1/score/batch", response_model=list[ScoreOut], responses=_BODY_ERRORS)
    async def batch(body: BatchRequest, request: Request, key_id: str = Depends(authenticate),
                    rid: str = Depends(request_id)) -> list[dict[str, Any]]:
        try:
            results = [one(n) for n in body.company_numbers]
        except UnknownBusinessError as exc:
            raise HTTPException(status_code=404, detail=exc.message) from None
        summarise(request, results)
        return results

    limits: dict[str, tuple[int, Callable[[Scope], Awaitable[bool]]]] = {}
    if jobs is not None:
        from riskmodel.jobs.web import UPLOAD_PATHS, install

        jobs_service = install(app, jobs, keys, audit_log_, serve_unaudited=audit_failure == "serve")
        limits = {path: (jobs.max_upload_bytes, jobs_service.may_upload) for path in UPLOAD_PATHS}
    return _Front(app, max_body_bytes, cached, keys, audit_log_, serve_unaudited=audit_failure == "serve",
                  limits=limits)


def app_from_env() -> Any:
    """Build the app from ``RISKMODEL_SERVE_*`` variables: the factory each uvicorn worker process calls.

    ``riskmodel serve --workers N`` sets ``RISKMODEL_SERVE_MODEL``, ``RISKMODEL_SERVE_REFERENCE``,
    ``RISKMODEL_SERVE_KEYS``, ``RISKMODEL_SERVE_AUDIT_LOG``, ``RISKMODEL_SERVE_MAX_BODY_BYTES`` and
    ``RISKMODEL_SERVE_AUDIT_FAILURE`` (``refuse`` when unset).
    """
    from riskmodel.scoring import RiskScorer

    env = os.environ
    jobs = None
    if env.get("RISKMODEL_JOBS_DIR"):  # riskmodel serve --jobs-dir: the job service too
        from riskmodel.jobs.settings import JobSettings

        jobs = JobSettings.load(env["RISKMODEL_JOBS_DIR"], env.get("RISKMODEL_JOBS_CONFIG") or None,
                                served_model=env["RISKMODEL_SERVE_MODEL"])
    scorer = RiskScorer.load(env["RISKMODEL_SERVE_MODEL"], reference=env["RISKMODEL_SERVE_REFERENCE"])
    return create_app(scorer, load_keys(env["RISKMODEL_SERVE_KEYS"]), env["RISKMODEL_SERVE_AUDIT_LOG"],
                      max_body_bytes=int(env.get("RISKMODEL_SERVE_MAX_BODY_BYTES", "65536")),
                      audit_failure=env.get("RISKMODEL_SERVE_AUDIT_FAILURE", "refuse"), jobs=jobs)
