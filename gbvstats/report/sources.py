"""The report's only input: folders written by `gbvstats publish` (protected tables).

A publication is a folder with a `manifest.json` (year, threshold, the files written, each
with its table). The `--published` folders are searched for manifests (the folder itself
and two levels below it, so `published/`, `published/2023/` and `releases/2024/r2/` are
all found). A table of a year is read from the publication's Parquet file (CSV when no
Parquet is listed), rows of that year only, with each measure's `<measure>_OBS_STATUS`.
When a manifest lists a file's `sha256`, the file must still match it.

When two publications hold the same table and year, the one with the highest
`revision` in its manifest wins, then the earlier `--published` folder, then the path
order; the choice is reported (GBV-N010), never made silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding

if TYPE_CHECKING:
    import pandas as pd

MANIFEST = "manifest.json"
DEPTH = 2  # levels below a --published folder searched for manifests
STATUS = "_OBS_STATUS"
NORMAL = "A"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Publication:
    root: Path  # the --published folder it was found under
    folder: Path
    manifest: dict[str, Any]
    manifest_sha256: str
    years: list[int]
    order: int  # position of its root among the --published folders

    @property
    def name(self) -> str:
        """Where it is, relative to the folder given (stable wherever the tree lives)."""
        rel = self.folder.relative_to(self.root).as_posix()
        return self.root.name if rel == "." else f"{self.root.name}/{rel}"

    @property
    def threshold(self) -> int | None:
        value = self.manifest.get("threshold")
        return value if isinstance(value, int) else None

    @property
    def revision(self) -> int:
        value = self.manifest.get("revision", 1)
        return value if isinstance(value, int) else 1

    def files_of(self, table: str, year: int | None = None) -> list[dict[str, Any]]:
        """The manifest's entries for a table's flat files, Parquet first; of one year
        when the entries say theirs (a publication of several years has one per year)."""
        entries = [f for f in self.manifest.get("files", []) if isinstance(f, dict)
                   and f.get("table") == table and f.get("kind") in ("parquet", "csv")
                   and f.get("year") in (None, year)]
        return sorted(entries, key=lambda f: f.get("kind") != "parquet")

    def tables(self) -> set[str]:
        return {f["table"] for f in self.manifest.get("files", [])
                if isinstance(f, dict) and isinstance(f.get("table"), str)}


@dataclass
class TableYear:
    """One published table's rows of one year, with the status of each measure cell."""
    table: str
    year: int
    frame: pd.DataFrame  # the published values (suppressed cells empty), index 0..n-1
    status: dict[str, pd.Series]  # measure column -> OBS_STATUS per row ("A" where none published)
    publication: Publication
    file: str  # file name within the publication

    @property
    def threshold(self) -> int | None:
        return self.publication.threshold


