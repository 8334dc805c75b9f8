"""Releases: every publication is made from a recorded state of the warehouse, can be made
again byte for byte, verified, and revised with a note of what changed.

`gbvstats publish` calls `make_release`:

1. the state: the warehouse as of its latest audit event (or `--as-of TIMESTAMP`'s), in
   a temporary warehouse (`store/asof.py`); every year published is consolidated there,
   so the figures follow from the recorded state alone, whatever was stored by the last
   `gbvstats consolidate`;
2. the files, written from that state into the publication's staging folder, with
   nothing that depends on the clock or the machine (`publish/stable.py`);
3. the release: what the files say and what they were made from (inputs, decisions,
   explanations, parameters, the figures) hashed as its *content*. If the latest release
   of the same years made from a state at or before this one has the same content, this
   is that release again: its id, revision and timestamp are reused and the files come
   out byte for byte as they were. Otherwise it is a new release, numbered after the
   releases the state knew (`2024-r1`, `2024-r2`, ...), its timestamp the time of the
   state's last event (`as_of`), never the clock;
4. the revisions: every figure that changed against the previous release of the same
   years (old and new value as published, the returns that caused it), in the manifest
   and on the workbook's `revisions` sheet (`publish/revisions.py`);
5. the manifest (`manifest.json`): release, code version, schema and pipeline hashes,
   inputs, decisions and explanations in force, the gate's outcome, disclosure
   parameters, the revisions and the SHA-256 of every file;
6. the record: a new release is stored (`releases`, `release_files`, its files in the
   archive under their SHA-256) with a `released` audit event, then the folder is moved
   into place. `--as-of` never records: it makes an earlier state's release again and
   says whether it is a recorded release.

`verify(wh, folder)` makes a published folder's release again from its manifest (its
cut and parameters) and compares every file.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.paths import PACKAGE_DIR, pipelines_dir, schemas_dir, sql_dir
from gbvstats.store.asof import Cut

if TYPE_CHECKING:
    from gbvstats.store.warehouse import Warehouse

MANIFEST = "manifest.json"
FINAL, PROVISIONAL = "final", "provisional"
NEW, SAME, REPRODUCED, UNRECORDED = "new", "same", "reproduced", "unrecorded"


class ReleaseError(Exception):
    """A release that cannot be made, listed, compared or verified: findings (GBV-L) or a
    message key of messages/release.yaml; `code` is the exit code."""

    def __init__(self, key: str | None = None, code: int = 1, findings: list[Finding] | None = None,
                 **params: object):
        self.key, self.code, self.params, self.findings = key, code, params, findings or []
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gbvstats.i18n import t

        if self.key:
            return t(f"release.error.{self.key}", lang, **self.params)
        return "; ".join(f.message(lang) for f in self.findings)


@dataclass
class ReleaseInfo:
    """What identifies a release: written in its manifest's `release` section."""

    release_id: str
    scope: str
    years: list[int]
    revision: int
    previous: str | None
    status: str
    as_of: str | None  # ISO time of the state's last event: the release's timestamp
    last_event: int
    code: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.release_id, "scope": self.scope, "years": self.years,
                "revision": self.revision, "previous": self.previous, "status": self.status,
                "timestamp": self.as_of, "last_event": self.last_event}

    @property
    def when(self) -> datetime | None:
        return datetime.fromisoformat(self.as_of) if self.as_of else None

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> ReleaseInfo:
        r = manifest["release"]
        return cls(r["id"], r["scope"], list(r["years"]), int(r["revision"]), r.get("previous"),
                   r["status"], r.get("timestamp"), int(r["last_event"]), manifest.get("code") or {})


