"""`submit --to URL` and `validate --to URL`: the same receipts, reports, JSON and exit
codes as the local commands, from the NSC's server (`gbvstats.collect.client`)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import typer

from gbvstats.cli.common import console, fail, print_json, t_

STOP = ("GBV-A001", "GBV-A002", "GBV-A003", "GBV-A006", "GBV-A007", "GBV-A030", "GBV-A034",
        "GBV-A035", "GBV-A031", "GBV-A015")  # refusals that no later file would escape


@contextmanager
def remote(url: str, token_file: Path | None, lang: str, token_needed: bool = True):
    """A client session with the server (token from --token-file or GBVSTATS_TOKEN), or a
    clean exit naming the problem."""
    from gbvstats.collect.client import ClientError, Remote, load_token, loose_permissions

    token = ""
    try:
        if token_needed or token_file is not None or os.environ.get("GBVSTATS_TOKEN"):
            token = load_token(token_file)
        if loose_permissions(token_file):
            typer.echo(t_("client.token_permissions", lang, path=token_file), err=True)
        session = Remote(url, token, lang, on_retry=lambda name, s: typer.echo(
            t_("client.retry", lang, file=name, seconds=f"{s:g}"), err=True))
        session.__enter__()
    except ClientError as exc:
        fail(exc.message(lang), code=exc.exit_code)
    try:
        yield session
    finally:
        session.__exit__(None, None, None)


def call(lang: str, fn, *args):
    from gbvstats.collect.client import ClientError

    try:
        return fn(*args)
    except ClientError as exc:
        fail(exc.message(lang), code=exc.exit_code)


def _local_refusal(path: Path, code: str, **params):
    """A receipt for a file that was not sent: missing here, or larger than the server takes."""
    from gbvstats.catalogue import Finding
    from gbvstats.store.warehouse import Receipt

    finding = Finding(code, file=path.name, params=params)
    return Receipt(file=path.name, outcome="unreadable", counts={"error": 1, "warning": 0, "info": 0},
                   findings=[finding.to_dict()])


def submit_remote(files: list[Path], url: str, token_file: Path | None, agency: str | None,
                  by: str | None, lang: str, as_json: bool) -> int:
    from gbvstats.catalogue import Finding
    from gbvstats.collect.client import ClientError
    from gbvstats.serve import size_text
    from gbvstats.views import findings_table, print_receipt

    out = console()
    receipts, code, not_sent = [], 0, []
    with remote(url, token_file, lang) as server:
        who = call(lang, server.whoami)
        ident, limit = who["identity"], who["server"]["max_file_bytes"]
        if agency and agency.upper() != ident["agency"]:
            fail(t_("client.agency_mismatch", lang, agency=agency.upper(),
                    token_agency=ident["agency"]), code=2)
        if by:
            typer.echo(t_("client.by_ignored", lang, label=ident["label"]), err=True)
        if not as_json:
            typer.echo(t_("client.as", lang, url=server.url, label=ident["label"],
                          agency=ident["agency"]), err=True)
        for i, path in enumerate(files):
            path = Path(path)
            body = None
            if not path.is_file():
                receipt = _local_refusal(path, "GBV-F001", path=str(path))
            elif path.stat().st_size > limit:
                receipt = _local_refusal(path, "GBV-A005", limit=size_text(limit))
            else:
                try:
                    receipt, body = server.submit(path)
                except ClientError as exc:
                    typer.echo(f"error: {path.name}: {exc.message(lang)}", err=True)
                    code = max(code, exc.exit_code)
                    if exc.finding.code in STOP:
                        not_sent = [str(p) for p in files[i:]]
                        break
                    not_sent.append(str(path))
                    continue
            receipts.append(receipt)
            code = max(code, receipt.exit_code)
            shown = [Finding.from_dict(f) for f in receipt.findings
                     if f.get("severity") in ("error", "warning")]
            if not as_json:
                if shown:
                    out.print(findings_table(shown, lang))
                print_receipt(out, receipt, ident["agency"], lang)
            link = (body or {}).get("links", {}).get("feedback")
            if shown and link:
                _save_feedback(server, link, path, lang, as_json)
    if not_sent:
        typer.echo(t_("client.not_sent", lang, count=len(not_sent), files=", ".join(not_sent)), err=True)
    if as_json:
        print_json([r.to_dict() for r in receipts])
    return code


def _save_feedback(server, link: str, path: Path, lang: str, quiet: bool) -> None:
    from gbvstats.collect.client import ClientError

    target = path.with_name(f"{path.stem}.feedback.xlsx")
    try:
        server.download(link, target)
    except (ClientError, OSError) as exc:
        reason = exc.message(lang) if isinstance(exc, ClientError) else (exc.strerror or str(exc))
        typer.echo(t_("client.feedback_failed", lang, file=path.name, reason=reason), err=True)
        return
    if not quiet:
        typer.echo(t_("client.feedback", lang, file=path.name, path=target), err=True)


@dataclass
class RemoteReport:
    """A validation report as the server sent it, for the local printers."""

    body: dict
    path: Path
    findings: list = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return self.body["verdict"]

    @property
    def form(self):
        form = self.body.get("form")
        return SimpleNamespace(key=f"{form}@v{self.body.get('version')}") if form else None

    @property
    def header(self) -> dict:
        return {k: self.body[k] for k in ("unit", "period") if self.body.get(k)}

    def counts(self) -> dict[str, int]:
        return dict(self.body.get("counts") or {"error": 0, "warning": 0, "info": 0})


def validate_remote(files: list[Path], url: str, token_file: Path | None, lang: str,
                    as_json: bool, feedback: Path | None) -> int:
    from gbvstats.catalogue import Finding
    from gbvstats.check.validate import exit_code
    from gbvstats.views import print_reports

    reports = []
    with remote(url, token_file, lang) as server:
        call(lang, server.whoami)
        for path in files:
            path = Path(path)
            if not path.is_file():
                finding = Finding("GBV-F001", file=path.name, params={"path": str(path)})
                body = {"file": str(path), "verdict": "unreadable", "sha256": "", "form": None,
                        "version": None, "unit": None, "period": None,
                        "counts": {"error": 1, "warning": 0, "info": 0},
                        "findings": [finding.to_dict(lang)]}
            else:
                body = call(lang, server.validate, path)
            reports.append(RemoteReport(body, path, [Finding.from_dict(f) for f in body["findings"]]))
    if feedback:
        from gbvstats.collect.feedback import feedback_paths, write_feedback

        for report, out in feedback_paths(reports, feedback):
            write_feedback(report.path, report.findings, out, lang)
            if not as_json:
                typer.echo(t_("validate.feedback", lang, path=out))
    if as_json:
        print_json([r.body for r in reports])
    else:
        print_reports(console(), reports, lang)
    return exit_code(reports)
