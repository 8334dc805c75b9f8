"""The warehouse: a DuckDB file plus an archive of every file received.

Everything that touches storage goes through `Warehouse`, so a later move to another
catalog (DuckLake on PostgreSQL, see DESIGN.md) stays local to this module.
Writers take an advisory lock (one at a time, bounded wait); a chunk of submissions is one
transaction, and their original bytes are in the archive before any row refers to them.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.paths import sql_dir
from gbvstats.schema.model import Registry, registry
from gbvstats.store import holders

if TYPE_CHECKING:
    import duckdb

    from gbvstats.check.validate import ValidationReport

BATCH = 100  # files validated together in a batch load: one rule query per form version
DIM_COLUMNS = ("sex", "age", "violence_form", "exploitation", "relationship", "citizenship",
               "place", "offence", "stage", "service", "sanction", "education", "activity")
DIMENSION_TABLES = ("dim_territory", "dim_element", "concordance", "dim_period")
DERIVED_TABLES = ("rule_results", "consolidation_runs", "completeness_results", "rule_agencies",
                  "quality_runs")
INDICATOR_TABLE = re.compile(r"^ind\d\d_[a-z0-9_]+$")  # what pipelines/NN_name.sql make: derived
GLOSSARY_TABLES = ("submissions", "cells", "dim_element", "dim_territory", "dim_period")
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
YIELD_AFTER = 10.0  # a reader gives way to a writer that has waited this long (or half its wait)


class StoreError(Exception):
    """A user-facing warehouse problem: a message key of messages/store.yaml with its
    params (shown in the user's language by the CLI); `code` is the CLI exit code."""

    def __init__(self, key: str, code: int = 1, **params: object):
        self.key, self.code, self.params = key, code, params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gbvstats.i18n import pick, t

        # a param may itself be trilingual (who holds the warehouse): take our language
        params = {k: pick(v, lang) if isinstance(v, dict) and "en" in v else v
                  for k, v in self.params.items()}
        return t(f"store.error.{self.key}", lang, **params)


def sql_timeout(given: float | None = None) -> float | None:
    """Seconds an analyst's query may run: `given`, else GBVSTATS_SQL_TIMEOUT, else 60;
    0 means no limit (None)."""
    if given is None:
        try:
            given = float(os.environ.get("GBVSTATS_SQL_TIMEOUT", "60"))
        except ValueError:
            given = 60.0
    return given if given and given > 0 else None


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "store" / name).read_text(encoding="utf-8")


def migrations() -> list[tuple[int, str, str]]:
    out = []
    for path in sorted((sql_dir() / "migrations").glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        out.append((number, path.stem, path.read_text(encoding="utf-8")))
    return out


@dataclass
class Receipt:
    file: str
    outcome: str  # accepted | accepted_with_warnings | duplicate | rejected | refused_agency | unreadable
    submission_id: int | None = None
    sha256: str = ""
    form: str | None = None
    unit: str | None = None
    period: str | None = None
    revision: int | None = None
    supersedes: int | None = None
    duplicate_of: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"unreadable": 2, "rejected": 1, "refused_agency": 1}.get(self.outcome, 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"exit_code": self.exit_code}


