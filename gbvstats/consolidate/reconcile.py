"""Cross-form, cross-agency, hierarchy and outlier controls over the warehouse."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from gbvstats.paths import load_yaml, rules_dir, sql_dir
from gbvstats.schema.model import ControlRule, Registry, Rule, SchemaLoadError
from gbvstats.schema.rulelang import RuleSyntaxError, rule_terms

OUTLIER_KINDS = ("history", "within_year", "cross_section")
COUNTRY = "41700000000000"

if TYPE_CHECKING:
    import pandas as pd


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "consolidate" / name).read_text(encoding="utf-8")


def load_rules(root: Path | None = None) -> list[ControlRule]:
    from pydantic import ValidationError

    rules = []
    for path in sorted((root or rules_dir()).glob("*.yaml")):
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
        for i, item in enumerate(data.get("rules", [])):
            try:
                rules.append(ControlRule.model_validate(item))
            except ValidationError as exc:
                raise SchemaLoadError(path, f"rules[{i}]", exc.errors()[0]["msg"]) from None
    return rules


def rule_agencies(rule: Rule, reg: Registry) -> list[str]:
    """Agencies whose figures the rule questions: every form it reads, except an outlier
    rule's denominator (the population divides, it is not what is checked)."""
    terms = rule_terms(rule)
    if rule.kind in OUTLIER_KINDS:
        terms = [(side, t) for side, t in terms if side == "left"]
    forms = {t.address.form for _, t in terms if t.address.form}
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
    cross = [r for r in rules if r.kind not in OUTLIER_KINDS]
    frames = [evaluate_cross(con, cross, reg, cells)] if cross else []
    if any(r.kind in OUTLIER_KINDS for r in rules):
        from gbvstats.consolidate.outliers import drop_facts, facts

        facts(con, year)
        try:
            frames += [_outliers(con, r, reg, year) for r in rules if r.kind in OUTLIER_KINDS]
        finally:
            drop_facts(con)
    results = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else pd.DataFrame()
    agencies = {r.id: rule_agencies(r, reg) for r in rules}
    if len(results):
        if "z" not in results:
            results["z"] = None
        results["agencies"] = results["rule_id"].map(lambda r: ",".join(agencies[r]))
        results["run_id"], results["year"] = run_id, year
        con.register("results", results)
        con.execute("INSERT INTO rule_results BY NAME SELECT run_id, year, scope_id, rule_id, kind, "
                    "severity, status, reason, item_label, left_value, right_value, imbalance, "
                    "tolerance, cells, agencies, CAST(z AS DOUBLE) AS score FROM results")
        con.unregister("results")
    con.execute("DELETE FROM rule_agencies")
    con.executemany("INSERT INTO rule_agencies VALUES (?, ?)",
                    [[r, a] for r, ags in agencies.items() for a in ags])
    return results


def _outliers(con, rule: Rule, reg: Registry, year: int) -> pd.DataFrame:
    """An outlier rule's rows; a rule that cannot be evaluated is an error row, never a
    silent skip (one broken rule does not stop the others)."""
    import duckdb
    import pandas as pd

    from gbvstats.consolidate import outliers

    try:
        if rule.kind == "history":
            return _history(con, rule, year)
        return getattr(outliers, rule.kind)(con, rule, reg, year)
    except (duckdb.Error, RuleSyntaxError, KeyError) as exc:
        return pd.DataFrame([{"scope_id": f"{COUNTRY}|{year}", "rule_id": rule.id,
                              "kind": rule.kind, "severity": rule.severity, "status": "error",
                              "reason": f"evaluation failed: {exc}".splitlines()[0],
                              "item_label": "-", "cells": []}])


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
    from gbvstats.consolidate.outliers import facts

    facts(con)
    con.register("history_cells", pd.DataFrame(cells))
    for name, value in (("year", year), ("z_threshold", rule.z_threshold), ("min_base", rule.min_base),
                        ("min_spread", rule.min_spread), ("min_peers", rule.min_peers)):
        con.execute(f"SET VARIABLE {name} = ?", [value])  # names from this fixed tuple
    try:
        out = con.execute(_sql("history.sql")).df()
    finally:
        con.unregister("history_cells")
    if not len(out):
        return out
    from gbvstats.consolidate.outliers import _n

    def reason(r) -> str:
        change = f"{r.element} {year - 1} -> {year}: {_n(r.previous)} -> {_n(r.current)}"
        if r.status == "not_evaluable":
            return change + (f"; units with both years: {int(r.units)}" if r.units == r.units else "")
        return f"{change}, z = {r.z:.1f}"

    return pd.DataFrame({
        "scope_id": out["unit"] + "|" + str(year), "rule_id": rule.id, "kind": "history",
        "severity": rule.severity, "status": out["status"],
        "reason": [reason(r) for r in out.itertuples(index=False)],
        "item_label": out["element"], "left_value": out["current"], "right_value": out["previous"],
        "imbalance": out["current"] - out["previous"], "tolerance": rule.z_threshold,
        "cells": out["addr"].map(lambda a: [a]), "z": out["z"],
    })


def discrepancies(con, year: int) -> pd.DataFrame:
    """Failed items of the latest run for the year, worst first, with explanations."""
    return con.execute(_sql("discrepancies.sql"), [year]).df()
