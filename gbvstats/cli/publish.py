"""Publication: `publish`."""

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
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    year: Annotated[int | None, typer.Option("--year", help="Reporting year.")] = None,
    years: Annotated[str | None, typer.Option(
        "--years", help="Several years, e.g. 2020-2024: each year's files and one workbook "
                        "of the tables by year.")] = None,
    langs: Annotated[str | None, typer.Option(
        "--lang", help="Publication languages, e.g. ru,ky,en (messages in the first); "
                       "default all three, the one of GBVSTATS_LANG first.")] = None,
    threshold: Annotated[int, typer.Option("--threshold", help="Suppress counts from 1 to this (default 4).")] = 4,
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
                  threshold=threshold, manifest=paths[-1]))
    if provisional or breaks:
        typer.echo(t_("publish.flagged", chosen[0], provisional=provisional, breaks=breaks))
