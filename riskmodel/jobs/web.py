"""The job service's HTTP side: the ``/v1/jobs`` API (API keys) and the officers' pages (login session).

API (``X-API-Key``; without a valid key: 401)::

    POST   /v1/jobs                    multipart: files (a zip or table files) or folder; as_of; model -> 202
    GET    /v1/jobs                    the caller's scope's jobs, newest first
    GET    /v1/jobs/{id}               state, progress, counts, validation report, error
    DELETE /v1/jobs/{id}               cancel (at once when queued, at the next chunk when running)
    GET    /v1/jobs/{id}/report        report.html of a finished job
    GET    /v1/jobs/{id}/{file}        scores.csv, scores.parquet, quarantine.csv, manifest.json, model_card.md,
                                       problems.csv (the validation report's every problem)

Pages (a session cookie set by the login form; without one: 303 to ``/login``): ``/jobs`` (list, refreshing while
a job runs), ``/jobs/new`` (the form), ``/jobs/{id}`` (state, progress, validation report, downloads),
``/jobs/{id}/report`` and ``/jobs/{id}/{file}``. They need no JavaScript and hold no script at all.

Sessions: the login form takes an API key; the service keeps, in the job database, the SHA-256 of a random session
token (the cookie, ``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS), the key's id and stored hash (a key
removed or replaced ends its sessions) and a CSRF token that every form carries. Scopes: a key sees the jobs of its
scope only (:meth:`~riskmodel.jobs.settings.JobSettings.scope_of`); another scope's job is answered 404, as if
absent.

Audit: each ``/v1/jobs`` call gets its one line from the service's front layer, with the job id and action added;
page submissions, cancellations, downloads and logins get one line each here, in the same log.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
import secrets
import shutil
import urllib.parse
import uuid
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Protocol

import jinja2
from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from riskmodel.jobs.settings import JobSettings
from riskmodel.jobs.store import ACTIVE, Job, JobStore, utcnow
from riskmodel.jobs.uploads import JobInputError, StoredFile, check_folder, check_tables, extract_zip, store_upload
from riskmodel.service import _hash, _key_id  # the keys' own hash (SHA-256), for session tokens too

__all__ = ["FILES", "SESSION_COOKIE", "UPLOAD_PATHS", "AuditWriter", "JobService", "install"]

log = logging.getLogger(__name__)

#: Request paths that take uploads: the larger body limit applies to them (for an authenticated caller).
UPLOAD_PATHS = ("/v1/jobs", "/jobs/new")
SESSION_COOKIE = "riskmodel_session"
_LOGIN_COOKIE = "riskmodel_login"

#: Files of a job that can be downloaded: (folder, media type, shown in the browser rather than saved).
FILES: dict[str, tuple[str, str, bool]] = {
    "report.html": ("out", "text/html; charset=utf-8", True),
    "scores.csv": ("out", "text/csv; charset=utf-8", False),
    "scores.parquet": ("out", "application/vnd.apache.parquet", False),
    "quarantine.csv": ("out", "text/csv; charset=utf-8", False),
    "manifest.json": ("out", "application/json", False),
    "model_card.md": ("out", "text/markdown; charset=utf-8", False),
    "problems.csv": ("", "text/csv; charset=utf-8", False),
}

_STATE_LABELS = {"queued": "Queued", "validating": "Checking the data", "running": "Running", "done": "Done",
                 "failed": "Failed", "cancelled": "Cancelled"}
# No script may run on these pages, nor in a report (built from uploaded data): none is needed.
_PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
             "base-uri 'none'; frame-ancestors 'none'")
_REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_SAFE_NEXT = re.compile(r"^/(?![/\\])[^\\\s]*$")
_SERVICE_UNAVAILABLE = "the audit log cannot be written; nothing is given without an audit record"
_KEY = Depends(APIKeyHeader(name="X-API-Key", auto_error=False))


class AuditWriter(Protocol):
    """The service's audit log (:class:`riskmodel.service._AuditLog`)."""

    def write(self, route: str | None, request_id: str, key_id: str | None, status: int, scores: list[list[Any]],
              body: bytes | None, extra: Mapping[str, Any] | None = None) -> bool:
        """Append one line; False when it cannot be written."""
        ...


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key's id, its scope, and for a page session the CSRF token and session hash."""

    key_id: str
    scope: str
    csrf: str = ""
    session: str = ""

    @property
    def scope_label(self) -> str:
        """The scope as shown on the pages."""
        return "own jobs only" if self.scope.startswith("key:") else self.scope


