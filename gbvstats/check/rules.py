"""The rule engine: rules compiled to rows, evaluated set-wise in DuckDB.

A rule is expanded (rulelang) into item rows (rule, item, side, sign, form, table, line,
column). One SQL statement (`sql/rules/evaluate.sql`) joins the items with the long cells
table of any number of scopes (a scope is one submission, or one territory x period group
for cross-unit rules) and decides pass, fail or not evaluable per item; a rule that cannot
be compiled or evaluated yields an `error` row. Nothing is skipped silently.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from gbvstats.catalogue import Finding
from gbvstats.paths import sql_dir
from gbvstats.schema.model import FormVersion, Registry, Rule
from gbvstats.schema.rulelang import RuleSyntaxError, expand, parse_expression, rule_terms

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

INTRA_KINDS = ("balance", "inequality", "compulsory", "exclusive", "completeness")
CROSS_KINDS = ("cross_form", "reconciliation", "hierarchy", "temporal")
FAIL_CODE = {"balance": "GBV-R001", "inequality": "GBV-R002", "compulsory": "GBV-R003",
             "exclusive": "GBV-R004", "completeness": "GBV-R005", "cross_form": "GBV-R006",
             "reconciliation": "GBV-R007", "hierarchy": "GBV-R008", "temporal": "GBV-R009",
             "history": "GBV-R010", "within_year": "GBV-R011", "cross_section": "GBV-R012"}
NOT_EVALUABLE_CODE = "GBV-R090"
ERROR_CODE = "GBV-R099"
RESULT_COLUMNS = ["scope_id", "rule_id", "kind", "severity", "status", "reason", "item_no",
                  "item_label", "bind_line", "bind_col", "left_value", "right_value",
                  "imbalance", "tolerance", "cells"]


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "rules" / name).read_text(encoding="utf-8")


@dataclass
class Compiled:
    meta: list[dict]
    items: list[dict]
    errors: list[dict]  # result rows with status "error" for rules that did not compile


def compile_rules(rules: list[Rule], resolve) -> Compiled:
    """Expand rules into item rows. `resolve(form_code_or_None) -> FormVersion` gives the
    schema an address refers to (None: the rule's own form)."""
    out = Compiled([], [], [])
    for rule in rules:
        try:
            op = parse_expression(rule.expr).op if rule.expr else None
            rows = _items(rule, resolve)
        except (RuleSyntaxError, KeyError) as exc:
            out.errors.append(_error_row(rule, f"rule does not compile: {exc}"))
            continue
        out.meta.append({"rule_id": rule.id, "kind": rule.kind, "severity": rule.severity,
                         "op": op, "tol_abs": rule.tolerance.abs, "tol_rel": rule.tolerance.rel,
                         "missing": rule.missing})
        out.items.extend(rows)
    return out


def _items(rule: Rule, resolve) -> list[dict]:
    """Item rows of one rule; terms of different forms are expanded per form and joined
    by their bindings."""
    by_form: dict[str | None, list] = {}
    for side, term in rule_terms(rule):
        by_form.setdefault(term.address.form, []).append((side, term))
    per_form = {code: expand(resolve(code), terms) for code, terms in by_form.items()}
    if len(per_form) == 1:
        combos = [[it] for it in next(iter(per_form.values()))]
    else:  # cross-form: combine items whose bindings agree
        combos = [[]]
        for items in per_form.values():
            combos = [c + [it] for c in combos for it in items
                      if all(c_it.key.get(k) == v for c_it in c for k, v in it.key.items())]
    rows = []
    for n, combo in enumerate(combos, start=1):
        key = {k: v for it in combo for k, v in it.key.items()}
        label = ",".join(f"{k}={v}" for k, v in sorted(key.items())) or "-"
        for code, it in zip(per_form, combo, strict=True):
            form = resolve(code).form
            for side, sign, tbl, line, col in it.cells:
                rows.append({"rule_id": rule.id, "item_no": n, "item_label": label,
                             "bind_line": key.get("line"), "bind_col": key.get("column"),
                             "side": side, "sign": sign, "form": form, "tbl": tbl,
                             "line": line, "col": col})
    if not rows:
        raise RuleSyntaxError("expands to no cells")
    return rows


def _error_row(rule: Rule, reason: str) -> dict:
    return _error_row_meta({"rule_id": rule.id, "kind": rule.kind, "severity": rule.severity},
                           reason)


def evaluate(con: duckdb.DuckDBPyConnection, compiled: Compiled, scopes: pd.DataFrame,
             cells: pd.DataFrame) -> pd.DataFrame:
    """Evaluate compiled rules over `scopes(scope_id, form)` and
    `cells(scope_id, form, tbl, line, col, value, addr)`."""
    import duckdb
    import pandas as pd

    frames = []
    if compiled.items:
        try:
            frames.append(_run(con, compiled.meta, compiled.items, scopes, cells))
        except duckdb.Error:
            # one broken rule must not stop the others: retry rule by rule
            frames.extend(_run_each(con, compiled, scopes, cells))
    if compiled.errors:  # a rule that did not compile is an error in every scope
        sids = scopes["scope_id"].drop_duplicates().tolist() or [None]
        frames.append(pd.DataFrame([{**row, "scope_id": sid}
                                    for row in compiled.errors for sid in sids]))
    if not frames:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    result = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(
        len(f) for f in frames) else frames[0]
    return _typed(result)


def _typed(result: pd.DataFrame) -> pd.DataFrame:
    result = result.reindex(columns=[*RESULT_COLUMNS, "left_missing", "right_missing"])
    for column in ("left_value", "right_value", "imbalance", "item_no"):
        result[column] = result[column].astype("Int64")
    return result


def _run(con: duckdb.DuckDBPyConnection, meta: list[dict], items: list[dict],
         scopes: pd.DataFrame, cells: pd.DataFrame, rule_tables: tuple | None = None) -> pd.DataFrame:
    """One evaluation. `rule_tables`: `rule_meta` and `rule_items` as Arrow tables made
    by `_rule_tables` (kept warm per form version by `check_groups`), else made here;
    `scopes` and `cells` may be pandas frames or Arrow tables."""
    rule_meta, rule_items = rule_tables or _rule_tables(con, meta, items)
    frames = (("rule_meta", rule_meta), ("rule_items", rule_items), ("scopes", scopes), ("cells", cells))
    for name, frame in frames:
        con.register(name, frame)
    try:
        return con.execute(_sql("evaluate.sql")).df()
    finally:
        for name, _ in frames:
            con.unregister(name)


def _rule_tables(con: duckdb.DuckDBPyConnection, meta: list[dict], items: list[dict]) -> tuple:
    """`rule_meta` and `rule_items` as Arrow tables, typed by DuckDB's own reading of the
    pandas frames (the types a registered frame would have), so that evaluating over them
    gives the same results as over the frames, without converting them on every call."""
    import pandas as pd

    return tuple(con.from_df(pd.DataFrame(rows)).to_arrow_table() for rows in (meta, items))


def _run_each(con: duckdb.DuckDBPyConnection, compiled: Compiled, scopes: pd.DataFrame,
              cells: pd.DataFrame) -> list[pd.DataFrame]:
    import duckdb
    import pandas as pd

    frames = []
    for meta in compiled.meta:
        rule_id = meta["rule_id"]
        items = [i for i in compiled.items if i["rule_id"] == rule_id]
        try:
            frames.append(_run(con, [meta], items, scopes, cells))
        except duckdb.Error as exc:
            row = {**_error_row_meta(meta, f"evaluation failed: {exc}".splitlines()[0])}
            frames.append(pd.DataFrame([{**row, "scope_id": sid}
                                        for sid in scopes["scope_id"].drop_duplicates()]))
    return frames


def _error_row_meta(meta: dict, reason: str) -> dict:
    return {"scope_id": None, "rule_id": meta["rule_id"], "kind": meta["kind"],
            "severity": meta["severity"], "status": "error", "reason": reason, "item_no": 0,
            "item_label": "-", "bind_line": None, "bind_col": None, "left_value": None,
            "right_value": None, "imbalance": None, "tolerance": None, "cells": []}


def check_submission(form: FormVersion, cells: pd.DataFrame, submission_id: str = "1",
                     file: str | None = None) -> tuple[pd.DataFrame, list[Finding]]:
    """Evaluate the form's intra-form rules on one submission's cells
    (tbl, line, col, value, sheet, addr)."""
    return check_submissions(form, [(submission_id, cells, file)])[submission_id]


def check_submissions(form: FormVersion, batch: list[tuple[str, pd.DataFrame, str | None]]
                      ) -> dict[str, tuple[pd.DataFrame, list[Finding]]]:
    """The same for many submissions of one form version at once: one query for all.
    `batch` holds (submission id, cells, file name); returns results and findings by id."""
    return check_groups([(form, batch)])


def check_groups(groups: list[tuple[FormVersion, list[tuple[str, pd.DataFrame, str | None]]]],
                 refused: dict[str, set[str]] | None = None
                 ) -> dict[str, tuple[pd.DataFrame, list[Finding]]]:
    """Submissions of several form versions in one query (each query has a fixed cost of
    ~20 ms). Cells and rule items are keyed by form version, so v1 and v2 of a form never
    meet; rule ids are unique across the schemas (GBV-S006). Submission ids must be unique
    across the groups. `refused` gives, per submission id, the cells (`SHEET!A1`) whose
    content the reader refused: an item using one is not evaluable, not a false failure
    computed with the refused cell as blank (passes stay passes)."""
    import pandas as pd
    import pyarrow as pa

    compiled, rules, rule_tables = _compiled_groups([form for form, _ in groups])
    # a rule that did not compile is an error in every submission of its form
    errors = [{**row, "scope_id": sid} for (form, batch) in groups
              for row in _compiled_intra(form).errors for sid, _, _ in batch]
    scopes = pd.DataFrame({"scope_id": [sid for _, batch in groups for sid, _, _ in batch],
                           "form": [form.key for form, batch in groups for _ in batch]})
    cells = pd.concat([_scoped_cells(form, batch) for form, batch in groups], ignore_index=True)
    con = _connection()
    # a few returns (an upload to the server) are evaluated faster by one thread than by a
    # pool that has to be woken for a few hundred rows; a year's batch uses them all
    con.execute("SET threads = 1" if len(cells) <= SMALL_BATCH_CELLS else "RESET threads")
    results = _evaluate_items(con, compiled, pa.Table.from_pandas(scopes, preserve_index=False),
                              pa.Table.from_pandas(cells, preserve_index=False), rule_tables)
    if errors:
        results = pd.concat([results, _typed(pd.DataFrame(errors))], ignore_index=True)
    if refused:
        _mark_refused(results, refused)
    return _by_scope(results, [entry for _, batch in groups for entry in batch], rules)


def _evaluate_items(con, compiled: Compiled, scopes, cells, rule_tables: tuple) -> pd.DataFrame:
    """`evaluate` of compiled rules that all compiled, over the warm rule tables."""
    import duckdb
    import pandas as pd

    if not compiled.items:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    try:
        return _typed(_run(con, compiled.meta, compiled.items, scopes, cells, rule_tables))
    except duckdb.Error:
        # one broken rule must not stop the others: retry rule by rule
        frames = [f for f in _run_each(con, compiled, scopes.to_pandas(), cells.to_pandas()) if len(f)]
        return _typed(pd.concat(frames, ignore_index=True)) if frames else pd.DataFrame(columns=RESULT_COLUMNS)


def _mark_refused(results: pd.DataFrame, refused: dict[str, set[str]]) -> None:
    """Failed items that use a refused cell become not evaluable, naming the cells: the
    failure was computed with the refused cell as blank. Items that pass all the same
    stay passes, so one bad cell does not bury the feedback in warnings."""
    for i, (sid, status, cells) in enumerate(zip(results["scope_id"], results["status"],
                                                 results["cells"], strict=True)):
        hit = sorted(refused.get(sid, set()).intersection(_addrs(cells)))
        if hit and status == "fail":
            results.iloc[i, results.columns.get_loc("status")] = "not_evaluable"
            results.iloc[i, results.columns.get_loc("reason")] = "refused cell " + ", ".join(hit)


def _scoped_cells(form: FormVersion, batch: list[tuple[str, pd.DataFrame, str | None]]) -> pd.DataFrame:
    """All submissions' cells in one frame, built once rather than copied per submission."""
    import numpy as np
    import pandas as pd

    columns = ["tbl", "line", "col", "value", "sheet", "addr"]
    frames = [cells if list(cells.columns) == columns else cells[columns] for _, cells, _ in batch]
    scoped = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    scoped.insert(0, "scope_id", np.repeat([sid for sid, _, _ in batch], [len(f) for f in frames]))
    scoped.insert(1, "form", form.key)
    # addresses qualified by sheet ("T2!C7"): the same cell address repeats across sheets
    scoped["addr"] = scoped["sheet"] + "!" + scoped["addr"]
    return scoped[["scope_id", "form", "tbl", "line", "col", "value", "addr"]]


def _by_scope(results: pd.DataFrame, batch, rules: dict[str, Rule]
              ) -> dict[str, tuple[pd.DataFrame, list[Finding]]]:
    """Split results into each submission's rows and findings; findings are built from
    the rows that did not pass only."""
    positions = results.groupby("scope_id", sort=False).indices if len(results) else {}
    failing: dict[str, list] = {}
    for row in results[results["status"] != "pass"].itertuples(index=False):
        failing.setdefault(row.scope_id, []).append(row)
    out = {}
    for sid, _, file in batch:
        mine = results.take(positions[sid]) if sid in positions else results.iloc[0:0]
        out[sid] = (mine.reset_index(drop=True), findings_from_rows(failing.get(sid, []), rules, file))
    return out


_DATABASE = None
_LOCAL = threading.local()


def _connection():
    """One in-memory DuckDB per process for intra-form checks (opening one costs ~20 ms,
    more than evaluating a form's rules), with a connection of its own for each thread:
    the relations a query registers (`cells`, ...) are the calling thread's, so the
    server's validating thread and a rebuild in another never see each other's."""
    global _DATABASE
    con = getattr(_LOCAL, "con", None)
    if con is None:
        with _DATABASE_LOCK:
            if _DATABASE is None:
                import duckdb

                _DATABASE = duckdb.connect()
            con = _LOCAL.con = _DATABASE.cursor()
    return con


_DATABASE_LOCK = threading.Lock()


_COMPILED: dict[str, Compiled] = {}
_GROUPS: dict[tuple[str, ...], tuple[Compiled, dict[str, Rule], tuple]] = {}
SMALL_BATCH_CELLS = 50_000  # cells below which the rule query runs on one thread


def _compiled_intra(form: FormVersion) -> Compiled:
    key = form.schema_hash
    if key not in _COMPILED:
        rules = [r for r in form.rules if r.kind in INTRA_KINDS]
        compiled = compile_rules(rules, lambda code: form)
        for item in compiled.items:  # keyed by version: see check_groups
            item["form"] = form.key
        _COMPILED[key] = compiled
    return _COMPILED[key]


def _compiled_groups(forms: list[FormVersion]) -> tuple[Compiled, dict[str, Rule], tuple]:
    """The compiled intra-form rules of these form versions together, their rules by id and
    their `rule_meta` / `rule_items` Arrow tables: made once per set of versions and kept
    for the life of the process (a server checks one upload after another with them)."""
    key = tuple(form.schema_hash for form in forms)
    if key not in _GROUPS:
        meta, items, rules = [], [], {}
        for form in forms:
            compiled = _compiled_intra(form)
            meta += compiled.meta
            items += compiled.items
            rules.update({r.id: r for r in form.rules})
        if len(_GROUPS) >= 256:  # many different mixes of versions: start again
            _GROUPS.clear()
        _GROUPS[key] = (Compiled(meta, items, []), rules,
                        _rule_tables(_connection(), meta, items) if items else ())
    return _GROUPS[key]


def findings_from_results(results: pd.DataFrame, rules: dict[str, Rule],
                          file: str | None) -> list[Finding]:
    return findings_from_rows(results[results["status"] != "pass"].itertuples(index=False), rules, file)


def findings_from_rows(rows, rules: dict[str, Rule], file: str | None) -> list[Finding]:
    """Findings of result rows (named tuples) that did not pass."""
    findings = []
    for row in rows:
        rule = rules[row.rule_id]
        addrs = _addrs(row.cells)
        line, column = _text(row.bind_line), _text(row.bind_col)
        values = {"left": _int(row.left_value), "right": _int(row.right_value),
                  "imbalance": _int(row.imbalance), "tolerance": _tol(row.tolerance),
                  "line": line or "", "column": column or "",
                  "item": row.item_label, "reason": _text(row.reason) or ""}
        if row.status == "not_evaluable":  # sums over blank or refused cells say nothing
            values.update(left=None, right=None, imbalance=None)
        shown = {k: "?" if v is None else v for k, v in values.items()}
        rendered = {lang: _render(text, shown) for lang, text in rule.message.items()}
        code = {"fail": FAIL_CODE.get(row.kind, "GBV-R001"), "not_evaluable": NOT_EVALUABLE_CODE,
                "error": ERROR_CODE}[row.status]
        severity = rule.severity if row.status == "fail" else (
            "info" if row.status == "not_evaluable" and rule.severity == "info" else "warning"
            if row.status == "not_evaluable" else "error")
        sheet, _, cell = addrs[0].rpartition("!") if addrs else ("", "", "")
        findings.append(Finding(
            code=code, severity=severity, file=file, sheet=sheet or None,
            cell=cell or None, cells=addrs, rule_id=row.rule_id,
            line=line, column=int(column) if column else None,
            params={**values, "rule_id": row.rule_id, "rule_message": rendered,
                    "cells": ", ".join(addrs)}))
    return findings


def _addrs(cells) -> list[str]:
    """A result row's cell addresses: a list, or NULL (NA) when no cell was found."""
    return [] if cells is None or not hasattr(cells, "__iter__") or isinstance(cells, str) else list(cells)


def _render(template: str, values: dict) -> str:
    import string

    from gbvstats.catalogue import _Lenient

    return string.Formatter().vformat(template, (), _Lenient(values))


def _text(value) -> str | None:
    return None if value is None or value != value else str(value)


def _int(value) -> int | None:
    try:
        return None if value is None or value != value else int(value)
    except (TypeError, ValueError):
        return None


def _tol(value) -> float | int | None:
    if value is None or value != value:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 2)


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per rule: items, passes, fails, not evaluable, errors."""
    counts = results.pivot_table(index="rule_id", columns="status", values="item_no",
                                 aggfunc="count", fill_value=0)
    for status in ("pass", "fail", "not_evaluable", "error"):
        if status not in counts:
            counts[status] = 0
    counts["items"] = counts[["pass", "fail", "not_evaluable", "error"]].sum(axis=1)
    return counts[["items", "pass", "fail", "not_evaluable", "error"]].reset_index()


def evaluate_cross(con: duckdb.DuckDBPyConnection, rules: list[Rule], reg: Registry,
                   cells_in: pd.DataFrame) -> pd.DataFrame:
    """Cross-unit rules (cross_form, reconciliation, hierarchy, temporal) over warehouse
    cells `cells_in(form, unit, period, tbl, line, col, value, addr)`: units are summed to
    the rule's territorial level and periods to its period before comparing.
    hierarchy with `cells`: the lower units' sum against the upper unit's own return;
    temporal with `cells`: the quarters' (months') sum against the unit's annual return;
    with an `expr` both compare two forms like cross_form (e.g. district against oblast)."""
    import pandas as pd

    frames = []
    for rule in rules:
        compiled = compile_rules([rule], lambda code: reg.get(code) if code else None)
        if compiled.errors:
            frames.append(pd.DataFrame(compiled.errors))
            continue
        if _split(rule):
            compiled = _upper_vs_lower(compiled, "^upper" if rule.kind == "hierarchy" else "^annual")
        grouped = _grouped_cells(con, reg, rule, cells_in)
        scopes = grouped[["scope_id", "form"]].drop_duplicates()
        frames.append(evaluate(con, compiled, scopes, grouped))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RESULT_COLUMNS)


def evaluate_rules(con: duckdb.DuckDBPyConnection, rules: list[Rule], reg: Registry,
                   cells_view: str, year: int | None = None) -> pd.DataFrame:
    """`evaluate_cross` over a relation or view of `con` holding
    (form, unit, period, tbl, line, col, value, addr), optionally one year only."""
    rel = con.table(cells_view)  # a relation name, never spliced into SQL text
    cells = rel.df()
    if year is not None:
        cells = cells[cells["period"].astype(str).str[:4] == str(year)]
    return evaluate_cross(con, rules, reg, cells.reset_index(drop=True))


def _split(rule: Rule) -> bool:
    """hierarchy / temporal rules naming only `cells` compare one form with itself (lower
    units or quarters against the upper unit or the year); with an `expr` they compare
    two forms reported at different levels, summed like cross_form rules."""
    return rule.kind in ("hierarchy", "temporal") and not rule.expr


def _upper_vs_lower(compiled: Compiled, suffix: str) -> Compiled:
    """A `cells`-only rule as `lower sum = upper value`: every item's cells once on the
    left (the form as summed) and once on the right (the pseudo-form `<form><suffix>`)."""
    right = [{**row, "side": "right", "form": row["form"] + suffix} for row in compiled.items]
    meta = [{**m, "op": "="} for m in compiled.meta]
    return Compiled(meta, compiled.items + right, compiled.errors)


def _grouped_cells(con, reg: Registry, rule: Rule, cells_in: pd.DataFrame) -> pd.DataFrame:
    unit_map = _unit_map(reg, rule, cells_in["unit"].drop_duplicates().tolist())
    con.register("cells_in", cells_in)
    con.register("unit_map", unit_map)
    grain = "year" if rule.kind == "temporal" else rule.period or "quarter"
    con.execute("SET VARIABLE period_grain = ?", [grain])
    con.execute("SET VARIABLE split_annual = ?", [rule.kind == "temporal" and _split(rule)])
    try:
        return con.execute(_sql("aggregate_scopes.sql")).df()
    finally:
        con.unregister("cells_in")
        con.unregister("unit_map")


def _unit_map(reg: Registry, rule: Rule, units: list[str]) -> pd.DataFrame:
    """unit -> (target, role). Temporal rules compare each unit with itself unless a level
    is given; hierarchy rules keep the upper unit apart and sum only the next level below
    it that reports (so districts are not added to oblasts already summing them)."""
    import pandas as pd

    ranks = _ranks(reg)
    if rule.kind == "temporal" and _split(rule) and not rule.level:
        rows = [(u, u, "") for u in units]
    else:
        level = rule.level or ("country" if rule.kind == "hierarchy" else "oblast")
        rows = [(u, t, "") for u in units if (t := _ancestor(reg, u, level)) is not None]
    if rule.kind == "hierarchy" and _split(rule):
        lower_rank = {}
        for u, t, _ in rows:
            if u != t:
                lower_rank[t] = max(lower_rank.get(t, -1), ranks.get(u, 0))
        rows = [(u, t, "^upper") if u == t else (u, t, "") for u, t, _ in rows
                if u == t or ranks.get(u, 0) == lower_rank[t]]
    return pd.DataFrame(rows, columns=["unit", "target", "role"])


_RANK = {"district": 0, "city": 0, "oblast": 1, "country": 2}


def _ranks(reg: Registry) -> dict[str, int]:
    return {c.code: _RANK.get(getattr(c, "level", ""), 0) for c in reg.territories().codes}


def _ancestor(reg: Registry, soate: str, level: str) -> str | None:
    codes = {c.code: c for c in reg.territories().codes}
    want = {"district": 0, "oblast": 1, "country": 2}[level]
    code = codes.get(soate)
    while code is not None and _RANK.get(getattr(code, "level", ""), 0) < want:
        code = codes.get(code.parent)
    if code is None or _RANK.get(getattr(code, "level", ""), 0) != want:
        return None
    return code.code
