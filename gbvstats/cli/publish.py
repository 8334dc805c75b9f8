"""Publication: `publish`, and its disclosure audit (`publish --audit`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import (
    JsonOpt,
    WarehouseOpt,
    app,
    fail,
    lang_of,
    print_json,
    store_errors,
    t_,
    warehouse_path,
)


@app.command("publish")
def publish_cmd(
    year: Annotated[int, typer.Option("--year", help="Reporting year.")],
    out: Annotated[Path | None, typer.Option("--out", help="Output directory.")] = None,
    langs: Annotated[str, typer.Option("--lang", help="Publication languages, e.g. ru,ky,en; "
                                                     "messages in the first.")] = "ru,ky,en",
    threshold: Annotated[int | None, typer.Option(
        "--threshold", help="Suppress counts 1..N [schemas/disclosure.yaml: 4].")] = None,
    audit: Annotated[bool, typer.Option(
        "--audit", help="Only audit the disclosure control: for every suppressed confidential count, "
                        "the interval a solver narrows it to from the published figures; write nothing. "
                        "Exit 1 if any is exact or narrower than required.")] = False,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Protect (disclosure control) and publish a year's indicator tables: xlsx, csv, parquet, SDMX-CSV."""
    from gbvstats.publish.tables import PublishError, publish

    chosen = tuple(lang_of(x.strip()) for x in langs.split(",") if x.strip()) or ("en",)
    if audit:
        return audit_cmd(year, threshold, chosen[0], as_json, warehouse)
    if out is None:
        fail(t_("publish.need_out", chosen[0]), code=2)
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
                  suppressed=suppressed, threshold=manifest["threshold"], manifest=paths[-1]))
    audited = manifest["disclosure"]
    typer.echo(t_("publish.audited", chosen[0], width=audited["least_width"],
                  confidential=sum(s["confidential"] for s in audited["tables"].values())))


def audit_cmd(year: int, threshold: int | None, lang: str, as_json: bool, warehouse: Path | None) -> None:
    from gbvstats.publish import disclosure
    from gbvstats.publish.tables import PublishError

    with store_errors():
        try:
            protection = disclosure.settings(threshold, lang)
            report = disclosure.audit_year(warehouse_path(warehouse), year, protection)
        except disclosure.CodeListError as exc:
            fail(t_("publish.codelists", lang, problem=str(exc)), code=2)
        except PublishError as exc:
            fail(str(exc), code=exc.code)
    if not report.tables:
        fail(t_("publish.no_tables", lang, year=year, warehouse=warehouse_path(warehouse)), code=1)
    if as_json:
        print_json(report.to_dict(lang))
        raise typer.Exit(0 if report.safe else 1)
    for name, table in report.tables.items():
        s = table.summary()
        typer.echo(t_("publish.audit_table", lang, table=name, confidential=s["confidential"],
                      secondary=s["secondary"], exact=s["exact"], under=s["under_protected"],
                      solves=s["lp_solves"], seconds=s["seconds"]))
    for f in report.findings():
        typer.echo(f"{f.severity} {f.code} {f.message(lang)}", err=f.severity == "error")
    if not report.safe:
        fail(disclosure.report_text(report, lang).splitlines()[0], code=1)
    typer.echo(t_("publish.audit_safe", lang, year=year, width=f"{report.protection.required(0):g}"))
