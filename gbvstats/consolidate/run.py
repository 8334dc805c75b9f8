"""The NSC's annual consolidation: completeness, reconciliation, then the indicator
pipelines (`pipelines/NN_name.sql`), each run for one year into its `ind_*` table."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.paths import pipelines_dir

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.store.warehouse import Warehouse

_IDENT = re.compile(r"^ind\d\d_[a-z0-9_]+$")


@dataclass
class Pipeline:
    path: Path
    meta: dict[str, str]
    sql: str

    @property
    def id(self) -> str:
        return self.meta["id"]

    def label(self, key: str, lang: str) -> str:
        return self.meta.get(f"{key}.{lang}") or self.meta.get(f"{key}.en", "")

    def listed(self, key: str) -> list[str]:
        return [x.strip() for x in self.meta.get(key, "").split(",") if x.strip()]


def pipeline_meta(text: str) -> dict[str, str]:
    """The `-- key: value` header lines at the top of a pipeline file."""
    meta = {}
    for line in text.splitlines():
        m = re.match(r"^--\s*([a-z_.]+):\s*(.*)$", line)
        if not m:
            break
        meta[m[1]] = m[2].strip()
    return meta


def pipelines(root: Path | None = None) -> list[Pipeline]:
    out = []
    for path in sorted((root or pipelines_dir()).glob("[0-9][0-9]_*.sql")):
        text = path.read_text(encoding="utf-8")
        meta = pipeline_meta(text)
        if not _IDENT.match(meta.get("id", "")):
            raise ValueError(f"{path}: header line `-- id: indNN_name` missing or malformed")
        body = "\n".join(ln for ln in text.splitlines() if not ln.startswith("--")).strip()
        out.append(Pipeline(path, meta, body.rstrip(";")))
    return out


def run_pipeline(con, p: Pipeline, year: int) -> int:
    """Replace the year's rows of the pipeline's table (the id is a checked identifier)."""
    con.execute("SET VARIABLE year = ?", [year])
    con.execute(f"CREATE TABLE IF NOT EXISTS {p.id} AS SELECT * FROM ({p.sql}) LIMIT 0")
    con.execute(f"DELETE FROM {p.id} WHERE year = ?", [year])
    con.execute(f"INSERT INTO {p.id} BY NAME {p.sql}")
    return con.execute(f"SELECT count(*) FROM {p.id} WHERE year = ?", [year]).fetchall()[0][0]


@dataclass
class RunReport:
    run_id: int
    year: int
    completeness: Any = None  # summary DataFrame
    discrepancies: Any = None
    tables: dict[str, int] = field(default_factory=dict)


def consolidate(wh: Warehouse, year: int, accepted_only: bool = False) -> RunReport:
    """Completeness, reconciliation and every indicator table for one year, recorded as a run.
    `accepted_only`: every view over current submissions (hence the controls and the
    indicator tables) sees, per form, unit and period, the latest revision the NSC accepted."""
    from gbvstats.consolidate import completeness, reconcile

    started = datetime.now(UTC).replace(tzinfo=None)
    with wh.writer(create=False) as con:
        run_id = con.execute("SELECT COALESCE(max(run_id), 0) + 1 FROM consolidation_runs").fetchall()[0][0]
        con.execute("SET VARIABLE accepted_only = ?", [accepted_only])
        con.execute("BEGIN")
        try:
            detail, summary = completeness.completeness(con, wh.reg, year)
            completeness.store(con, year, detail)
            reconcile.reconcile(con, wh.reg, year, run_id)
            report = RunReport(run_id, year, summary, reconcile.discrepancies(con, year))
            for p in pipelines():
                report.tables[p.id] = run_pipeline(con, p, year)
            con.execute("INSERT INTO consolidation_runs VALUES (?, ?, ?, ?, ?)",
                        [run_id, year, started, datetime.now(UTC).replace(tzinfo=None),
                         json.dumps({"tables": report.tables, "accepted_only": accepted_only})])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.execute("RESET VARIABLE accepted_only")
    return report


def indicator(wh: Warehouse, table: str, year: int | None = None) -> pd.DataFrame:
    ids = {p.id for p in pipelines()}
    if table not in ids:
        raise KeyError(f"no indicator table {table}; known: {', '.join(sorted(ids))}")
    where = "" if year is None else " WHERE year = ?"
    return wh.query(f"SELECT * FROM {table}{where}", [] if year is None else [year])