@dataclass
class ReleaseResult:
    release: ReleaseInfo
    out: Path
    manifest: dict[str, Any]
    outcome: str  # new | same | reproduced | unrecorded
    same_as: str | None = None
    cut: Cut | None = None
    findings: list[Finding] = field(default_factory=list)
    manifest_sha256: str = ""

    @property
    def paths(self) -> list[Path]:
        return [self.out / f["file"] for f in self.manifest["files"]] + [self.out / MANIFEST]

    @property
    def changes(self) -> list[dict[str, Any]]:
        return (self.manifest.get("revisions") or {}).get("changes") or []

    def summary(self, lang: str = "en", as_of: str | None = None) -> str:
        """One line saying what was made: a new release (first, or revising which, how
        many figures changed), the same one again, or an earlier one made again."""
        from gbvstats.i18n import t

        r = self.release
        files = len(self.manifest["files"]) + 1
        if self.outcome == SAME:
            return t("release.made.same", lang, release=r.release_id)
        if self.outcome == REPRODUCED:
            return t("release.made.reproduced", lang, when=as_of or r.as_of, release=r.release_id,
                     event=r.last_event, sha=self.manifest_sha256[:16])
        if self.outcome == UNRECORDED:
            return t("release.made.unrecorded", lang, when=as_of or r.as_of, release=r.release_id,
                     event=r.last_event)
        status = t(f"release.status.{r.status}", lang)
        if r.previous is None:
            return t("release.made.first", lang, release=r.release_id, status=status, as_of=r.as_of,
                     event=r.last_event, files=files, scope=r.scope)
        return t("release.made.new", lang, release=r.release_id, status=status, as_of=r.as_of,
                 event=r.last_event, files=files, changes=len(self.changes), previous=r.previous)

    def to_dict(self) -> dict[str, Any]:
        return {"release": self.release.to_dict(), "outcome": self.outcome, "same_as": self.same_as,
                "manifest_sha256": self.manifest_sha256,
                "out": str(self.out), "changes": len(self.changes),
                "files": [{k: f.get(k) for k in ("file", "kind", "rows", "sha256")}
                          for f in self.manifest["files"]],
                "notes": [f.to_dict() for f in self.findings]}


# --- identity --------------------------------------------------------------------------


def scope_of(years: list[int]) -> str:
    """`2024`; `2020-2024` for consecutive years; `2019,2021` otherwise."""
    years = sorted(set(int(y) for y in years))
    if len(years) == 1:
        return str(years[0])
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}"
    return ",".join(map(str, years))


