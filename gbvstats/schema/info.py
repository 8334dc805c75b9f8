"""Forms as data for other tools (`gbvstats forms show`) and per-unit templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gbvstats.i18n import pick, t
from gbvstats.periods import parse_period
from gbvstats.schema.model import FormVersion, Registry


def describe(form: FormVersion) -> dict[str, Any]:
    """Every table, line, column and rule, and where each input cell sits in the template."""
    from gbvstats.collect.templates import layout

    where = layout(form)
    tables = []
    for table in form.tables:
        cells = [{"line": ln, "column": col, "element": table.line(ln).element,
                  "sheet": sheet, "cell": addr, "input": is_input}
                 for (tb, ln, col), (sheet, addr, is_input) in where.items() if tb == table.id]
        tables.append({
            "id": table.id, "title": table.title,
            "columns": [c.model_dump() for c in table.columns],
            "lines": [ln.model_dump() for ln in table.lines],
            "cells": cells,
        })
    return {
        "form": form.form, "version": form.version, "agency": form.agency, "title": form.title,
        "periodicity": form.periodicity, "level": form.level, "valid_from": form.valid_from,
        "valid_to": form.valid_to, "schema_hash": form.schema_hash, "tables": tables,
        "rules": [{"id": r.id, "kind": r.kind, "severity": r.severity,
                   "expr": r.expr or r.cells or f"{r.when} => {r.then}"} for r in form.rules],
    }


def render(console, data: dict[str, Any], lang: str) -> None:
    from rich.table import Table

    console.print(f"[bold]{data['form']} v{data['version']}[/] {pick(data['title'], lang)}")
    console.print(f"{data['agency']}, {data['periodicity']}, {data['level']}, "
                  f"{data['valid_from']} .. {data['valid_to'] or ''}")
    for table in data["tables"]:
        grid = Table(title=f"{table['id']}: {pick(table['title'], lang)}", show_lines=False)
        grid.add_column("line")
        grid.add_column("element")
        grid.add_column("label")
        for col in table["columns"]:
            grid.add_column(f"{col['number']}\n{pick(col['label'], lang)}")
        cells = {(c["line"], c["column"]): c for c in table["cells"]}
        for line in table["lines"]:
            row = [line["code"], line["element"], pick(line["label"], lang)]
            for col in table["columns"]:
                c = cells[(line["code"], col["number"])]
                row.append(c["cell"] if c["input"] else "[dim]--[/]")
            grid.add_row(*row)
        console.print(grid)
    for rule in data["rules"]:
        console.print(f"  {rule['id']} [{rule['severity']}] {rule['kind']}: {rule['expr']}")


def template_for(reg: Registry, ref: str, period: str, unit: str, out: Path, lang: str) -> Path:
    """The template of the form version valid for `period`, header filled for `unit`.
    Bad usage raises ValueError with a message in `lang`."""
    from gbvstats.collect.templates import build_template, save

    form = _form_for(reg, ref, period, lang)
    if unit not in {c.code for c in reg.units(form.level)}:
        known = reg.territories().get(unit)
        raise ValueError(t("tpl.err.unit", lang, unit=unit, form=form.key, level=form.level,
                           actual=getattr(known, "level", None) or t("tpl.err.unknown", lang)))
    return save(build_template(form, lang=lang, unit=unit, period=period, reg=reg), out)


def _form_for(reg: Registry, ref: str, period: str, lang: str) -> FormVersion:
    form_code, _, version = ref.partition("@")
    if form_code not in reg.form_codes():
        raise ValueError(t("tpl.err.form", lang, form=form_code, known=", ".join(reg.form_codes())))
    try:
        p = parse_period(period)
    except ValueError:
        raise ValueError(t("tpl.err.period", lang, period=period)) from None
    if not version:
        form = reg.for_period(form_code, p)
        if form is None:
            valid = "; ".join(_validity(f) for f in reg.versions() if f.form == form_code)
            raise ValueError(t("tpl.err.no_version", lang, form=form_code, period=period,
                               valid=valid))
        return form
    number = version.lower().lstrip("v")
    if not number.isdigit() or (form_code, int(number)) not in reg.forms:
        raise ValueError(t("tpl.err.version", lang, form=form_code, version=version))
    form = reg.get(form_code, int(number))
    if not form.valid_for(p):
        raise ValueError(t("tpl.err.not_valid", lang, form=form.key, period=period,
                           valid=_validity(form)))
    return form


def _validity(form: FormVersion) -> str:
    return f"{form.key}: {form.valid_from} .. {form.valid_to or ''} ({form.periodicity})"
