"""The NSC before publishing: `gate`, `quality`, `decide`."""

from __future__ import annotations

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
    store_errors,
    t_,
)

ThresholdOpt = Annotated[int | None, typer.Option(
    "--threshold", help="Suppress counts from 1 to this (default: schemas/disclosure.yaml, 4), as publish.")]


def _threshold(threshold: int | None, lang: str) -> int:
    """The threshold publish would use: the command line's, else schemas/disclosure.yaml's."""
    from gbvstats.publish.disclosure import settings
    from gbvstats.publish.tables import PublishError

    try:
        return settings(threshold, lang).threshold
    except PublishError as exc:
        fail(str(exc), code=exc.code)
        raise  # not reached: fail exits


@app.command("gate")
def gate_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    threshold: ThresholdOpt = None,
    lang: LangOpt = None, as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """What blocks publication of a year, each item with how to resolve it. Exit 1: blocked.

    The check `publish` runs first: errors, warnings neither explained nor decided, missing
    returns beyond pipelines/gate.yaml, the expectation suites (run and stored here)."""
    from gbvstats.publish.gate import run_gate

    lang = lang_of(lang)
    threshold = _threshold(threshold, lang)
    with store_errors(lang):
        report = run_gate(open_warehouse(warehouse, lang), year, threshold, lang=lang)
    if as_json:
        print_json(report.to_dict(lang))
    else:
        print_gate(report, lang)
    raise typer.Exit(1 if report.blocked else 0)


def print_gate(report, lang: str) -> None:
    from rich.table import Table

    from gbvstats.views import STYLE

    out = console()
    if report.items:
        table = Table(t_("gate.col.severity", lang), t_("gate.col.code", lang),
                      t_("gate.col.message", lang), show_lines=True)
        for f in report.items:
            table.add_row(f"[{STYLE[f.severity]}]{f.severity}[/]", f.code, _escape(f.message(lang)))
        out.print(table)
    key = "gate.blocked" if report.blocked else "gate.passed"
    out.print(t_(key, lang, year=report.year, blocking=len(report.blocking), items=len(report.items),
                 run=report.consolidation_run or "-"), highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@app.command("quality")
def quality_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    threshold: ThresholdOpt = None,
    lang: LangOpt = None, as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Run the expectation suites on the year's tables as published. Exit 1: one fails.

    Suites: pipelines/expectations/<table>.yaml, run by great-expectations on each table
    after disclosure control; results are stored in the warehouse (quality_runs)."""
    from gbvstats.publish.gate import check_quality, protect_tables

    lang = lang_of(lang)
    threshold = _threshold(threshold, lang)
    wh = open_warehouse(warehouse, lang)
    with store_errors(lang):
        protected = protect_tables(wh.path, year, threshold)
        if not protected:
            fail(t_("publish.no_tables", lang, year=year, warehouse=wh.path), code=2)
        run = wh.read(lambda con: con.execute(
            "SELECT max(run_id) FROM consolidation_runs WHERE year = ? AND "
            "coalesce(command, 'consolidate') = 'consolidate'", [year]).fetchall()[0][0])
        report = check_quality(wh, year, threshold, protected, run)
    if as_json:
        print_json(report.to_dict(lang))
    else:
        print_quality(report, lang)
    raise typer.Exit(0 if report.success else 1)


def print_quality(report, lang: str) -> None:
    from rich.table import Table

    from gbvstats.views import STYLE

    out = console()
    shown = [r for r in report.results if not r.success or r.code]
    if shown:
        table = Table(t_("gate.col.severity", lang), t_("gate.col.code", lang), "expectation",
                      t_("gate.col.message", lang), show_lines=True)
        for r in shown:
            f = r.finding()
            table.add_row(f"[{STYLE[f.severity]}]{f.severity}[/]", f.code,
                          f"{r.table}.{r.check.id}", _escape(f.message(lang)))
        out.print(table)
    for p in report.problems:
        out.print(f"[bold red]{p.code}[/] {_escape(p.message(lang))}")
    for table in report.unchecked:
        out.print(f"[bold red]GBV-G011[/] {_escape(t_('quality.unchecked', lang, table=table))}")
    failed = report.failed
    out.print(t_("quality.summary", lang, year=report.year, expectations=len(report.results),
                 tables=len(report.suites), failed=len(failed),
                 errors=sum(r.severity == "error" for r in failed),
                 warnings=sum(r.severity == "warning" for r in failed),
                 run=report.run_id, version=report.gx_version), highlight=False)


@app.command("decide")
def decide_cmd(
    year: Annotated[int, typer.Argument(help="Year of the items.")],
    keys: Annotated[list[str] | None, typer.Argument(help="Item keys, as `gbvstats gate` prints them.")] = None,
    decision: Annotated[str, typer.Option("--decision", help="accepted (closes), corrected, under_review: schemas/codelists/decision.yaml.")] = "accepted",
    note: Annotated[str, typer.Option("--note", help="The NSC's reasons.")] = "",
    by: Annotated[str, typer.Option("--by", help="Who decides.")] = "",
    rule: Annotated[str | None, typer.Option("--rule", help="Every open item of this rule (or form code, for missing returns).")] = None,
    lang: LangOpt = None, as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Record the NSC's decision on items the gate lists (audited; replayed by rebuild)."""
    from gbvstats.consolidate.decisions import DecisionError, decide

    lang = lang_of(lang)
    wh = open_warehouse(warehouse, lang)
    try:
        with store_errors(lang):
            done = decide(wh, year, keys or [], decision, note, by, rule)
    except DecisionError as exc:
        fail(exc.message(lang), code=exc.code)
    if as_json:
        return print_json([d.__dict__ for d in done])
    for d in done:
        typer.echo(t_("gate.decided", lang, id=d.decision_id, decision=d.decision, item_key=d.item_key,
                      rule=d.rule_id, scope=d.scope_id, item=d.item))
