"""The warehouse as it was at an audit event: a state to consolidate and publish from.

Every change of the warehouse's recorded tables is an audit event (store/events.py), so a
state is named by its last event, the *cut*: the state at cut E holds every row recorded by
event E and none recorded after it. `gbvstats publish` makes every release from such a
state (the latest one, or `--as-of TIMESTAMP`'s), so a release is a function of its cut,
its parameters and the code, and can be made again byte for byte.

A state is a warehouse of its own, in a temporary folder (`snapshot`): migrated by the
same migrations, its dimension tables loaded from the same schemas, and each recorded
table copied as of the cut by its rule, `gbvstats/sql/asof/<table>.sql` (listed in
`tables.yaml`, with the tables a state reloads, recomputes or leaves out). Consolidation,
the publication gate and disclosure control then run on it with the same code as on the
warehouse, and the stored warehouse is only read: nothing in it changes.

What guarantees it: the copy is read under one read-only connection (no writer in
between); every table of the warehouse must be classified, else the state is refused
(GBV-L004); and a state at the latest event must hold every row of every copied table
(GBV-L005), so a rule that falls behind a new kind of event is caught the first time
anything is published.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.paths import load_yaml, sql_dir

if TYPE_CHECKING:
    from gbvstats.store.warehouse import Warehouse

INDICATOR = re.compile(r"^ind\d\d_[a-z0-9_]+$")


class AsOfError(Exception):
    """A state that cannot be made: its findings (GBV-L) say why; exit `code`."""

    def __init__(self, findings: list[Finding], code: int = 1):
        self.findings, self.code = findings, code
        super().__init__(findings[0].message("en"))

    def message(self, lang: str = "en") -> str:
        return "; ".join(f.message(lang) for f in self.findings)


@dataclass(frozen=True)
class Cut:
    """A state of the warehouse: every event up to `event` (0: nothing recorded yet);
    `at` is that event's time."""

    event: int
    at: datetime | None
    notes: tuple[Finding, ...] = field(default=(), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"last_event": self.event, "as_of": _iso(self.at)}


@dataclass(frozen=True)
class Plan:
    copied: tuple[str, ...]
    reloaded: tuple[str, ...]
    recomputed: tuple[str, ...]
    left_out: dict[str, str]

    def classify(self, table: str) -> str | None:
        if table in self.copied:
            return "copied"
        if table in self.reloaded:
            return "reloaded"
        if table in self.recomputed or INDICATOR.match(table):
            return "recomputed"
        if table in self.left_out:
            return "left_out"
        return None


@cache
def plan() -> Plan:
    folder = sql_dir() / "asof"
    data = load_yaml((folder / "tables.yaml").read_text(encoding="utf-8")) or {}
    copied = tuple(data.get("copied") or ())
    for table in copied:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", table) or not (folder / f"{table}.sql").is_file():
            raise ValueError(f"gbvstats/sql/asof/tables.yaml: {table!r} has no {table}.sql beside it")
    return Plan(copied, tuple(data.get("reloaded") or ()), tuple(data.get("recomputed") or ()),
                dict(data.get("left_out") or {}))


@cache
def _rule(table: str) -> str:
    return (sql_dir() / "asof" / f"{table}.sql").read_text(encoding="utf-8")


