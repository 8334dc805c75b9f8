"""Publication: `publish` (a release of the warehouse's state), its disclosure audit
(`publish --audit`), and `release list`, `release diff`, `release verify`."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import (
    JsonOpt,
    LangOpt,
    WarehouseOpt,
    app,
    fail,
    lang_of,
    open_warehouse,
    print_json,
    show_frame,
    store_errors,
    t_,
    warehouse_path,
)

release_app = typer.Typer(help="Releases: list them, compare two, verify a published folder.",
                          no_args_is_help=True)


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
                        "of the tables by year (one release of the span).")] = None,
    langs: Annotated[str | None, typer.Option(
        "--lang", help="Publication languages, e.g. ru,ky,en (messages in the first); "
                       "default all three, the one of GBVSTATS_LANG first.")] = None,
    threshold: Annotated[int | None, typer.Option(
        "--threshold", help="Suppress counts from 1 to this (default: schemas/disclosure.yaml, 4).")] = None,
    audit: Annotated[bool, typer.Option(
        "--audit", help="Only audit the disclosure control: for every suppressed confidential count, "
                        "the interval a solver narrows it to from the published figures; write nothing. "
                        "Exit 1 if any is exact or narrower than required.")] = False,
    provisional: Annotated[bool, typer.Option(
        "--provisional", help="Publish although the gate blocks; every figure flagged provisional "
                              "(OBS_STATUS P), the gate's list in the manifest.")] = False,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Make the release from the warehouse as it was at this time (UTC unless "
                        "a zone is given, e.g. 2025-03-01T10:30), or when release ID (2024-r1) "
                        "was made, with its parameters for the options not given: an earlier "
                        "release again, byte for byte; nothing is recorded.")] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who publishes (recorded with the release).")] = None,
    accepted_only: Annotated[bool, typer.Option(
        "--accepted-only", help="Only returns an NSC reviewer accepted (as consolidate --accepted-only); "
                                "a parameter of the release, kept by --as-of and release verify.")] = False,
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None,
) -> None:
    """Protect (disclosure control), flag and publish indicator tables: xlsx, csv, parquet,
    SDMX-CSV. Exit 2 for a year with no accepted return.

    The tables are made from the warehouse's recorded state (consolidated again for the
    release), and the publication is a release: numbered (2024-r1, 2024-r2, ...), listed
    with everything it was made from in manifest.json, recorded in the warehouse.
    The publication gate (`gbvstats gate`) runs first for each year, on that state: exit 1
    while it blocks, unless --provisional."""
    from gbvstats.publish.release import (
        RELEASE_ID,
        ReleaseError,
        make_release,
        release_cut,
        release_parameters,
    )
    from gbvstats.publish.tables import GateRefused, PublishError, parse_years
    from gbvstats.store.asof import AsOfError, parse_time

    chosen = publication_langs(langs)
    lang = chosen[0]
    if (year is None) == (years is None):
        fail(t_("publish.year_or_years", lang), code=2)
    try:
        wanted = [year] if year is not None else parse_years(years or "")
    except ValueError:
        fail(t_("publish.bad_years", lang, years=years), code=2)
    if audit:
        return audit_cmd(wanted, threshold, lang, as_json, warehouse)
    if out is None:
        fail(t_("publish.need_out", lang), code=2)
    when = None
    if as_of is not None and not re.match(RELEASE_ID, as_of):
        try:
            when = parse_time(as_of)
        except ValueError:
            fail(t_("release.error.bad_time", lang, value=as_of), code=2)
    with store_errors(lang):  # warehouse and path problems in the user's language, as every command
        try:
            wh = open_warehouse(warehouse, lang)
            cut, gate = None, True
            if as_of is not None and when is None:  # a release again: its parameters unless given
                cut, made_with = release_cut(wh, as_of), release_parameters(wh, as_of)
                chosen = chosen if langs else tuple(made_with.get("languages") or chosen)
                threshold = threshold if threshold is not None else made_with.get("threshold")
                provisional = provisional or made_with.get("provisional") or False
                accepted_only = accepted_only or bool(made_with.get("accepted_only"))
                gate = bool(made_with.get("gate", True))
            result = make_release(wh, wanted, out, chosen, threshold, provisional, as_of=when, cut=cut,
                                  by=by, lang=lang, gate=gate, accepted_only=accepted_only)
        except GateRefused as exc:
            if as_json:
                print_json({"refused": True, "gate": exc.report.to_dict(lang)})
            else:
                from gbvstats.cli.gate import print_gate

                print_gate(exc.report, lang)
            fail(str(exc), code=exc.code)
        except (PublishError, ReleaseError, AsOfError) as exc:
            fail(exc.message(lang) if hasattr(exc, "message") else str(exc), code=exc.code)
    if as_json:
        return print_json(result.manifest | {"outcome": result.to_dict(),
                                             "paths": [str(p) for p in result.paths]})
    manifest = result.manifest
    for f in manifest["files"]:
        typer.echo(t_("publish.wrote", lang, path=out / f["file"], rows=f.get("rows", "-")))
    for line in manifest.get("skipped", []):
        typer.echo(line, err=True)
    for note in result.findings:
        typer.echo(f"{note.severity} {note.code} {note.message(lang)}", err=True)
    gates = manifest.get("gate") or {}
    for y, gate in ([(wanted[0], gates)] if "year" in manifest else list(gates.items())):
        if gate and gate["blocked"]:
            from gbvstats.catalogue import Finding

            typer.echo(Finding(code="GBV-G023", params={
                "year": y, "blocking": gate["blocking"], "manifest": out / "manifest.json"}).message(lang),
                err=True)
    tables = manifest["tables"] if "year" in manifest else {
        f"{y}/{n}": v for y, ts in manifest["tables"].items() for n, v in ts.items()}
    suppressed = sum(x["suppressed_cells"] for x in tables.values())
    provisional = sum(x["provisional_cells"] for x in tables.values())
    breaks = sum(x["break_cells"] for x in tables.values())
    span = str(wanted[0]) if len(wanted) == 1 else f"{wanted[0]}-{wanted[-1]}"
    typer.echo(t_("publish.summary", lang, tables=len(tables), year=span, suppressed=suppressed,
                  threshold=manifest["parameters"]["threshold"], manifest=out / "manifest.json"))
    if provisional or breaks:
        typer.echo(t_("publish.flagged", lang, provisional=provisional, breaks=breaks))
    audits = [manifest["disclosure"]] if "year" in manifest else list(manifest["disclosure"].values())
    typer.echo(t_("publish.audited", lang, width=audits[0]["least_width"],
                  confidential=sum(s["confidential"] for a in audits for s in a["tables"].values())))
    typer.echo(result.summary(lang, as_of))


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


@release_app.command("list")
def release_list(as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None) -> None:
    """Every release recorded, newest first: id, status, its timestamp (the time of the
    state it was made from, as --as-of takes it), what it revised."""
    from gbvstats.publish.release import list_releases

    lang = lang_of(lang)
    with store_errors(lang):
        frame = list_releases(open_warehouse(warehouse, lang))
    if as_json:
        return show_frame(frame, True)
    if not len(frame):
        typer.echo(t_("release.none", lang))
        return
    for r in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        status = t_(f"release.status.{r['status']}", lang)
        if r["previous"] is None:
            what = t_("release.list.first", lang)
        else:
            what = t_("release.list.revises", lang, previous=r["previous"], changed=int(r["changed"]))
        typer.echo(t_("release.list.line", lang, release=r["release_id"], status=status,
                      timestamp=r["timestamp"], what=what, released_at=r["released_at"]))


@release_app.command("diff")
def release_diff(
    a: Annotated[str, typer.Argument(help="The earlier release: its id (2024-r1) or a published folder.")],
    b: Annotated[str, typer.Argument(help="The later release: its id or a published folder.")],
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Every figure that differs between two releases, with the returns that changed it."""
    import pandas as pd

    from gbvstats.publish.release import ReleaseError, diff_releases
    from gbvstats.publish.revisions import shown

    lang = lang_of(lang)
    with store_errors(lang):
        try:
            found = diff_releases(open_warehouse(warehouse, lang), a, b)
        except ReleaseError as exc:
            fail(exc.message(lang), code=exc.code)
    if as_json:
        return print_json(found)
    typer.echo(t_("release.diff.head", lang, count=len(found["changes"]), a=found["from"], b=found["to"],
                  returns=len(found["returns"])))
    if found["changes"]:
        show_frame(pd.DataFrame([{
            "year": c["year"], "table": c["table"], "row": c["key"], "measure": c["measure"],
            "old": shown(c["old"], c["old_status"]), "new": shown(c["new"], c["new_status"]),
            "submissions": ", ".join(map(str, c["submissions"]))} for c in found["changes"]]), False)
    if found["returns"]:
        show_frame(pd.DataFrame(found["returns"]), False)


