"""The command line: a thin typer layer over the library.

Each command parses options, calls one library function and prints its result (a rich
table, or JSON with `--json`). Heavy modules (pandas, duckdb, openpyxl, pandera) are
imported inside the commands so that `gbvstats --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="gbvstats",
    help="Collect, validate and consolidate GBV and trafficking statistics (Kyrgyz Republic).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
schemas_app = typer.Typer(help="Check the form schemas and code lists.", no_args_is_help=True)
forms_app = typer.Typer(help="List, show and build the blank form templates.", no_args_is_help=True)
findings_app = typer.Typer(help="The catalogue of finding codes.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(forms_app, name="forms")
app.add_typer(findings_app, name="findings")

# Shared option types: every command that touches the warehouse or prints data uses these.
WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="Warehouse file [env GBVSTATS_WAREHOUSE, else data/warehouse/gbvstats.duckdb]."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help="Language of messages: en, ru or ky [env GBVSTATS_LANG, else locale]."),
]


def warehouse_path(path: Path | None) -> Path:
    from .paths import default_warehouse

    return path or default_warehouse()


def lang_of(explicit: str | None) -> str:
    from .i18n import choose_lang

    try:
        return choose_lang(explicit)
    except ValueError as exc:
        fail(str(exc), code=2)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> None:
    """Print a user-facing error (no traceback) and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def console():
    from rich.console import Console

    return Console()


def registry_or_fail():
    from .schema import SchemaLoadError, registry

    try:
        return registry()
    except SchemaLoadError as exc:
        fail(f"{exc.path}: {exc.key}: {exc.problem} (run `gbvstats schemas check`)", code=2)


@schemas_app.command("check")
def schemas_check(as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Check every form schema, code list and rule file. Exit 0: clean; 1: problems."""
    from .paths import schemas_dir
    from .schemacheck import check_schemas, count_files

    lang = lang_of(lang)
    findings = check_schemas(schemas_dir())
    if as_json:
        print_json([f.to_dict(lang) for f in findings])
    else:
        for f in findings:
            typer.echo(f.message(lang))
        typer.echo(t_("schemacheck.summary", lang, files=count_files(schemas_dir()),
                      problems=len(findings)))
    raise typer.Exit(1 if findings else 0)


@findings_app.command("list")
def findings_list(as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Print every finding code (all ranges) with its severity and title."""
    from .catalogue import catalogue_rows

    rows = catalogue_rows(lang_of(lang))
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['code']}  {row['severity']:<7}  {row['title']}")


