"""`gbvstats fsck`: check every invariant of a warehouse and its archive; with `repair`,
remove what nothing refers to.

Checked (each problem a catalogued finding, GBV-W010..W029):
- the archive: every submission's file exists and has its SHA-256 (W010, W011);
- every submission whole: a cell for every input cell of its form version and none other
  (W012, W013, W024), no negative count (W023), its status agreeing with the severities
  of its stored findings (W015), no row of cells, findings or explanations without its
  submission (W014); with `deep`, its archived file read again gives the stored cells
  and findings (W025);
- the audit chain: every submission recorded by exactly the acceptance event that
  matches it, and no acceptance event without its submission (W016, W017, W018); ids
  consecutive and submissions numbered in the order of their events (W019); revisions
  of each form, unit and period numbered 1, 2, ... each superseding the previous (W020);
  explanations and their events alike (W021); every event of a kind this gbvstats can
  replay (W022);
- the files of every release kept in the archive with their SHA-256 (GBV-L014);
- leftovers: archive files no submission or release refers to (W026), temporary files of
  interrupted writes (W027), holder records of processes gone (W028).
Only leftovers are repairable: `repair` removes them (W029 lists each removal) under the
writer lock, so no submit is between archiving a file and committing its row; a file any
row refers to is never removed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.store import holders
from gbvstats.store.events import EVENTS

if TYPE_CHECKING:
    from gbvstats.store.warehouse import Warehouse

TMP = re.compile(r"^\..+\.\d+\.tmp$")  # `_archive`'s temporary name: .<name>.<pid>.tmp
REPAIRABLE = ("GBV-W026", "GBV-W027", "GBV-W028")


@dataclass
class FsckReport:
    warehouse: Path
    findings: list[Finding] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def problems(self) -> list[Finding]:
        """What is still wrong: errors and warnings not repaired."""
        return [f for f in self.findings if f.severity in ("error", "warning")
                and not f.params.get("removed")]

    @property
    def exit_code(self) -> int:
        return 1 if self.problems else 0

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"warehouse": str(self.warehouse), "counts": self.counts, "removed": self.removed,
                "exit_code": self.exit_code, "findings": [f.to_dict(lang) for f in self.findings]}


def fsck(wh: Warehouse, repair: bool = False, deep: bool = False) -> FsckReport:
    wh.check_path(create=False)
    report = FsckReport(wh.path)
    if repair:
        with wh.writer(create=False) as con:  # no submit between archiving and committing
            listing = _archive_listing(wh.archive)
            _check(con, wh, listing, report, deep)
            _repair(wh, report)
    else:
        listing = _archive_listing(wh.archive)  # before the tables: no false orphans
        wh.read(lambda con: _check(con, wh, listing, report, deep))
    return report


def _archive_listing(archive: Path) -> dict[str, Path]:
    """Every file under the archive, by its path relative to it."""
    if not archive.is_dir():
        return {}
    return {p.relative_to(archive).as_posix(): p for p in sorted(archive.rglob("*")) if p.is_file()}


def _release_files(con) -> list[dict[str, Any]]:
    """Files of the releases (publish/release.py), where the warehouse records releases."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'release_files'").fetchall()[0][0]:
        return []
    return _rows(con, "fsck_release_files.sql")


def _sql(name: str) -> str:
    from gbvstats.store.warehouse import _sql as store_sql

    return store_sql(name)


def _rows(con, name: str) -> list[dict[str, Any]]:
    cur = con.execute(_sql(name))
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]


