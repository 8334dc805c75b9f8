"""Cross-form, cross-agency, hierarchy and outlier controls over the warehouse."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from gbvstats.paths import load_yaml, rules_dir, sql_dir
from gbvstats.schema.model import Registry, Rule, SchemaLoadError
from gbvstats.schema.rulelang import rule_terms

if TYPE_CHECKING:
    import pandas as pd


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "consolidate" / name).read_text(encoding="utf-8")


def load_rules(root: Path | None = None) -> list[Rule]:
    from pydantic import ValidationError

    rules = []
    for path in sorted((root or rules_dir()).glob("*.yaml")):
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
        for i, item in enumerate(data.get("rules", [])):
            try:
                rules.append(Rule.model_validate(item))
            except ValidationError as exc:
                raise SchemaLoadError(path, f"rules[{i}]", exc.errors()[0]["msg"]) from None
    return rules


def rule_agencies(rule: Rule, reg: Registry) -> list[str]:
    forms = {t.address.form for _, t in rule_terms(rule) if t.address.form}
    return sorted({reg.get(f).agency for f in forms})


def reconcile(con, reg: Registry, year: int, run_id: int,
              rules: list[Rule] | None = None) -> pd.DataFrame:
    """Evaluate every consolidation rule for `year`, store the results under `run_id`."""
    import pandas as pd

    from gbvstats.check.rules import evaluate_cross

    rules = rules if rules is not None else load_rules()
    cells = con.execute(
        "SELECT form, unit, period, tbl, line, col, value, addr FROM series_cells WHERE year = ?",
        [year]).df()
    cross = [r for r in rules if r.kind != "history"]
    frames = [evaluate_cross(con, cross, reg, cells)] if cross else []
    frames += [_history(con, r, year) for r in rules if r.kind == "history"]
    results = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else pd.DataFrame()
    agencies = {r.id: rule_agencies(r, reg) for r in rules}
    if len(results):
        results["agencies"] = results["rule_id"].map(lambda r: ",".join(agencies[r]))
        results["run_id"], results["year"] = run_id, year
        con.register("results", results)
        con.execute("INSERT INTO rule_results BY NAME SELECT run_id, year, scope_id, rule_id, kind, "
                    "severity, status, reason, item_label, left_value, right_value, imbalance, "
                    "tolerance, cells, agencies FROM results")
        con.unregister("results")
    con.execute("DELETE FROM rule_agencies")
    con.executemany("INSERT INTO rule_agencies VALUES (?, ?)",
                    [[r, a] for r, ags in agencies.items() for a in ags])
    return results


def _history(con, rule: Rule, year: int) -> pd.DataFrame:
    """Outliers of one history rule, as rule-result rows."""
    import pandas as pd

    cells = []
    for _, term in rule_terms(rule):
        a = term.address
        for line in a.lines.values or ():
            for col in a.cols.values or ():
                cells.append({"rule_id": rule.id, "form": a.form, "tbl": a.table, "line": line,
                              "col": int(col)})
    con.register("history_cells", pd.DataFrame(cells))
    for name, value in (("year", year), ("z_threshold", rule.z_threshold), ("min_base", rule.min_base)):
        con.execute(f"SET VARIABLE {name} = ?", [value])  # names from this fixed tuple
    try:
        out = con.execute(_sql("history.sql")).df()
    finally:
        con.unregister("history_cells")
    if not len(out):
        return out
    return pd.DataFrame({
        "scope_id": out["unit"] + "|" + str(year), "rule_id": rule.id, "kind": "history",
        "severity": rule.severity, "status": out["status"],
        "reason": out.apply(lambda r: f"{r.element}: {int(r.previous)} -> {int(r.current)}, "
                            f"z = {r.z:.1f}" if r.z == r.z and r.z is not None else
                            f"{r.element}: {int(r.previous)} -> {int(r.current)}", axis=1),
        "item_label": out["element"], "left_value": out["current"], "right_value": out["previous"],
        "imbalance": out["current"] - out["previous"], "tolerance": rule.z_threshold,
        "cells": out["addr"].map(lambda a: [a]),
    })


def discrepancies(con, year: int) -> pd.DataFrame:
    """Failed items of the latest run for the year, worst first, with explanations."""
    return con.execute(_sql("discrepancies.sql"), [year]).df()
