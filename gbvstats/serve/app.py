"""`gbvstats serve`: the NSC's upload server, the warehouse's only writer.

FastAPI on uvicorn, one process. The JSON API is under /api/v1 (described by
/openapi.json; the interactive documentation pages are off, since they load their scripts
from a CDN); the web page for agency staff is served by `pages.py`. Every refusal is a
catalogued finding (GBV-A..., GBV-W03x) in the language asked for (?lang=, else
Accept-Language), with its HTTP status.

`create_app(config)` gives the ASGI application; `run(config)` serves it with uvicorn.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from gbvstats import __version__
from gbvstats.catalogue import Finding
from gbvstats.serve import data, size_text
from gbvstats.serve.auth import FailureLimiter, Identity, Sessions, bearer
from gbvstats.serve.guard import BodyTooLarge, Guard, lang_of_scope
from gbvstats.serve.intake import Intake, Job, RefusedFiles, spool
from gbvstats.store.warehouse import Actor, Refusal, StoreError, Warehouse

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_OF_OUTCOME = {"accepted": 201, "accepted_with_warnings": 201, "duplicate": 200,
                     "rejected": 422, "unreadable": 422, "refused_agency": 403, "locked": 409}
STATUS_OF_REFUSAL = {"GBV-W032": 422, "GBV-W036": 422}  # the others (locks, revisions): 409
UPLOAD_OVERHEAD = 256 * 1024  # multipart headers around the file


@dataclass
class ServeConfig:
    warehouse: Path
    insecure_http: bool = False
    trusted_proxies: frozenset[str] = frozenset()
    max_file_bytes: int | None = None  # default: the reader's limit (GBVSTATS_MAX_FILE_MB, 20 MB)
    lock_timeout: float = 10.0  # how long a request waits for another writer before 503
    linger: float = 1.0
    max_hold: float = 10.0
    fail_limit: int = 10
    fail_window: float = 300.0
    fail_block: float = 60.0
    session_idle: float = 1800.0
    keep_refused_days: float = 90.0

    def file_limit(self) -> int:
        from gbvstats.collect.reader import max_file_bytes

        return self.max_file_bytes if self.max_file_bytes is not None else max_file_bytes()


class ServerStartError(Exception):
    """The server cannot start (said in the user's language, in its log)."""


class Problem(Exception):
    """A refusal: HTTP status and a catalogued finding."""

    def __init__(self, status: int, code: str, headers: dict | None = None, **params: Any):
        super().__init__(code)
        self.status, self.finding, self.headers = status, Finding(code=code, params=params), headers


class Server:
    """What the application holds: the warehouse (held connection), the intake worker,
    the failure limiter, the web sessions, the spool and the refused files."""

    def __init__(self, config: ServeConfig):
        from gbvstats.schema.model import registry

        self.config = config
        self.wh = Warehouse(config.warehouse, registry(), lock_timeout=config.lock_timeout)
        base = self.wh.path.parent
        self.spool_dir = base / "spool"
        self.refused = RefusedFiles(base / "refused", config.keep_refused_days)
        self.intake = Intake(self.wh, self.refused)
        self.limiter = FailureLimiter(config.fail_limit, config.fail_window, config.fail_block)
        self.sessions = Sessions(config.session_idle)
        self._held = None
        self._claim = None
        self._touched: dict[int, float] = {}
        self._touch_lock = threading.Lock()

    def start(self) -> None:
        """Claim the warehouse for this server (one server per warehouse), open it (created
        and migrated now, not at the first upload), clear a killed server's spool."""
        import fcntl

        from gbvstats.i18n import choose_lang, t

        if self._claim is not None:
            return  # started already (by `run`, before uvicorn)
        self.wh.path.parent.mkdir(parents=True, exist_ok=True)
        claim = open(self.wh.path.with_name(self.wh.path.name + ".serve"), "a+")  # noqa: SIM115
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            claim.close()
            raise ServerStartError(t("serve.already_running", choose_lang(), path=self.wh.path)) from None
        self._claim = claim
        try:
            self._held = self.wh.held(self.config.linger, self.config.max_hold)
            self._held.__enter__()
            with self.wh.writer():
                pass
        except StoreError as exc:
            self.stop()
            raise ServerStartError(exc.message(choose_lang())) from None
        shutil.rmtree(self.spool_dir, ignore_errors=True)  # leftovers of a killed server
        self.intake.start()

    def stop(self) -> None:
        self.intake.stop()
        if self._held is not None:
            self._held.__exit__(None, None, None)
            self._held = None
        if self._claim is not None:
            self._claim.close()
            self._claim = None

    # --- identity --------------------------------------------------------------------

    def authenticate(self, request: Request, token: str | None) -> Identity:
        address = request.scope.get("gbvstats.client", "")
        wait = self.limiter.retry_after(address)
        if wait:
            raise Problem(429, "GBV-A006", {"Retry-After": str(wait)}, address=address, seconds=wait)
        if not token:
            raise Problem(401, "GBV-A001", {"WWW-Authenticate": 'Bearer realm="gbvstats"'})
        info = self.wh.resolve_token(token)
        if info is None:
            self.limiter.failed(address)
            raise Problem(401, "GBV-A002",
                          {"WWW-Authenticate": 'Bearer realm="gbvstats", error="invalid_token"'})
        self.limiter.succeeded(address)
        self.touch(info.token_id, address)
        return Identity(info.token_id, info.label, info.agency, info.role)

    def still_valid(self, identity: Identity) -> bool:
        return data.token_active(self.wh, identity.token_id) is not None

    def touch(self, token_id: int, address: str) -> None:
        """Record the token's last use, at most once a minute (a write)."""
        now = time.monotonic()
        with self._touch_lock:
            if now - self._touched.get(token_id, -1e9) < 60:
                return
            self._touched[token_id] = now
        try:
            self.wh.touch_token(token_id, address)
        except StoreError:
            pass  # busy: the next use records it

    # --- uploads ----------------------------------------------------------------------

    async def receive_upload(self, request: Request, identity: Identity, dry: bool):
        """Spool the multipart field `file`, validate (and store unless `dry`): (upload,
        receipt or None, report or None)."""
        return await self.process_form(await self.read_form(request), identity, dry)

    async def read_form(self, request: Request):
        try:
            return await request.form(max_files=1, max_fields=8, max_part_size=64 * 1024)
        except BodyTooLarge:
            raise
        except (StarletteHTTPException, ValueError, KeyError) as exc:
            raise Problem(400, "GBV-A009") from exc

    async def process_form(self, form, identity: Identity, dry: bool):
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not getattr(upload, "filename", None):
            raise Problem(400, "GBV-A009")
        limit = self.config.file_limit()
        if upload.size is not None and upload.size > limit:
            raise Problem(413, "GBV-A005", limit=size_text(limit))
        spooled = await spool(upload, self.spool_dir)
        await form.close()
        try:
            if not dry:
                again = await asyncio.to_thread(self.wh.duplicate_receipt, spooled.sha256,
                                                spooled.name, identity.agency)
                if again is not None:
                    return spooled, again, None
            job = Job(spooled, identity, dry)
            receipt, report = await asyncio.wrap_future(self.intake.put(job))
            return spooled, receipt, report
        finally:
            spooled.discard()

    def actor(self, identity: Identity) -> Actor:
        return Actor(identity.label, identity.agency, identity.token_id)


def finding_json(f: Finding | dict, lang: str) -> dict:
    """A finding for the API: as `Finding.to_dict` (code, severity, location, rule, params,
    title and message in `lang`), plus its values as text."""
    from gbvstats.collect.feedback import values_text

    finding = f if isinstance(f, Finding) else Finding.from_dict(f)
    return {**finding.to_dict(lang), "values": values_text(finding)}


def receipt_json(receipt, lang: str) -> dict:
    out = receipt.to_dict()
    out["findings"] = [finding_json(f, lang) for f in receipt.findings]
    sid = receipt.submission_id or receipt.duplicate_of
    links = {}
    if sid:
        links = {"submission": f"/api/v1/submissions/{sid}",
                 "feedback": f"/api/v1/submissions/{sid}/feedback.xlsx"}
    elif receipt.event_id and receipt.outcome != "unreadable":
        links = {"attempt": f"/api/v1/attempts/{receipt.event_id}",
                 "feedback": f"/api/v1/attempts/{receipt.event_id}/feedback.xlsx"}
    elif receipt.event_id:
        links = {"attempt": f"/api/v1/attempts/{receipt.event_id}"}
    out["links"] = links
    return out


def report_json(report, name: str, lang: str) -> dict:
    out = report.to_dict(lang)
    out["file"] = name
    out["findings"] = [finding_json(f, lang) for f in report.findings]
    return out


def submission_json(row: dict, lang: str) -> dict:
    out = {k: v for k, v in row.items() if k not in ("archive_path", "findings")}
    out["findings"] = [finding_json(f, lang) for f in data.stored_findings(row)]
    out["links"] = {"feedback": f"/api/v1/submissions/{row['submission_id']}/feedback.xlsx"}
    return out


def attempt_json(row: dict, lang: str) -> dict:
    out = {k: v for k, v in row.items() if k != "findings"}
    out["findings"] = [finding_json(f, lang) for f in data.attempt_findings(row)]
    if row["outcome"] != "unreadable":
        out["links"] = {"feedback": f"/api/v1/attempts/{row['event_id']}/feedback.xlsx"}
    return out


class ReviewIn(BaseModel):
    decision: Literal["accepted", "returned"]
    comment: str | None = Field(default=None, max_length=4000)


class LockIn(BaseModel):
    year: int = Field(ge=1990, le=2100)
    agency: str = Field(max_length=20)
    form: str = Field(max_length=40)
    comment: str | None = Field(default=None, max_length=4000)


def create_app(config: ServeConfig):
    """The ASGI application: the Guard around FastAPI (API + web pages)."""
    server = Server(config)

    @asynccontextmanager
    async def lifespan(app):
        await asyncio.to_thread(server.start)
        try:
            yield
        finally:
            await asyncio.to_thread(server.stop)

    api = FastAPI(
        title="gbvstats", version=__version__, lifespan=lifespan,
        description="Agencies' returns on gender-based violence and trafficking: upload, "
                    "validation, receipts, the NSC's decisions. Authorization: Bearer <token>.",
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
        openapi_url="/openapi.json",
        # no usage statistics, no traces: nothing leaves this server
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    api.state.server = server

    def lang(request: Request) -> str:
        return lang_of_scope(request.scope)

    def who(request: Request) -> Identity:
        return server.authenticate(request, bearer(request.headers.get("authorization")))

    def need(identity: Identity, action: str) -> None:
        if not identity.may(action):
            raise Problem(403, "GBV-A003", role=identity.role, action=action)

    def scoped_agency(identity: Identity, agency: str | None) -> str | None:
        """The agency whose data a request may see: a submitter only its own."""
        agency = agency.upper() if agency else None
        if identity.may("read_all"):
            return agency
        if agency and agency != identity.agency:
            raise Problem(403, "GBV-A004", what=agency, owner=agency, agency=identity.agency)
        return identity.agency

    def visible_submission(identity: Identity, sid: int) -> dict:
        row = data.submission(server.wh, sid)
        if row is None:
            raise Problem(404, "GBV-A010", id=sid)
        if not identity.reads(row["agency"]):
            raise Problem(403, "GBV-A004", what=f"#{sid}", owner=row["agency"], agency=identity.agency)
        return row

    def visible_attempt(identity: Identity, eid: int) -> dict:
        row = data.attempt(server.wh, eid)
        if row is None:
            raise Problem(404, "GBV-A011", id=eid)
        if not identity.reads(row["agency"]):
            raise Problem(403, "GBV-A004", what=f"#{eid}", owner=row["agency"], agency=identity.agency)
        return row

    # --- API --------------------------------------------------------------------------

    @api.get("/api/v1/health", tags=["identity"])
    def health():
        """The server is up (no token needed): its version and the largest file it takes."""
        return {"status": "ok", "version": __version__, "max_file_bytes": config.file_limit()}

    @api.get("/api/v1/whoami", tags=["identity"])
    def whoami(identity: Identity = Depends(who)):
        """The identity of the token, and the server's limits."""
        return {"identity": identity.to_dict(), "server": {
            "version": __version__, "max_file_bytes": config.file_limit(),
            "actions": sorted(a for a in ("validate", "submit", "read_all", "review", "lock",
                                          "completeness", "tokens") if identity.may(a))}}

    @api.post("/api/v1/validate", tags=["submissions"])
    async def validate(request: Request, identity: Identity = Depends(who)):
        """Dry run: the findings of the workbook in the multipart field `file`; nothing stored."""
        need(identity, "validate")
        upload, _, report = await server.receive_upload(request, identity, dry=True)
        if report.form is not None and not identity.reads(report.form.agency):
            raise Problem(403, "GBV-A004", what=report.form.form, owner=report.form.agency,
                          agency=identity.agency)
        return report_json(report, upload.name, lang(request))

    @api.post("/api/v1/submissions", tags=["submissions"])
    async def submit(request: Request, identity: Identity = Depends(who)):
        """Validate and store the workbook in the multipart field `file`: the receipt. The
        same bytes again give the existing receipt (200); a stored file 201; refused 403
        (another agency's form), 409 (locked period) or 422 (errors, unreadable)."""
        need(identity, "submit")
        _, receipt, _ = await server.receive_upload(request, identity, dry=False)
        return JSONResponse(receipt_json(receipt, lang(request)),
                            status_code=STATUS_OF_OUTCOME.get(receipt.outcome, 200))

    @api.get("/api/v1/submissions", tags=["submissions"])
    def list_submissions(request: Request, identity: Identity = Depends(who),
                         year: int | None = Query(None, ge=1990, le=2100),
                         form: str | None = Query(None, max_length=40),
                         agency: str | None = Query(None, max_length=20),
                         state: Literal["pending", "returned", "accepted"] | None = None,
                         limit: int = Query(500, ge=1, le=5000)):
        """Submissions (a submitter: its agency's), newest first, with the NSC's decision."""
        rows = data.submissions(server.wh, scoped_agency(identity, agency), year,
                                form.upper() if form else None, state, limit)
        return {"submissions": rows}

    @api.get("/api/v1/submissions/{sid}", tags=["submissions"])
    def get_submission(sid: int, request: Request, identity: Identity = Depends(who)):
        """Status, findings, the NSC's decisions and the revision chain of a submission."""
        return submission_json(visible_submission(identity, sid), lang(request))

    @api.get("/api/v1/submissions/{sid}/feedback.xlsx", tags=["submissions"],
             response_class=FileResponse)
    def submission_feedback(sid: int, request: Request, identity: Identity = Depends(who)):
        """The submitted workbook with every finding marked on its cell."""
        row = visible_submission(identity, sid)
        return feedback_file(server, server.wh.archive / row["archive_path"], row["file_name"],
                             data.stored_findings(row), lang(request))

    @api.post("/api/v1/submissions/{sid}/review", tags=["decisions"])
    def review(sid: int, body: ReviewIn, request: Request, identity: Identity = Depends(who)):
        """Accept or return (comment required) the current revision of a submission."""
        need(identity, "review")
        visible_submission(identity, sid)
        rid = server.wh.review(sid, body.decision, body.comment, server.actor(identity))
        return {"review_id": rid, "submission": submission_json(
            data.submission(server.wh, sid), lang(request))}

    @api.get("/api/v1/attempts", tags=["submissions"])
    def list_attempts(identity: Identity = Depends(who),
                      year: int | None = Query(None, ge=1990, le=2100),
                      agency: str | None = Query(None, max_length=20),
                      limit: int = Query(100, ge=1, le=5000)):
        """Refused uploads (a submitter: its agency's), newest first."""
        rows = data.attempts(server.wh, scoped_agency(identity, agency), year, limit)
        return {"attempts": [{k: v for k, v in r.items() if k != "findings"} for r in rows]}

    @api.get("/api/v1/attempts/{eid}", tags=["submissions"])
    def get_attempt(eid: int, request: Request, identity: Identity = Depends(who)):
        """A refused upload: why, with every finding."""
        return attempt_json(visible_attempt(identity, eid), lang(request))

    @api.get("/api/v1/attempts/{eid}/feedback.xlsx", tags=["submissions"],
             response_class=FileResponse)
    def attempt_feedback(eid: int, request: Request, identity: Identity = Depends(who)):
        """The refused workbook with every finding marked (while the server keeps it)."""
        row = visible_attempt(identity, eid)
        if row["outcome"] == "unreadable":
            raise Problem(404, "GBV-A011", id=eid)
        return feedback_file(server, server.refused.find(row["sha256"] or ""), row["file_name"],
                             data.attempt_findings(row), lang(request))

    @api.get("/api/v1/calendar", tags=["calendar"])
    def calendar(identity: Identity = Depends(who), year: int = Query(..., ge=1990, le=2100),
                 agency: str | None = Query(None, max_length=20)):
        """Every return expected of the year (a submitter: its agency's), with its due date
        and state: missing, rejected, received, accepted or returned (with the comment)."""
        return {"year": year, "returns": data.calendar(server.wh, year, scoped_agency(identity, agency))}

    @api.get("/api/v1/completeness", tags=["calendar"])
    def completeness(identity: Identity = Depends(who), year: int = Query(..., ge=1990, le=2100),
                     agency: str | None = Query(None, max_length=20)):
        """Completeness per agency and form (reviewers)."""
        need(identity, "completeness")
        return {"year": year, "summary": data.completeness(server.wh, year, agency)}

    @api.get("/api/v1/locks", tags=["decisions"])
    def locks(identity: Identity = Depends(who), year: int = Query(..., ge=1990, le=2100)):
        """Every form with its lock for the year (a submitter: its agency's forms)."""
        rows = data.locks(server.wh, year)
        if not identity.may("read_all"):
            rows = [r for r in rows if r["agency"] == identity.agency]
        return {"year": year, "locks": rows}

    @api.post("/api/v1/locks", tags=["decisions"], status_code=201)
    def lock(body: LockIn, identity: Identity = Depends(who)):
        """Lock a year of an agency's form: no new submission or revision until unlocked."""
        need(identity, "lock")
        server.wh.lock(body.year, body.agency, body.form, server.actor(identity), body.comment)
        return {"locked": body.model_dump()}

    @api.delete("/api/v1/locks/{year}/{agency}/{form}", tags=["decisions"])
    def unlock(year: int, agency: str, form: str, identity: Identity = Depends(who),
               comment: str | None = Query(None, max_length=4000)):
        """Unlock a year of an agency's form."""
        need(identity, "lock")
        server.wh.unlock(year, agency, form, server.actor(identity), comment)
        return {"unlocked": {"year": year, "agency": agency.upper(), "form": form.upper()}}

    @api.get("/api/v1/tokens", tags=["identity"])
    def tokens(identity: Identity = Depends(who)):
        """Every token (never the token itself): label, agency, role, last use (admins)."""
        need(identity, "tokens")
        frame = server.wh.tokens()
        import json

        return {"tokens": json.loads(frame.to_json(orient="records", date_format="iso"))}

    # --- the web page -----------------------------------------------------------------

    from gbvstats.serve import pages

    pages.register(api, server)

    # --- refusals ---------------------------------------------------------------------

    def answer(request: Request, status: int, finding: Finding, headers: dict | None = None) -> Response:
        if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
            language = lang(request)
            return JSONResponse({"error": {"status": status, "code": finding.code,
                                           "title": finding.title.get(language) or finding.title["en"],
                                           "message": finding.message(language)}},
                                status_code=status, headers=headers)
        return pages.error_page(request, server, status, finding, headers)

    @api.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem):
        return answer(request, exc.status, exc.finding, exc.headers)

    @api.exception_handler(Refusal)
    async def on_refusal(request: Request, exc: Refusal):
        return answer(request, STATUS_OF_REFUSAL.get(exc.finding.code, 409), exc.finding)

    @api.exception_handler(StoreError)
    async def on_store_error(request: Request, exc: StoreError):
        if exc.key == "busy":
            return answer(request, 503, Finding("GBV-A012", params={"seconds": exc.params.get("seconds")}),
                          {"Retry-After": "5"})
        if exc.key == "no_submission":
            return answer(request, 404, Finding("GBV-A010", params={"id": exc.params.get("id")}))
        return answer(request, 503, Finding("GBV-A015", params={"reason": exc.message(lang(request))}))

    @api.exception_handler(BodyTooLarge)
    async def on_too_large(request: Request, exc: BodyTooLarge):
        return answer(request, 413, Finding("GBV-A005", params={"limit": size_text(exc.limit)}),
                      {"Connection": "close"})

    @api.exception_handler(RequestValidationError)
    async def on_bad_parameter(request: Request, exc: RequestValidationError):
        first = (exc.errors() or [{}])[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path"))
        return answer(request, 422, Finding("GBV-A013", params={
            "name": where or "request", "value": str(first.get("input", ""))[:80],
            "expected": first.get("msg", "")}))

    @api.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            return answer(request, 404, Finding("GBV-A013", params={
                "name": "path", "value": request.url.path[:80], "expected": "a page or /api/v1/..."}))
        if exc.status_code == 405:
            return answer(request, 405, Finding("GBV-A013", params={
                "name": "method", "value": request.method, "expected": "another method"}))
        return answer(request, exc.status_code, Finding("GBV-A013", params={
            "name": "request", "value": request.url.path[:80], "expected": str(exc.detail)}))

    async def refuse(scope, receive, send, status, code, params, close=False):
        request = Request(scope, receive)
        headers = {"Connection": "close"} if close else None
        response = answer(request, status, Finding(code, params=params), headers)
        await response(scope, receive, send)

    app = Guard(api, insecure_http=config.insecure_http, trusted_proxies=config.trusted_proxies,
                max_body=config.file_limit() + UPLOAD_OVERHEAD, refuse=refuse)
    app.fastapi, app.server = api, server
    return app


def feedback_file(server: Server, original: Path | None, file_name: str, findings, lang: str):
    """The marked workbook in a temporary file, removed once sent."""
    from gbvstats.collect.feedback import write_feedback

    folder = Path(tempfile.mkdtemp(prefix="fb-", dir=_mkdir(server.spool_dir)))
    name = f"{Path(file_name).stem}.feedback.xlsx"
    out = write_feedback(original if original is not None else folder / "missing.xlsx",
                         findings, folder / "feedback.xlsx", lang)
    return FileResponse(out, media_type=XLSX, filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(config: ServeConfig, host: str, port: int, ssl_keyfile: str | None = None,
        ssl_certfile: str | None = None, on_ready=None, log_level: str = "info") -> int:
    """Serve with uvicorn until stopped: one process (the warehouse's only writer), no proxy
    headers believed but from --trusted-proxy (our Guard decides), tokens only in the
    Authorization header so the access log never holds one. `on_ready(url)` is called once
    the socket listens. Returns 0, or 2 when the server could not start (port taken...);
    raises ServerStartError, before listening, when the warehouse cannot be served."""
    import uvicorn

    app = create_app(config)
    app.server.start()  # here rather than in uvicorn's lifespan: a refusal is one clear line
    uv = uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False,
                        ssl_keyfile=ssl_keyfile, ssl_certfile=ssl_certfile, log_level=log_level,
                        timeout_keep_alive=30, lifespan="on", workers=1)
    server = uvicorn.Server(uv)
    if on_ready is not None:
        _when_listening(server, "https" if ssl_certfile else "http", on_ready)
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits 3 when it cannot bind or start
        return 0 if not exc.code else 2
    finally:
        app.server.stop()
    return 0 if server.started else 2


def _when_listening(server, scheme: str, on_ready) -> None:
    original = server.startup

    async def startup(sockets=None):
        await original(sockets=sockets)
        for s in getattr(server, "servers", []):
            for sock in s.sockets:
                host, port = sock.getsockname()[:2]
                on_ready(f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}")
                return

    server.startup = startup
