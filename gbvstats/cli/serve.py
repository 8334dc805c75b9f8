"""The NSC's server and decisions: `serve`, `token create|list|revoke`, `review`, `lock`,
`unlock` (the last three on the local warehouse, or on a server with --to URL)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import (
    JsonOpt,
    LangOpt,
    WarehouseOpt,
    app,
    fail,
    lang_of,
    open_warehouse,
    print_json,
    show_frame,
    store_errors,
    t_,
    warehouse_path,
)

ToOpt = Annotated[str | None, typer.Option(
    "--to", help="Send to the NSC's server at this URL (https://...) instead of a local warehouse.")]
TokenFileOpt = Annotated[Path | None, typer.Option(
    "--token-file", help="File holding your token (else env GBVSTATS_TOKEN).")]


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0: any free port; see --url-file).")] = 8080,
    warehouse: WarehouseOpt = None,
    insecure_http: Annotated[bool, typer.Option(
        "--insecure-http", help="Accept tokens over plain HTTP from other machines (closed test networks only).")] = False,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", help="Address of a reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable).")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM) to serve HTTPS directly.")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="Its private key (PEM).")] = None,
    max_upload_mb: Annotated[float | None, typer.Option(
        "--max-upload-mb", help="Largest workbook accepted (env GBVSTATS_MAX_FILE_MB, else 20).")] = None,
    lock_timeout: Annotated[float, typer.Option(
        "--lock-timeout", help="Seconds a request waits for another writer before answering 503.")] = 10.0,
    url_file: Annotated[Path | None, typer.Option("--url-file", help="Write the listening URL here once up.")] = None,
    pid_file: Annotated[Path | None, typer.Option("--pid-file", help="Write the process id here.")] = None,
    lang: LangOpt = None,
) -> None:
    """Run the upload server for agencies (API, web page); the warehouse's only writer.

    Agencies send workbooks with `gbvstats submit --to URL` or the web page. Local commands
    keep working: they wait for the writer lock, which the server releases when idle."""
    from gbvstats.serve.app import ServeConfig, ServerStartError, run
    from gbvstats.serve.auth import is_loopback

    lang = lang_of(lang)
    if bool(ssl_certfile) != bool(ssl_keyfile):
        fail(t_("serve.tls_pair", lang), code=2)
    for path in (ssl_certfile, ssl_keyfile):
        if path is not None and not path.is_file():
            fail(t_("serve.no_file", lang, path=path), code=2)
    path = warehouse_path(warehouse)
    config = ServeConfig(
        warehouse=path, insecure_http=insecure_http, trusted_proxies=frozenset(trusted_proxy or ()),
        max_file_bytes=int(max_upload_mb * 1024 * 1024) if max_upload_mb else None,
        lock_timeout=lock_timeout)
    exposed = not (is_loopback(host) or host == "localhost")
    if exposed and not ssl_certfile and not insecure_http and not trusted_proxy:
        typer.echo(t_("serve.plain_http_warning", lang, host=host), err=True)
    if max_upload_mb:  # the reader refuses larger files with the same limit
        os.environ["GBVSTATS_MAX_FILE_MB"] = f"{max_upload_mb:g}"

    def ready(url: str) -> None:
        if url_file is not None:
            tmp = url_file.with_name(url_file.name + ".tmp")
            tmp.write_text(url + "\n", encoding="utf-8")
            tmp.replace(url_file)
        typer.echo(t_("serve.started", lang, warehouse=path, url=url), err=True)

    if pid_file is not None:
        pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")
    try:
        code = run(config, host, port, str(ssl_keyfile) if ssl_keyfile else None,
                   str(ssl_certfile) if ssl_certfile else None, ready)
    except ServerStartError as exc:
        fail(str(exc), code=2)
    finally:
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
    if code:
        fail(t_("serve.not_started", lang, host=host, port=port), code=code)


@app.command("ping")
def ping(
    to: Annotated[str, typer.Option("--to", help="The server's URL.")],
    wait: Annotated[float, typer.Option("--wait", help="Keep trying this many seconds while it cannot be reached.")] = 0.0,
    token_file: TokenFileOpt = None,
    as_json: JsonOpt = False, lang: LangOpt = None,
) -> None:
    """Is the server up? With a token (--token-file or GBVSTATS_TOKEN): who the token is."""
    lang = lang_of(lang)
    with _remote(to, token_file, lang, token_needed=False) as server:
        health = _call(lang, server.health, wait)
        who = _call(lang, server.whoami)["identity"] if server.token else None
    if as_json:
        return print_json({"url": server.url, **health, "identity": who})
    typer.echo(t_("serve.ping", lang, url=server.url, version=health["version"]))
    if who:
        typer.echo(t_("client.identity", lang, label=who["label"], agency=who["agency"], role=who["role"]))


token_app = typer.Typer(help="Tokens for `gbvstats serve`: create, list, revoke.", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    agency: Annotated[str, typer.Option("--agency", help="Agency of the holder: MOI, GPO, JD, NSC, MLSP.")],
    label: Annotated[str, typer.Option("--label", help="Who holds it, e.g. \"MoI statistics unit\" (named in the audit log).")],
    role: Annotated[str, typer.Option("--role", help="submitter (own agency's forms), reviewer (NSC: reads all, decides, locks) or admin.")] = "submitter",
    by: Annotated[str | None, typer.Option("--by", help="Who makes it (your login name).")] = None,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Make a token and print it once on standard output (only its hash is stored)."""
    lang = lang_of(lang)
    with store_errors(lang):
        token, tid = open_warehouse(warehouse, lang).create_token(agency, label, role, by or _login())
    if as_json:
        return print_json({"token_id": tid, "token": token, "agency": agency.upper(),
                           "label": " ".join(label.split()), "role": role.lower()})
    typer.echo(token)
    typer.echo(t_("serve.token.created", lang, id=tid, label=" ".join(label.split()),
                  agency=agency.upper(), role=role.lower()), err=True)


