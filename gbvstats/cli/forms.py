"""Schemas, form templates and the finding catalogue: `schemas`, `forms`, `findings`, `template`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import (
    JsonOpt,
    LangOpt,
    app,
    console,
    fail,
    form_or_fail,
    label_lang,
    lang_of,
    print_json,
    registry_or_fail,
    store_errors,
    t_,
)

schemas_app = typer.Typer(help="Check the form schemas and code lists.", no_args_is_help=True)
forms_app = typer.Typer(help="List, show and build the blank form templates.", no_args_is_help=True)
findings_app = typer.Typer(help="The catalogue of finding codes.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
app.add_typer(forms_app, name="forms")
app.add_typer(findings_app, name="findings")


@schemas_app.command("check")
def schemas_check(as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Check every form schema, code list and rule file. Exit 0: clean; 1: problems."""
    from gbvstats.paths import schemas_dir
    from gbvstats.schema.check import check_schemas, count_files

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
    from gbvstats.catalogue import catalogue_rows

    rows = catalogue_rows(lang_of(lang))
    if as_json:
        print_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['code']}  {row['severity']:<7}  {row['title']}")


@forms_app.command("list")
def forms_list(as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """List every form version: code, agency, periodicity, level, validity."""
    from gbvstats.i18n import pick

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
    import pandas as pd
    from rich.padding import Padding
    from rich.text import Text

    from gbvstats.views import frame_table, natural_width

    frame = pd.DataFrame([{"form": f"{r['form']}@{r['version']}", "agency": r["agency"],
                           "periodicity": r["periodicity"], "level": r["level"],
                           "valid": f"{r['valid_from']}..{r['valid_to'] or ''}", "cells": r["cells"],
                           "rules": r["rules"], "title": r["title"]} for r in rows])
    out = console()
    if natural_width(frame) <= out.width:
        return out.print(frame_table(frame))
    # narrow terminal: the facts on one line, the title on the next
    facts = frame.drop(columns=["title"]).astype(str)
    widths = {c: max(len(c), *facts[c].str.len()) for c in facts.columns}
    out.print(Text("  ".join(c.ljust(widths[c]) for c in facts.columns), style="bold"))
    for (_, fact), title in zip(facts.iterrows(), frame["title"], strict=True):
        out.print("  ".join(fact[c].rjust(widths[c]) if c in ("cells", "rules") else fact[c].ljust(widths[c])
                            for c in facts.columns), highlight=False)
        out.print(Padding(Text(title, style="dim"), (0, 0, 0, 4)))


@forms_app.command("build")
def forms_build(out: Annotated[Path | None, typer.Option("--out", help="Directory (default: forms/).")] = None,
                lang: Annotated[str, typer.Option("--lang", help="Label language.")] = "ru") -> None:
    """Write one blank template per form version (forms/<FORM>_v<N>.xlsx)."""
    from gbvstats.collect.templates import build_all
    from gbvstats.paths import output_dir

    registry_or_fail()
    with store_errors():  # --lang here is the labels' language, not the messages'
        if out:
            output_dir(out)
        for path in build_all(out, lang=lang_of(lang)):
            typer.echo(str(path))


@forms_app.command("show")
def forms_show(form: Annotated[str, typer.Argument(help="FORM or FORM@VERSION, e.g. MOI-FV@2.")],
               as_json: JsonOpt = False, lang: LangOpt = None) -> None:
    """Tables, lines, columns, rules and the template cell of every input cell."""
    from gbvstats.schema.info import describe, render

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
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")] = False,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="Language of the labels: ru, ky or en (default: $GBVSTATS_LANG, else ru).")] = None,
) -> None:
    """A template with the header filled in for one reporting unit and period."""
    from gbvstats.paths import output_file
    from gbvstats.schema.info import template_for

    label = label_lang(lang)
    with store_errors(label):
        output_file(out, force=force)  # never over a filled return by mistake
        try:
            path = template_for(registry_or_fail(), form, period, unit, out, label)
        except ValueError as exc:
            fail(str(exc), code=2)
    typer.echo(str(path))