class _LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class _PageError(Exception):
    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=dt.UTC).isoformat(timespec="seconds")


class JobService:
    """The job API and pages on a FastAPI app (see :func:`install`)."""

    def __init__(self, settings: JobSettings, keys: Mapping[str, str], audit: AuditWriter, *,
                 serve_unaudited: bool = False, store: JobStore | None = None) -> None:
        self.settings = settings
        self.keys = keys
        self.audit = audit
        self.serve_unaudited = serve_unaudited
        settings.root.mkdir(parents=True, exist_ok=True)
        self.store = store if store is not None else JobStore(settings.db_url)
        self.templates = jinja2.Environment(loader=jinja2.PackageLoader("riskmodel.jobs", "templates"),
                                            autoescape=True, undefined=jinja2.StrictUndefined)
        self.templates.filters.update(when=_when, state_label=lambda s: _STATE_LABELS.get(s, s), size=_size,
                                      percent=_percent)

    # --------------------------------------------------------------------------------------- callers
    def key_caller(self, key: str | None) -> Caller | None:
        """Return the caller an ``X-API-Key`` value names (None when missing or wrong)."""
        key_id = _key_id(self.keys, key)
        return None if key_id is None else Caller(key_id, self.settings.scope_of(key_id))

    def session_caller(self, token: str | None) -> Caller | None:
        """Return the caller a session cookie names (None: absent, expired, or its key was removed or replaced)."""
        if not token:
            return None
        id_hash = _hash(token)
        found = self.store.session(id_hash)
        if found is None or not hmac.compare_digest(self.keys.get(found.key_id, ""), found.key_hash):
            return None
        return Caller(found.key_id, found.scope, found.csrf, id_hash)

    async def may_upload(self, scope: MutableMapping[str, Any]) -> bool:
        """Whether a request may send an upload-sized body: a valid key (API) or a valid session (page)."""
        headers = {name: value for name, value in reversed(scope.get("headers", []))}
        if scope["path"].startswith("/v1/"):
            key = headers.get(b"x-api-key")
            return self.key_caller(key.decode("latin-1") if key else None) is not None
        cookie = headers.get(b"cookie", b"").decode("latin-1")
        token = next((v for k, v in (c.strip().partition("=")[::2] for c in cookie.split(";"))
                      if k == SESSION_COOKIE), None)
        return await run_in_threadpool(self.session_caller, token) is not None

    # ------------------------------------------------------------------------------------------- jobs
    def submit(self, caller: Caller, files: list[UploadFile], folder: str | None, as_of: str | None,
               model: str | None) -> tuple[Job, list[StoredFile]]:
        """Take a job's input (validated for safety and completeness) and queue it.

        Raises
        ------
        JobInputError
            The input cannot be taken (nothing is kept then).
        HTTPException
            429 when the scope has ``max_pending`` jobs queued or running.
        """
        settings = self.settings
        when = _parse_as_of(as_of)
        model = model or next(iter(settings.models), None)
        if model not in settings.models:
            raise JobInputError(f"unknown model {model!r}", problems=[
                f"model: choose one of {', '.join(settings.models) or '(none configured)'}"])
        files = [f for f in files if f.filename]  # a form sent without a file has one empty part
        folder = (folder or "").strip() or None
        if bool(files) == bool(folder):
            raise JobInputError("give either files or a server folder", problems=[
                "data: upload a zip or table files, or name a server folder (not both)"])
        if len(files) > settings.max_files:
            raise JobInputError(f"{len(files)} files: more than {settings.max_files}",
                                problems=[f"at most {settings.max_files} files"])
        if self.store.count_active(caller.scope) >= settings.max_pending:
            raise HTTPException(429, f"{settings.max_pending} jobs are already queued or running for this scope: "
                                     "wait for one to finish")
        job_id = secrets.token_hex(10)
        home = settings.job_dir(job_id)
        stored: list[StoredFile] = []
        try:
            if files:
                source, input_dir, name = "upload", home / "input", ", ".join(sorted(f.filename or "" for f in files))
                upload = home / "upload"
                for f in files:
                    stored.append(store_upload(f.file, f.filename or "", upload, max_bytes=settings.max_upload_bytes))
                zips = [s for s in stored if s.name.lower().endswith(".zip")]
                if zips and len(stored) > 1:
                    raise JobInputError("upload one zip, or table files, not both",
                                        problems=["data: upload one zip, or the table files, not both"])
                if zips:
                    extract_zip(upload / zips[0].name, input_dir, max_bytes=settings.max_extracted_bytes,
                                max_files=settings.max_files)
                    shutil.rmtree(upload)
                else:
                    upload.rename(input_dir)
                check_tables(input_dir)
                size = sum(s.bytes for s in stored)
            elif folder is not None:
                source, input_dir, name = "folder", check_folder(folder, settings.allowed_roots), folder
                check_tables(input_dir)
                size = 0
            home.mkdir(parents=True, exist_ok=True)
            job = self.store.add(id=job_id, scope=caller.scope, owner=caller.key_id, model_name=model,
                                 model_uri=settings.models[model], as_of=None if when is None else when.isoformat(),
                                 source=source, input_path=str(input_dir), input_name=name, input_bytes=size)
        except BaseException:
            shutil.rmtree(home, ignore_errors=True)
            raise
        log.info("job %s queued by %s (%s)", job.id, caller.key_id, name)
        return job, stored

    def job(self, caller: Caller, job_id: str) -> Job:
        """Return the caller's scope's job ``job_id``; 404 otherwise (another scope's job is not revealed)."""
        found = self.store.get(job_id, caller.scope) if re.fullmatch(r"[0-9a-f]{1,32}", job_id) else None
        if found is None:
            raise HTTPException(404, f"no job {job_id}")
        return found

    def file(self, job: Job, name: str) -> Path:
        """Return the path of a job's downloadable file; 404 for an unknown name, 409 while it is not there yet."""
        if name not in FILES:
            raise HTTPException(404, f"no file {name} in a job")
        folder = FILES[name][0]
        if folder == "out" and job.state != "done":
            raise HTTPException(409, f"job {job.id} is {job.state}: its files are there once it is done")
        path = self.settings.job_dir(job.id) / folder / name
        if not path.is_file():
            raise HTTPException(404, f"job {job.id} has no {name}")
        return path

    def to_json(self, job: Job) -> dict[str, Any]:
        """Return the API's view of a job."""
        base = f"/v1/jobs/{job.id}"
        links: dict[str, str] = {"self": base, "page": f"/jobs/{job.id}"}
        if job.state == "done":
            links.update({"report": f"{base}/report", **{n.split(".")[0] + "_" + n.split(".")[1]: f"{base}/{n}"
                                                          for n in ("scores.csv", "scores.parquet",
                                                                    "quarantine.csv", "manifest.json")}})
        if job.validation is not None:
            links["problems_csv"] = f"{base}/problems.csv"
        return {"id": job.id, "state": job.state, "owner": job.owner, "model": job.model_name, "as_of": job.as_of,
                "input": {"source": job.source, "name": job.input_name, "bytes": job.input_bytes},
                "progress": {"done": job.progress_done, "total": job.progress_total},
                "counts": job.counts, "validation": job.validation, "error": job.error, "note": job.note,
                "cancel_requested": job.cancel_requested, "attempts": job.attempts,
                "created": _iso(job.created), "started": _iso(job.started), "finished": _iso(job.finished),
                "links": links}

    # ------------------------------------------------------------------------------------------ pages
    def render(self, name: str, status: int = 200, caller: Caller | None = None, refresh: int | None = None,
               headers: Mapping[str, str] | None = None, **context: Any) -> HTMLResponse:
        """Render a page from its template, with the security headers every page carries."""
        text = self.templates.get_template(name).render(caller=caller, refresh=refresh, **context)
        return HTMLResponse(text, status_code=status, headers={
            "Content-Security-Policy": _PAGE_CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff", **(headers or {})})

    def audit_page(self, request: Request, route: str, key_id: str | None, status: int,
                   extra: Mapping[str, Any]) -> None:
        """Write a page action's audit line; a 503 page if it cannot be written (unless serving unaudited)."""
        rid = str(uuid.uuid4())
        if self.audit.write(route, rid, key_id, status, [], None, extra=dict(extra)):
            return
        log.error("audit log cannot be written: request %s to %s with status %d", rid, route, status)
        if not self.serve_unaudited:
            raise _PageError(503, "Service unavailable", _SERVICE_UNAVAILABLE)

    def cookie_secure(self, request: Request) -> bool:
        """Whether cookies get ``Secure``: as configured, else when the request came over HTTPS."""
        return self.settings.cookie_secure if self.settings.cookie_secure is not None \
            else request.url.scheme == "https"


def _parse_as_of(text: str | None) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise JobInputError(f"as-of date {text!r} is not a date as YYYY-MM-DD",
                            problems=[f"as-of date: {text!r} is not a date as YYYY-MM-DD"]) from None


def _when(value: dt.datetime | None) -> str:
    return "\u2013" if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"


def _size(value: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value = value / 1024  # type: ignore[assignment]
    return str(value)


def _percent(job: Job) -> str:
    return f"{100 * job.progress_done // max(job.progress_total, 1)}%"


def _refresh(request: Request, service: JobService, active: bool) -> int | None:
    return service.settings.refresh_seconds if active and request.query_params.get("refresh") != "0" else None


def _download(service: JobService, job: Job, name: str) -> Response:
    path = service.file(job, name)
    media, inline = FILES[name][1], FILES[name][2]
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    if name == "report.html":
        headers["Content-Security-Policy"] = _REPORT_CSP
    return FileResponse(path, media_type=media, headers=headers, filename=f"riskmodel-job-{job.id}-{name}",
                        content_disposition_type="inline" if inline else "attachment")


def _service(request: Request) -> JobService:
    service: JobService = request.app.state.riskmodel_jobs
    return service


def _api_caller(request: Request, key: str | None = _KEY) -> Caller:
    caller = _service(request).key_caller(key)
    if caller is None:
        raise HTTPException(401, "a valid X-API-Key header is required", headers={"WWW-Authenticate": "API-Key"})
    return caller


def _page_caller(request: Request) -> Caller:
    caller = _service(request).session_caller(request.cookies.get(SESSION_COOKIE))
    if caller is None:
        raise _LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return caller


_API_CALLER = Depends(_api_caller)
_PAGE_CALLER = Depends(_page_caller)


def install(app: FastAPI, settings: JobSettings, keys: Mapping[str, str], audit: AuditWriter, *,
            serve_unaudited: bool = False) -> JobService:
    """Add the job API and pages to ``app``.

    Parameters
    ----------
    app : FastAPI
        The service's app (its front layer authenticates and audits ``/v1`` calls).
    settings : JobSettings
        The job service's settings.
    keys : mapping
        ``{key_id: sha256_of_key}``.
    audit : AuditWriter
        The service's audit log, for the pages' lines.
    serve_unaudited : bool
        Answer page actions whose audit line cannot be written (default: refuse them with 503).

    Returns
    -------
    JobService
        Its :meth:`~JobService.may_upload` gates the larger body limit of :data:`UPLOAD_PATHS`.
    """
    service = JobService(settings, keys, audit, serve_unaudited=serve_unaudited)
    app.state.riskmodel_jobs = service  # for the callers' dependencies

    def check_csrf(caller: Caller, token: str | None) -> None:
        if not token or not hmac.compare_digest(token, caller.csrf):
            raise _PageError(403, "Form expired", "The form was not accepted (its security token did not match). "
                                                  "Go back, reload the page and try again.")

    async def login_required(request: Request, exc: Exception) -> Response:
        next_path = exc.next_path if isinstance(exc, _LoginRequired) else "/jobs"
        return RedirectResponse("/login?" + urllib.parse.urlencode({"next": next_path}), status_code=303)

    async def page_error(request: Request, exc: Exception) -> Response:
        caller = await run_in_threadpool(service.session_caller, request.cookies.get(SESSION_COOKIE))
        if not isinstance(exc, _PageError):  # registered for _PageError only
            raise exc
        return service.render("message.html", exc.status, caller, title=exc.title, message=exc.message)

    app.add_exception_handler(_LoginRequired, login_required)
    app.add_exception_handler(_PageError, page_error)

    def set_audit(request: Request, **extra: Any) -> None:
        request.state.audit_extra = extra  # the front layer adds these to the call's audit line

    # ------------------------------------------------------------------------------------------- API
    @app.post("/v1/jobs", status_code=202, tags=["jobs"])
    def api_submit(request: Request, caller: Caller = _API_CALLER, files: Annotated[list[UploadFile], File()] = [],  # noqa: B006
                   folder: Annotated[str | None, Form()] = None, as_of: Annotated[str | None, Form()] = None,
                   model: Annotated[str | None, Form()] = None) -> Response:
        """Submit a scoring job: a zip of contract tables or the table files, or a server folder."""
        try:
            job, stored = service.submit(caller, files, folder, as_of, model)
        except JobInputError as exc:
            set_audit(request, action="submit", refused=exc.message)
            return JSONResponse({"detail": exc.message, "problems": exc.evidence.get("problems", [])}, 422)
        set_audit(request, action="submit", job_id=job.id, files=[vars(s) for s in stored] or None,
                  folder=folder if job.source == "folder" else None)
        return JSONResponse(service.to_json(job), 202, headers={"Location": f"/v1/jobs/{job.id}"})

    @app.get("/v1/jobs", tags=["jobs"])
    def api_list(caller: Caller = _API_CALLER) -> dict[str, Any]:
        """List the jobs of the caller's scope, newest first."""
        return {"jobs": [service.to_json(j) for j in service.store.list_jobs(caller.scope)]}

    @app.get("/v1/jobs/{job_id}", tags=["jobs"])
    def api_get(job_id: str, caller: Caller = _API_CALLER) -> dict[str, Any]:
        """One job: state, progress, counts, validation report, error."""
        return service.to_json(service.job(caller, job_id))

    @app.delete("/v1/jobs/{job_id}", tags=["jobs"])
    def api_cancel(job_id: str, request: Request, caller: Caller = _API_CALLER) -> Response:
        """Cancel a job: at once when queued, at its next chunk when running; 409 once finished."""
        job = service.job(caller, job_id)
        set_audit(request, action="cancel", job_id=job.id)
        if not job.active:
            raise HTTPException(409, f"job {job.id} is {job.state}: it cannot be cancelled")
        job = service.store.request_cancel(job.id, caller.scope) or job
        return JSONResponse(service.to_json(job), 200 if job.state == "cancelled" else 202)

    @app.get("/v1/jobs/{job_id}/report", tags=["jobs"], response_class=HTMLResponse)
    def api_report(job_id: str, request: Request, caller: Caller = _API_CALLER) -> Response:
        """Get the report of a finished job (HTML)."""
        job = service.job(caller, job_id)
        set_audit(request, action="download", job_id=job.id, file="report.html")
        return _download(service, job, "report.html")

    @app.get("/v1/jobs/{job_id}/{name}", tags=["jobs"])
    def api_file(job_id: str, name: str, request: Request, caller: Caller = _API_CALLER) -> Response:
        """Download a job's file: scores (CSV, Parquet), quarantine.csv, manifest.json, model_card.md, problems.csv."""
        job = service.job(caller, job_id)
        set_audit(request, action="download", job_id=job.id, file=name)
        return _download(service, job, name)

    # ----------------------------------------------------------------------------------------- pages
    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return RedirectResponse("/jobs", status_code=303)

    @app.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/jobs") -> Response:
        token = secrets.token_urlsafe(32)
        response = service.render("login.html", title="Sign in", csrf=token, next=_safe_next(next), error=None,
                                  hours=_hours(settings.session_hours))
        response.set_cookie(_LOGIN_COOKIE, token, max_age=3600, path="/login", httponly=True, samesite="strict",
                            secure=service.cookie_secure(request))
        return response

    @app.post("/login", include_in_schema=False)
    def login(request: Request, key: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
              next: Annotated[str, Form()] = "/jobs") -> Response:
        expected = request.cookies.get(_LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(csrf, expected):
            raise _PageError(403, "Form expired", "The sign-in form expired. Open the sign-in page again.")
        caller = service.key_caller(key)
        if caller is None:
            service.audit_page(request, "/login", None, 401, {"action": "login"})
            return service.render("login.html", 401, title="Sign in", csrf=expected, next=_safe_next(next),
                                  error="That key was not accepted. Check it and try again.",
                                  hours=_hours(settings.session_hours))
        token, session_csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        service.store.add_session(_hash(token), caller.key_id, service.keys[caller.key_id], caller.scope,
                                  session_csrf, utcnow() + dt.timedelta(hours=settings.session_hours))
        service.audit_page(request, "/login", caller.key_id, 303, {"action": "login"})
        redirect = RedirectResponse(_safe_next(next), status_code=303)
        redirect.set_cookie(SESSION_COOKIE, token, max_age=int(settings.session_hours * 3600), path="/",
                            httponly=True, samesite="strict", secure=service.cookie_secure(request))
        redirect.delete_cookie(_LOGIN_COOKIE, path="/login")
        return redirect

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, caller: Caller = _PAGE_CALLER, csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(caller, csrf)
        service.store.delete_session(caller.session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/jobs", include_in_schema=False)
    def page_jobs(request: Request, caller: Caller = _PAGE_CALLER) -> Response:
        jobs = service.store.list_jobs(caller.scope)
        active = sum(j.state in ACTIVE for j in jobs)
        return service.render("jobs.html", caller=caller, refresh=_refresh(request, service, active > 0),
                              title="Jobs", jobs=jobs, active=active)

    def new_form(caller: Caller, status: int = 200, **values: Any) -> Response:
        context = {"message": None, "problems": [], "folder": None, "as_of": None,
                   "model": next(iter(settings.models), None), **values}
        return service.render("new.html", status, caller, title="Submit a job", models=list(settings.models),
                              roots=[str(r) for r in settings.allowed_roots],
                              max_upload_mb=f"{settings.max_upload_mb:g}", **context)

    @app.get("/jobs/new", include_in_schema=False)
    def page_new(caller: Caller = _PAGE_CALLER) -> Response:
        return new_form(caller)

    @app.post("/jobs/new", include_in_schema=False)
    def page_submit(request: Request, caller: Caller = _PAGE_CALLER, csrf: Annotated[str, Form()] = "",
                    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006
                    folder: Annotated[str | None, Form()] = None, as_of: Annotated[str | None, Form()] = None,
                    model: Annotated[str | None, Form()] = None) -> Response:
        check_csrf(caller, csrf)
        try:
            job, stored = service.submit(caller, files, folder, as_of, model)
        except JobInputError as exc:
            service.audit_page(request, "/jobs/new", caller.key_id, 422, {"action": "submit",
                                                                          "refused": exc.message})
            return new_form(caller, 422, message=exc.message, problems=exc.evidence.get("problems", []),
                            folder=folder, as_of=as_of, model=model)
        except HTTPException as exc:
            raise _PageError(exc.status_code, "Too many jobs", str(exc.detail)) from None
        service.audit_page(request, "/jobs/new", caller.key_id, 303, {
            "action": "submit", "job_id": job.id, "files": [vars(s) for s in stored] or None,
            "folder": folder if job.source == "folder" else None})
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    def page_job_of(caller: Caller, job_id: str) -> Job:
        try:
            return service.job(caller, job_id)
        except HTTPException as exc:
            raise _PageError(404, "Job not found", str(exc.detail)) from None

    @app.get("/jobs/{job_id}", include_in_schema=False)
    def page_job(job_id: str, request: Request, caller: Caller = _PAGE_CALLER) -> Response:
        job = page_job_of(caller, job_id)
        return service.render("job.html", caller=caller, refresh=_refresh(request, service, job.active),
                              title=f"Job {job.id}", job=job)

    @app.post("/jobs/{job_id}/cancel", include_in_schema=False)
    def page_cancel(job_id: str, request: Request, caller: Caller = _PAGE_CALLER,
                    csrf: Annotated[str, Form()] = "") -> Response:
        check_csrf(caller, csrf)
        job = page_job_of(caller, job_id)
        if job.active:
            service.audit_page(request, "/jobs/{job_id}/cancel", caller.key_id, 303, {"action": "cancel",
                                                                                       "job_id": job.id})
            service.store.request_cancel(job.id, caller.scope)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    def page_download(request: Request, caller: Caller, job_id: str, name: str, route: str) -> Response:
        job = page_job_of(caller, job_id)
        try:
            service.file(job, name)
        except HTTPException as exc:
            raise _PageError(exc.status_code, "File not available", str(exc.detail)) from None
        service.audit_page(request, route, caller.key_id, 200, {"action": "download", "job_id": job.id,
                                                                "file": name})
        return _download(service, job, name)

    @app.get("/jobs/{job_id}/report", include_in_schema=False)
    def page_report(job_id: str, request: Request, caller: Caller = _PAGE_CALLER) -> Response:
        return page_download(request, caller, job_id, "report.html", "/jobs/{job_id}/report")

    @app.get("/jobs/{job_id}/{name}", include_in_schema=False)
    def page_file(job_id: str, name: str, request: Request, caller: Caller = _PAGE_CALLER) -> Response:
        return page_download(request, caller, job_id, name, "/jobs/{job_id}/{name}")

    return service


def _safe_next(path: str) -> str:
    """Return a local path to go to after login (never another site's: ``//host`` is refused)."""
    return path if _SAFE_NEXT.fullmatch(path or "") else "/jobs"


def _hours(hours: float) -> str:
    return f"{hours:g}"

