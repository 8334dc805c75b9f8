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
import hmac
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
OPERATIONAL_TABLES = ("token_use",)  # when a token was last used: neither replayed nor checksummed
ROLES = ("submitter", "reviewer", "admin")
DECISIONS = ("accepted", "returned")
TOKEN = re.compile(r"^gbv_([0-9a-f]{8})_[A-Za-z0-9_-]{32,64}$")
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


class Refusal(StoreError):
    """A catalogued refusal of the store (a locked period, a decision that cannot be taken):
    carries the finding, shown in the user's language; nothing was changed."""

    def __init__(self, code: str, exit_code: int = 1, **params: object):
        from gbvstats.catalogue import Finding

        self.finding = Finding(code=code, params=params)
        super().__init__(code, exit_code, **params)

    def message(self, lang: str = "en") -> str:
        return self.finding.message(lang)


@dataclass(frozen=True)
class Actor:
    """Who acts on the warehouse: on the server a token's label and agency (never a claim
    made in the request); locally the --by name (or the login name)."""

    name: str
    agency: str | None = None
    token_id: int | None = None


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    label: str
    agency: str
    role: str


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
    outcome: str  # accepted | accepted_with_warnings | duplicate | rejected | refused_agency | locked | unreadable
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
    event_id: int | None = None  # the audit event that recorded it (none for a duplicate)

    @property
    def exit_code(self) -> int:
        return {"unreadable": 2, "rejected": 1, "refused_agency": 1, "locked": 1}.get(self.outcome, 0)

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
        self._held: _Held | None = None

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
        With `create=False` a missing warehouse is an error, not a new empty one.
        Inside `held()` every writer and reader shares the held connection."""
        if self._held is not None:
            with self._held.connection() as con:
                yield con
            return
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
        `timeout` seconds have passed (StoreError `timeout`). (Inside `held()`: the held
        read-write connection; the server runs only its own SQL.)"""
        if self._held is not None:
            with self._held.connection() as con:
                yield con
            return
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
        if self._held is not None:
            with self._held.connection() as con:
                return work(con)
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

    @contextmanager
    def held(self, linger: float = 1.0, max_hold: float = 10.0) -> Iterator[Warehouse]:
        """For a long-running process (`gbvstats serve`): one writer connection, opened on
        first use and shared by every reader and writer of this object while requests keep
        coming, released `linger` seconds after the last use, and at the latest after
        `max_hold` seconds of holding, so local commands waiting for the lock get their turn
        (opening a connection costs tens of milliseconds, more than storing a file)."""
        self._held = _Held(self, linger, max_hold)
        try:
            yield self
        finally:
            self._held.shutdown()
            self._held = None

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
            return self._submit_chunk(con, [(Path(path), agency, by, received_at, None, report)],
                                      received_on)[0]

    def submit_many(self, items, on_receipt=None, received_on: date | None = None) -> list[Receipt]:
        """Submit (path, agency, by, received_at) items: for an agency's quarter of files
        or batch loads such as the demo. Each chunk of BATCH files is validated together
        before the writer lock is taken, then written in one transaction under the lock
        (other writers wait for a chunk, never for a whole load); a failure stores none
        of that chunk, and receipts are reported only once their chunk is committed.
        An item may carry a fifth element, the id of the token it was sent with."""
        from gbvstats.check.validate import validate_files

        self.check_path(create=True)  # before any file is validated
        items = list(items)
        receipts = []
        for start in range(0, len(items), BATCH):
            chunk = items[start:start + BATCH]
            reports = validate_files([Path(item[0]) for item in chunk], self.reg)
            _check_received_on([(Path(item[0]), r) for item, r in zip(chunk, reports, strict=True)],
                               received_on)
            done = self.store_reports([(*item, None)[:5] + (report,)
                                       for item, report in zip(chunk, reports, strict=True)],
                                      received_on)
            for receipt in done:
                receipts.append(receipt)
                if on_receipt:
                    on_receipt(receipt)
        return receipts

    def store_reports(self, entries, received_on: date | None = None) -> list[Receipt]:
        """Store files validated already: (path, agency, by, received_at, token_id, report)
        entries, in one transaction under the writer lock (the server validates before)."""
        entries = [(Path(p), agency, by, when, token_id, report)
                   for p, agency, by, when, token_id, report in entries]
        with self.writer() as con:
            return self._submit_chunk(con, entries, received_on)

    def _submit_chunk(self, con, entries: list[tuple], received_on: date | None = None) -> list[Receipt]:
        """Decide every file of a chunk (refused, duplicate, locked, new revision), then
        write the chunk's rows with one statement per table, all in one transaction."""
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

    def _plan(self, rows: _Rows, path: Path, agency: str, by, received_at, token_id,
              report, received_on: date | None = None) -> Receipt:
        from gbvstats.check.validate import period_open

        when = received_at or _now()
        period_open(report, when)  # GBV-F050: a period not yet ended on arrival is refused
        receipt = Receipt(file=path.name, outcome="", sha256=report.sha256,
                          form=report.form.key if report.form else None,
                          unit=report.header.get("unit"), period=report.header.get("period"),
                          counts=report.counts(),
                          findings=[f.to_dict() for f in report.findings])
        refused = self._refusal(report, agency)
        key = _key(report) if refused != "refused_agency" else None
        lock = rows.locks.get((int(key[2][:4]), report.form.agency, key[0])) if key else None
        existing = rows.known.get(report.sha256) if not refused else None
        if lock and not existing:
            # the period is closed: said on a rejected file too, so it is not corrected in vain
            refused = refused or "locked"
        if refused:
            receipt.outcome = refused
            findings = list(report.findings)
            detail = {"form": report.form.form if report.form else None,
                      "unit": report.header.get("unit"), "period": report.header.get("period")}
            if refused == "refused_agency":
                findings.append(_note(receipt, "GBV-W001", path.name, form=report.form.form,
                                      owner=report.form.agency, agency=agency))
            if lock:
                findings.append(_note(receipt, "GBV-W030", path.name, form=key[0],
                                      agency=report.form.agency, year=int(key[2][:4]),
                                      locked_by=lock[0], locked_at=str(lock[1])[:16]))
            event = "refused_locked" if refused == "locked" else refused
            receipt.event_id = rows.audit(when, event, agency, by, path.name, report.sha256,
                                          None, {**detail, "findings": [_brief(f) for f in findings]},
                                          token_id)
            return receipt
        if existing:
            receipt.outcome, receipt.duplicate_of = "duplicate", existing
            _note(receipt, "GBV-W002", path.name, submission_id=existing)
            return receipt
        archived = self._archive(path, report.sha256)
        rows.accept(report, agency, by, path.name, archived, when, receipt, received_on,
                    token_id=token_id)
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

    def _audit(self, con, when, event, agency, actor, file_name, sha, sid, detail,
               token_id: int | None = None) -> int:
        rows = _Rows(next_eid=con.execute(_sql("next_ids.sql")).fetchall()[0][1])
        eid = rows.audit(when, event, agency, actor, file_name, sha, sid, detail, token_id)
        rows.write(con)
        return eid

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

    def duplicate_receipt(self, sha256: str, file_name: str, agency: str) -> Receipt | None:
        """The receipt for bytes already stored by `agency`, without validating them again
        (a resend, e.g. after a lost connection), or None when they are not stored (or were
        stored by another agency: that goes the normal way and is refused)."""
        from gbvstats.catalogue import Finding

        with self.reader() as con:
            found = con.execute(_sql("stored_receipt.sql"), [sha256]).fetchall()
            if not found or found[0][1] != agency.upper():
                return None
            sid, _, form, version, unit, period = found[0]
            stored = con.execute("SELECT code, severity, sheet, cell, rule_id, params FROM findings "
                                 "WHERE submission_id = ?", [sid]).fetchall()
        receipt = Receipt(file=file_name, outcome="duplicate", sha256=sha256,
                          form=f"{form}@v{version}", unit=unit, period=period, duplicate_of=sid,
                          counts={"error": 0, "warning": 0, "info": 0})
        for code, severity, sheet, cell, rule_id, params in stored:
            params = json.loads(params) if params else {}
            finding = Finding.from_dict({"code": code, "severity": severity, "file": file_name,
                                         "sheet": sheet, "cell": cell, "rule_id": rule_id,
                                         "params": params, "cells": params.get("cells") or []})
            receipt.findings.append(finding.to_dict())
            receipt.counts[finding.severity] += 1
        _note(receipt, "GBV-W002", file_name, submission_id=sid)
        return receipt

    # --- tokens for `gbvstats serve` -------------------------------------------------

    def create_token(self, agency: str, label: str, role: str = "submitter",
                     by: str | None = None) -> tuple[str, int]:
        """A new token for `gbvstats serve`: (the token, shown once, and its id). Only its
        SHA-256 is stored; the label is what every audit row of its use records."""
        import secrets

        agency, label, role = agency.strip().upper(), " ".join(label.split()), role.strip().lower()
        agencies = sorted({f.agency for f in self.reg.versions()})
        if agency not in agencies:
            raise StoreError("token_agency", 2, agency=agency, known=", ".join(agencies))
        if role not in ROLES:
            raise StoreError("token_role", 2, role=role, known=", ".join(ROLES))
        if not label or len(label) > 120:
            raise StoreError("token_label_empty", 2)
        key_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        token = f"gbv_{key_id}_{secret}"
        when = _now()
        with self.writer() as con:
            if con.execute(_sql("token_label_taken.sql"), [label]).fetchall():
                raise StoreError("token_label", 2, label=label)
            con.execute("BEGIN")
            try:
                tid = con.execute("SELECT COALESCE(max(token_id), 0) + 1 FROM api_tokens").fetchall()[0][0]
                row = {"token_id": tid, "key_id": key_id, "token_sha256": _digest(token),
                       "label": label, "agency": agency, "role": role}
                self._insert_token(con, row, when, by)
                self._audit(con, when, "token_created", None, by, None, None, None, row)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return token, tid

    @staticmethod
    def _insert_token(con, row: dict, when: datetime, by: str | None) -> None:
        con.execute(_sql("insert_token.sql"), [row["token_id"], row["key_id"], row["token_sha256"],
                                                row["label"], row["agency"], row["role"], when, by])

    def tokens(self):
        """Every token (never the token itself): label, agency, role, created, last used, revoked."""
        return self.query(_sql("tokens.sql"))

    def revoke_token(self, ref: str, by: str | None = None) -> int:
        """Revoke a token by id, label or key id; it is refused from then on."""
        with self.writer(create=False) as con:
            found = con.execute(_sql("find_token.sql"), [str(ref).strip()]).fetchall()
            if len(found) > 1:  # a label reused after a revocation: the token in use
                found = [f for f in found if f[2] is None] or found
            if not found:
                raise StoreError("no_token", 2, ref=ref)
            if len(found) > 1:
                raise StoreError("token_ambiguous", 2, ref=ref)
            tid, label, revoked_at = found[0]
            if revoked_at is not None:
                raise StoreError("token_revoked", 1, ref=label, at=str(revoked_at)[:16])
            when = _now()
            con.execute("BEGIN")
            try:
                con.execute("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE token_id = ?",
                            [when, by, tid])
                self._audit(con, when, "token_revoked", None, by, None, None, None,
                            {"token_id": tid, "label": label})
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return tid

    def resolve_token(self, token: str) -> TokenInfo | None:
        """The identity of a token, or None when it is malformed, unknown or revoked. The
        stored hash is compared in constant time (the row is found by the public key id)."""
        token = (token or "").strip()
        match = TOKEN.match(token)
        digest = _digest(token)
        row = None
        if match:
            with self.reader() as con:
                found = con.execute(_sql("resolve_token.sql"), [match[1]]).fetchall()
            row = found[0] if found else None
        stored = row[4] if row else "0" * 64
        same = hmac.compare_digest(digest.encode(), stored.encode())
        if row is None or not same or row[5] is not None:
            return None
        return TokenInfo(token_id=row[0], label=row[1], agency=row[2], role=row[3])

    def touch_token(self, token_id: int, address: str | None) -> None:
        """Record when a token was last used (not audited, not replayed)."""
        with self.writer(create=False) as con:
            con.execute("INSERT OR REPLACE INTO token_use VALUES (?, ?, ?)",
                        [token_id, _now(), address])

    # --- the NSC's decisions and locks ----------------------------------------------

    def review(self, submission_id: int, decision: str, comment: str | None, actor: Actor) -> int:
        """Accept or return the current revision of a submission (a return needs a comment:
        the agency must send a corrected revision). Refused in a locked period."""
        decision = decision.strip().lower()
        if decision not in DECISIONS:
            raise StoreError("decision", 2, decision=decision, known=", ".join(DECISIONS))
        comment = (comment or "").strip() or None
        if decision == "returned" and not comment:
            raise Refusal("GBV-W032", id=submission_id)
        with self.writer(create=False) as con:
            found = con.execute(_sql("submission_key.sql"), [submission_id]).fetchall()
            if not found:
                raise StoreError("no_submission", id=submission_id)
            form, agency, year, revision, current = found[0]
            if current != submission_id:
                raise Refusal("GBV-W031", id=submission_id, revision=revision, current=current)
            if self._lock_of(con, year, agency, form):
                raise Refusal("GBV-W033", form=form, agency=agency, year=year, id=submission_id)
            when = _now()
            con.execute("BEGIN")
            try:
                rid = con.execute("SELECT COALESCE(max(review_id), 0) + 1 FROM reviews").fetchall()[0][0]
                detail = {"review_id": rid, "decision": decision, "comment": comment}
                self._insert_review(con, submission_id, detail, actor.name, actor.agency,
                                    actor.token_id, when)
                self._audit(con, when, "reviewed", actor.agency, actor.name, None, None,
                            submission_id, detail, actor.token_id)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return rid

    @staticmethod
    def _insert_review(con, sid, detail: dict, reviewer, agency, token_id, when) -> None:
        con.execute("INSERT INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [detail["review_id"], sid, detail["decision"], detail["comment"], reviewer,
                     agency, token_id, when])

    def lock(self, year: int, agency: str, form: str, actor: Actor, comment: str | None = None) -> None:
        """Lock a year of an agency's form: no new submission or revision is stored (nor a
        decision changed) until it is unlocked."""
        year, agency, form = self._lock_key(year, agency, form)
        with self.writer() as con:
            held = self._lock_of(con, year, agency, form)
            if held:
                raise Refusal("GBV-W034", form=form, agency=agency, year=year,
                              locked_by=held[0], locked_at=str(held[1])[:16])
            self._lock_event(con, "locked", {"year": year, "agency": agency, "form": form,
                                             "comment": (comment or "").strip() or None}, actor)

    def unlock(self, year: int, agency: str, form: str, actor: Actor, comment: str | None = None) -> None:
        year, agency, form = self._lock_key(year, agency, form)
        with self.writer() as con:
            if not self._lock_of(con, year, agency, form):
                raise Refusal("GBV-W035", form=form, agency=agency, year=year)
            self._lock_event(con, "unlocked", {"year": year, "agency": agency, "form": form,
                                               "comment": (comment or "").strip() or None}, actor)

    def _lock_key(self, year, agency: str, form: str) -> tuple[int, str, str]:
        agency, form = str(agency).strip().upper(), str(form).strip().upper()
        if not {f.form for f in self.reg.versions() if f.agency == agency} & {form}:
            raise Refusal("GBV-W036", 2, agency=agency, form=form)
        try:
            return int(year), agency, form
        except (TypeError, ValueError):
            raise StoreError("year", 2, year=year) from None

    @staticmethod
    def _lock_of(con, year: int, agency: str, form: str):
        found = con.execute("SELECT locked_by, locked_at FROM period_locks "
                            "WHERE year = ? AND agency = ? AND form = ?", [year, agency, form]).fetchall()
        return found[0] if found else None

    def _lock_event(self, con, event: str, detail: dict, actor: Actor, when=None) -> None:
        when = when or _now()
        con.execute("BEGIN")
        try:
            self._apply_lock(con, event, detail, actor.name, actor.token_id, when)
            self._audit(con, when, event, actor.agency, actor.name, None, None, None, detail,
                        actor.token_id)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    @staticmethod
    def _apply_lock(con, event: str, detail: dict, by, token_id, when) -> None:
        key = [detail["year"], detail["agency"], detail["form"]]
        if event == "locked":
            con.execute("INSERT INTO period_locks VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [*key, when, by, token_id, detail.get("comment")])
        else:
            con.execute("DELETE FROM period_locks WHERE year = ? AND agency = ? AND form = ?", key)

    def locks(self):
        return self.query("SELECT * FROM period_locks ORDER BY year, agency, form")

    def query(self, sql: str, params: list | None = None, timeout: float | None = None):
        """Read-only SQL: a DataFrame. Statements that change data fail. Stopped after
        `timeout` seconds (None: no limit); run again if it gave way to a writer."""
        import duckdb

        def run(con):
            # no files written or attached either (COPY TO, ATTACH, httpfs): data stays put.
            # (The held connection of the server runs only our own SQL files.)
            if self._held is None:
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
        the consolidation outputs (DERIVED_TABLES, the indicator tables `indNN_name`), which
        are recomputed by `gbvstats consolidate` rather than recorded, so a rebuild does not
        replay them; and `token_use` (OPERATIONAL_TABLES: when each token was last seen, not
        an event)."""
        def sums(con) -> dict[str, str]:
            tables = [t for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1").fetchall()]
            out = {}
            for table in tables:
                if (table == "schema_migrations" or table in DERIVED_TABLES
                        or table in OPERATIONAL_TABLES or INDICATOR_TABLE.match(table)):
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
                    replay = ev_mod.Replay(con, rows, reports, by_sha, self, new)
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


class _Held:
    """The writer connection of a long-running process, shared by its threads one at a time.

    Opened (advisory lock, DuckDB connection, migrations) on first use; closed by a watcher
    thread once unused for `linger` seconds, held for `max_hold` seconds, or as soon as
    another process waits to write (its holders record), after which it pauses briefly so
    that the waiting command gets the lock. A statement that fails closes the connection
    (an open transaction is not carried into the next use). While it holds, its holders
    record names it (`gbvstats serve`) to whoever waits."""

    COOLDOWN = 0.25

    def __init__(self, wh: Warehouse, linger: float, max_hold: float):
        self.wh, self.linger, self.max_hold = wh, linger, max_hold
        self.mutex = threading.RLock()
        self.con = None
        self._lock_cm = None
        self._record = None
        self.opened = self.used = self.cooldown_until = 0.0
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="gbvstats-writer-release",
                                         daemon=True)
        self._watcher.start()

    @contextmanager
    def connection(self):
        if not self.mutex.acquire(timeout=max(self.wh.lock_timeout, 0.01)):
            raise StoreError("busy", path=self.wh.path, seconds=f"{self.wh.lock_timeout:g}")
        try:
            if self.con is None:
                self._open()
            try:
                yield self.con
            except BaseException:
                self._close()
                raise
            finally:
                self.used = time.monotonic()
        finally:
            self.mutex.release()

    def _open(self) -> None:
        pause = self.cooldown_until - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        self.wh.check_path(create=True)
        try:
            self.wh.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError("mkdir", 2, path=self.wh.path.parent, reason=exc.strerror or exc) from None
        # a waiting writer's record: a local reader gives way to the server as to any writer
        record = holders.Record(self.wh.path, "writer", "waiting", time.time() + self.wh.lock_timeout)
        lock = self.wh._lock()
        try:
            lock.__enter__()
            try:
                con = self.wh._connect(read_only=False)
                try:
                    self.wh._migrate(con)
                except BaseException:
                    con.close()
                    raise
            except BaseException:
                lock.__exit__(None, None, None)
                raise
        except BaseException:
            record.close()
            raise
        record.update(state="holding")
        self.con, self._lock_cm, self._record = con, lock, record
        self.opened = self.used = time.monotonic()

    def _close(self) -> None:
        con, lock, record = self.con, self._lock_cm, self._record
        self.con, self._lock_cm, self._record = None, None, None
        try:
            if con is not None:
                with suppress(Exception):
                    con.close()
        finally:
            if lock is not None:
                lock.__exit__(None, None, None)
            if record is not None:
                record.close()

    def _watch(self) -> None:
        ticks = 0
        while not self._stop.wait(0.05):
            ticks += 1
            if self.con is None or not self.mutex.acquire(blocking=False):
                continue
            try:
                now = time.monotonic()
                if self.con is not None and now - self.used > self.linger:
                    self._close()
                elif self.con is not None and (now - self.opened > self.max_hold or (
                        ticks % 5 == 0 and self._writer_waits())):
                    self._close()
                    self.cooldown_until = now + self.COOLDOWN
            finally:
                self.mutex.release()

    def _writer_waits(self) -> bool:
        """Another process waits to write (a local submit, say): its turn comes now."""
        writer = holders.waiting_writer(self.wh.path)
        return writer is not None and writer.pid != os.getpid()

    def shutdown(self) -> None:
        self._stop.set()
        self._watcher.join(timeout=2)
        with self.mutex:
            self._close()
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
    # (year, agency, form) -> (locked_by, locked_at) of every locked period
    locks: dict[tuple[int, str, str], tuple[str, datetime]] = field(default_factory=dict)

    @classmethod
    def starting(cls, con, reports: list[ValidationReport]) -> _Rows:
        """The next ids, and what is stored already of these reports' hashes and keys."""
        next_sid, next_eid = con.execute(_sql("next_ids.sql")).fetchall()[0]
        shas = [r.sha256 for r in reports if r.sha256]
        keys = [list(_key(r)) for r in reports if _key(r)]
        known = dict(con.execute(_sql("known_hashes.sql"), [shas]).fetchall())
        latest = {(f, u, p): (sid, rev) for f, u, p, sid, rev in
                  con.execute(_sql("latest_revisions.sql"), [keys]).fetchall()}
        locks = {(y, a, f): (by, at) for y, a, f, by, at in con.execute(
            "SELECT year, agency, form, locked_by, locked_at FROM period_locks").fetchall()}
        return cls(next_sid, next_eid, known, latest, locks=locks)

    def accept(self, report: ValidationReport, agency: str, by, file_name: str, archived: str,
               when: datetime, receipt: Receipt, received_on: date | None = None,
               raw_detail: str | None = None, token_id: int | None = None) -> None:
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
        receipt.event_id = self.audit_raw(when, status, agency, by, file_name, report.sha256, sid,
                                          raw_detail or json.dumps(detail, default=str, ensure_ascii=False),
                                          token_id)
        self.known[report.sha256] = sid
        self.latest[key] = (sid, revision)
        receipt.outcome, receipt.submission_id = status, sid
        receipt.revision, receipt.supersedes = revision, supersedes

    def audit(self, when, event, agency, actor, file_name, sha, sid, detail,
              token_id: int | None = None) -> int:
        return self.audit_raw(when, event, agency, actor, file_name, sha, sid,
                              json.dumps(detail, default=str, ensure_ascii=False), token_id)

    def audit_raw(self, when, event, agency, actor, file_name, sha, sid, detail: str | None,
                  token_id: int | None = None) -> int:
        """An audit row whose detail is JSON text already; returns its event id."""
        eid = self.next_eid
        self.events.append({
            "event_id": eid, "event_at": when, "event": event, "agency": agency,
            "actor": actor, "file_name": file_name, "sha256": sha, "submission_id": sid,
            "detail": detail, "token_id": token_id})
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
    """A refused attempt's finding as the audit log keeps it: whole (code, location and
    params), so that it can be shown again in any language (`Finding.from_dict`)."""
    return {"code": f.code, "severity": f.severity, "sheet": f.sheet, "cell": f.cell,
            "cells": list(f.cells), "rule_id": f.rule_id, "params": f.params,
            "message": f.message("en")}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _none(v):
    import pandas as pd

    return None if pd.isna(v) else int(v)


def _now() -> datetime:
    """When something is recorded (UTC), to the microsecond: the audit log's times order
    its events, and a release made as of a time takes exactly the events before it."""
    return datetime.now(UTC).replace(tzinfo=None)


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