@token_app.command("list")
def token_list(as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None) -> None:
    """Every token: label, agency, role, created, last used, revoked (never the token itself)."""
    with store_errors(lang):
        frame = open_warehouse(warehouse).tokens()
    if not len(frame) and not as_json:
        return typer.echo(t_("serve.token.none", lang_of(lang)))
    show_frame(frame, as_json)


@token_app.command("revoke")
def token_revoke(
    token: Annotated[str, typer.Argument(help="Token id, label or key id (`gbvstats token list`).")],
    by: Annotated[str | None, typer.Option("--by", help="Who revokes it (your login name).")] = None,
    warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Revoke a token: every request with it is refused from then on (a running server too)."""
    lang = lang_of(lang)
    with store_errors(lang):
        tid = open_warehouse(warehouse, lang).revoke_token(token, by or _login())
    typer.echo(t_("serve.token.revoked", lang, id=tid))


@app.command("review")
def review(
    submission: Annotated[int, typer.Argument(help="Submission id.")],
    accept: Annotated[bool, typer.Option("--accept", help="The NSC takes the figures.")] = False,
    send_back: Annotated[bool, typer.Option("--return", help="The agency must send a corrected revision (--comment required).")] = False,
    comment: Annotated[str | None, typer.Option("--comment", help="What to correct, or a note.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Reviewer, for a local decision (your login name).")] = None,
    to: ToOpt = None, token_file: TokenFileOpt = None,
    warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Accept or return the current revision of a submission (NSC reviewers)."""
    lang = lang_of(lang)
    if accept == send_back:
        fail(t_("serve.decision_needed", lang), code=2)
    decision = "accepted" if accept else "returned"
    if to:
        with _remote(to, token_file, lang) as remote:
            _call(lang, remote.review, submission, decision, comment)
    else:
        from gbvstats.store.warehouse import Actor

        with store_errors(lang):
            open_warehouse(warehouse, lang).review(submission, decision, comment, Actor(by or _login()))
    typer.echo(t_(f"serve.decision.done.{decision}", lang, id=submission))


def _lock_command(action: str, year: int, agency: str, form: str, comment, by, to, token_file,
                  warehouse, lang) -> None:
    lang = lang_of(lang)
    if to:
        with _remote(to, token_file, lang) as remote:
            _call(lang, getattr(remote, action), year, agency.upper(), form.upper(), comment)
    else:
        from gbvstats.store.warehouse import Actor

        with store_errors(lang):
            wh = open_warehouse(warehouse, lang)
            getattr(wh, action)(year, agency, form, Actor(by or _login()), comment)
    typer.echo(t_(f"serve.locks.done.{action}ed", lang, form=form.upper(), agency=agency.upper(), year=year))


@app.command("lock")
def lock(
    year: Annotated[int, typer.Option("--year")], agency: Annotated[str, typer.Option("--agency")],
    form: Annotated[str, typer.Option("--form", help="Form code, e.g. MOI-FV.")],
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who locks, for a local lock (your login name).")] = None,
    to: ToOpt = None, token_file: TokenFileOpt = None, warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Lock a year of an agency's form: new submissions and revisions are refused until unlocked."""
    _lock_command("lock", year, agency, form, comment, by, to, token_file, warehouse, lang)


@app.command("unlock")
def unlock(
    year: Annotated[int, typer.Option("--year")], agency: Annotated[str, typer.Option("--agency")],
    form: Annotated[str, typer.Option("--form", help="Form code, e.g. MOI-FV.")],
    comment: Annotated[str | None, typer.Option("--comment")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who unlocks, for a local unlock (your login name).")] = None,
    to: ToOpt = None, token_file: TokenFileOpt = None, warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Unlock a year of an agency's form."""
    _lock_command("unlock", year, agency, form, comment, by, to, token_file, warehouse, lang)


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def _remote(url: str, token_file: Path | None, lang: str, token_needed: bool = True):
    from gbvstats.cli.remote import remote

    return remote(url, token_file, lang, token_needed)


def _call(lang: str, fn, *args):
    from gbvstats.cli.remote import call

    return call(lang, fn, *args)
