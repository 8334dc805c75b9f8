"""Helpers for rule-engine tests: a consistent MOI-FV v2 return as a cells frame, and
rules built in code."""

from __future__ import annotations

import pandas as pd

from gbvstats.collect.templates import layout
from gbvstats.schema.model import FormVersion, Rule

MESSAGE = {"en": "left {left}, right {right}, line {line}, column {column}",
           "ru": "слева {left}, справа {right}, строка {line}, графа {column}",
           "ky": "сол {left}, оң {right}, сап {line}, графа {column}"}

# A quarter of one district, consistent with every MOI-FV v2 rule.
CLEAN_FV2 = {
    ("T1", "01", 1): 21, ("T1", "02", 1): 10, ("T1", "03", 1): 5, ("T1", "04", 1): 3,
    ("T1", "05", 1): 1, ("T1", "06", 1): 2,
    # table 2: total, women and girls, men and boys, women, men, girls, boys
    **{("T2", "01", c): n for c, n in enumerate((21, 16, 5, 12, 3, 4, 2), start=1)},
    **{("T2", "02", c): n for c, n in ((1, 3), (2, 2), (3, 1), (6, 2), (7, 1))},  # 4-5 greyed
    **{("T2", "03", c): n for c, n in enumerate((9, 7, 2, 5, 1, 2, 1), start=1)},
    **{("T2", "04", c): n for c, n in enumerate((17, 2, 15, 2, 15, 0, 0), start=1)},
    # table 6: total, women and girls, men and boys by age band, education, activity
    **{("T6", f"{line:02d}", c): n
       for line, (f, m) in enumerate(((5, 2), (4, 1), (3, 1), (2, 1), (2, 0), (0, 0),
                                      (6, 2), (3, 1), (2, 0), (1, 0), (4, 2), (0, 0),
                                      (5, 2), (5, 1), (4, 2), (1, 0), (1, 0), (0, 0)), start=1)
       for c, n in ((1, f + m), (2, f), (3, m))},
    ("T3", "01", 1): 8, ("T3", "02", 1): 3, ("T3", "03", 1): 1,
    ("T4", "01", 1): 4, ("T4", "02", 1): 2,
    ("T5", "01", 1): 7, ("T5", "02", 1): 1, ("T5", "03", 1): 2, ("T5", "04", 1): 3,
    ("T5", "05", 1): 1, ("T5", "06", 1): 0,
    ("T5", "01", 2): 4, ("T5", "02", 2): 1, ("T5", "03", 2): 1, ("T5", "04", 2): 2,
    ("T5", "05", 2): 0, ("T5", "06", 2): 0,
}


def cells_frame(form: FormVersion, values: dict) -> pd.DataFrame:
    """Every input cell of `form` at its template address; a cell missing from `values`
    (or None) is blank."""
    where = layout(form)
    rows = []
    for spec in form.cells():
        if not spec.input:
            continue
        sheet, addr, _ = where[(spec.table, spec.line, spec.column)]
        rows.append({"tbl": spec.table, "line": spec.line, "col": spec.column,
                     "value": values.get((spec.table, spec.line, spec.column)),
                     "sheet": sheet, "addr": addr})
    frame = pd.DataFrame(rows)
    # built from the Python ints directly: through float, 2**53 + 1 would lose its 1
    frame["value"] = pd.array([r["value"] for r in rows], dtype="Int64")
    return frame


def address(form: FormVersion, tbl: str, line: str, col: int) -> str:
    sheet, addr, _ = layout(form)[(tbl, line, col)]
    return f"{sheet}!{addr}"


def rule(rule_id: str, kind: str, **fields) -> Rule:
    return Rule.model_validate({"id": rule_id, "kind": kind, "message": MESSAGE, **fields})


def with_rules(form: FormVersion, rules: list[Rule]) -> FormVersion:
    """The form with its rules replaced (a new schema hash, so nothing cached is reused)."""
    data = form.model_dump()
    data["rules"] = [r.model_dump() for r in rules]
    return FormVersion.model_validate(data)


def warehouse_cells(rows: list[tuple]) -> pd.DataFrame:
    """Warehouse cells from (form, unit, period, tbl, line, col, value) tuples; addresses
    like the series view's `FORM:T/L/C`."""
    frame = pd.DataFrame([r[:6] for r in rows],
                         columns=["form", "unit", "period", "tbl", "line", "col"])
    frame["value"] = pd.array([r[6] for r in rows], dtype="Int64")
    frame["addr"] = [f"{r[0]}:{r[3]}/{r[4]}/{r[5]}@{r[1]}/{r[2]}" for r in rows]
    return frame
