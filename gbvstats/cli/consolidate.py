"""The NSC's consolidation: `completeness`, `reconcile`, `consolidate`, `trace`."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from gbvstats.cli.common import (
    JsonOpt,
    WarehouseOpt,
    app,
    console,
    fail,
    open_warehouse,
    print_json,
    show_frame,
    store_errors,
)


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
        show_frame(frame, as_json)


@app.command("reconcile")
def reconcile_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Run the cross-agency, hierarchy and outlier controls; print discrepancies, worst first."""
    from gbvstats.consolidate.reconcile import discrepancies, reconcile

    wh = open_warehouse(warehouse)
    with store_errors(), wh.writer(create=False) as con:
        run_id = con.execute("SELECT COALESCE(max(run_id), 0) + 1 FROM rule_results").fetchall()[0][0]
        results = reconcile(con, wh.reg, year, run_id)
        found = discrepancies(con, year)
    if as_json:
        return print_json(json.loads(found.to_json(orient="records")))
    from gbvstats.views import discrepancy_tables

    counts = results["status"].value_counts().to_dict() if len(results) else {}
    console().print(f"run {run_id}, {year}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
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
    from gbvstats.consolidate.run import consolidate

    with store_errors():
        report = consolidate(open_warehouse(warehouse), year, accepted_only=accepted_only)
    if as_json:
        return print_json({"run_id": report.run_id, "year": year, "accepted_only": accepted_only,
                           "tables": report.tables,
                           "completeness": json.loads(report.completeness.to_json(orient="records")),
                           "discrepancies": len(report.discrepancies)})
    from gbvstats.views import discrepancy_tables, frame_table

    out = console()
    out.print(f"[bold]consolidation run {report.run_id}, {year}[/]")
    out.print(frame_table(report.completeness))
    for table in discrepancy_tables(report.discrepancies, limit=10):
        out.print(table)
    for name, rows in report.tables.items():
        out.print(f"  {name}: {rows} rows")


@app.command("trace")
def trace_cmd(
    table: Annotated[str, typer.Argument(help="Indicator table, e.g. ind01_family_violence.")],
    year: Annotated[int, typer.Option("--year")],
    where: Annotated[str | None, typer.Option("--where", help="Filter on the table's columns, e.g. \"area = 'KG02'\".")] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """The submissions and cells an indicator figure came from."""
    from gbvstats.consolidate.trace import trace

    try:
        with store_errors():
            frame = trace(open_warehouse(warehouse), table, year, where)
    except KeyError as exc:
        fail(str(exc).strip("'\""), code=2)
    if as_csv:
        from gbvstats.safe import frame_csv

        sys.stdout.write(frame_csv(frame))
    else:
        show_frame(frame, as_json)

