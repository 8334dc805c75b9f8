"""The NSC's annual consolidation: completeness, reconciliation, then the indicator
pipelines (`pipelines/NN_name.sql`), each run for one year into its `ind_*` table."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.paths import pipelines_dir, sql_dir
from gbvstats.store.warehouse import INDICATOR_TABLE

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.store.warehouse import Warehouse

_IDENT = INDICATOR_TABLE  # one rule for what an indicator table is


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
        m = re.match(r"^--\s*([a-z0-9_.]+):\s*(.*)$", line)
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


_WIDE_INTEGERS = re.compile(r"^(HUGEINT|UHUGEINT|UBIGINT|DECIMAL\(\d+,\s*0\))$")


def run_pipeline(con, p: Pipeline, year: int) -> int:
    """Replace the year's rows of the pipeline's table (the id is a checked identifier).
    Counts are stored as BIGINT: DuckDB's sum() of a BIGINT is a HUGEINT, which readers
    through pandas would see as floats. A table whose columns differ from what the
    pipeline now makes (the SQL changed) is made anew: its other years need consolidating
    again."""
    con.execute("SET VARIABLE year = ?", [year])
    described = con.execute(f"DESCRIBE SELECT * FROM ({p.sql})").fetchall()
    select = ", ".join(  # column names as the catalog gives them, quoted
        f'CAST("{name}" AS BIGINT) AS "{name}"' if _WIDE_INTEGERS.match(str(dtype)) else f'"{name}"'
        for name, dtype, *_ in ((r[0].replace('"', '""'), r[1]) for r in described))
    shaped = f"SELECT {select} FROM ({p.sql})"
    wanted = [(r[0], "BIGINT" if _WIDE_INTEGERS.match(str(r[1])) else str(r[1])) for r in described]
    stored = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                         "WHERE table_name = ? ORDER BY ordinal_position", [p.id]).fetchall()
    if stored and [tuple(r) for r in stored] != wanted:
        con.execute(f"DROP TABLE {p.id}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {p.id} AS {shaped} LIMIT 0")
    con.execute(f"DELETE FROM {p.id} WHERE year = ?", [year])
    con.execute(f"INSERT INTO {p.id} BY NAME {shaped}")
    return con.execute(f"SELECT count(*) FROM {p.id} WHERE year = ?", [year]).fetchall()[0][0]


def _sql(name: str) -> str:
    return (sql_dir() / "consolidate" / name).read_text(encoding="utf-8")


@dataclass
class RunReport:
    run_id: int
    year: int
    completeness: Any = None  # summary DataFrame
    discrepancies: Any = None
    tables: dict[str, int] = field(default_factory=dict)
    results: dict[str, int] = field(default_factory=dict)  # rule results by status


def next_run_id(con) -> int:
    """Run numbers come from one sequence for `reconcile` and `consolidate` (both store
    rule results), so two runs never share a number. Called under the writer lock."""
    return con.execute("SELECT greatest((SELECT COALESCE(max(run_id), 0) FROM consolidation_runs), "
                       "(SELECT COALESCE(max(run_id), 0) FROM rule_results)) + 1").fetchall()[0][0]


def record_run(con, run_id: int, year: int, command: str, started: datetime, detail: dict) -> None:
    con.execute("INSERT INTO consolidation_runs (run_id, year, started_at, finished_at, detail, command) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [run_id, year, started, _now(), json.dumps(detail), command])


def _seen(con) -> dict[str, int]:
    """The last audit event and submission a run saw: anything newer makes it stale."""
    event, submission = con.execute(
        "SELECT (SELECT coalesce(max(event_id), 0) FROM audit_log), "
        "(SELECT coalesce(max(submission_id), 0) FROM submissions)").fetchall()[0]
    return {"last_event": event, "last_submission": submission}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def reconcile_year(wh: Warehouse, year: int) -> RunReport:
    """The controls alone (no indicator tables), recorded as a run of their own."""
    from gbvstats.consolidate import reconcile

    started = _now()
    with wh.writer(create=False) as con:
        run_id = next_run_id(con)
        con.execute("BEGIN")
        try:
            results = reconcile.reconcile(con, wh.reg, year, run_id)
            counts = results["status"].value_counts().to_dict() if len(results) else {}
            record_run(con, run_id, year, "reconcile", started, {"results": counts, **_seen(con)})
            report = RunReport(run_id, year, None, reconcile.discrepancies(con, year))
            report.results = counts
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return report


class ConsolidateError(Exception):
    """A user-facing consolidation problem: a message key of messages/consolidate.yaml."""

    def __init__(self, key: str, code: int = 2, **params: object):
        self.key, self.code, self.params = key, code, params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gbvstats.i18n import t

        return t(f"consolidate.error.{self.key}", lang, **self.params)


def consolidate(wh: Warehouse, year: int, accepted_only: bool = False) -> RunReport:
    """Completeness, reconciliation and every indicator table for one year, recorded as a
    run. A year without any accepted return is refused: its tables would be blank rows.
    `accepted_only`: every view over current submissions (hence the controls and the
    indicator tables) sees, per form, unit and period, the latest revision the NSC accepted;
    a year where the NSC accepted none is refused likewise."""
    from gbvstats.consolidate import completeness, reconcile

    started = _now()
    with wh.writer(create=False) as con:
        if not con.execute("SELECT count(*) FROM submissions WHERE year = ?", [year]).fetchall()[0][0]:
            raise ConsolidateError("no_data", year=year, warehouse=wh.path)
        if accepted_only and not con.execute(_sql("reviewed_accepted.sql"), [year]).fetchall()[0][0]:
            raise ConsolidateError("none_reviewed", year=year, warehouse=wh.path)
        run_id = next_run_id(con)
        con.execute("SET VARIABLE accepted_only = ?", [accepted_only])
        con.execute("BEGIN")
        try:
            detail, summary = completeness.completeness(con, wh.reg, year)
            completeness.store(con, year, detail)
            results = reconcile.reconcile(con, wh.reg, year, run_id)
            report = RunReport(run_id, year, summary, reconcile.discrepancies(con, year))
            report.results = results["status"].value_counts().to_dict() if len(results) else {}
            for p in pipelines():
                report.tables[p.id] = run_pipeline(con, p, year)
            record_run(con, run_id, year, "consolidate", started,
                       {"tables": report.tables, "accepted_only": accepted_only, **_seen(con)})
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