def _check(con, wh: Warehouse, listing: dict[str, Path], report: FsckReport, deep: bool) -> None:
    import pandas as pd

    file = wh.path.name
    add = report.findings.append

    def finding(code: str, **params) -> None:
        add(Finding(code=code, file=file, params=params))

    subs = con.execute("SELECT submission_id, form, version, unit, period, sha256, archive_path, "
                       "file_name FROM submissions ORDER BY submission_id").fetchall()
    report.counts = {"submissions": len(subs), "archive_files": len(listing),
                     "audit_events": con.execute("SELECT count(*) FROM audit_log").fetchall()[0][0]}

    # the archive: present, and holding the bytes of its hash
    referenced = set()
    for sid, _form, _version, _unit, _period, sha, rel, _name in subs:
        referenced.add(rel)
        path = wh.archive / rel
        if not path.is_file():
            finding("GBV-W010", submission=sid, path=str(path))
        elif _sha256(path) != sha:
            finding("GBV-W011", submission=sid, path=str(path), found=_sha256(path), expected=sha)

    # the files of every release, kept in the archive (GBV-L014)
    for r in _release_files(con):
        referenced.add(r["archive_path"])
        path = wh.archive / r["archive_path"]
        found = _sha256(path) if path.is_file() else None
        if found != r["sha256"]:
            add(Finding(code="GBV-L014", file=file, params={
                "release": r["release_id"], "name": r["file"], "path": str(path),
                "found": found or "-", "expected": r["sha256"]}))

    # every submission whole
    expected = pd.DataFrame([{"form": f.form, "version": f.version, "tbl": c.table, "line": c.line,
                              "col": c.column} for f in wh.reg.versions() for c in f.cells() if c.input],
                            columns=["form", "version", "tbl", "line", "col"])
    con.register("expected", expected)
    try:
        cell_rows = _rows(con, "fsck_cells.sql")
    finally:
        con.unregister("expected")
    for r in cell_rows:
        sid = r["submission_id"]
        if not r["known"]:
            finding("GBV-W024", submission=sid, form=r["form"], version=r["version"])
            continue
        if r["missing"]:
            finding("GBV-W012", submission=sid, form=r["form"], version=r["version"],
                    count=r["missing"], expected=r["expected"], examples=", ".join(r["missing_examples"]))
        if r["unexpected"]:
            finding("GBV-W013", submission=sid, form=r["form"], version=r["version"],
                    count=r["unexpected"], examples=", ".join(r["unexpected_examples"]))
        if r["negative"]:
            finding("GBV-W023", submission=sid, count=r["negative"],
                    examples=", ".join(r["negative_examples"]))
    for r in _rows(con, "fsck_orphan_rows.sql"):
        finding("GBV-W014", table=r["table"], count=r["n"], ids=", ".join(map(str, r["ids"])))
    for r in _rows(con, "fsck_status.sql"):
        finding("GBV-W015", submission=r["submission_id"], status=r["status"],
                warnings=r["warnings"], errors=r["errors"])

    # the audit chain
    for r in _rows(con, "fsck_audit.sql"):
        if r["kind"] == "no_event":
            finding("GBV-W016", submission=r["submission_id"], status=r["event"])
        elif r["kind"] == "no_submission":
            finding("GBV-W018", event=r["event_id"], kind=r["event"], submission=r["submission_id"])
        else:
            finding("GBV-W017", submission=r["submission_id"], event=r["event_id"], fields=r["fields"])
    for r in _rows(con, "fsck_ids.sql"):
        if r["n"] and (r["lo"] != 1 or r["hi"] != r["n"] or r["distinct_ids"] != r["n"]):
            finding("GBV-W019", table=r["table"],
                    detail=f"{r['n']} rows, ids {r['lo']}..{r['hi']}, {r['distinct_ids']} distinct")
    for r in _rows(con, "fsck_order.sql"):
        finding("GBV-W019", table="submissions",
                detail=f"event {r['event_id']} records submission {r['submission_id']}, "
                       f"after an event recording submission {r['prev_submission']}")
    for r in _rows(con, "fsck_revisions.sql"):
        finding("GBV-W020", form=r["form"], unit=r["unit"], period=r["period"],
                submission=r["submission_id"], revision=r["revision"], supersedes=r["supersedes"],
                expected_revision=r["expected_revision"], expected_supersedes=r["expected_supersedes"])
    for r in _rows(con, "fsck_explanations.sql"):
        finding("GBV-W021", submission=r["submission_id"], rule_id=r["rule_id"],
                where=f"explanation {r['explanation_id']}" if r["kind"] == "no_event"
                else f"audit event {r['event_id']}")
    for kind, first, n in con.execute(
            "SELECT event, min(event_id), count(*) FROM audit_log GROUP BY event ORDER BY 2").fetchall():
        if kind not in EVENTS:
            finding("GBV-W022", kind=kind, event=first, count=n)

    if deep:
        _deep(con, wh, subs, finding)

    # leftovers
    for rel, path in listing.items():
        if TMP.match(path.name):
            finding("GBV-W027", path=str(path))
        elif rel not in referenced:
            finding("GBV-W026", path=str(path))
    for path in holders.stale(wh.path):
        finding("GBV-W028", path=str(path))


def _deep(con, wh: Warehouse, subs, finding) -> None:
    """Read every archived file again: its cells and findings must be those stored."""
    from gbvstats.check.validate import validate_files
    from gbvstats.store.warehouse import BATCH

    present = [(sid, wh.archive / rel) for sid, *_, rel, _ in subs if (wh.archive / rel).is_file()]
    for start in range(0, len(present), BATCH):
        chunk = present[start:start + BATCH]
        reports = validate_files([p for _, p in chunk], wh.reg)
        ids = [sid for sid, _ in chunk]
        stored_cells = _grouped(con.execute(
            "SELECT submission_id, tbl, line, col, value FROM cells "
            "WHERE list_contains(?, submission_id)", [ids]).fetchall())
        stored_findings = _grouped(con.execute(
            "SELECT submission_id, code, sheet, cell, rule_id FROM findings "
            "WHERE list_contains(?, submission_id)", [ids]).fetchall())
        for (sid, path), rep in zip(chunk, reports, strict=True):
            cells: Counter = Counter()
            if rep.cells is not None:
                cells = _bag(rep.cells[["tbl", "line", "col", "value"]].astype(object)
                             .itertuples(index=False))
            found = _bag((f.code, f.sheet, f.cell, f.rule_id) for f in rep.findings)
            differs = []
            if cells != _bag(stored_cells.get(sid, [])):
                differs.append("cells")
            if found != _bag(stored_findings.get(sid, [])):
                differs.append("findings")
            if differs:
                finding("GBV-W025", submission=sid, path=str(path), what=" and ".join(differs))


def _bag(rows) -> Counter:
    """Rows as a multiset, NULLs alike whatever their type (None, NaN, pandas NA)."""
    import pandas as pd

    return Counter(tuple(None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
                         for v in row) for row in rows)


def _grouped(rows) -> dict[int, list[tuple]]:
    out: dict[int, list[tuple]] = {}
    for sid, *rest in rows:
        out.setdefault(sid, []).append(tuple(rest))
    return out


def _repair(wh: Warehouse, report: FsckReport) -> None:
    """Remove leftovers (archive files no row refers to, temporary files, stale records)."""
    for f in report.findings:
        if f.code not in REPAIRABLE:
            continue
        path = Path(f.params["path"])
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            f.params["not_removed"] = exc.strerror or str(exc)
            continue
        f.params["removed"] = True
        report.removed.append(str(path))
        report.findings.append(Finding(code="GBV-W029", file=wh.path.name,
                                       params={"path": str(path), "code": f.code}))
        parent = path.parent
        if parent != wh.archive and parent.is_dir() and not any(parent.iterdir()):
            os.rmdir(parent)  # an empty archive folder xx/


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