def release_id(scope: str, revision: int) -> str:
    return f"{scope}-r{revision}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tree_hash(root: Path, suffixes: tuple[str, ...] | None = None) -> str:
    """SHA-256 over every file under `root` (relative path and bytes, in path order)."""
    digest = hashlib.sha256()
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            if suffixes and path.suffix not in suffixes:
                continue
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@cache
def _git_commit() -> str | None:
    """The git commit of the code, when it runs from a git checkout (informational: a
    release is identified by its content, not by the commit)."""
    try:
        proc = subprocess.run(["git", "-C", str(PACKAGE_DIR.parent), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and len(commit) == 40 else None


def code_version() -> dict[str, Any]:
    """The code a release is made by: package version, git commit when known, and hashes
    of the package's code, the schemas and the pipelines."""
    from gbvstats import __version__

    return {"gbvstats": __version__, "git_commit": _git_commit(),
            "code_sha256": _tree_hash(PACKAGE_DIR, (".py", ".sql", ".yaml", ".html", ".css")),
            "schemas_sha256": _tree_hash(schemas_dir()),
            "pipelines_sha256": _tree_hash(pipelines_dir())}


# --- making a release ------------------------------------------------------------------


@dataclass
class State:
    """The warehouse's state a release is made from: a temporary copy (`store/asof.py`),
    its cut, and whether it is an earlier state (`--as-of`: nothing is recorded)."""

    base: Warehouse
    cut: Cut
    replaying: bool


@contextmanager
def release_state(wh: Warehouse, as_of: datetime | None = None, cut: Cut | None = None
                  ) -> Iterator[State]:
    """The state now, at time `as_of` or at `cut`, for one or several releases (the demo
    publishes five years from one state)."""
    from gbvstats.store.asof import snapshot

    with snapshot(wh, when=as_of, cut=cut) as (base, chosen):
        yield State(base, chosen, as_of is not None or cut is not None)


@contextmanager
def _fork(state: State) -> Iterator[Warehouse]:
    """A copy of the state for one release: each release consolidates its years in a
    state of its own, so nothing of another release (run numbers) reaches its files."""
    import tempfile

    from gbvstats.store.warehouse import Warehouse

    work = Path(tempfile.mkdtemp(prefix="gbvstats-release-", dir=state.base.path.parent))
    try:
        shutil.copy2(state.base.path, work / state.base.path.name)
        copy = Warehouse(work / state.base.path.name, state.base.reg, lock_timeout=state.base.lock_timeout)
        copy._dims = state.base._dims
        yield copy
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make_release(wh: Warehouse, years: list[int], out: Path | str,
                 langs: tuple[str, ...] = ("ru", "ky", "en"), threshold: int | None = None,
                 provisional: bool | list | None = False, as_of: datetime | None = None,
                 cut: Cut | None = None,
                 by: str | None = None, lang: str = "en", record: bool = True,
                 state: State | None = None, gate: bool = False,
                 accepted_only: bool = False) -> ReleaseResult:
    """Make (or make again) the release of `years` from the warehouse's state now, at time
    `as_of`, at `cut`, or the `state` given, into the folder `out` (written whole or not at
    all). A new release is recorded unless the state is an earlier one or `record` is
    false. With `gate` (as `gbvstats publish`) the publication gate runs on the state's
    tables: `GateRefused` (nothing written, nothing recorded) for a year it blocks, unless
    `provisional` (True: for the gate's reasons; a list: those reasons, and the gate's).
    `accepted_only`: consolidated from the returns an NSC reviewer accepted only
    (`consolidate --accepted-only`). Both are parameters of the release, in its manifest,
    and `verify` makes it again with them."""
    from gbvstats.publish import disclosure, folder

    years = sorted(set(int(y) for y in years))
    disclosure.settings(threshold, lang)  # a bad --threshold or disclosure.yaml: exit 2 before any work
    final = Path(out)
    folder.check_target(final)
    if state is None:
        with release_state(wh, as_of, cut) as made:
            return make_release(wh, years, final, langs, threshold, provisional, by=by, lang=lang,
                                record=record, state=made, gate=gate, accepted_only=accepted_only)
    with _fork(state) as work:
        _consolidate(work, years, lang, accepted_only)
        stage = folder.staging(final)
        try:
            result = build(wh, work, state.cut, years, stage, langs, threshold, provisional, lang,
                           state.replaying, gate, accepted_only)
            result.out = final
            if record and not state.replaying and result.outcome == NEW:
                _record(wh, result, stage, final, by, state.cut)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
    folder.into_place(stage, final)
    return result


def _consolidate(state: Warehouse, years: list[int], lang: str, accepted_only: bool = False) -> None:
    from gbvstats.consolidate.run import ConsolidateError, consolidate
    from gbvstats.i18n import t
    from gbvstats.publish.tables import PublishError

    for year in years:
        found = state.query("SELECT count(*) AS n FROM current_submissions WHERE year = ?", [year])
        if not int(found["n"].iloc[0]):
            raise PublishError(t("release.error.no_returns", lang, year=year), 2)
        try:
            consolidate(state, year, accepted_only=accepted_only)
        except ConsolidateError as exc:  # --accepted-only with nothing accepted in the state
            if exc.key == "none_reviewed":
                raise PublishError(t("release.error.none_accepted", lang, year=year), 2) from None
            raise PublishError(exc.message(lang), exc.code) from None


def build(wh: Warehouse, state: Warehouse, cut: Cut, years: list[int], stage: Path,
          langs: tuple[str, ...], threshold: int | None, provisional: bool | list | None, lang: str,
          replaying: bool = False, gate: bool = False, accepted_only: bool = False) -> ReleaseResult:
    """Write the release of `years` from `state` (consolidated) into `stage`, and its
    manifest; decide whether it is a release already recorded in `wh`."""
    from gbvstats.publish.stable import EPOCH, stable_zip, write_json
    from gbvstats.publish.tables import read_publication, write_publication

    asked = provisional_reasons(provisional)
    # the manifest's texts (the gate's item titles, tables skipped) are in the release's
    # first language, a parameter of it, never in the language of whoever runs it again
    own = langs[0] if langs else lang
    read = read_publication(state.path, years, threshold, lang=own, provisional=asked, gate=gate)
    threshold = read.threshold  # --threshold, else schemas/disclosure.yaml's
    written = write_publication(stage, read, langs, lang=own)
    written["disclosure"] = _timeless(written.get("disclosure"))  # how long the audit took is no content
    for f in written["files"]:
        if f["kind"] == "xlsx":
            stable_zip(stage / f["file"], EPOCH)  # its content, before the release's own sheet and date
    params = {"years": years, "languages": list(langs), "threshold": threshold,
              "provisional": asked, "gate": gate, "accepted_only": accepted_only}
    inputs = _records(state, "inputs.sql", years)
    explanations = _records(state, "explanations.sql", years)
    decisions = _decisions(state, years)
    content = {k: v for k, v in written.items() if k != "files"} | {
        "parameters": params, "inputs": inputs, "explanations": explanations, "decisions": decisions,
        "files": {f["file"]: sha256_file(stage / f["file"]) for f in written["files"]}}
    content_sha = hashlib.sha256(_canonical(content).encode()).hexdigest()

    scope = scope_of(years)
    status = PROVISIONAL if any(read.reasons.values()) else FINAL
    latest = _releases(wh, scope, cut.event)
    same = latest[0] if latest and latest[0]["content_sha256"] == content_sha else None
    if same:
        info = ReleaseInfo.from_manifest(same["manifest"])
        outcome = REPRODUCED if replaying else SAME
    else:
        known = _known(state, scope)
        revision = (known[0]["revision"] + 1) if known else 1
        info = ReleaseInfo(release_id(scope, revision), scope, years, revision,
                           known[0]["release_id"] if known else None, status,
                           cut.at.isoformat() if cut.at else None,
                           cut.event, code_version())
        outcome = UNRECORDED if replaying else NEW
    revisions = _revisions(wh, state, info, inputs, stage, written["files"])
    for f in written["files"]:
        if f["kind"] == "xlsx":
            _add_revisions_sheet(stage / f["file"], info, revisions["changes"], langs)
            stable_zip(stage / f["file"], info.when)
    files = []
    for f in written["files"]:
        path = stage / f["file"]
        files.append(f | {"sha256": sha256_file(path), "bytes": path.stat().st_size})
    manifest = {k: v for k, v in written.items() if k != "files"} | {
        "release": info.to_dict(), "revision": info.revision,
        "code": info.code, "parameters": params, "inputs": inputs, "explanations": explanations,
        "decisions": decisions,
        "revisions": revisions, "content_sha256": content_sha, "files": files}
    write_json(stage / MANIFEST, manifest)
    result = ReleaseResult(info, stage, manifest, outcome, same["release_id"] if same else None, cut,
                           list(cut.notes), sha256_file(stage / MANIFEST))
    if same and result.manifest_sha256 != same["manifest_sha256"]:
        result.findings.append(Finding(code="GBV-L012", params={
            "release": info.release_id, "file": MANIFEST,
            "recorded": same["manifest_sha256"], "found": result.manifest_sha256}))
    if replaying and not same:
        result.findings.append(Finding(code="GBV-L013", params={
            "scope": scope, "event": cut.event, "as_of": info.as_of or "-"}))
    return result


def provisional_reasons(provisional: bool | list | None) -> bool | list:
    """What was asked of a release (a parameter of it): `True` (provisional for the
    gate's reasons, else on request: `publish --provisional`), the reasons given (texts or
    {en, ru, ky} labels), or `[]` (final, unless the gate blocks: then refused).
    `read_publication` turns it into the reasons published (the footnote and the
    manifest's `provisional`)."""
    if provisional is True:
        return True
    if not provisional:
        return []
    return [r if isinstance(r, dict) else str(r) for r in provisional]


def _timeless(data: Any) -> Any:
    """The disclosure audit's summary without the seconds it took (they vary from run to
    run; a release's files and manifest must not)."""
    if isinstance(data, dict):
        return {k: _timeless(v) for k, v in data.items() if k != "seconds"}
    if isinstance(data, list):
        return [_timeless(v) for v in data]
    return data


def _canonical(data: Any) -> str:
    from gbvstats.publish.stable import stable_json

    return stable_json(data)


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "release" / name).read_text(encoding="utf-8")


def _records(state: Warehouse, name: str, years: list[int]) -> list[dict[str, Any]]:
    frame = state.query(_sql(name), [years])
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _decisions(state: Warehouse, years: list[int]) -> list[dict[str, Any]]:
    """NSC decisions in force for the years (when the warehouse records decisions)."""
    found = state.query("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'decisions'")
    if not int(found["n"].iloc[0]):
        return []
    return _records(state, "decisions.sql", years)


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is None:
        return None
    try:
        import pandas as pd

        if not isinstance(value, (list, dict, str)) and pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def _releases(wh: Warehouse, scope: str, event: int) -> list[dict[str, Any]]:
    """Recorded releases of `scope` made from a state at or before `event`, latest first."""
    import json

    if not _has_releases(wh):
        return []
    frame = wh.query(_sql("releases_of_scope.sql"), [scope, event])
    rows = frame.to_dict("records")
    for r in rows:
        r["manifest"] = json.loads(r["manifest"]) if isinstance(r["manifest"], str) else r["manifest"]
    return rows


def _known(state: Warehouse, scope: str) -> list[dict[str, Any]]:
    """Releases of `scope` the state knows (recorded by its last event), latest first."""
    frame = state.query("SELECT release_id, revision FROM releases WHERE scope = ? ORDER BY revision DESC",
                        [scope])
    return frame.to_dict("records")


def _has_releases(wh: Warehouse) -> bool:
    found = wh.query("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'releases'")
    return bool(int(found["n"].iloc[0]))


def _revisions(wh: Warehouse, state: Warehouse, info: ReleaseInfo, inputs: list[dict],
               stage: Path, files: list[dict]) -> dict[str, Any]:
    """The figures changed against the previous release, and the returns that changed."""
    from gbvstats.publish import revisions as rv

    if not info.previous:
        return {"previous": None, "changes": [], "returns": []}
    prev = _release_row(wh, info.previous)
    prev_files = wh.query(_sql("release_files.sql"), [info.previous]).to_dict("records")
    old = rv.read_figures(prev_files, wh.archive)
    new = rv.read_figures(files, stage)
    changes = rv.diff(old, new)
    returns = rv.changed_returns(prev["manifest"].get("inputs") or [], inputs)
    oblasts = dict(state.query(_sql("oblasts.sql")).itertuples(index=False, name=None))
    forms_of = _forms_of(state)
    subs = rv.causes(changes, returns, forms_of, oblasts.get)
    return {"previous": info.previous, "changes": rv.as_records(changes, subs), "returns": returns}


def _forms_of(state: Warehouse):
    """forms_of(table, key, measure): the forms a published figure reads, by the lineage
    derived from its pipeline's SQL (consolidate/lineage.py: the figure's row and measure,
    at its scope, oblast or national); a rate the synthetic evaluation left empty reads
    what its numerator and denominator read (the `-- rates:` header); the pipeline's
    `-- sources:` header where nothing could be derived."""
    from gbvstats.consolidate.lineage import lineage, scope_of
    from gbvstats.consolidate.run import pipelines
    from gbvstats.publish.revisions import forms_in_sources
    from gbvstats.publish.tables import parse_rates

    known = set(state.reg.form_codes())
    by_id = {p.id: p for p in pipelines()}
    header = {p.id: forms_in_sources(p.meta.get("sources", ""), known) for p in by_id.values()}
    rates = {p.id: parse_rates(p.meta.get("rates", ""), p.id) for p in by_id.values()}
    derived: dict[str, Any] = {}

    def forms_of(table: str, key: str, measure: str, depth: int = 0) -> set[str]:
        if table not in by_id:
            return set()
        if table not in derived:
            derived[table] = lineage(by_id[table], state.reg, exact=False)
        lin = derived[table]
        if lin.error:
            return header[table]
        row = dict(part.split("=", 1) for part in key.split(";") if "=" in part)
        found = set(lin.forms_of(scope_of(row.get("area", "KG")), lin.row_key(row), measure))
        rate = rates[table].get(measure)
        if not found and rate and depth < 3:
            found = set().union(*(forms_of(table, key, rate[side], depth + 1)
                                  for side in ("numerator", "denominator")))
        return found or header[table]

    return forms_of


def _release_row(wh: Warehouse, rid: str) -> dict[str, Any]:
    import json

    frame = wh.query("SELECT * FROM releases WHERE release_id = ?", [rid])
    if not len(frame):
        raise ReleaseError(findings=[Finding(code="GBV-L010", params={"release": rid})], code=2)
    row = frame.to_dict("records")[0]
    row["manifest"] = json.loads(row["manifest"]) if isinstance(row["manifest"], str) else row["manifest"]
    return row


def _add_revisions_sheet(path: Path, info: ReleaseInfo, changes: list[dict], langs) -> None:
    from openpyxl import load_workbook

    from gbvstats.publish.revisions import write_sheet
    from gbvstats.safe import formula_cells, save_workbook

    wb = load_workbook(path)
    keep = formula_cells(wb)
    write_sheet(wb, info.release_id, info.previous, changes, tuple(langs))
    save_workbook(wb, path, keep=keep)


# --- recording -------------------------------------------------------------------------


def _record(wh: Warehouse, result: ReleaseResult, stage: Path, final: Path, by: str | None,
            cut: Cut) -> None:
    """Store a new release: its files in the archive, then its rows and audit event in one
    transaction. Refused when another release of the scope was recorded meanwhile."""
    info = result.release
    entries = [*result.manifest["files"], {"file": MANIFEST, "kind": "manifest"}]
    files = []
    for f in entries:
        path = stage / f["file"]
        sha = f.get("sha256") or sha256_file(path)
        years = f.get("years") or ([f["year"]] if f.get("year") is not None else info.years)
        files.append({"file": f["file"], "kind": f["kind"], "years": [int(y) for y in years],
                      "table_name": f.get("table"), "rows": f.get("rows"),
                      "bytes": path.stat().st_size, "sha256": sha,
                      "archive_path": wh._archive(path, sha)})  # the bytes before the rows
    manifest_text = (stage / MANIFEST).read_text(encoding="utf-8")
    detail = {"release_id": info.release_id, "scope": info.scope, "years": info.years,
              "revision": info.revision, "previous": info.previous, "status": info.status,
              "as_of": info.as_of, "last_event": info.last_event,
              "content_sha256": result.manifest["content_sha256"],
              "manifest_sha256": result.manifest_sha256, "out_dir": str(final),
              "files": files}
    who = by or _login()
    with wh.writer(create=False) as con:
        newest = con.execute("SELECT release_id FROM releases WHERE scope = ? ORDER BY revision DESC LIMIT 1",
                             [info.scope]).fetchall()
        if (newest[0][0] if newest else None) != info.previous:
            raise ReleaseError("raced", 1, scope=info.scope, found=newest[0][0], expected=info.previous or "-")
        con.execute("BEGIN")
        try:
            from gbvstats.store.warehouse import _now

            when = _now()
            insert(con, detail, manifest_text, when, who)
            wh._audit(con, when, "released", None, who, None, None, None, detail)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def insert(con, detail: dict[str, Any], manifest_text: str, when, who: str | None) -> None:
    """A release's rows from its audit detail (also used by rebuild's replay)."""
    con.execute(_sql("insert_release.sql"), {
        "release_id": detail["release_id"], "scope": detail["scope"], "years": detail["years"],
        "revision": detail["revision"], "previous": detail["previous"], "status": detail["status"],
        "as_of": detail["as_of"], "last_event": detail["last_event"],
        "content_sha256": detail["content_sha256"], "manifest_sha256": detail["manifest_sha256"],
        "manifest": manifest_text, "released_at": when, "released_by": who,
        "out_dir": detail.get("out_dir")})
    for f in detail["files"]:
        con.execute(_sql("insert_release_file.sql"), {"release_id": detail["release_id"], **f})


def _login() -> str | None:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or os.environ.get("USERNAME")


# --- reading, comparing, verifying -----------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """A published folder's manifest, which must name its release (GBV-L009 otherwise)."""
    import json

    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        ReleaseInfo.from_manifest(manifest)
        manifest["files"], manifest["parameters"]  # noqa: B018 - both must be there
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"{type(exc).__name__}: {exc}"
        raise ReleaseError(findings=[Finding(code="GBV-L009", file=str(path),
                                             params={"folder": str(folder), "reason": reason})],
                           code=2) from None
    return manifest


def list_releases(wh: Warehouse):
    if not _has_releases(wh):
        import pandas as pd

        return pd.DataFrame()
    return wh.query(_sql("list.sql"))


@dataclass
class Figures:
    """A release's figures and inputs, from the warehouse's record or a published folder."""

    name: str
    figures: Any
    inputs: list[dict[str, Any]]


def figures_of(wh: Warehouse | None, ref: str) -> Figures:
    """`ref` is a release id recorded in the warehouse, or a published folder."""
    from gbvstats.publish import revisions as rv

    path = Path(ref)
    if path.is_dir():
        manifest = read_manifest(path)
        return Figures(manifest["release"]["id"], rv.read_figures(manifest["files"], path),
                       manifest.get("inputs") or [])
    if wh is None:
        raise ReleaseError(findings=[Finding(code="GBV-L010", params={"release": ref})], code=2)
    row = _release_row(wh, ref)
    files = wh.query(_sql("release_files.sql"), [ref]).to_dict("records")
    return Figures(ref, rv.read_figures(files, wh.archive), row["manifest"].get("inputs") or [])


def diff_releases(wh: Warehouse | None, a: str, b: str) -> dict[str, Any]:
    """Every figure that differs between releases `a` and `b` (ids or folders), with the
    returns that differ and, for each figure, those it reads."""
    from gbvstats.publish import revisions as rv

    old, new = figures_of(wh, a), figures_of(wh, b)
    changes = rv.diff(old.figures, new.figures)
    returns = rv.changed_returns(old.inputs, new.inputs)
    if wh is not None:
        oblasts = dict(wh.query(_sql("oblasts.sql")).itertuples(index=False, name=None))
        subs = rv.causes(changes, returns, _forms_of(wh), oblasts.get)
    else:
        subs = [[] for _ in range(len(changes))]
    return {"from": old.name, "to": new.name, "changes": rv.as_records(changes, subs),
            "returns": returns}


@dataclass
class VerifyReport:
    folder: Path
    release: ReleaseInfo | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if any(f.severity == "error" for f in self.findings) else 0

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"folder": str(self.folder), "release": self.release.to_dict() if self.release else None,
                "exit_code": self.exit_code, "files": self.files,
                "findings": [f.to_dict(lang) for f in self.findings]}