class Warehouse:
    """A warehouse file and its archive: `Warehouse(path).submit(file, agency="MOI")`."""

    def __init__(self, path: Path | str, reg: Registry | None = None,
                 lock_timeout: float | None = None, on_wait=None, on_yield=None):
        self.path = Path(path)
        self.archive = self.path.parent / "archive"
        self.reg = reg or registry()
        # bounded wait for the writer lock: GBVSTATS_LOCK_TIMEOUT seconds, default 60
        self.lock_timeout = lock_timeout if lock_timeout is not None else float(
            os.environ.get("GBVSTATS_LOCK_TIMEOUT", "60"))
        # called once when a wait passes a second, with who holds the warehouse ({en, ru, ky})
        self.on_wait = on_wait or (lambda holder: None)
        # called when a read gave way to a waiting writer and will run again, with the writer
        self.on_yield = on_yield or (lambda holder: None)
        self._dims: tuple[dict[str, list[dict]], str] | None = None

    # --- connections and locking ------------------------------------------------------

    def check_path(self, create: bool = False) -> None:
        """Refuse, before anything is created beside it, a path that is not a warehouse: a
        directory, a device such as /dev/null, or a file that is not a DuckDB database.
        A missing path is an error unless `create` (a writer making a new warehouse)."""
        p = self.path
        if p.is_dir():
            raise StoreError("is_dir", 2, path=p)
        if not p.exists():
            if p.is_symlink():
                raise StoreError("not_warehouse", 2, path=p)
            if not create:
                raise StoreError("missing", 2, path=p)
            if p.parent.exists() and not p.parent.is_dir():
                raise StoreError("mkdir", 2, path=p.parent, reason=os.strerror(errno.ENOTDIR))
            return
        if not p.is_file():
            raise StoreError("not_warehouse", 2, path=p)
        try:
            with open(p, "rb") as fh:
                head = fh.read(12)
        except OSError as exc:
            raise StoreError("open", 2, path=p, reason=exc.strerror or exc) from None
        if head[8:12] != DUCKDB_MAGIC:
            raise StoreError("not_warehouse", 2, path=p)

    @contextmanager
    def writer(self, create: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """The single writer: advisory lock, then a read-write connection, migrated.
        With `create=False` a missing warehouse is an error, not a new empty one."""
        self.check_path(create)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError("mkdir", 2, path=self.path.parent, reason=exc.strerror or exc) from None
        record = holders.Record(self.path, "writer", "waiting", time.time() + self.lock_timeout)
        try:
            with self._lock():
                con = self._connect(read_only=False)
                record.update(state="holding")
                try:
                    self._migrate(con)
                    yield con
                finally:
                    con.close()
        finally:
            record.close()

    @contextmanager
    def reader(self, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection: no statement through it can change data.

        A read-only DuckDB connection keeps any other process from opening the file for
        writing, so a reader never holds a writer off past the writer's wait: while a
        statement runs, a watchdog stops it (`con.interrupt()`) when a writer has waited
        for half its wait (at most YIELD_AFTER seconds), raising StoreError `yielded`
        (`read()` and `query()` then run it again once the writer is done), or when
        `timeout` seconds have passed (StoreError `timeout`)."""
        deadline = None if not timeout else time.monotonic() + timeout
        with self._reading(deadline) as (con, watch):
            try:
                yield con
            except Exception:
                if watch.fired:
                    raise watch.error(timeout) from None
                raise

    @contextmanager
    def _reading(self, deadline: float | None):
        self.check_path(create=False)
        with self._lock(shared=True):
            con = self._connect(read_only=True)
        record = holders.Record(self.path, "reader")
        watch = _Watch(self, con, deadline)
        try:
            self._check_version(con)
            watch.start()
            yield con, watch
        finally:
            watch.finish()
            con.close()
            record.close()

    def read(self, work, timeout: float | None = None):
        """`work(con)` on a reader, run again when it gave way to a writer; `timeout`
        seconds in all (None: no limit) before StoreError `timeout`."""
        deadline = None if not timeout else time.monotonic() + timeout
        while True:
            with self._reading(deadline) as (con, watch):
                try:
                    return work(con)
                except Exception:
                    if watch.fired == "timeout":
                        raise watch.error(timeout) from None
                    if not watch.fired:
                        raise
            # gave way to a writer: wait for it (the shared lock), then run again
            self.on_yield(_describe(watch.writer))

    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def _lock(self, shared: bool = False) -> Iterator[None]:
        lock_path = self._lock_path()
        try:
            fh = open(lock_path, "a+")  # noqa: SIM115 - held for the duration of the block
        except OSError as exc:
            if not shared:
                raise StoreError("open", 2, path=lock_path, reason=exc.strerror or exc) from None
            yield  # a reader of a warehouse on read-only media: DuckDB's own lock suffices
            return
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        started = time.monotonic()
        warned = False
        try:
            while True:
                try:
                    fcntl.flock(fh, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    waited = time.monotonic() - started
                    if waited > self.lock_timeout:
                        raise StoreError("busy", path=self.path, seconds=f"{self.lock_timeout:g}",
                                         holder=self._holder_of_lock()) from None
                    if not warned and waited > 1:
                        self.on_wait(self._holder_of_lock())
                        warned = True
                    time.sleep(0.05)
            yield
        finally:
            fh.close()

    def _connect(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        import duckdb

        started = time.monotonic()
        warned = False
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                # another process (e.g. an analyst's DuckDB shell) has the file open
                if "lock" not in str(exc).lower():
                    raise StoreError("open", 2, path=self.path, reason=exc) from None
                waited = time.monotonic() - started
                if waited > self.lock_timeout:
                    raise StoreError("busy", path=self.path, seconds=f"{self.lock_timeout:g}",
                                     holder=self._holder_of_file(str(exc))) from None
                if not warned and waited > 1:
                    self.on_wait(self._holder_of_file(str(exc)))
                    warned = True
                time.sleep(0.1)

    def _holder_of_lock(self) -> dict[str, str]:
        """Who holds our advisory lock: a gbvstats writer (its record) or someone unknown."""
        for h in holders.holders(self.path):
            if h.role == "writer" and h.state == "holding" and h.pid != os.getpid():
                return _describe(h)
        return _describe(None)

    def _holder_of_file(self, duckdb_message: str) -> dict[str, str]:
        """Who holds DuckDB's file lock: DuckDB names the process; our record says more."""
        pid = holders.pid_in(duckdb_message)
        if pid is None:
            return _describe(None)
        return _describe(holders.record_of(self.path, pid) or pid)

    def _migrate(self, con) -> None:
        con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)")
        self._check_version(con)
        applied = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
        for number, name, sql in migrations():
            if number in applied:
                continue
            con.execute("BEGIN")
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [number, name, _now()])
            con.execute("COMMIT")
        self._refresh_dimensions(con)

    def _check_version(self, con) -> None:
        known = max(n for n, _, _ in migrations())
        try:
            found = con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0][0]
        except Exception:  # a brand-new file: nothing applied yet
            return
        if found is not None and found > known:
            raise StoreError("newer", 2, path=self.path, found=found, known=known)

    def _refresh_dimensions(self, con) -> None:
        """Territories, periods, cells of every form version and concordances, from the
        schemas; reloaded in one transaction whenever they differ from what is stored (a
        new form version, or a crash right after the first migration)."""
        import pandas as pd

        rows, fingerprint = self._dimension_rows()
        stored = con.execute("SELECT fingerprint FROM dimension_source").fetchall()
        if stored and stored[0][0] == fingerprint:
            return
        con.execute("BEGIN")
        for table in DIMENSION_TABLES:
            con.execute(f"DELETE FROM {table}")  # table names from this fixed tuple
            if rows[table]:
                con.register("rows_df", pd.DataFrame(rows[table]))
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM rows_df")
                con.unregister("rows_df")
        con.execute("DELETE FROM dimension_source")
        con.execute("INSERT INTO dimension_source VALUES (?)", [fingerprint])
        con.execute("COMMIT")

    def _dimension_rows(self) -> tuple[dict[str, list[dict]], str]:
        if self._dims is None:
            rows = dimension_rows(self.reg)
            text = json.dumps(rows, sort_keys=True, default=str)
            self._dims = rows, hashlib.sha256(text.encode()).hexdigest()
        return self._dims

    # --- submitting ------------------------------------------------------------------

    def submit(self, path: Path | str, agency: str, by: str | None = None,
               received_at: datetime | None = None, report: ValidationReport | None = None,
               received_on: date | None = None) -> Receipt:
        """Validate and store one file. Validation runs before the lock is taken.
        `received_on`: the date the return was originally received, when loading returns
        received earlier (recorded as declared; completeness judges lateness by it)."""
        from gbvstats.check.validate import validate_file

        self.check_path(create=True)
        report = report or validate_file(Path(path), self.reg)
        _check_received_on([(Path(path), report)], received_on)
        with self.writer() as con:
            return self._submit_chunk(con, [(Path(path), agency, by, received_at, report)], received_on)[0]

    def submit_many(self, items, on_receipt=None, received_on: date | None = None) -> list[Receipt]:
        """Submit (path, agency, by, received_at) items: for an agency's quarter of files
        or batch loads such as the demo. Each chunk of BATCH files is validated together
        before the writer lock is taken, then written in one transaction under the lock
        (other writers wait for a chunk, never for a whole load); a failure stores none
        of that chunk, and receipts are reported only once their chunk is committed."""
        from gbvstats.check.validate import validate_files

        self.check_path(create=True)  # before any file is validated
        items = list(items)
        receipts = []
        for start in range(0, len(items), BATCH):
            chunk = items[start:start + BATCH]
            reports = validate_files([Path(p) for p, _, _, _ in chunk], self.reg)
            _check_received_on([(Path(p), r) for (p, *_), r in zip(chunk, reports, strict=True)], received_on)
            entries = [(Path(p), agency, by, when, report)
                       for (p, agency, by, when), report in zip(chunk, reports, strict=True)]
            with self.writer() as con:
                done = self._submit_chunk(con, entries, received_on)
            for receipt in done:
                receipts.append(receipt)
                if on_receipt:
                    on_receipt(receipt)
        return receipts

    def _submit_chunk(self, con, entries: list[tuple], received_on: date | None = None) -> list[Receipt]:
        """Decide every file of a chunk (refused, duplicate, new revision), then write the
        chunk's rows with one statement per table, all in one transaction."""
        con.execute("BEGIN")
        try:
            rows = _Rows.starting(con, [report for *_, report in entries])
            receipts = [self._plan(rows, *entry, received_on=received_on) for entry in entries]
            rows.write(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return receipts

    def _plan(self, rows: _Rows, path: Path, agency: str, by, received_at, report,
              received_on: date | None = None) -> Receipt:
        from gbvstats.check.validate import period_open

        when = received_at or _now()
        period_open(report, when)  # GBV-F050: a period not yet ended on arrival is refused
        receipt = Receipt(file=path.name, outcome="", sha256=report.sha256,
                          form=report.form.key if report.form else None,
                          unit=report.header.get("unit"), period=report.header.get("period"),
                          counts=report.counts(),
                          findings=[f.to_dict() for f in report.findings])
        refused = self._refusal(report, agency)
        if refused:
            receipt.outcome = refused
            findings = list(report.findings)
            if refused == "refused_agency":
                findings.append(_note(receipt, "GBV-W001", path.name, form=report.form.form,
                                      owner=report.form.agency, agency=agency))
            rows.audit(when, refused, agency, by, path.name, report.sha256, None,
                       {"form": report.form.form if report.form else None,
                        "unit": report.header.get("unit"),
                        "period": report.header.get("period"),
                        "findings": [_brief(f) for f in findings]})
            return receipt
        existing = rows.known.get(report.sha256)
        if existing:
            receipt.outcome, receipt.duplicate_of = "duplicate", existing
            _note(receipt, "GBV-W002", path.name, submission_id=existing)
            return receipt
        archived = self._archive(path, report.sha256)
        rows.accept(report, agency, by, path.name, archived, when, receipt, received_on)
        if receipt.supersedes:
            _note(receipt, "GBV-W003", path.name, revision=receipt.revision, form=report.form.form,
                  unit=receipt.unit, period=receipt.period, supersedes=receipt.supersedes)
        return receipt

    def _refusal(self, report: ValidationReport, agency: str) -> str | None:
        if report.verdict == "unreadable":
            return "unreadable"
        if report.form.agency != agency.upper():
            return "refused_agency"
        if report.verdict == "errors" or "unit" not in report.header or "period" not in report.header:
            return "rejected"
        return None

    def _archive(self, path: Path, sha: str) -> str:
        """Store the original bytes once under their hash: temp file, fsync, rename."""
        relative = f"{sha[:2]}/{sha}{path.suffix.lower()}"
        target = self.archive / relative
        if target.exists():
            return relative
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            data = path.read_bytes()
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            with suppress(OSError):
                tmp.unlink()
            if exc.errno == errno.ENOSPC:
                raise StoreError("disk_full", path=self.archive) from None
            raise StoreError("archive", path=self.archive, reason=exc.strerror or exc) from None
        return relative

    def _audit(self, con, when, event, agency, actor, file_name, sha, sid, detail) -> None:
        rows = _Rows(next_eid=con.execute(_sql("next_ids.sql")).fetchall()[0][1])
        rows.audit(when, event, agency, actor, file_name, sha, sid, detail)
        rows.write(con)

    def audit(self, con, event: str, actor: str | None, detail: dict, agency: str | None = None,
              submission_id: int | None = None, when: datetime | None = None) -> datetime:
        """Append one event to the audit log inside the caller's transaction (verbs of
        other modules that change recorded tables, e.g. NSC decisions); returns its time."""
        when = when or _now()
        self._audit(con, when, event, agency, actor, None, None, submission_id, detail)
        return when

    # --- other verbs ------------------------------------------------------------------

    def explain(self, submission_id: int, rule_id: str, text: str, author: str | None) -> int:
        from gbvstats.consolidate.reconcile import load_rules

        known = {r.id for f in self.reg.versions() for r in f.rules} | {r.id for r in load_rules()}
        if rule_id not in known:
            raise StoreError("unknown_rule", 2, rule_id=rule_id)
        with self.writer(create=False) as con:
            if not con.execute("SELECT 1 FROM submissions WHERE submission_id = ?",
                               [submission_id]).fetchall():
                raise StoreError("no_submission", id=submission_id)
            when = _now()
            con.execute("BEGIN")
            eid = con.execute("SELECT nextval('explanation_seq')").fetchall()[0][0]
            con.execute("INSERT INTO explanations VALUES (?, ?, ?, ?, ?, ?)",
                        [eid, submission_id, rule_id, text, author, when])
            self._audit(con, when, "explanation", None, author, None, None, submission_id,
                        {"rule_id": rule_id, "text": text})
            con.execute("COMMIT")
            return eid

    def query(self, sql: str, params: list | None = None, timeout: float | None = None):
        """Read-only SQL: a DataFrame. Statements that change data fail. Stopped after
        `timeout` seconds (None: no limit); run again if it gave way to a writer."""
        import duckdb

        def run(con):
            # no files written or attached either (COPY TO, ATTACH, httpfs): data stays put
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            try:
                return integer_frame(con.execute(sql, params or []))
            except duckdb.InterruptException:
                raise
            except duckdb.Error as exc:
                raise StoreError("query", reason=exc) from None

        return self.read(run, timeout)

    def history(self, form: str, unit: str, period: str):
        return self.query(_sql("history.sql"), [form, unit, period])

    def status(self):
        return self.query(_sql("status.sql"))

    def checksum(self) -> dict[str, str]:
        """An order-independent content checksum (rows:md5) of every recorded table.

        Left out: `schema_migrations` (its applied_at is when this file was migrated) and
        the consolidation outputs (DERIVED_TABLES, the indicator tables `indNN_name`), which are recomputed by
        `gbvstats consolidate` rather than recorded, so a rebuild does not replay them."""
        def sums(con) -> dict[str, str]:
            tables = [t for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1").fetchall()]
            out = {}
            for table in tables:
                if table == "schema_migrations" or table in DERIVED_TABLES or INDICATOR_TABLE.match(table):
                    continue
                sql = _sql("checksum.sql").replace("{table}", table)  # from the catalog
                count, digest = con.execute(sql).fetchall()[0]
                out[table] = f"{count}:{digest or '-'}"
            return out

        return self.read(sums)

    def rebuild(self, target: Path, on_chunk=None) -> int:
        """A new warehouse from the archive and the audit log, replaying every event in its
        original order (`store/events.py` says how each kind is replayed): in chunks of
        BATCH files, each chunk's files validated together, then written in one
        transaction, as `submit_many` loads them. Ids, times and audit details are kept
        as recorded, and each replayed acceptance must come out as recorded (status,
        submission id, revision). Written under a temporary name and renamed when
        complete, so an interrupted rebuild leaves no half warehouse at `target`."""
        from gbvstats.check.validate import validate_files
        from gbvstats.store import events as ev_mod

        target = Path(target)
        if target.exists() or target.is_symlink():
            raise StoreError("exists", 2, path=target)
        log = ev_mod.events_of(self.query("SELECT * FROM audit_log ORDER BY event_id"))
        unknown = sorted({e.event for e in log} - set(ev_mod.EVENTS))
        if unknown:
            first = next(e for e in log if e.event in unknown)
            raise StoreError("replay_unknown", kinds=", ".join(unknown), event=first.event_id)
        files = self.query("SELECT sha256, archive_path, file_name FROM submissions")
        by_sha = {r.sha256: (r.archive_path, r.file_name) for r in files.itertuples()}
        for rel, _ in by_sha.values():
            if not (self.archive / rel).is_file():
                raise StoreError("archive_lacks", path=self.archive / rel)
        building = target.with_name(f".{target.name}.building")
        for leftover in (building, building.with_name(building.name + ".wal")):
            leftover.unlink(missing_ok=True)
        new = Warehouse(building, self.reg, self.lock_timeout)
        replayed = 0
        with new.writer() as con:
            for chunk in ev_mod.chunks(log, BATCH):
                shas = [e.sha256 for e in chunk if ev_mod.EVENTS[e.event].needs_file]
                missing = [e for e in chunk if ev_mod.EVENTS[e.event].needs_file and e.sha256 not in by_sha]
                if missing:
                    raise StoreError("replay_differs", event=missing[0].event_id, kind=missing[0].event,
                                     what="no submission holds its file")
                paths = [self.archive / by_sha[s][0] for s in shas]
                reports = dict(zip(shas, validate_files(paths, self.reg), strict=True))
                for sha, path in zip(shas, paths, strict=True):
                    new._archive(path, sha)  # the bytes before the rows, as in a submit
                con.execute("BEGIN")
                try:
                    rows = _Rows.starting(con, list(reports.values()))
                    replay = ev_mod.Replay(con, rows, reports, by_sha)
                    for e in chunk:
                        ev_mod.EVENTS[e.event].replay(replay, e)
                    rows.write(con)
                    con.execute("COMMIT")
                except ev_mod.ReplayError as exc:
                    con.execute("ROLLBACK")
                    raise StoreError(exc.key, **exc.params) from None
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                replayed += len(shas)
                if on_chunk:
                    on_chunk(len(chunk))
        os.replace(building, target)
        building.with_name(building.name + ".lock").unlink(missing_ok=True)
        return replayed

    def dictionary(self) -> str:
        """The data dictionary as Markdown, from the live catalog and the DDL comments."""
        objects, columns = self.read(lambda con: (con.execute(_sql("dictionary_objects.sql")).fetchall(),
                                                  con.execute(_sql("dictionary_columns.sql")).fetchall()))
        # a view column without its own comment means what the base column of that name means
        glossary: dict[str, str] = {}
        for table in GLOSSARY_TABLES:
            for t, column, _, comment in columns:
                if t == table and comment:
                    glossary.setdefault(column, comment)
        by_table: dict[str, list] = {}
        for table, column, dtype, comment in columns:
            by_table.setdefault(table, []).append((column, dtype, comment or glossary.get(column)))
        lines = ["# Warehouse data dictionary", "",
                 "Generated by `gbvstats dictionary` from the warehouse catalog and the comments "
                 "in `gbvstats/sql/migrations/`. Open the warehouse read-only to query it.", ""]
        for name, kind, comment in objects:
            lines += [f"## `{name}` ({kind})", "", comment or "", ""]
            if by_table.get(name):
                lines += ["| column | type | meaning |", "|---|---|---|"]
                lines += [f"| `{c}` | {t} | {m or ''} |" for c, t, m in by_table[name]]
                lines.append("")
        lines += ["## `as_of(ts)` (table macro)", "",
                  "Current cells as known at timestamp `ts`: `SELECT * FROM as_of(TIMESTAMP '2024-05-01')`.", ""]
        return "\n".join(lines)


_INTEGER_TYPES = re.compile(r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER"
                            r"|UBIGINT|UHUGEINT|DECIMAL\(\d+,\s*0\))$")


def integer_frame(cursor):
    """The result of a query as a DataFrame whose integer columns stay integers: DuckDB's
    sum() of a BIGINT is a HUGEINT, which pandas would otherwise turn into floats (7178.0)."""
    description = cursor.description or []
    frame = cursor.df()
    for i, (_, dtype, *_) in enumerate(description):
        if i < frame.shape[1] and _INTEGER_TYPES.match(str(dtype)):
            column = frame.iloc[:, i]
            if column.dtype != "Int64" and column.dtype.kind in "fiuO":
                frame.isetitem(i, column.astype("Int64"))
    return frame


def dimension_rows(reg: Registry) -> dict[str, list[dict]]:
    """The rows of the dimension tables (DIMENSION_TABLES) as the schemas define them."""
    rows = {"dim_territory": _territory_rows(reg), "dim_element": [], "concordance": [],
            "dim_period": _period_rows(reg)}
    for form in reg.versions():
        rows["dim_element"].extend(_element_rows(form))
        rows["concordance"].extend(_concordance_rows(reg, form))
    return rows


def _territory_rows(reg: Registry) -> list[dict]:
    codes = reg.territories().codes
    area_of = {c.code: getattr(c, "sdmx_code", None) for c in codes}
    rows = []
    for c in codes:
        level = getattr(c, "level", "")
        oblast = c.code if level in ("oblast", "country") else reg.oblast_of(c.code)
        rows.append({"soate": c.code, "sdmx_code": area_of[c.code] or None, "level": level,
                     "parent": c.parent, "oblast": oblast, "area": area_of.get(oblast),
                     "name_en": c.label.get("en"), "name_ru": c.label.get("ru")})
    return rows


def _element_rows(form) -> list[dict]:
    rows = []
    for table in form.tables:
        for line in table.lines:
            for col in table.columns:
                dims = {**line.dims, **col.dims}
                rows.append({"form": form.form, "version": form.version, "tbl": table.id,
                             "line": line.code, "col": col.number, "element": line.element,
                             "parent_line": line.parent, "iccs": line.iccs,
                             **{d: dims.get(d) for d in DIM_COLUMNS}})
    return rows


def _period_rows(reg: Registry) -> list[dict]:
    """Deterministic from the schemas (not from today's date), so a rebuilt warehouse
    has the same rows as its original."""
    from gbvstats.periods import periods_of_year

    starts = [int(f.valid_from[:4]) for f in reg.versions()]
    rows = []
    for year in range(min(starts), max(starts) + 11):
        for periodicity in ("year", "quarter", "month"):
            for p in periods_of_year(year, periodicity):
                quarter = {"year": None, "quarter": p.index, "month": (p.index + 2) // 3}[periodicity]
                rows.append({"period": str(p), "periodicity": periodicity, "year": year,
                             "quarter": quarter, "month": p.index if periodicity == "month" else None,
                             "start_date": p.start, "end_date": p.end})
    return rows


def _concordance_rows(reg: Registry, form) -> list[dict]:
    """Map every older version's cells to the latest version by chaining concordances."""
    latest = reg.get(form.form)
    if form.version == latest.version:
        return []
    mapping: dict[tuple, tuple] = {}
    current = latest
    chain = {}
    while current.concordance:
        prev_version = current.concordance.previous_version
        for item in current.concordance.map:
            cur = _cell_of(item.current)
            prev = _cell_of(item.previous)
            chain[(prev_version, *prev)] = (current.version, *cur)
        current = reg.get(form.form, prev_version)
    for (version, tbl, line, col), target in chain.items():
        while target[0] != latest.version and (target in chain):
            target = chain[target]
        if version == form.version and target[0] == latest.version:
            mapping[(tbl, line, col)] = target
    return [{"form": form.form, "version": form.version, "tbl": t, "line": ln, "col": c,
             "latest_version": v2, "latest_tbl": t2, "latest_line": l2, "latest_col": c2}
            for (t, ln, c), (v2, t2, l2, c2) in mapping.items()]


def _cell_of(address: str) -> tuple[str, str, int]:
    tbl, line, col = address.split(":")[-1].split("/")
    return tbl, line, int(col)


@dataclass
class _Rows:
    """What a chunk of submissions adds, gathered first and then written with one
    statement per table (per-row statements cost a few milliseconds each).
    Ids are max + 1 under the writer lock: gap-free, so a rebuild gives the same ids."""

    next_sid: int = 1
    next_eid: int = 1
    known: dict[str, int] = field(default_factory=dict)  # sha256 -> submission id
    latest: dict[tuple[str, str, str], tuple[int, int]] = field(default_factory=dict)
    submissions: list[dict] = field(default_factory=list)
    cells: list[tuple[int, Any]] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    @classmethod
    def starting(cls, con, reports: list[ValidationReport]) -> _Rows:
        """The next ids, and what is stored already of these reports' hashes and keys."""
        next_sid, next_eid = con.execute(_sql("next_ids.sql")).fetchall()[0]
        shas = [r.sha256 for r in reports if r.sha256]
        keys = [list(_key(r)) for r in reports if _key(r)]
        known = dict(con.execute(_sql("known_hashes.sql"), [shas]).fetchall())
        latest = {(f, u, p): (sid, rev) for f, u, p, sid, rev in
                  con.execute(_sql("latest_revisions.sql"), [keys]).fetchall()}
        return cls(next_sid, next_eid, known, latest)

    def accept(self, report: ValidationReport, agency: str, by, file_name: str, archived: str,
               when: datetime, receipt: Receipt, received_on: date | None = None,
               raw_detail: str | None = None) -> None:
        """One accepted file's rows; `raw_detail` is the audit detail as recorded (rebuild),
        which also holds a date of receipt the submitter declared (`received_on`)."""
        if received_on is None and raw_detail:
            declared = json.loads(raw_detail).get("received_on")
            received_on = date.fromisoformat(declared) if declared else None
        key = _key(report)
        form, unit, period = key
        prev = self.latest.get(key)
        sid, revision = self.next_sid, prev[1] + 1 if prev else 1
        supersedes = prev[0] if prev else None
        status = "accepted_with_warnings" if report.verdict == "warnings" else "accepted"
        self.next_sid += 1
        self.submissions.append({
            "submission_id": sid, "form": form, "version": report.form.version,
            "agency": report.form.agency, "unit": unit, "period": period, "year": int(period[:4]),
            "sha256": report.sha256, "file_name": file_name, "archive_path": archived,
            "received_at": when, "submitted_by": by, "status": status, "revision": revision,
            "supersedes": supersedes, "received_on": received_on})
        self.cells.append((sid, report.cells))
        self.findings.extend({
            "submission_id": sid, "code": f.code, "severity": f.severity, "sheet": f.sheet,
            "cell": f.cell, "rule_id": f.rule_id,
            "params": json.dumps(f.params, default=str, ensure_ascii=False),
            "message_en": f.message("en")} for f in report.findings)
        detail = {"revision": revision, "supersedes": supersedes}
        if received_on is not None:  # declared by the submitter: recorded as such
            detail["received_on"] = received_on.isoformat()
        self.audit_raw(when, status, agency, by, file_name, report.sha256, sid,
                       raw_detail or json.dumps(detail, default=str, ensure_ascii=False))
        self.known[report.sha256] = sid
        self.latest[key] = (sid, revision)
        receipt.outcome, receipt.submission_id = status, sid
        receipt.revision, receipt.supersedes = revision, supersedes

    def audit(self, when, event, agency, actor, file_name, sha, sid, detail) -> None:
        self.audit_raw(when, event, agency, actor, file_name, sha, sid,
                       json.dumps(detail, default=str, ensure_ascii=False))

    def audit_raw(self, when, event, agency, actor, file_name, sha, sid, detail: str | None) -> int:
        """An audit row whose detail is JSON text already; returns its event id."""
        eid = self.next_eid
        self.events.append({
            "event_id": eid, "event_at": when, "event": event, "agency": agency,
            "actor": actor, "file_name": file_name, "sha256": sha, "submission_id": sid,
            "detail": detail})
        self.next_eid += 1
        return eid

    def flush(self, con) -> None:
        """Write what is gathered so far and start again (ids and known keys carry on)."""
        self.write(con)
        self.submissions, self.cells, self.findings, self.events = [], [], [], []

    def write(self, con) -> None:
        import numpy as np
        import pandas as pd
        import pyarrow as pa

        tables = [("insert_submissions.sql", self.submissions), ("insert_findings.sql", self.findings),
                  ("insert_audit.sql", self.events)]
        if self.cells:
            frame = pd.concat([cells for _, cells in self.cells], ignore_index=True)
            frame["submission_id"] = np.repeat([sid for sid, _ in self.cells],
                                               [len(cells) for _, cells in self.cells])
            tables.insert(1, ("insert_cells.sql", frame))
        for sql, rows in tables:
            if len(rows) == 0:
                continue
            con.register("new_rows", rows if isinstance(rows, pd.DataFrame) else pa.Table.from_pylist(rows))
            try:
                con.execute(_sql(sql))
            finally:
                con.unregister("new_rows")


def _check_received_on(files: list[tuple[Path, ValidationReport]], received_on: date | None) -> None:
    """A declared date of receipt must lie after the last day of the file's period and not
    after today: a return of a period is made once the period is over (as GBV-F050 refuses
    a return that arrives before)."""
    from gbvstats.periods import parse_period

    if received_on is None:
        return
    if received_on > _now().date():
        raise StoreError("received_on_future", 2, date=received_on)
    for path, report in files:
        period = report.header.get("period") if report.form else None
        try:
            end = parse_period(period).end if period else None
        except ValueError:
            end = None
        if end and received_on <= end:
            raise StoreError("received_on_early", 2, file=path.name, date=received_on, period=period)


def _key(report: ValidationReport) -> tuple[str, str, str] | None:
    """(form, unit, period) of a readable report with a valid header."""
    if report.form is None or "unit" not in report.header or "period" not in report.header:
        return None
    return report.form.form, report.header["unit"], report.header["period"]


def _note(receipt: Receipt, code: str, file_name: str, **params):
    """A warehouse finding (GBV-W) added to the receipt; returned for the audit log."""
    from gbvstats.catalogue import Finding

    finding = Finding(code=code, file=file_name, params=params)
    receipt.findings.append(finding.to_dict())
    receipt.counts[finding.severity] = receipt.counts.get(finding.severity, 0) + 1
    return finding


def _brief(f) -> dict[str, Any]:
    return {"code": f.code, "severity": f.severity, "sheet": f.sheet, "cell": f.cell,
            "message": f.message("en")}


def _none(v):
    import pandas as pd

    return None if pd.isna(v) else int(v)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class _Watch(threading.Thread):
    """Stops a reader's statement when its time is up or when a writer has waited long
    enough (see `Warehouse.reader`); `fired` says which."""

    def __init__(self, wh: Warehouse, con, deadline: float | None):
        super().__init__(daemon=True, name="gbvstats-reader-watch")
        self.wh, self.con, self.deadline = wh, con, deadline
        self.fired: str | None = None  # "timeout" | "yield"
        self.writer: holders.Holder | None = None
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self._fire("timeout")
                return
            writer = holders.waiting_writer(self.wh.path)
            if writer and writer.waiting_since is not None:
                wait = (writer.deadline or writer.waiting_since + 60) - writer.waiting_since
                if time.time() - writer.waiting_since >= min(YIELD_AFTER, max(0.1, wait / 2)):
                    self.writer = writer
                    self._fire("yield")
                    return

    def _fire(self, why: str) -> None:
        self.fired = why
        with suppress(Exception):
            self.con.interrupt()

    def finish(self) -> None:
        self._done.set()
        if self.is_alive():
            self.join(1)

    def error(self, timeout: float | None) -> StoreError:
        if self.fired == "timeout":
            return StoreError("timeout", seconds=f"{timeout:g}")
        return StoreError("yielded", path=self.wh.path, holder=_describe(self.writer))


def _describe(who: holders.Holder | int | None) -> dict[str, str]:
    """Who holds the warehouse, in every language: a gbvstats record, a bare pid (a process
    that is not gbvstats, named by DuckDB's lock error), or nobody known."""
    from gbvstats.i18n import LANGS, t

    if isinstance(who, holders.Holder):
        return {lang: t("store.holder.gbvstats", lang, command=who.command, pid=who.pid,
                        since=who.since, role=t(f"store.holder.{who.role}", lang))
                for lang in LANGS}
    if isinstance(who, int):
        program, started = holders.process(who)
        return {lang: t("store.holder.other", lang, pid=who, program=program or "?",
                        since=started or "?") for lang in LANGS}
    return {lang: t("store.holder.unknown", lang) for lang in LANGS}