@dataclass
class Library:
    """Every publication found under the `--published` folders."""
    roots: list[Path]
    publications: list[Publication] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    _cache: dict[tuple[str, int], TableYear | None] = field(default_factory=dict)

    def years(self) -> set[int]:
        return {y for p in self.publications for y in p.years}

    def candidates(self, table: str, year: int) -> list[Publication]:
        found = [p for p in self.publications if year in p.years and table in p.tables()]
        return sorted(found, key=lambda p: (-p.revision, p.order, p.folder.as_posix()))

    def get(self, table: str, year: int) -> TableYear | None:
        key = (table, year)
        if key not in self._cache:
            self._cache[key] = self._load(table, year)
        return self._cache[key]

    def used(self) -> list[TableYear]:
        return [ty for ty in self._cache.values() if ty is not None]

    def _load(self, table: str, year: int) -> TableYear | None:
        candidates = self.candidates(table, year)
        for pub in candidates:
            loaded = self._read(pub, table, year)
            if loaded is None:
                continue  # unreadable or altered: reported; try the next publication
            others = [p.name for p in candidates if p is not pub]
            if others:
                self.findings.append(Finding(
                    "GBV-N010", file=pub.name, params={"table": table, "year": year, "used": pub.name,
                                                       "others": ", ".join(others)}))
            return loaded
        return None

    def _read(self, pub: Publication, table: str, year: int) -> TableYear | None:
        import pandas as pd

        for entry in pub.files_of(table, year):
            name = str(entry.get("file", ""))
            path = pub.folder / name
            shown = f"{pub.name}/{name}"
            if not name or Path(name).name != name or not path.is_file():
                self.findings.append(Finding("GBV-N008", file=shown, params={
                    "file": shown, "problem": "listed in the manifest but not found"}))
                continue
            expected = entry.get("sha256")
            if isinstance(expected, str) and sha256(path) != expected.lower():
                self.findings.append(Finding("GBV-N009", file=shown, params={"file": shown}))
                continue
            try:
                if entry["kind"] == "parquet":
                    frame = pd.read_parquet(path)
                else:
                    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
            except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not raised
                self.findings.append(Finding("GBV-N008", file=shown, params={
                    "file": shown, "problem": f"{type(exc).__name__}: {exc}"[:300]}))
                continue
            if "year" in frame.columns:
                frame = frame[pd.to_numeric(frame["year"], errors="coerce") == year]
            elif len(pub.years) != 1:
                continue  # a file of several years without a year column: cannot tell them apart
            frame = frame.reset_index(drop=True)
            if frame.empty:
                return None
            return _split(table, year, frame, pub, name)
        return None


def _split(table: str, year: int, frame: pd.DataFrame, pub: Publication, name: str) -> TableYear:
    """Values and their OBS_STATUS columns apart."""
    import pandas as pd

    flags = [c for c in frame.columns if c.endswith(STATUS)]
    values = frame.drop(columns=flags)
    status = {}
    for col in values.columns:
        if col + STATUS in frame.columns:
            status[col] = frame[col + STATUS].astype("object").where(frame[col + STATUS].notna(), NORMAL).astype(str)
        elif pd.api.types.is_numeric_dtype(values[col]):
            status[col] = pd.Series(NORMAL, index=values.index)
    return TableYear(table, year, values, status, pub, name)


def _manifests(root: Path) -> list[Path]:
    found = []
    level = [root]
    for _ in range(DEPTH + 1):
        below = []
        for folder in level:
            if (folder / MANIFEST).is_file():
                found.append(folder / MANIFEST)
            try:
                below += sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            except OSError:
                continue
        level = below
    return sorted(found, key=lambda p: p.as_posix())


def find_publications(roots: list[Path]) -> Library:
    """Every readable publication under the folders, in the order given."""
    lib = Library([Path(r) for r in roots])
    for order, root in enumerate(lib.roots):
        if not root.is_dir():
            lib.findings.append(Finding("GBV-N008", file=str(root), params={
                "file": str(root), "problem": "not a folder"}))
            continue
        for path in _manifests(root):
            pub = _publication(root, path, order, lib.findings)
            if pub is not None:
                lib.publications.append(pub)
    return lib


def _publication(root: Path, path: Path, order: int, findings: list[Finding]) -> Publication | None:
    rel = path.relative_to(root).as_posix()
    shown = f"{root.name}/{rel}"
    try:
        raw = path.read_bytes()
        manifest = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        findings.append(Finding("GBV-N008", file=shown, params={"file": shown, "problem": str(exc)[:300]}))
        return None
    years = manifest.get("years") if isinstance(manifest, dict) else None
    if not isinstance(years, list) and isinstance(manifest, dict):
        years = [manifest.get("year")]
    if not isinstance(manifest, dict) or not years or not all(isinstance(y, int) for y in years):
        findings.append(Finding("GBV-N008", file=shown, params={
            "file": shown, "problem": "no year (`year` or `years`) in the manifest"}))
        return None
    return Publication(root, path.parent, manifest, hashlib.sha256(raw).hexdigest(), sorted(years), order)
