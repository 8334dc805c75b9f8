"""The web page for agency staff who do not use a terminal, and for NSC reviewers.

Server-rendered HTML (Jinja2, every value escaped), one stylesheet, no script at all, in
en/ru/ky (?lang= remembered in a cookie, else Accept-Language). Signing in with the token
makes a session: an HttpOnly, SameSite=Strict cookie (Secure over HTTPS); every form post
carries the session's CSRF token (the sign-in form a pre-session one). Submitters upload a
workbook (check only, or send), see the verdict and every finding with its cell, download
the marked workbook and follow their agency's calendar; reviewers see every agency, accept
or return submissions and lock periods.
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from gbvstats.i18n import LANGS, t
from gbvstats.serve import data
from gbvstats.serve.auth import Session, Sessions, same_secret
from gbvstats.serve.guard import lang_of_scope

if TYPE_CHECKING:
    from gbvstats.catalogue import Finding
    from gbvstats.serve.app import Server

HERE = Path(__file__).resolve().parent
LANG_COOKIE = "gbvstats_lang"
PRE_COOKIE = "gbvstats_presession"
LANG_NAMES = {"ru": "Русский", "ky": "Кыргызча", "en": "English"}
OUTCOMES = ("accepted", "accepted_with_warnings", "duplicate", "rejected", "refused_agency",
            "locked", "unreadable")


@cache
def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    return env


def page_lang(request: Request) -> str:
    return lang_of_scope(request.scope, request.cookies.get(LANG_COOKIE))


def render(request: Request, server: Server, template: str, status: int = 200,
           session: Session | None = None, headers: dict | None = None, **context) -> HTMLResponse:
    lang = page_lang(request)

    def _(key: str, **params) -> str:
        return t(f"serve.{key}", lang, **params)

    flash = session.data.pop("flash", None) if session else None
    html = _env().get_template(template).render(
        _=_, lang=lang, langs=[(c, LANG_NAMES[c]) for c in ("ru", "ky", "en")],
        identity=session.identity if session else None, csrf=session.csrf if session else "",
        path=request.url.path, flash=flash, unit_name=lambda row: unit_name(row, lang),
        sev=lambda severity: t(f"feedback.severity.{severity}", lang),
        **context)
    response = HTMLResponse(html, status_code=status, headers=headers)
    asked = request.query_params.get("lang", "").lower()
    if asked in LANGS:
        response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, httponly=True,
                            samesite="strict", secure=_secure(request))
    return response


def unit_name(row: dict, lang: str) -> str:
    name = (row.get("unit_name") if lang == "en" else row.get("unit_name_ru")) or row.get("unit_name")
    return f"{row.get('unit')} {name}" if name else str(row.get("unit") or "")


def _secure(request: Request) -> bool:
    return bool(request.scope.get("gbvstats.secure"))


def error_page(request: Request, server: Server, status: int, finding: Finding,
               headers: dict | None = None) -> HTMLResponse:
    lang = page_lang(request)
    session = _session(request, server, check_token=False)
    return render(request, server, "error.html", status=status, session=session, headers=headers,
                  message=finding.message(lang), code=finding.code,
                  title=finding.title.get(lang) or finding.title["en"],
                  sign_in=status == 401)


def _session(request: Request, server: Server, check_token: bool = True) -> Session | None:
    sid = request.cookies.get(Sessions.COOKIE)
    session = server.sessions.get(sid)
    if session is not None and check_token and not server.still_valid(session.identity):
        server.sessions.drop(sid)  # the token was revoked: the session ends with it
        return None
    return session


def register(app, server: Server) -> None:
    from gbvstats.serve.app import Problem, attempt_json, feedback_file, finding_json, report_json
    from gbvstats.store.warehouse import Refusal

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def signed_in(request: Request) -> Session:
        session = _session(request, server)
        if session is None:
            raise Problem(401, "GBV-A014")
        return session

    def checked(request: Request, csrf: str) -> Session:
        session = signed_in(request)
        if not same_secret(csrf, session.csrf):
            raise Problem(403, "GBV-A008")
        return session

    def to(path: str) -> RedirectResponse:
        return RedirectResponse(path, status_code=303)

    @app.get("/", include_in_schema=False)
    def root(request: Request):
        return to("/home" if _session(request, server) else "/sign-in")

    @app.get("/sign-in", include_in_schema=False)
    def sign_in_form(request: Request):
        return _sign_in(request, None, 200)

    def _sign_in(request: Request, error: str | None, status: int) -> Response:
        pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
        response = render(request, server, "sign_in.html", status=status, pre_csrf=pre, error=error,
                          signed_out=request.query_params.get("out") == "1")
        response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict", secure=_secure(request))
        return response

    @app.post("/sign-in", include_in_schema=False)
    def sign_in(request: Request, token: str = Form("", max_length=200), csrf: str = Form("", max_length=100)):
        if not same_secret(csrf, request.cookies.get(PRE_COOKIE)):
            raise Problem(403, "GBV-A008")
        try:
            identity = server.authenticate(request, token)
        except Problem as exc:
            return _sign_in(request, exc.finding.message(page_lang(request)), exc.status)
        sid, _ = server.sessions.create(identity)
        response = to("/home")
        response.set_cookie(Sessions.COOKIE, sid, httponly=True, samesite="strict",
                            secure=_secure(request), path="/")
        response.delete_cookie(PRE_COOKIE)
        return response

    @app.post("/sign-out", include_in_schema=False)
    def sign_out(request: Request, csrf: str = Form("", max_length=100)):
        checked(request, csrf)
        server.sessions.drop(request.cookies.get(Sessions.COOKIE))
        response = to("/sign-in?out=1")
        response.delete_cookie(Sessions.COOKIE, path="/")
        return response

    @app.get("/home", include_in_schema=False)
    def home(request: Request, year: int | None = Query(None, ge=1990, le=2100),
             agency: str | None = Query(None, max_length=20)):
        session = _session(request, server)
        if session is None:
            return to("/sign-in")
        ident = session.identity
        year = year or date.today().year
        if ident.may("read_all"):
            agencies = sorted({f.agency for f in server.wh.reg.versions()})
            agency = agency.upper() if agency and agency.upper() in agencies else None
            returns = data.calendar(server.wh, year, agency) if agency else []
            return render(request, server, "review.html", session=session, year=year,
                          agency=agency, agencies=agencies, returns=returns,
                          counts=_counts(returns),
                          pending=data.submissions(server.wh, agency, year, state="pending", limit=200),
                          returned=data.submissions(server.wh, agency, year, state="returned", limit=200),
                          summary=data.completeness(server.wh, year, agency),
                          locks=[r for r in data.locks(server.wh, year) if not agency or r["agency"] == agency])
        returns = data.calendar(server.wh, year, ident.agency)
        return render(request, server, "home.html", session=session, year=year, returns=returns,
                      counts=_counts(returns),
                      recent=data.submissions(server.wh, ident.agency, limit=10),
                      refused=data.attempts(server.wh, ident.agency, limit=10))

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request):
        form = await server.read_form(request)
        session = checked(request, str(form.get("csrf") or ""))
        ident = session.identity
        dry = form.get("action") != "send"
        if not ident.may("validate" if dry else "submit"):
            raise Problem(403, "GBV-A003", role=ident.role, action="validate" if dry else "submit")
        spooled, receipt, report = await server.process_form(form, ident, dry)
        lang = page_lang(request)
        if dry:
            if report.form is not None and not ident.reads(report.form.agency):
                raise Problem(403, "GBV-A004", what=report.form.form, owner=report.form.agency,
                              agency=ident.agency)
            return render(request, server, "check.html", session=session,
                          report=report_json(report, spooled.name, lang), verdict=report.verdict)
        sid = receipt.submission_id or receipt.duplicate_of
        return to(f"/submissions/{sid}?outcome={receipt.outcome}" if sid
                  else f"/attempts/{receipt.event_id}?outcome={receipt.outcome}")

    def visible(ident, row, what: str, ident_id) -> None:
        if row is None:
            raise Problem(404, "GBV-A010" if what == "submission" else "GBV-A011", id=ident_id)
        if not ident.reads(row["agency"]):
            raise Problem(403, "GBV-A004", what=f"#{ident_id}", owner=row["agency"], agency=ident.agency)

    @app.get("/submissions/{sid}", include_in_schema=False)
    def submission_page(request: Request, sid: int, outcome: str | None = None):
        session = _session(request, server)
        if session is None:
            return to("/sign-in")
        return _submission(request, session, sid, outcome, None, 200)

    def _submission(request, session, sid: int, outcome, error, status) -> HTMLResponse:
        row = data.submission(server.wh, sid)
        visible(session.identity, row, "submission", sid)
        lang = page_lang(request)
        return render(request, server, "submission.html", status=status, session=session, row=row,
                      findings=[finding_json(f, lang) for f in data.stored_findings(row)],
                      outcome=outcome if outcome in OUTCOMES else None, error=error)

    @app.post("/submissions/{sid}/review", include_in_schema=False)
    def review(request: Request, sid: int, decision: str = Form(..., max_length=20),
               comment: str = Form("", max_length=4000), csrf: str = Form("", max_length=100)):
        session = checked(request, csrf)
        ident = session.identity
        if not ident.may("review"):
            raise Problem(403, "GBV-A003", role=ident.role, action="review")
        visible(ident, data.submission(server.wh, sid), "submission", sid)
        if decision not in ("accepted", "returned"):
            raise Problem(422, "GBV-A013", name="decision", value=decision, expected="accepted, returned")
        try:
            server.wh.review(sid, decision, comment, server.actor(ident))
        except Refusal as exc:
            return _submission(request, session, sid, None, exc.message(page_lang(request)),
                               422 if exc.finding.code == "GBV-W032" else 409)
        session.data["flash"] = t(f"serve.decision.done.{decision}", page_lang(request), id=sid)
        return to(f"/submissions/{sid}")

    @app.get("/submissions/{sid}/feedback.xlsx", include_in_schema=False)
    def submission_feedback(request: Request, sid: int):
        session = signed_in(request)
        row = data.submission(server.wh, sid)
        visible(session.identity, row, "submission", sid)
        return feedback_file(server, server.wh.archive / row["archive_path"], row["file_name"],
                             data.stored_findings(row), page_lang(request))

    @app.get("/attempts/{eid}", include_in_schema=False)
    def attempt_page(request: Request, eid: int, outcome: str | None = None):
        session = _session(request, server)
        if session is None:
            return to("/sign-in")
        row = data.attempt(server.wh, eid)
        visible(session.identity, row, "attempt", eid)
        return render(request, server, "attempt.html", session=session,
                      row=attempt_json(row, page_lang(request)),
                      outcome=outcome if outcome in OUTCOMES else None)

    @app.get("/attempts/{eid}/feedback.xlsx", include_in_schema=False)
    def attempt_feedback(request: Request, eid: int):
        session = signed_in(request)
        row = data.attempt(server.wh, eid)
        visible(session.identity, row, "attempt", eid)
        if row["outcome"] == "unreadable":
            raise Problem(404, "GBV-A011", id=eid)
        return feedback_file(server, server.refused.find(row["sha256"] or ""), row["file_name"],
                             data.attempt_findings(row), page_lang(request))

    @app.post("/locks", include_in_schema=False)
    def lock(request: Request, year: int = Form(..., ge=1990, le=2100),
             agency: str = Form(..., max_length=20), form: str = Form(..., max_length=40),
             action: str = Form(..., max_length=10), comment: str = Form("", max_length=4000),
             back: str = Form("", max_length=20), csrf: str = Form("", max_length=100)):
        session = checked(request, csrf)
        ident = session.identity
        if not ident.may("lock"):
            raise Problem(403, "GBV-A003", role=ident.role, action="lock")
        if action not in ("lock", "unlock"):
            raise Problem(422, "GBV-A013", name="action", value=action, expected="lock, unlock")
        verb = server.wh.lock if action == "lock" else server.wh.unlock
        verb(year, agency, form, server.actor(ident), comment)
        session.data["flash"] = t(f"serve.locks.done.{action}ed", page_lang(request),
                                  form=form.upper(), agency=agency.upper(), year=year)
        filt = f"&agency={back.upper()}" if back.isalpha() else ""
        return to(f"/home?year={year}{filt}")


def _counts(returns: list[dict]) -> dict[str, int]:
    counts = {"total": len(returns), "received": 0, "accepted": 0, "returned": 0, "missing": 0}
    for r in returns:
        if r["state"] in ("received", "accepted", "returned"):
            counts["received"] += 1
        if r["state"] in counts and r["state"] != "received":
            counts[r["state"]] += 1
        if r["state"] == "rejected":
            counts["missing"] += 1
    return counts
