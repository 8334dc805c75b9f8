"""The warehouse: `history`, `status`, `sql`, `rebuild`, `checksum`, `dictionary`, `fsck`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import (
    JsonOpt,
    LangOpt,
    WarehouseOpt,
    app,
    console,
    lang_of,
    open_warehouse,
    print_json,
    show_frame,
    store_errors,
    t_,
)


@app.command("history")
def history(
    form: Annotated[str, typer.Option("--form")], unit: Annotated[str, typer.Option("--unit")],
    period: Annotated[str, typer.Option("--period")],
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Every revision of one form, unit and period."""
    with store_errors(lang):
        show_frame(open_warehouse(warehouse).history(form, unit, period), as_json)


@app.command("status")
def status(as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None) -> None:
    """Submissions by agency, form, period and status."""
    with store_errors(lang):
        show_frame(open_warehouse(warehouse).status(), as_json)


@app.command("sql")
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run (read-only).")],
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV (text that looks like a formula gets a leading ').")] = False,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0, help="Stop the query after this many seconds; 0: no limit "
                                 "(default: env GBVSTATS_SQL_TIMEOUT, else 60).")] = None,
    warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Run read-only SQL on the warehouse (tables, views, as_of(ts)).

    A query gives way to a submission that waits for the warehouse and is run again once the submission has written, so a query never makes a submission fail."""
    from gbvstats.store.warehouse import sql_timeout

    with store_errors(lang):
        frame = open_warehouse(warehouse, lang_of(lang)).query(query, timeout=sql_timeout(timeout))
    if as_csv:
        from gbvstats.safe import frame_csv

        sys.stdout.write(frame_csv(frame))
    else:
        show_frame(frame, as_json)


@app.command("rebuild")
def rebuild(out: Annotated[Path, typer.Option("--out", help="The new warehouse file.")],
            warehouse: WarehouseOpt = None, lang: LangOpt = None) -> None:
    """Rebuild a warehouse from the archive and the audit log."""
    from gbvstats.i18n import t

    with store_errors(lang):
        count = open_warehouse(warehouse).rebuild(out)
    typer.echo(t("store.rebuilt", lang_of(lang), path=out, count=count))


@app.command("checksum")
def checksum(as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None) -> None:
    """Content checksum (rows:md5, order-independent) of every recorded table; equal after a rebuild."""
    with store_errors(lang):
        sums = open_warehouse(warehouse).checksum()
    if as_json:
        return print_json(sums)
    for table, value in sums.items():
        typer.echo(f"{table}\t{value}")


@app.command("dictionary")
def dictionary(out: Annotated[Path | None, typer.Option("--out", help="Write Markdown here.")] = None,
               warehouse: WarehouseOpt = None, lang: LangOpt = None) -> None:
    """The data dictionary of the warehouse's tables and views."""
    from gbvstats.paths import output_file

    with store_errors(lang):
        if out:
            output_file(out)  # checked before the warehouse is read
        text = open_warehouse(warehouse).dictionary()
        if out:
            out.write_text(text, encoding="utf-8")
    typer.echo(str(out) if out else text)



@app.command("fsck")
def fsck_cmd(
    repair: Annotated[bool, typer.Option("--repair", help="Remove leftovers of interrupted writes "
                                                          "(archive files no row refers to, temporary files).")] = False,
    deep: Annotated[bool, typer.Option("--deep", help="Also read every archived file again and compare "
                                                      "its cells and findings with those stored.")] = False,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Check every invariant of the warehouse and its archive. Exit 0: sound; 1: problems.

    Every archived file present with its hash; every submission whole (cells, findings, audit event); the audit chain consistent (ids, revisions, explanations); no leftovers of interrupted writes. --repair removes only what no row refers to, never a referenced file."""
    from gbvstats.store.fsck import fsck
    from gbvstats.views import findings_table

    lang = lang_of(lang)
    with store_errors(lang):
        report = fsck(open_warehouse(warehouse, lang), repair=repair, deep=deep)
    if as_json:
        print_json(report.to_dict(lang))
        raise typer.Exit(report.exit_code)
    if report.findings:
        console().print(findings_table(report.findings, lang))
    key = "store.fsck.sound" if not report.problems else "store.fsck.problems"
    typer.echo(t_(key, lang, path=report.warehouse, problems=len(report.problems),
                  removed=len(report.removed), **report.counts))
    if any(f.code in ("GBV-W026", "GBV-W027") for f in report.problems):
        typer.echo(t_("store.fsck.repair_hint", lang))
    raise typer.Exit(report.exit_code)
