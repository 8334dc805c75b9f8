"""Publication: `publish`."""

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
    out: Annotated[Path, typer.Option("--out", help="Output directory.")],
    langs: Annotated[str, typer.Option("--lang", help="Publication languages, e.g. ru,ky,en; "
                                                     "messages in the first.")] = "ru,ky,en",
    threshold: Annotated[int, typer.Option("--threshold", help="Suppress counts 1..N [4].")] = 4,
    provisional: Annotated[bool, typer.Option(
        "--provisional", help="Publish although the gate blocks; every figure flagged provisional "
                              "(OBS_STATUS P), the gate's list in the manifest.")] = False,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Protect (disclosure control) and publish a year's indicator tables: xlsx, csv, parquet, SDMX-CSV.

    The publication gate (`gbvstats gate`) runs first: exit 1 while it blocks, unless
    --provisional."""
    from gbvstats.publish.tables import GateRefused, PublishError, publish

    chosen = tuple(lang_of(x.strip()) for x in langs.split(",") if x.strip()) or ("en",)
    with store_errors():
        try:
            paths = publish(warehouse_path(warehouse), year, out, chosen, threshold, lang=chosen[0],
                            gate=True, provisional=provisional)
        except GateRefused as exc:
            if as_json:
                print_json({"refused": True, "gate": exc.report.to_dict(chosen[0])})
            else:
                from gbvstats.cli.gate import print_gate

                print_gate(exc.report, chosen[0])
            fail(str(exc), code=exc.code)
        except PublishError as exc:
            fail(str(exc), code=exc.code)
    manifest = json.loads(paths[-1].read_text(encoding="utf-8"))
    if as_json:
        return print_json(manifest | {"paths": [str(p) for p in paths]})
    for f in manifest["files"]:
        typer.echo(t_("publish.wrote", chosen[0], path=out / f["file"], rows=f["rows"]))
    for line in manifest["skipped"]:
        typer.echo(line, err=True)
    gate = manifest.get("gate")
    if gate and gate["blocked"]:
        from gbvstats.catalogue import Finding

        typer.echo(Finding(code="GBV-G023", params={
            "year": year, "blocking": gate["blocking"], "manifest": paths[-1]}).message(chosen[0]), err=True)
    suppressed = sum(x["suppressed_cells"] for x in manifest["tables"].values())
    typer.echo(t_("publish.summary", chosen[0], tables=len(manifest["tables"]), year=year,
                  suppressed=suppressed, threshold=threshold, manifest=paths[-1]))

