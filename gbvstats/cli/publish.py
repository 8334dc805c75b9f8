"""Publication: `publish`, and its disclosure audit (`publish --audit`)."""

from __future__ import annotations

import json
import os
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


def publication_langs(text: str | None) -> tuple[str, ...]:
    """`--lang ru,ky,en` as given; without it all three, the language of GBVSTATS_LANG
    (else Russian) first: messages and the first header row are in it."""
    from gbvstats.i18n import LANGS

    if text:
        return tuple(dict.fromkeys(lang_of(x.strip()) for x in text.split(",") if x.strip())) or ("en",)
    env = os.environ.get("GBVSTATS_LANG", "")
    first = lang_of(env) if env.strip() else "ru"
    return tuple(dict.fromkeys([first, "ru", "ky", "en"] if first in LANGS else ["ru", "ky", "en"]))


@app.command("publish")
def publish_cmd(
    out: Annotated[Path | None, typer.Option("--out", help="Output directory.")] = None,
    year: Annotated[int | None, typer.Option("--year", help="Reporting year.")] = None,
    years: Annotated[str | None, typer.Option(
        "--years", help="Several years, e.g. 2020-2024: each year's files and one workbook "
                        "of the tables by year.")] = None,
    langs: Annotated[str | None, typer.Option(
        "--lang", help="Publication languages, e.g. ru,ky,en (messages in the first); "
                       "default all three, the one of GBVSTATS_LANG first.")] = None,
    threshold: Annotated[int | None, typer.Option(
        "--threshold", help="Suppress counts from 1 to this (default: schemas/disclosure.yaml, 4).")] = None,
    audit: Annotated[bool, typer.Option(
        "--audit", help="Only audit the disclosure control: for every suppressed confidential count, "
                        "the interval a solver narrows it to from the published figures; write nothing. "
                        "Exit 1 if any is exact or narrower than required.")] = False,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Protect (disclosure control), flag and publish indicator tables: xlsx, csv, parquet,
    SDMX-CSV. Exit 2 for a year with no accepted return."""
    from gbvstats.publish.tables import PublishError, parse_years, publish

    chosen = publication_langs(langs)
    if (year is None) == (years is None):
        fail(t_("publish.year_or_years", chosen[0]), code=2)
    try:
        wanted = [year] if year is not None else parse_years(years or "")
    except ValueError:
        fail(t_("publish.bad_years", chosen[0], years=years), code=2)
    if audit:
        return audit_cmd(wanted, threshold, chosen[0], as_json, warehouse)
    if out is None:
        fail(t_("publish.need_out", chosen[0]), code=2)
    with store_errors(chosen[0]):
        try:
            paths = publish(warehouse_path(warehouse), wanted if years else wanted[0], out, chosen,
                            threshold, lang=chosen[0])
        except PublishError as exc:
            fail(str(exc), code=exc.code)
    manifest = json.loads(paths[-1].read_text(encoding="utf-8"))
    if as_json:
        return print_json(manifest | {"paths": [str(p) for p in paths]})
    for f in manifest["files"]:
        typer.echo(t_("publish.wrote", chosen[0], path=out / f["file"], rows=f["rows"]))
    for line in manifest["skipped"]:
        typer.echo(line, err=True)
    tables = manifest["tables"] if "year" in manifest else {
        f"{y}/{n}": v for y, ts in manifest["tables"].items() for n, v in ts.items()}
    suppressed = sum(x["suppressed_cells"] for x in tables.values())
    provisional = sum(x["provisional_cells"] for x in tables.values())
    breaks = sum(x["break_cells"] for x in tables.values())
    span = str(wanted[0]) if len(wanted) == 1 else f"{wanted[0]}-{wanted[-1]}"
    typer.echo(t_("publish.summary", chosen[0], tables=len(tables), year=span, suppressed=suppressed,
                  threshold=manifest["threshold"], manifest=paths[-1]))
    if provisional or breaks:
        typer.echo(t_("publish.flagged", chosen[0], provisional=provisional, breaks=breaks))
    audits = [manifest["disclosure"]] if "year" in manifest else list(manifest["disclosure"].values())
    typer.echo(t_("publish.audited", chosen[0], width=audits[0]["least_width"],
                  confidential=sum(s["confidential"] for a in audits for s in a["tables"].values())))


def audit_cmd(years: list[int], threshold: int | None, lang: str, as_json: bool,
              warehouse: Path | None) -> None:
    """`publish --audit`: each year's suppression, audited; nothing written. Exit 1 when a
    confidential count is exact or under-protected in any year."""
    from gbvstats.publish import disclosure
    from gbvstats.publish.tables import PublishError

    reports = []
    with store_errors(lang):
        try:
            protection = disclosure.settings(threshold, lang)
            for y in years:
                reports.append(disclosure.audit_year(warehouse_path(warehouse), y, protection))
        except disclosure.CodeListError as exc:
            fail(t_("publish.codelists", lang, problem=str(exc)), code=2)
        except PublishError as exc:
            fail(str(exc), code=exc.code)
    for report in reports:
        if not report.tables:
            fail(t_("publish.no_tables", lang, year=report.year, warehouse=warehouse_path(warehouse)), code=1)
    safe = all(r.safe for r in reports)
    if as_json:
        print_json(reports[0].to_dict(lang) if len(reports) == 1 else [r.to_dict(lang) for r in reports])
        raise typer.Exit(0 if safe else 1)
    for report in reports:
        for name, table in report.tables.items():
            s = table.summary()
            typer.echo(t_("publish.audit_table", lang, table=name, confidential=s["confidential"],
                          secondary=s["secondary"], exact=s["exact"], under=s["under_protected"],
                          solves=s["lp_solves"], seconds=s["seconds"]))
        for f in report.findings():
            typer.echo(f"{f.severity} {f.code} {f.message(lang)}", err=f.severity == "error")
        if report.safe:
            typer.echo(t_("publish.audit_safe", lang, year=report.year,
                          width=f"{report.protection.required(0):g}"))
    for report in reports:
        if not report.safe:
            fail(disclosure.report_text(report, lang).splitlines()[0], code=1)
