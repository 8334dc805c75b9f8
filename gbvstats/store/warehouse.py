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
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.paths import sql_dir
from gbvstats.schema.model import Registry, registry

if TYPE_CHECKING:
    import duckdb

    from gbvstats.check.validate import ValidationReport

BATCH = 100  # files validated together in a batch load: one rule query per form version
DIM_COLUMNS = ("sex", "age", "violence_form", "exploitation", "relationship", "citizenship",
               "place", "offence", "stage", "service", "sanction", "education", "activity")
DIMENSION_TABLES = ("dim_territory", "dim_element", "concordance", "dim_period")
DERIVED_TABLES = ("rule_results", "consolidation_runs", "completeness_results", "rule_agencies",
                  "quality_runs")
GLOSSARY_TABLES = ("submissions", "cells", "dim_element", "dim_territory", "dim_period")


class StoreError(Exception):
    """A user-facing warehouse problem: a message key of messages/store.yaml with its
    params (shown in the user's language by the CLI); `code` is the CLI exit code."""

    def __init__(self, key: str, code: int = 1, **params: object):
        self.key, self.code, self.params = key, code, params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gbvstats.i18n import t

        return t(f"store.error.{self.key}", lang, **self.params)


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
                 lock_timeout: float | None = None, on_wait=None):
        self.path = Path(path)
        self.archive = self.path.parent / "archive"
        self.reg = reg or registry()
        # bounded wait for the writer lock: GBVSTATS_LOCK_TIMEOUT seconds, default 60
        self.lock_timeout = lock_timeout if lock_timeout is not None else float(
            os.environ.get("GBVSTATS_LOCK_TIMEOUT", "60"))
        self.on_wait = on_wait or (lambda: None)
        self._dims: tuple[dict[str, list[dict]], str] | None = None

    # --- connections and locking ------------------------------------------------------

    @contextmanager
    def writer(self, create: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """The single writer: advisory lock, then a read-write connection, migrated.
        With `create=False` a missing warehouse is an error, not a new empty one."""
        if not create and not self.path.exists():
            raise StoreError("missing", 2, path=self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError("mkdir", 2, path=self.path.parent, reason=exc.strerror or exc) from None
        with self._lock():
            con = self._connect(read_only=False)
            try:
                self._migrate(con)
                yield con
            finally:
                con.close()

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection: no statement through it can change data."""
        if not self.path.exists():
            raise StoreError("missing", 2, path=self.path)
        with self._lock(shared=True):
            con = self._connect(read_only=True)
        try:
            self._check_version(con)
            yield con
        finally:
            con.close()

    @contextmanager
    def _lock(self, shared: bool = False) -> Iterator[None]:
        lock_path = self.path.with_name(self.path.name + ".lock")
        fh = open(lock_path, "a+")  # noqa: SIM115 - held for the duration of the block
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        deadline = time.monotonic() + self.lock_timeout
        warned = False
        try:
            while True:
                try:
                    fcntl.flock(fh, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StoreError("busy", path=self.path,
                                         seconds=f"{self.lock_timeout:g}") from None
                    if not warned and time.monotonic() > deadline - self.lock_timeout + 1:
                        self.on_wait()
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
            except duckdb.IOException as exc:
                # another process (e.g. an analyst's DuckDB shell) has the file open
                if "lock" not in str(exc).lower():
                    raise StoreError("open", path=self.path, reason=exc) from None
                waited = time.monotonic() - started
                if waited > self.lock_timeout:
                    raise StoreError("busy", path=self.path, seconds=f"{self.lock_timeout:g}") from None
                if not warned and waited > 1:
                    self.on_wait()
                    warned = True
                time.sleep(0.1)

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
            rows = {"dim_territory": _territory_rows(self.reg), "dim_element": [],
                    "concordance": [], "dim_period": _period_rows(self.reg)}
            for form in self.reg.versions():
                rows["dim_element"].extend(_element_rows(form))
                rows["concordance"].extend(_concordance_rows(self.reg, form))
            text = json.dumps(rows, sort_keys=True, default=str)
            self._dims = rows, hashlib.sha256(text.encode()).hexdigest()
        return self._dims

    # --- submitting ------------------------------------------------------------------

    def submit(self, path: Path | str, agency: str, by: str | None = None,
               received_at: datetime | None = None, report: ValidationReport | None = None
               ) -> Receipt:
        """Validate and store one file. Validation runs before the lock is taken."""
        from gbvstats.check.validate import validate_file

        report = report or validate_file(Path(path), self.reg)
        with self.writer() as con:
            return self._submit_chunk(con, [(Path(path), agency, by, received_at, report)])[0]

    def submit_many(self, items, on_receipt=None) -> list[Receipt]:
        """Submit (path, agency, by, received_at) items: for an agency's quarter of files
        or batch loads such as the demo. Each chunk of BATCH files is validated together
        before the writer lock is taken, then written in one transaction under the lock
        (other writers wait for a chunk, never for a whole load); a failure stores none
        of that chunk, and receipts are reported only once their chunk is committed."""
        from gbvstats.check.validate import validate_files

        items = list(items)
        receipts = []
        for start in range(0, len(items), BATCH):
            chunk = items[start:start + BATCH]
            reports = validate_files([Path(p) for p, _, _, _ in chunk], self.reg)
            entries = [(Path(p), agency, by, when, report)
                       for (p, agency, by, when), report in zip(chunk, reports, strict=True)]
            with self.writer() as con:
                done = self._submit_chunk(con, entries)
            for receipt in done:
                receipts.append(receipt)
                if on_receipt:
                    on_receipt(receipt)
        return receipts

    def _submit_chunk(self, con, entries: list[tuple]) -> list[Receipt]:
        """Decide every file of a chunk (refused, duplicate, new revision), then write the
        chunk's rows with one statement per table, all in one transaction."""
        con.execute("BEGIN")
        try:
            rows = _Rows.starting(con, [report for *_, report in entries])
            receipts = [self._plan(rows, *entry) for entry in entries]
            rows.write(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return receipts

    def _plan(self, rows: _Rows, path: Path, agency: str, by, received_at, report) -> Receipt:
        receipt = Receipt(file=path.name, outcome="", sha256=report.sha256,
                          form=report.form.key if report.form else None,
                          unit=report.header.get("unit"), period=report.header.get("period"),
                          counts=report.counts(),
                          findings=[f.to_dict() for f in report.findings])
        when = received_at or _now()
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
        rows.accept(report, agency, by, path.name, archived, when, receipt)
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

    def query(self, sql: str, params: list | None = None):
        """Read-only SQL: a DataFrame. Statements that change data fail."""
        import duckdb

        with self.reader() as con:
            # no files written or attached either (COPY TO, ATTACH, httpfs): data stays put
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            try:
                return con.execute(sql, params or []).df()
            except duckdb.Error as exc:
                raise StoreError("query", reason=exc) from None

    def history(self, form: str, unit: str, period: str):
        return self.query(_sql("history.sql"), [form, unit, period])

    def status(self):
        return self.query(_sql("status.sql"))

    def checksum(self) -> dict[str, str]:
        """An order-independent content checksum (rows:md5) of every recorded table.

        Left out: `schema_migrations` (its applied_at is when this file was migrated) and
        the consolidation outputs (DERIVED_TABLES, `ind_*`), which are recomputed by
        `gbvstats consolidate` rather than recorded, so a rebuild does not replay them."""
        with self.reader() as con:
            tables = [t for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1").fetchall()]
            out = {}
            for table in tables:
                if table == "schema_migrations" or table in DERIVED_TABLES or table.startswith("ind_"):
                    continue
                sql = _sql("checksum.sql").replace("{table}", table)  # from the catalog
                count, digest = con.execute(sql).fetchall()[0]
                out[table] = f"{count}:{digest or '-'}"
            return out

    def rebuild(self, target: Path) -> int:
        """A new warehouse from the archive and the audit log, replaying every event in its
        original order. Written under a temporary name and renamed when complete, so an
        interrupted rebuild leaves no half warehouse at `target`."""
        target = Path(target)
        if target.exists():
            raise StoreError("exists", 2, path=target)
        events = self.query("SELECT * FROM audit_log ORDER BY event_id")
        events = events.astype(object).where(events.notna(), None)  # NULLs stay NULL
        files = self.query("SELECT sha256, archive_path, file_name FROM submissions")
        by_sha = {r.sha256: (r.archive_path, r.file_name) for r in files.itertuples()}
        for rel, _ in by_sha.values():
            if not (self.archive / rel).is_file():
                raise StoreError("archive_lacks", path=self.archive / rel)
        building = target.with_name(f".{target.name}.building")
        for leftover in (building, building.with_name(building.name + ".wal")):
            leftover.unlink(missing_ok=True)
        new = Warehouse(building, self.reg, self.lock_timeout)
        with new.writer() as con:
            replayed = sum(new._replay(con, ev, self.archive, by_sha) for ev in events.itertuples())
        os.replace(building, target)
        building.with_name(building.name + ".lock").unlink(missing_ok=True)
        return replayed

    def _replay(self, con, ev, archive: Path, by_sha: dict) -> int:
        from gbvstats.check.validate import validate_file

        when = ev.event_at.to_pydatetime()
        detail = json.loads(ev.detail) if ev.detail else None
        if ev.event in ("accepted", "accepted_with_warnings"):
            rel, name = by_sha[ev.sha256]
            report = validate_file(archive / rel, self.reg)
            self._archive(archive / rel, ev.sha256)
            con.execute("BEGIN")
            rows = _Rows.starting(con, [report])
            rows.accept(report, ev.agency, ev.actor, name, rel, when, Receipt(file=name, outcome=""))
            rows.write(con)
            con.execute("COMMIT")
            return 1
        con.execute("BEGIN")
        if ev.event == "decision":  # an NSC decision (consolidate/decisions.py)
            from gbvstats.consolidate.decisions import insert_decision

            insert_decision(con, detail, ev.actor, when)
        if ev.event == "explanation":
            eid = con.execute("SELECT nextval('explanation_seq')").fetchall()[0][0]
            con.execute("INSERT INTO explanations VALUES (?, ?, ?, ?, ?, ?)",
                        [eid, _none(ev.submission_id), detail["rule_id"], detail["text"], ev.actor, when])
        self._audit(con, when, ev.event, ev.agency, ev.actor, ev.file_name, ev.sha256,
                    _none(ev.submission_id), detail)
        con.execute("COMMIT")
        return 0

    def dictionary(self) -> str:
        """The data dictionary as Markdown, from the live catalog and the DDL comments."""
        with self.reader() as con:
            objects = con.execute(_sql("dictionary_objects.sql")).fetchall()
            columns = con.execute(_sql("dictionary_columns.sql")).fetchall()
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
               when: datetime, receipt: Receipt) -> None:
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
            "supersedes": supersedes})
        self.cells.append((sid, report.cells))
        self.findings.extend({
            "submission_id": sid, "code": f.code, "severity": f.severity, "sheet": f.sheet,
            "cell": f.cell, "rule_id": f.rule_id,
            "params": json.dumps(f.params, default=str, ensure_ascii=False),
            "message_en": f.message("en")} for f in report.findings)
        self.audit(when, status, agency, by, file_name, report.sha256, sid,
                   {"revision": revision, "supersedes": supersedes})
        self.known[report.sha256] = sid
        self.latest[key] = (sid, revision)
        receipt.outcome, receipt.submission_id = status, sid
        receipt.revision, receipt.supersedes = revision, supersedes

    def audit(self, when, event, agency, actor, file_name, sha, sid, detail) -> None:
        self.events.append({
            "event_id": self.next_eid, "event_at": when, "event": event, "agency": agency,
            "actor": actor, "file_name": file_name, "sha256": sha, "submission_id": sid,
            "detail": json.dumps(detail, default=str, ensure_ascii=False)})
        self.next_eid += 1

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