@release_app.command("verify")
def release_verify(
    folder: Annotated[Path, typer.Argument(help="A published folder (with its manifest.json).")],
    as_json: JsonOpt = False, warehouse: WarehouseOpt = None, lang: LangOpt = None,
) -> None:
    """Make a published folder's release again from the warehouse (its state, parameters)
    and compare every file; exit 1 when any differs."""
    from gbvstats.publish.release import ReleaseError, verify
    from gbvstats.publish.tables import PublishError
    from gbvstats.store.asof import AsOfError

    lang = lang_of(lang)
    with store_errors(lang):
        try:
            report = verify(open_warehouse(warehouse, lang), folder, lang)
        except (ReleaseError, AsOfError, PublishError) as exc:
            fail(exc.message(lang) if hasattr(exc, "message") else str(exc), code=exc.code)
    if as_json:
        print_json(report.to_dict(lang))
        raise typer.Exit(report.exit_code)
    for f in report.findings:
        typer.echo(f"{f.severity} {f.code} {f.message(lang)}")
    bad = [f for f in report.files if f["state"] != "identical"]
    key = "release.verify.bad" if report.exit_code else "release.verify.ok"
    typer.echo(t_(key, lang, folder=folder, release=report.release.release_id, files=len(report.files),
                  count=len(bad)))
    raise typer.Exit(report.exit_code)


app.add_typer(release_app, name="release")
