"""Agencies' verbs: `validate`, `submit`, `explain`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import (
    JsonOpt,
    LangOpt,
    WarehouseOpt,
    app,
    console,
    fail,
    lang_of,
    open_warehouse,
    print_json,
    registry_or_fail,
    store_errors,
    t_,
)


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Filled workbooks (.xlsx, .xls, .ods).")],
    lang: LangOpt = None,
    as_json: JsonOpt = False,
    feedback: Annotated[Path | None, typer.Option(
        "--feedback", help="Write a copy of the workbook with findings marked. With several "
                           "files: a directory, one <name>.feedback.xlsx per file.")] = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="Have the NSC's server at this URL check them (nothing is stored).")] = None,
    token_file: Annotated[Path | None, typer.Option(
        "--token-file", help="With --to: file holding your token (else env GBVSTATS_TOKEN).")] = None,
) -> None:
    """Check filled forms before submitting them. Exit 0: no errors; 1: errors; 2: unreadable."""
    from gbvstats.check.validate import exit_code, validate_files
    from gbvstats.views import print_reports, progress

    lang = lang_of(lang)
    if to:
        from gbvstats.cli.remote import validate_remote

        raise typer.Exit(validate_remote(files, to, token_file, lang, as_json, feedback))
    reg = registry_or_fail()
    if feedback:
        from gbvstats.collect.feedback import feedback_paths, write_feedback

        with store_errors(lang):  # a bad --feedback path is refused before any reading
            feedback_paths([_Named(f) for f in files], feedback)
    reports = validate_files(files, reg, lambda items: progress(items, as_json, "validate"))
    if feedback:
        with store_errors(lang):
            for report, out in feedback_paths(reports, feedback):
                write_feedback(report.path, report.findings, out, lang)
                if not as_json:
                    typer.echo(t_("validate.feedback", lang, path=out))
    if as_json:
        print_json([r.to_dict(lang) for r in reports])
    else:
        print_reports(console(), reports, lang)
    raise typer.Exit(exit_code(reports))


@app.command("submit")
def submit(
    files: Annotated[list[Path], typer.Argument(help="Filled workbooks to submit.")],
    agency: Annotated[str | None, typer.Option(
        "--agency", help="Your agency: MOI, GPO, JD, NSC, MLSP (with --to: the token's).")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who submits (name or unit).")] = None,
    received_on: Annotated[str | None, typer.Option(
        "--received-on", help="Date the returns were originally received (YYYY-MM-DD), when "
                              "loading returns of earlier years: recorded as declared, and "
                              "completeness judges lateness by it.")] = None,
    lang: LangOpt = None, as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
    to: Annotated[str | None, typer.Option(
        "--to", help="Send to the NSC's server at this URL (https://...) instead of a local warehouse.")] = None,
    token_file: Annotated[Path | None, typer.Option(
        "--token-file", help="With --to: file holding your token (else env GBVSTATS_TOKEN).")] = None,
) -> None:
    """Validate and store forms; print a receipt per file. Exit 1 if any was refused.

    With --to URL the NSC's server does it (token from --token-file or GBVSTATS_TOKEN), and
    the marked workbook of a file with findings is saved beside it (<name>.feedback.xlsx)."""
    from datetime import date

    from gbvstats.views import print_receipt, progress_ticks

    lang = lang_of(lang)
    if to:
        from gbvstats.cli.remote import submit_remote

        if warehouse is not None:
            fail(t_("client.local_or_remote", lang), code=2)
        if received_on is not None:
            fail(t_("client.received_on_remote", lang), code=2)
        raise typer.Exit(submit_remote(files, to, token_file, agency, by, lang, as_json))
    if not agency:
        fail(t_("client.agency_needed", lang), code=2)
    try:
        declared = date.fromisoformat(received_on) if received_on else None
    except ValueError:
        fail(t_("collect.bad_date", lang, date=received_on), code=2)
    wh = open_warehouse(warehouse, lang)
    receipts = []
    with store_errors(lang), progress_ticks(len(files), as_json, "submit") as tick:
        def received(receipt) -> None:
            receipts.append(receipt)
            tick()
            if not as_json:
                print_receipt(console(), receipt, agency.upper(), lang)

        wh.submit_many([(f, agency.upper(), by, None) for f in files], on_receipt=received,
                       received_on=declared)
    if as_json:
        print_json([r.to_dict() for r in receipts])
    raise typer.Exit(max((r.exit_code for r in receipts), default=0))


@app.command("explain")
def explain(
    submission: Annotated[int, typer.Argument(help="Submission id from the receipt.")],
    rule_id: Annotated[str, typer.Argument(help="Rule id of the warning, e.g. MOI-FV2-09.")],
    text: Annotated[str, typer.Option("--text", help="The explanation.")],
    by: Annotated[str | None, typer.Option("--by", help="Author.")] = None,
    lang: LangOpt = None, warehouse: WarehouseOpt = None,
) -> None:
    """Record an agency's explanation of a warning."""
    from gbvstats.i18n import t

    lang = lang_of(lang)
    with store_errors(lang):
        eid = open_warehouse(warehouse, lang).explain(submission, rule_id, text, by)
    typer.echo(t("store.explained", lang, id=eid))


class _Named:
    """A file about to be validated, for planning where its feedback goes."""

    def __init__(self, path: Path):
        self.path = path
