"""Tracing a published figure back to the submissions and cells it came from.

The cells are those the pipeline's SQL actually reads, from its lineage
(`consolidate/lineage.py`: derived by evaluating the SQL, never declared), with the
coefficient each enters the figure with: the traced values times their coefficients add
up to the figure. An oblast's row reads the units of that oblast, the KG row every unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gbvstats.consolidate.lineage import lineage, scope_of
from gbvstats.consolidate.run import pipelines
from gbvstats.paths import sql_dir

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.store.warehouse import Warehouse

ALL_UNITS = "41700000000000"


class TraceError(Exception):
    """A table or column that cannot be traced; the CLI exits 2."""


def trace(wh: Warehouse, table: str, year: int, where: str | None = None,
          columns: list[str] | None = None) -> pd.DataFrame:
    """One row per (figure, cell): the selected rows of `table` (`where`: SQL on its
    columns), each measure (or `columns`), and every current cell it reads, with the
    submission, file and address the value came from and its coefficient."""
    import pandas as pd

    from gbvstats.store.warehouse import integer_frame

    by_id = {p.id: p for p in pipelines()}
    if table not in by_id:
        raise TraceError(f"no indicator table {table}; known: {', '.join(sorted(by_id))}")
    lin = lineage(by_id[table], wh.reg)
    if lin.error:
        raise TraceError(f"{table}: the pipeline does not run: {lin.error}")
    traceable = sorted({c for (_, _, c) in lin.sources})
    if not traceable:
        raise TraceError(f"{table} is computed from consolidation results, not from cells")
    wanted = columns or traceable
    unknown = [c for c in wanted if c not in lin.columns]
    if unknown:
        raise TraceError(f"{table} has no column {', '.join(unknown)}; columns: {', '.join(lin.columns)}")
    rows = wh.query(f"SELECT * FROM {table} WHERE year = ?"  # table: a known pipeline id
                    + (f" AND ({where})" if where else ""), [year])
    links = []
    for n, row in enumerate(rows.to_dict("records")):
        area = str(row.get("area") or "KG")
        scope, key = scope_of(area), lin.row_key(row)
        for column in wanted:
            for source, coef in (lin.sources_of(scope, key, column) or {}).items():
                links.append({"row": n, "measure": column, "figure": row.get(column),
                              "form": source.form, "tbl": source.tbl, "line": source.line,
                              "col": source.col, "coefficient": coef,
                              "oblast": row.get("territory") if area != "KG" else ALL_UNITS})
    keys = ["area", *[k for k in lin.keys if k in rows.columns]]
    head = rows[keys].reset_index(drop=True).rename_axis("row").reset_index() if len(rows) else \
        pd.DataFrame(columns=["row", *keys])
    frame = pd.DataFrame(links, columns=["row", "measure", "figure", "form", "tbl", "line", "col",
                                         "coefficient", "oblast"])
    sql = (sql_dir() / "consolidate" / "trace.sql").read_text(encoding="utf-8")

    def cells_of(con):
        con.register("trace_links", frame.astype({"figure": "object"}))
        try:
            return integer_frame(con.execute(sql, [year, ALL_UNITS]))
        finally:
            con.unregister("trace_links")

    cells = wh.read(cells_of)  # run again if it gave way to a writer
    out = head.merge(cells, on="row").drop(columns=["row"]) if len(cells) else \
        pd.DataFrame(columns=[*keys, *cells.columns.drop("row")])
    out.attrs["keys"] = keys  # what identifies a row of the table: see sums()
    return out


def sums(traced: pd.DataFrame) -> pd.DataFrame:
    """Per figure: the figure, the sum of its cells times their coefficients, and whether
    they agree (a figure of blank cells is blank)."""
    import pandas as pd

    if not len(traced):
        return pd.DataFrame(columns=["measure", "figure", "traced", "cells", "agrees"])
    keys = traced.attrs.get("keys") or ["area"]
    out = []
    for group, part in traced.groupby([*keys, "measure"], dropna=False, sort=False):
        values = part["value"]
        total = None if values.isna().all() else int((values.fillna(0).astype("int64")
                                                      * part["coefficient"].astype("int64")).sum())
        figure = part["figure"].iloc[0]
        figure = None if figure is None or pd.isna(figure) else int(figure)
        out.append({**dict(zip([*keys, "measure"], group if isinstance(group, tuple) else (group,),
                               strict=True)),
                    "figure": figure, "traced": total, "cells": len(part), "agrees": figure == total})
    return pd.DataFrame(out)
