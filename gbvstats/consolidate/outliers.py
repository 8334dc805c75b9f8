"""Outlier rules that need no history: `within_year` (a unit's period against its own other
periods of the year) and `cross_section` (a unit's rate per 100,000 against its peers in
the same period). Both are rules of `schemas/rules/*.yaml` like the others, evaluated by
`reconcile.py` with SQL in `gbvstats/sql/consolidate/`, and give rule-result rows
(scope `<unit>|<period>`), so explanations, NSC decisions, the gate and ind08 treat them
like every other control.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from gbvstats.paths import sql_dir
from gbvstats.schema.model import Registry, Rule
from gbvstats.schema.rulelang import RuleSyntaxError, parse_terms

if TYPE_CHECKING:
    import pandas as pd

RANK = {"district": 0, "oblast": 1, "country": 2}
SEASON_UNITS = 5  # within_year: units reporting a period needed to estimate its seasonal factor
COUNTRY = "41700000000000"


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "consolidate" / name).read_text(encoding="utf-8")


def rule_cells(rule: Rule, reg: Registry, field: str = "cells") -> list[dict]:
    """Every single input cell a rule's `cells` (or `denominator`) names, in the latest
    version's coordinates, each labelled by its element and the column's dimensions.
    `*`, ranges and lists select several cells; each is checked on its own."""
    text = getattr(rule, field)
    out = []
    for term in parse_terms(text):
        a = term.address
        if not a.form:
            raise RuleSyntaxError(f"{rule.id}: {a.text} needs its form (FORM:table/line/column)")
        form = reg.get(a.form)
        table = form.table(a.table)
        if table is None:
            raise RuleSyntaxError(f"{rule.id}: table {a.table} does not exist in {form.key}")
        lines = a.lines.resolve([ln.code for ln in table.lines]) or [ln.code for ln in table.lines]
        cols = a.cols.resolve([str(c.number) for c in table.columns]) or [
            str(c.number) for c in table.columns]
        for code in lines:
            line = table.line(code)
            for col in cols:
                column = table.column(int(col))
                if int(col) in line.greyed:
                    continue
                dims = ",".join(f"{k}={v}" for k, v in sorted({**line.dims, **column.dims}.items()))
                out.append({"rule_id": rule.id, "form": form.form, "tbl": table.id, "line": code,
                            "col": int(col), "label": line.element + (f" ({dims})" if dims else "")})
    return out


def facts(con, year: int | None = None) -> None:
    """`outlier_facts`, what the outlier SQL reads: the series facts of `year` and the year
    before, copied once into a temporary table (reconcile does it for all its outlier
    rules: each query then reads a few thousand rows, not the whole view); with no year,
    unless that table exists, a temporary view of all of them (a rule evaluated alone)."""
    kind = _temp_kind(con)
    if year is None:
        if kind is None:
            con.execute("CREATE TEMP VIEW outlier_facts AS SELECT * FROM series_facts")
        return
    drop_facts(con)
    con.execute("CREATE TEMP TABLE outlier_facts AS SELECT * FROM series_facts "
                "WHERE year IN (?, ?)", [year - 1, year])


def drop_facts(con) -> None:
    kind = _temp_kind(con)
    if kind:  # the statement's keyword from this fixed pair
        con.execute(f"DROP {kind} outlier_facts")


def _temp_kind(con) -> str | None:
    row = con.execute("SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = 'outlier_facts' "
                      "UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND "
                      "view_name = 'outlier_facts'").fetchall()
    return row[0][0] if row else None


def _set(con, **values) -> None:
    for name, value in values.items():  # names from the callers' fixed keywords
        con.execute(f"SET VARIABLE {name} = ?", [value])


def within_year(con, rule: Rule, reg: Registry, year: int) -> pd.DataFrame:
    """Rule-result rows of a within_year rule for `year` (one per cell, unit and period)."""
    import pandas as pd

    facts(con)
    con.register("outlier_cells", pd.DataFrame(rule_cells(rule, reg)))
    _set(con, year=year, z_threshold=rule.z_threshold, min_base=rule.min_base,
         min_spread=rule.min_spread, min_peers=rule.min_peers, season_units=SEASON_UNITS)
    try:
        out = con.execute(_sql("within_year.sql")).df()
    finally:
        con.unregister("outlier_cells")
    if not len(out):
        return out

    def reason(r) -> str:
        if r.status == "not_evaluable":
            return f"{r.label} {r.period}: {r.why}"
        return (f"{r.label} {r.period}: {_n(r.value)} against {_n(r.usual)} in the unit's other "
                f"periods of {year} (median of {int(r.others)}), z = {r.z:.1f}")

    return _rows(out, rule, "within_year", out["unit"] + "|" + out["period"],
                 out["usual"], [reason(r) for r in out.itertuples(index=False)])


def cross_section(con, rule: Rule, reg: Registry, year: int) -> pd.DataFrame:
    """Rule-result rows of a cross_section rule for `year` (one per cell, rate unit and
    period): the unit's rate against the median rate of its peers."""
    import pandas as pd

    facts(con)
    numerator = rule_cells(rule, reg)
    denominator = rule_cells(rule, reg, "denominator")
    con.register("outlier_cells", pd.DataFrame(numerator))
    con.register("denominator_cells", pd.DataFrame(denominator))
    con.register("unit_map", unit_map(reg, rule, {c["form"] for c in denominator}))
    _set(con, year=year, z_threshold=rule.z_threshold, min_base=rule.min_base,
         min_spread=rule.min_spread, min_peers=rule.min_peers, multiplier=rule.multiplier)
    try:
        out = con.execute(_sql("cross_section.sql")).df()
    finally:
        for name in ("outlier_cells", "denominator_cells", "unit_map"):
            con.unregister(name)
    if not len(out):
        return out
    per = f"{rule.multiplier:,}"
    peers = "national" if rule.peers == "national" else "oblast"

    def reason(r) -> str:
        if r.status == "not_evaluable":
            return f"{r.label} {r.period}: {r.why}"
        summed = f"; sum of {int(r.returns)} returns" if r.returns > 1 else ""
        return (f"{r.label} {r.period}: {_n(r.value)} = {r.rate:.1f} per {per} "
                f"(population {_n(r.population)}{summed}) against the {peers} median "
                f"{r.peer_rate:.1f} of {int(r.peers)} units, z = {r.z:.1f}")

    return _rows(out, rule, "cross_section", out["unit"] + "|" + out["period"],
                 out["expected"], [reason(r) for r in out.itertuples(index=False)])