def verify(wh: Warehouse, folder: Path | str, lang: str = "en") -> VerifyReport:
    """Make the release of a published folder again from its manifest (the state at its
    last event, its parameters) and compare every file: with what the manifest records,
    with the folder's bytes, and with what is made again."""
    import tempfile

    folder = Path(folder)
    manifest = read_manifest(folder)
    info = ReleaseInfo.from_manifest(manifest)
    report = VerifyReport(folder, info)
    cut = _recorded_cut(wh, info)
    params = manifest["parameters"]
    code = code_version()
    differs = [k for k in ("code_sha256", "schemas_sha256", "pipelines_sha256")
               if info.code.get(k) and info.code.get(k) != code.get(k)]
    if differs:
        report.findings.append(Finding(code="GBV-L008", params={
            "release": info.release_id, "what": ", ".join(d.removesuffix("_sha256") for d in differs),
            "made_by": info.code.get("gbvstats", "?"), "now": code["gbvstats"]}))
    with tempfile.TemporaryDirectory(prefix="gbvstats-verify-") as tmp:
        again = make_release(wh, params["years"], Path(tmp) / "again", tuple(params["languages"]),
                             int(params["threshold"]), params.get("provisional") or [], cut=cut, lang=lang,
                             gate=bool(params.get("gate")), accepted_only=bool(params.get("accepted_only")))
        remade = {f["file"]: f["sha256"] for f in again.manifest["files"]}
        remade[MANIFEST] = sha256_file(again.out / MANIFEST)
        recorded = {f["file"]: f.get("sha256") for f in manifest["files"]}
        recorded[MANIFEST] = sha256_file(folder / MANIFEST)  # what the folder says of itself
        for name in sorted(set(recorded) | set(remade)):
            entry = _compare(folder, name, recorded.get(name), remade.get(name), report)
            report.files.append(entry)
    return report