def parse_time(text: str) -> datetime:
    """`2024-05-01`, `2024-05-01T10:30`, `2024-05-01 10:30:00`, with an optional zone
    (`Z`, `+06:00`); without a zone the time is UTC, as the warehouse records it."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def latest(con) -> Cut:
    """The cut of the warehouse as it is now (`con` a connection to it)."""
    row = con.execute("SELECT event_id, event_at FROM audit_log ORDER BY event_id DESC LIMIT 1").fetchall()
    return Cut(row[0][0], row[0][1]) if row else Cut(0, None)


def cut_at(con, when: datetime, file: str = "") -> Cut:
    """The state at time `when`: every event recorded at or before it. The audit log's
    times should rise with its ids; where they do not around `when` (files loaded with
    their original dates), the cut is still the last event at or before `when`, and a
    note (GBV-L006) says which events are on the wrong side."""
    found = con.execute("SELECT max(event_id) FROM audit_log WHERE event_at <= ?", [when]).fetchall()[0][0]
    event = int(found or 0)
    if not event:
        first = con.execute("SELECT min(event_at) FROM audit_log").fetchall()[0][0]
        raise AsOfError([Finding(code="GBV-L007", file=file,
                                 params={"when": _iso(when), "first": _iso(first) or "-"})], 2)
    at = con.execute("SELECT event_at FROM audit_log WHERE event_id = ?", [event]).fetchall()[0][0]
    later, earlier = con.execute(
        "SELECT count(*) FILTER (WHERE event_id <= $1 AND event_at > $2), "
        "count(*) FILTER (WHERE event_id > $1 AND event_at <= $2) FROM audit_log",
        [event, when]).fetchall()[0]
    notes = ()
    if later or earlier:
        notes = (Finding(code="GBV-L006", file=file, params={
            "when": _iso(when), "event": event, "later": later, "earlier": earlier}),)
    return Cut(event, at, notes)


def check_tables(con, file: str = "") -> list[Finding]:
    """Every table of the warehouse must be classified in tables.yaml (GBV-L004)."""
    tables = [t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND NOT internal ORDER BY 1").fetchall()]
    p = plan()
    return [Finding(code="GBV-L004", file=file, params={"table": t}) for t in tables if p.classify(t) is None]


@contextmanager
def snapshot(wh: Warehouse, when: datetime | None = None, cut: Cut | None = None,
             folder: Path | None = None) -> Iterator[tuple[Warehouse, Cut]]:
    """A temporary warehouse holding `wh`'s state at `cut` (else at time `when`, else now),
    and that cut; removed on leaving. `wh` is only read."""
    from gbvstats.store.warehouse import Warehouse

    work = Path(tempfile.mkdtemp(prefix="gbvstats-asof-", dir=folder))
    try:
        snap = Warehouse(work / "state.duckdb", wh.reg, lock_timeout=wh.lock_timeout)
        snap._dims = wh._dimension_rows()  # the same schemas: the same dimension rows
        with snap.writer():
            pass  # migrated, dimension tables loaded
        chosen = wh.read(lambda con: _copy(con, snap.path, wh.path.name, when, cut))
        yield snap, chosen
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy(con, target: Path, file: str, when: datetime | None, cut: Cut | None) -> Cut:
    """On a read-only connection to the warehouse: choose the cut, then copy each recorded
    table as of it into `target` (attached for writing), in one transaction there."""
    problems = check_tables(con, file)
    if problems:
        raise AsOfError(problems, 1)
    now = latest(con)
    if cut is None:
        cut = cut_at(con, when, file) if when is not None else now
    if cut.event > now.event:
        raise AsOfError([Finding(code="GBV-L007", file=file,
                                 params={"when": f"event {cut.event}", "first": "-"})], 2)
    present = {t for (t,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    path = str(target).replace("'", "''")
    con.execute(f"ATTACH '{path}' AS asof_state (READ_WRITE)")  # our own temporary file
    try:
        con.execute("BEGIN")
        try:
            for table in plan().copied:
                if table not in present:
                    continue
                # the table name is one of tables.yaml's, each checked to have its rule file
                con.execute(f"DELETE FROM asof_state.{table}")
                con.execute(f"INSERT INTO asof_state.{table} BY NAME {_rule(table)}", [cut.event])
            if cut.event == now.event:
                _check_whole(con, present, file)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.execute("DETACH asof_state")
    return cut


def _check_whole(con, present: set[str], file: str) -> None:
    """At the latest event the state holds every row: a rule that misses some is out of
    date (a new kind of event it does not know), and is refused rather than trusted."""
    short = []
    for table in plan().copied:
        if table in present:
            stored, copied = con.execute(
                f"SELECT (SELECT count(*) FROM {table}), (SELECT count(*) FROM asof_state.{table})").fetchall()[0]
            if stored != copied:
                short.append(Finding(code="GBV-L005", file=file,
                                     params={"table": table, "stored": stored, "copied": copied}))
    if short:
        raise AsOfError(short, 1)


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