def unit_map(reg: Registry, rule: Rule, denominator_forms: set[str]) -> pd.DataFrame:
    """unit -> (target, peer_group): every territory a return may come from mapped to the
    unit whose rate is computed (its ancestor at the denominator's level, or itself when
    it is at that level or above), and the group of peers it is compared with (the whole
    country, or the target's oblast). The country itself has no peers."""
    import pandas as pd

    level = max((reg.get(f).level for f in denominator_forms), key=RANK.get)
    codes = {c.code: c for c in reg.territories().codes}
    rows = []
    for code in codes:
        target = _ancestor(codes, code, level)
        if target is None or target == COUNTRY:
            continue
        group = COUNTRY if rule.peers == "national" else reg.oblast_of(target)
        rows.append((code, target, group))
    return pd.DataFrame(sorted(set(rows)), columns=["unit", "target", "peer_group"])


def _ancestor(codes: dict, soate: str, level: str) -> str | None:
    """The unit itself when it is at `level` or above, else its ancestor at `level`."""
    rank = {"district": 0, "city": 0, "oblast": 1, "country": 2}
    code = codes.get(soate)
    if code is not None and rank.get(getattr(code, "level", ""), 0) >= RANK[level]:
        return code.code
    while code is not None and rank.get(getattr(code, "level", ""), 0) < RANK[level]:
        code = codes.get(code.parent)
    return code.code if code is not None else None


def _rows(out: pd.DataFrame, rule: Rule, kind: str, scope, right, reason) -> pd.DataFrame:
    import pandas as pd

    left = out["value"].round().astype("Int64")
    right = right.round().astype("Int64")
    return pd.DataFrame({
        "scope_id": scope, "rule_id": rule.id, "kind": kind, "severity": rule.severity,
        "status": out["status"], "reason": reason, "item_label": out["label"],
        "left_value": left, "right_value": right, "imbalance": left - right,
        "tolerance": rule.z_threshold, "cells": out["addr"].map(lambda a: [a] if a else []),
        "z": out["z"],
    })


def _n(value) -> str:
    if value is None or value != value:
        return "?"
    return f"{round(float(value)):,}"