RELEASE_ID = r"^\d{4}(?:[-,]\d{4})*-r\d+$"


def release_parameters(wh: Warehouse, rid: str) -> dict[str, Any]:
    """What a recorded release was made with (its manifest's `parameters`): `publish
    --as-of 2024-r1` takes them for every option not given."""
    return dict(_release_row(wh, rid)["manifest"].get("parameters") or {})


def release_cut(wh: Warehouse, rid: str) -> Cut:
    """The state a recorded release was made from (`publish --as-of 2024-r1`)."""
    row = _release_row(wh, rid)
    return _recorded_cut(wh, ReleaseInfo.from_manifest(row["manifest"]))


def _recorded_cut(wh: Warehouse, info: ReleaseInfo) -> Cut:
    """The release's state in this warehouse: its last event must be there, at the time
    the manifest says (GBV-L011 otherwise)."""
    found = wh.query("SELECT event_at FROM audit_log WHERE event_id = ?", [info.last_event])
    at = found["event_at"].iloc[0].to_pydatetime() if len(found) else None
    if at is None or (info.as_of and at.isoformat() != info.as_of):
        raise ReleaseError(findings=[Finding(code="GBV-L011", params={
            "release": info.release_id, "event": info.last_event, "as_of": info.as_of or "-",
            "found": at.isoformat() if at else "-"})], code=1)
    return Cut(info.last_event, at)


def _compare(folder: Path, name: str, recorded: str | None, remade: str | None,
             report: VerifyReport) -> dict[str, Any]:
    path = folder / name
    present = sha256_file(path) if path.is_file() else None
    add = report.findings.append
    if recorded is None:
        add(Finding(code="GBV-L003", file=name, params={"file": name}))
        state = "extra"
    elif present is None:
        add(Finding(code="GBV-L002", file=name, params={"file": name}))
        state = "missing"
    elif present != recorded:
        add(Finding(code="GBV-L001", file=name, params={"file": name, "expected": recorded, "found": present}))
        state = "changed"
    elif remade is None:
        add(Finding(code="GBV-L016", file=name, params={"file": name}))
        state = "not_remade"
    elif remade != recorded:
        add(Finding(code="GBV-L015", file=name, params={"file": name, "expected": recorded, "found": remade}))
        state = "differs"
    else:
        state = "identical"
    return {"file": name, "recorded": recorded, "folder": present, "remade": remade, "state": state}