@forms_app.command("list")
def forms_list(as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """List every form version: code, agency, periodicity, level, validity."""
    from .i18n import pick

    lang = lang_of(lang)
    reg = registry_or_fail()
    rows = [
        {"form": f.form, "version": f.version, "agency": f.agency, "periodicity": f.periodicity,
         "level": f.level, "valid_from": f.valid_from, "valid_to": f.valid_to,
         "cells": sum(1 for c in f.cells() if c.input), "rules": len(f.rules),
         "title": pick(f.title, lang)}
        for f in reg.versions()
    ]
    if as_json:
        return print_json(rows)
    from rich.table import Table

    table = Table("form", "v", "agency", "periodicity", "level", "valid", "cells", "rules", "title")
    for r in rows:
        valid = f"{r['valid_from']} .. {r['valid_to'] or ''}"
        table.add_row(r["form"], str(r["version"]), r["agency"], r["periodicity"], r["level"],
                      valid, str(r["cells"]), str(r["rules"]), r["title"])
    console().print(table)


@forms_app.command("build")
def forms_build(out: Annotated[Path | None, typer.Option("--out", help="Directory [forms/].")] = None,
                lang: Annotated[str, typer.Option("--lang", help="Label language.")] = "ru") -> None:
    """Write one blank template per form version (forms/<FORM>_v<N>.xlsx)."""
    from .templates import build_all

    registry_or_fail()
    for path in build_all(out, lang=lang_of(lang)):
        typer.echo(str(path))


@forms_app.command("show")
def forms_show(form: Annotated[str, typer.Argument(help="FORM or FORM@VERSION, e.g. MOI-FV@2.")],
               as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Tables, lines, columns, rules and the template cell of every input cell."""
    from .formsinfo import describe, render

    fv = form_or_fail(form)
    data = describe(fv)
    if as_json:
        return print_json(data)
    render(console(), data, lang_of(lang))


@app.command("template")
def template(
    form: Annotated[str, typer.Argument(help="FORM or FORM@VERSION.")],
    period: Annotated[str, typer.Option("--period", help="Reporting period, e.g. 2024-Q1.")],
    unit: Annotated[str, typer.Option("--unit", help="SOATE code of the reporting unit.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output .xlsx file.")],
    lang: LangOpt = None,
) -> None:
    """A template with the header filled in for one reporting unit and period."""
    from .formsinfo import template_for

    try:
        path = template_for(registry_or_fail(), form, period, unit, out, lang_of(lang or "ru"))
    except ValueError as exc:
        fail(str(exc), code=2)
    except OSError as exc:
        fail(f"{out}: {exc.strerror}", code=2)
    typer.echo(str(path))


@app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Filled workbooks (.xlsx, .xls, .ods).")],
    lang: LangOpt = None,
    as_json: JsonOpt = False,
    feedback: Annotated[Path | None, typer.Option(
        "--feedback", help="Write a copy of the workbook with findings marked. With several "
                           "files: a directory, one <name>.feedback.xlsx per file.")] = None,
) -> None:
    """Check filled forms before submitting them. Exit 0: no errors; 1: errors; 2: unreadable."""
    from .validate import exit_code, validate_files
    from .views import print_reports, progress

    lang = lang_of(lang)
    reg = registry_or_fail()
    reports = validate_files(files, reg, lambda items: progress(items, as_json, "validate"))
    if feedback:
        from .feedback import feedback_paths, write_feedback

        for report, out in feedback_paths(reports, feedback):
            write_feedback(report.path, report.findings, out, lang)
            if not as_json:
                typer.echo(t_("validate.feedback", lang, path=out))
    if as_json:
        print_json([r.to_dict(lang) for r in reports])
    else:
        print_reports(console(), reports, lang)
    raise typer.Exit(exit_code(reports))


def t_(key: str, lang: str, **params) -> str:
    from .i18n import t

    return t(key, lang, **params)


def open_warehouse(path: Path | None, lang: str = "en"):
    from .i18n import t
    from .store import Warehouse

    return Warehouse(warehouse_path(path), registry_or_fail(),
                     on_wait=lambda: typer.echo(t("store.waiting", lang), err=True))


@contextmanager
def store_errors(lang: str | None = None):
    """Warehouse problems reach the user as one line and an exit code, never a traceback."""
    from .store import StoreError

    try:
        yield
    except StoreError as exc:
        fail(exc.message(lang_of(lang)), code=exc.code)


@app.command("submit")
def submit(
    files: Annotated[list[Path], typer.Argument(help="Filled workbooks to submit.")],
    agency: Annotated[str, typer.Option("--agency", help="Your agency: MOI, GPO, JD, NSC, MLSP.")],
    by: Annotated[str | None, typer.Option("--by", help="Who submits (name or unit).")] = None,
    lang: LangOpt = None, as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Validate and store forms; print a receipt per file. Exit 1 if any was refused."""
    from .views import print_receipt, progress_ticks

    lang = lang_of(lang)
    wh = open_warehouse(warehouse, lang)
    receipts = []
    with store_errors(lang), progress_ticks(len(files), as_json, "submit") as tick:
        def received(receipt) -> None:
            receipts.append(receipt)
            tick()
            if not as_json:
                print_receipt(console(), receipt, agency.upper(), lang)

        wh.submit_many([(f, agency.upper(), by, None) for f in files], on_receipt=received)
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
    from .i18n import t

    lang = lang_of(lang)
    with store_errors(lang):
        eid = open_warehouse(warehouse, lang).explain(submission, rule_id, text, by)
    typer.echo(t("store.explained", lang, id=eid))


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
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Run read-only SQL on the warehouse (tables, views, as_of(ts))."""
    with store_errors(lang):
        frame = open_warehouse(warehouse).query(query)
    if as_csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        show_frame(frame, as_json)


@app.command("rebuild")
def rebuild(out: Annotated[Path, typer.Option("--out", help="The new warehouse file.")],
            warehouse: WarehouseOpt = None, lang: LangOpt = None) -> None:
    """Rebuild a warehouse from the archive and the audit log."""
    from .i18n import t

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
    with store_errors(lang):
        text = open_warehouse(warehouse).dictionary()
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(str(out))
    else:
        typer.echo(text)


def show_frame(frame, as_json: bool) -> None:
    if as_json:
        return print_json(json.loads(frame.to_json(orient="records", date_format="iso")))
    from .views import frame_table

    console().print(frame_table(frame))


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
    from .completeness import completeness

    wh = open_warehouse(warehouse)
    with store_errors(), wh.reader() as con:
        rows, summary = completeness(con, wh.reg, year, agency)
    frame = rows if detail else summary
    if as_csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        show_frame(frame, as_json)


@app.command("reconcile")
def reconcile_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Run the cross-agency, hierarchy and outlier controls; print discrepancies, worst first."""
    from .reconcile import discrepancies, reconcile

    wh = open_warehouse(warehouse)
    with store_errors(), wh.writer(create=False) as con:
        run_id = con.execute("SELECT COALESCE(max(run_id), 0) + 1 FROM rule_results").fetchall()[0][0]
        results = reconcile(con, wh.reg, year, run_id)
        found = discrepancies(con, year)
    if as_json:
        return print_json(json.loads(found.to_json(orient="records")))
    from .views import discrepancy_tables

    counts = results["status"].value_counts().to_dict() if len(results) else {}
    console().print(f"run {run_id}, {year}: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    for table in discrepancy_tables(found):
        console().print(table)


@app.command("consolidate")
def consolidate_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Completeness, reconciliation, then every indicator table (pipelines/*.sql) for a year."""
    from .consolidate import consolidate

    with store_errors():
        report = consolidate(open_warehouse(warehouse), year)
    if as_json:
        return print_json({"run_id": report.run_id, "year": year, "tables": report.tables,
                           "completeness": json.loads(report.completeness.to_json(orient="records")),
                           "discrepancies": len(report.discrepancies)})
    from .views import discrepancy_tables, frame_table

    out = console()
    out.print(f"[bold]consolidation run {report.run_id}, {year}[/]")
    out.print(frame_table(report.completeness))
    for table in discrepancy_tables(report.discrepancies, limit=10):
        out.print(table)
    for name, rows in report.tables.items():
        out.print(f"  {name}: {rows} rows")


@app.command("publish")
def publish_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    langs: Annotated[str, typer.Option("--lang", help="Publication languages, e.g. ru,ky,en; "
                                                     "messages in the first.")] = "ru,ky,en",
    threshold: Annotated[int, typer.Option("--threshold", help="Suppress counts 1..N [4].")] = 4,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Protect (disclosure control) and publish a year's indicator tables: xlsx, csv, parquet, SDMX-CSV."""
    from .publish import PublishError, publish

    chosen = tuple(lang_of(x.strip()) for x in langs.split(",") if x.strip()) or ("en",)
    with store_errors():
        try:
            paths = publish(warehouse_path(warehouse), year, out, chosen, threshold, lang=chosen[0])
        except PublishError as exc:
            fail(str(exc), code=exc.code)
    manifest = json.loads(paths[-1].read_text(encoding="utf-8"))
    if as_json:
        return print_json(manifest | {"paths": [str(p) for p in paths]})
    for f in manifest["files"]:
        typer.echo(t_("publish.wrote", chosen[0], path=out / f["file"], rows=f["rows"]))
    for line in manifest["skipped"]:
        typer.echo(line, err=True)
    suppressed = sum(x["suppressed_cells"] for x in manifest["tables"].values())
    typer.echo(t_("publish.summary", chosen[0], tables=len(manifest["tables"]), year=year,
                  suppressed=suppressed, threshold=threshold, manifest=paths[-1]))


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
    from .trace import trace

    try:
        with store_errors():
            frame = trace(open_warehouse(warehouse), table, year, where)
    except KeyError as exc:
        fail(str(exc).strip("'\""), code=2)
    if as_csv:
        sys.stdout.write(frame.to_csv(index=False))
    else:
        show_frame(frame, as_json)


demo_app = typer.Typer(help="Demo data: every agency's returns, synthetic but consistent.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("generate")
def demo_generate(
    years: Annotated[str, typer.Option("--years", help="Year or range, e.g. 2015-2024.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the workbooks and manifest.json.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 2018,
) -> None:
    """Write the filled workbooks every agency would have returned for those years."""
    from .demo import generate

    first, _, last = years.partition("-")
    try:
        span = list(range(int(first), int(last or first) + 1))
    except ValueError:
        fail(f"--years {years!r}: expected a year or a range like 2015-2024", code=2)
    entries = generate(span, out, seed)
    defects = sum(1 for e in entries if e.defect)
    typer.echo(f"{len(entries)} workbooks in {out} ({defects} with planted defects; see manifest.json)")


def form_or_fail(ref: str):
    try:
        return registry_or_fail().parse_ref(ref)
    except (KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""), code=2)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
