"""Tracing a published number back to the submissions and cells it came from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gbvstats.consolidate.run import pipelines
from gbvstats.paths import sql_dir

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.store.warehouse import Warehouse


def trace(wh: Warehouse, table: str, year: int, where: str | None = None) -> pd.DataFrame:
    """The current cells of the elements the table declares (`-- elements:`), for the
    territories of the selected rows. `where` filters the indicator rows (SQL on its columns)."""
    by_id = {p.id: p for p in pipelines()}
    if table not in by_id:
        raise KeyError(f"no indicator table {table}; known: {', '.join(sorted(by_id))}")
    pairs = [e.split(":", 1) for e in by_id[table].listed("elements") if ":" in e]
    if not pairs:
        raise KeyError(f"{table} is computed from consolidation results, not from cells")
    forms = [f for f, _ in pairs]
    elements = [e for _, e in pairs]
    rows = wh.query(f"SELECT DISTINCT territory FROM {table} WHERE year = ?"
                    + (f" AND ({where})" if where else ""), [year])
    territories = rows["territory"].tolist()
    national = "41700000000000" in territories
    # the caller's filter is read-only SQL on a read-only connection: it cannot change data
    sql = (sql_dir() / "consolidate" / "trace.sql").read_text(encoding="utf-8")
    return wh.query(sql, [year, forms, elements, territories, national])

