"""The NSC's consolidation: `completeness`, `reconcile`, `consolidate`, `trace`."""

from __future__ import annotations

import json
import sys
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
    show_frame,
    store_errors,
    t_,
)

# what a narrow terminal shows first (the rest with --json or --csv)
SUMMARY_COLUMNS = ["agency", "form", "expected", "accepted", "missing", "on_time_pct", "rejected_only",
                   "received", "with_warnings", "on_time", "accepted_pct", "declared"]
DETAIL_COLUMNS = ["form", "unit_name", "period", "state", "late", "first_received", "received_declared",
                  "agency", "unit", "area", "due", "revisions", "refused_attempts"]


@app.command("completeness")
def completeness_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency's forms.")] = None,
    detail: Annotated[bool, typer.Option("--detail", help="Every expected return, not the summary.")] = False,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Who has reported: missing, rejected, accepted, late, per agency and form."""
    from gbvstats.consolidate.completeness import completeness

    wh = open_warehouse(warehouse)
    with store_errors():
        rows, summary = wh.read(lambda con: completeness(con, wh.reg, year, agency))
    frame = rows if detail else summary
    if as_csv:
        from gbvstats.safe import frame_csv

        sys.stdout.write(frame_csv(frame))
    else:
        show_frame(frame, as_json, DETAIL_COLUMNS if detail else SUMMARY_COLUMNS)


@app.command("reconcile")
def reconcile_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Run the cross-agency, hierarchy and outlier controls; print discrepancies, worst first."""
    from gbvstats.consolidate.run import reconcile_year

    with store_errors():
        report = reconcile_year(open_warehouse(warehouse), year)
    found = report.discrepancies
    if as_json:
        return print_json(json.loads(found.to_json(orient="records")))
    from gbvstats.views import discrepancy_tables

    console().print(f"run {report.run_id}, {year}: "
                    + ", ".join(f"{k}: {v}" for k, v in sorted(report.results.items())))
    for table in discrepancy_tables(found):
        console().print(table)


@app.command("consolidate")
def consolidate_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    accepted_only: Annotated[bool, typer.Option(
        "--accepted-only", help="Only submissions an NSC reviewer accepted (the latest accepted revision of each return).")] = False,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Completeness, reconciliation, then every indicator table (pipelines/*.sql) for a year."""
    from gbvstats.consolidate.run import ConsolidateError, consolidate

    lang = lang_of(None)
    with store_errors(lang):
        try:
            report = consolidate(open_warehouse(warehouse, lang), year, accepted_only=accepted_only)
        except ConsolidateError as exc:
            fail(exc.message(lang), code=exc.code)
    if as_json:
        return print_json({"run_id": report.run_id, "year": year, "accepted_only": accepted_only,
                           "tables": report.tables,
                           "completeness": json.loads(report.completeness.to_json(orient="records")),
                           "discrepancies": len(report.discrepancies)})
    from gbvstats.views import discrepancy_tables, fitted

    out = console()
    out.print(f"[bold]consolidation run {report.run_id}, {year}[/]")
    out.print(fitted(report.completeness, out.width, SUMMARY_COLUMNS))
    for table in discrepancy_tables(report.discrepancies, limit=10):
        out.print(table)
    for name, rows in report.tables.items():
        out.print(f"  {name}: {rows} rows")


@app.command("trace")
def trace_cmd(
    table: Annotated[str, typer.Argument(help="Indicator table, e.g. ind01_family_violence.")],
    year: Annotated[int, typer.Option("--year")],
    where: Annotated[str | None, typer.Option("--where", help="Filter on the table's columns, e.g. \"area = 'KG02'\".")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", "-c", help="Only this measure (repeatable).")] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """The submissions and cells a figure came from (read off the pipeline's SQL), with
    the coefficient each enters it with; each figure re-added from its cells."""
    from gbvstats.consolidate.trace import TraceError, sums, trace

    try:
        with store_errors():
            frame = trace(open_warehouse(warehouse), table, year, where, column or None)
    except TraceError as exc:
        fail(str(exc), code=2)
    if as_csv:
        from gbvstats.safe import frame_csv

        sys.stdout.write(frame_csv(frame))
        return
    if as_json:
        return show_frame(frame, True)
    from gbvstats.views import fitted

    keys = list(frame.attrs.get("keys", ["area"]))
    compact = frame[[*keys, "measure", "form", "addr", "period", "value", "coefficient", "unit",
                     "submission_id"]].rename(columns={"coefficient": "coef", "submission_id": "sub"})
    out = console()
    out.print(fitted(compact, out.width, [*keys, "measure", "form", "addr", "period", "value", "coef",
                                          "sub", "unit"]))
    out.print(fitted(sums(frame), out.width, [*keys, "measure", "figure", "traced", "agrees", "cells"]))


pipelines_app = typer.Typer(help="Check the indicator pipelines (pipelines/*.sql).", no_args_is_help=True)
app.add_typer(pipelines_app, name="pipelines")


@pipelines_app.command("check")
def pipelines_check(as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Every pipeline against the cells its SQL reads: rates over one scope, declared
    columns present, counts reading cells, SDMX breakdowns true. Exit 0: clean; 1: problems."""
    from gbvstats.consolidate.scopes import check_pipelines

    lang = lang_of(lang)
    findings = check_pipelines(reg=registry_or_fail())
    if as_json:
        print_json([f.to_dict(lang) for f in findings])
    else:
        for f in findings:
            typer.echo(f"{f.severity} {f.code} {f.message(lang)}")
        typer.echo(t_("consolidate.pipelines_checked", lang, problems=len(findings)))
    raise typer.Exit(1 if any(f.severity == "error" for f in findings) else 0)
