"""The workbook file as a container, checked before any spreadsheet library parses it.

A workbook is a zip of XML parts (.xlsx, .ods) or a compound file of binary records
(.xls, and password-protected .xlsx). Whatever a hostile or damaged file declares, what
reaches the library is bounded: parts are checked for size and compression ratio, for
document-type and entity declarations and for encodings the scans cannot see (refused),
for duplicated parts (refused: which one the library takes would decide the figures), for
encryption and macros; then every sheet is scanned for values far from A1, and the
library is given a copy with those values cut out (reported by the reader, which also
learns which cells hold formulas or error values, and the workbook's defined names).
Anything that cannot be read raises `Unreadable` with the finding that says why.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from gbvstats.catalogue import Finding
from gbvstats.collect import biff, xmlparts
from gbvstats.collect.cfb import SIGNATURE, CfbError, CompoundFile
from gbvstats.collect.grid import MAX_CELLS, MAX_COLS, MAX_ROWS, FarCell, column_letters

MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per zip entry over 1 MB
# pictures and embedded objects (an SVG logo may carry a DOCTYPE): never parsed by the library
MEDIA_FOLDERS = ("xl/media/", "xl/embeddings/", "pictures/", "thumbnails/", "objectreplacements/")
UNREAD_SHEETS = {"_lists", "_labels"}  # the template's own lists: no value is read from them


class Unreadable(Exception):
    """The file cannot be read at all; carries the finding that says why."""

    def __init__(self, finding: Finding):
        super().__init__(finding.code)
        self.finding = finding


@dataclass
class Sheet:
    name: str
    far: list[FarCell] = field(default_factory=list)
    area: int = 0  # cells of the grid the library will build for it
    damaged: str | None = None  # why the part was not handed to the library (GBV-F051)
    skipped: bool = False  # never read, so neither scanned nor handed over (_lists, _labels)


@dataclass
class Container:
    kind: str  # xlsx | ods | xls
    data: bytes  # what the library is given: the file, or a copy with far values cut out
    sheets: list[Sheet] = field(default_factory=list)
    names: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # gbv_* -> (sheet, A1)
    name_targets: dict[str, str] = field(default_factory=dict)  # gbv_* -> the target as written
    special: dict[str, dict[str, str]] = field(default_factory=dict)  # sheet -> {A1: formula|#REF!..}
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (code, params)


def inspect(data: bytes, suffix: str) -> Container:
    if data[:2] == b"PK":
        return _zip(data, suffix)
    if data[:8] == SIGNATURE:
        return _compound(data)
    raise Unreadable(Finding("GBV-F004", params={"detail": f"starts with {data[:8]!r}"}))


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _refuse(code: str, **params: Any) -> Unreadable:
    return Unreadable(Finding(code, params=params))


# --- zip packages: .xlsx, .xlsm, .ods ----------------------------------------------------

def _zip(data: bytes, suffix: str) -> Container:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _refuse("GBV-F005", detail=str(exc)) from None
    total = sum(i.file_size for i in infos)
    worst = max(infos, key=lambda i: i.file_size / max(i.compress_size, 1), default=None)
    if total > MAX_UNPACKED_BYTES or (
            worst and worst.file_size > 1_000_000 and worst.file_size / max(worst.compress_size, 1) > MAX_RATIO):
        raise _refuse("GBV-F006", unpacked=_mb(total), limit=_mb(MAX_UNPACKED_BYTES))
    seen: dict[str, str] = {}
    for info in infos:
        if info.flag_bits & 0x1:
            raise _refuse("GBV-F041")  # the zip entries themselves are encrypted
        key = info.filename.replace("\\", "/").lower()  # how the library looks parts up
        if key in seen:
            raise _refuse("GBV-F042", part=info.filename)
        seen[key] = info.filename
    try:
        parts = {i.filename: zf.read(i) for i in infos if not i.is_dir()}
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise _refuse("GBV-F005", detail=f"{type(exc).__name__}: {exc}") from None
    lookup = {k: parts[v] for k, v in seen.items() if v in parts}
    if b"encryption-data" in lookup.get("meta-inf/manifest.xml", b""):
        raise _refuse("GBV-F041")  # OpenDocument "save with password": the parts are ciphertext
    for name, part in parts.items():
        if not name.lower().startswith(MEDIA_FOLDERS):
            _check_xml(name, part)
    # the library tries .xls, .xlsx, .xlsb then .ods: let it meet only what was checked
    if any(k.endswith("workbook.bin") for k in lookup):
        raise _refuse("GBV-F004", detail="an Excel binary workbook (.xlsb); save it as .xlsx")
    if "content.xml" in lookup and "_rels/.rels" in lookup:
        raise _refuse("GBV-F005", detail="both an OpenDocument and an Office Open XML package")
    if "content.xml" in lookup:
        return _ods(data, lookup)
    return _xlsx(data, lookup)


def _check_xml(name: str, part: bytes) -> None:
    problem = xmlparts.xml_problem(part)
    if problem == "dtd":
        raise _refuse("GBV-F040", part=name)
    if problem == "encoding":
        raise _refuse("GBV-F052", part=name)


def _macros(names) -> bool:
    return any(n.rsplit("/", 1)[-1] in ("vbaproject.bin", "vbaprojectsignature.bin")
               or n.startswith("xl/macrosheets/") for n in names)


def _xlsx(data: bytes, parts: dict[str, bytes]) -> Container:
    out = Container("xlsx", data)
    if _macros(parts):
        out.notes.append(("GBV-F010", {}))
    links = sorted(n for n in parts if n.startswith("xl/externallinks/") and n.endswith(".xml"))
    if links:
        out.notes.append(("GBV-F011", {"count": len(links)}))
    try:
        folder = xmlparts.office_folder(parts.get("_rels/.rels", b""))
    except xmlparts.XmlError as exc:
        raise _refuse("GBV-F005", detail=f"_rels/.rels: {exc}") from None
    workbook = parts.get(f"{folder}workbook.xml".lower())
    if workbook is None:
        return out  # not a workbook the library can open: it says so
    rels_name = f"{folder}_rels/workbook.xml.rels"
    for name in ("sharedstrings.xml", "styles.xml", "workbook.xml", "_rels/workbook.xml.rels"):
        if f"{folder}{name}".lower().startswith(MEDIA_FOLDERS):  # parsed, so checked wherever it is
            _check_xml(f"{folder}{name}", parts.get(f"{folder}{name}".lower(), b""))
    try:
        declared, names = xmlparts.workbook_parts(workbook)
        targets = {rid: target for rid, target, _ in xmlparts.relationships(parts.get(rels_name.lower(), b""))}
    except xmlparts.XmlError as exc:
        raise _refuse("GBV-F005", detail=f"{folder}workbook.xml: {exc}") from None
    replaced: dict[str, bytes] = {}
    for decl in declared:
        sheet = Sheet(decl.name)
        out.sheets.append(sheet)
        part = xmlparts.part_path(folder, targets.get(decl.rid, "")).lower()
        xml = parts.get(part)
        if xml is None:
            continue  # the library reports the missing part when the sheet is read
        if part.startswith(MEDIA_FOLDERS):
            _check_xml(part, xml)
        if decl.name.strip().lower() in UNREAD_SHEETS:
            sheet.skipped = True  # the template's own lists: nothing is read from them
            continue
        try:
            scan = xmlparts.scan_xlsx_sheet(xml, MAX_ROWS, MAX_COLS)
        except xmlparts.XmlError as exc:  # not given to the library: an empty sheet instead
            sheet.damaged, replaced[part] = f"{part}: {exc}", xmlparts.EMPTY_SHEET
            continue
        sheet.far, sheet.area = scan.far, scan.area
        if scan.xml is not None:
            replaced[part] = scan.xml
        out.special[decl.name] = scan.special
    for name, local, text in names:
        if name.lower().startswith("gbv_") and not local:
            key = name.lower()
            if key in out.name_targets:  # defined twice: neither is trusted
                out.names[key] = None
                continue
            out.name_targets[key] = text
            out.names[key] = xmlparts.cell_reference(text)
    _check_area(out)
    if replaced:
        out.data = _rezip(data, replaced)
    return out


def _ods(data: bytes, parts: dict[str, bytes]) -> Container:
    out = Container("ods", data)
    if any(n.startswith(("basic/", "scripts/")) and not n.endswith("/") for n in parts):
        out.notes.append(("GBV-F010", {}))
    try:
        tables, names, sanitised = xmlparts.scan_ods_content(parts["content.xml"], MAX_ROWS, MAX_COLS)
    except xmlparts.XmlError as exc:
        raise _refuse("GBV-F005", detail=f"content.xml: {exc}") from None
    out.sheets = [Sheet(t.name, t.scan.far, t.scan.area) for t in tables]
    for name, target in names.items():
        if name.lower().startswith("gbv_"):
            out.name_targets[name.lower()] = target
            out.names[name.lower()] = xmlparts.cell_reference(target, ods=True)
    _check_area(out)
    if sanitised is not None:
        out.data = _rezip(data, {"content.xml": sanitised})
    return out


def _rezip(data: bytes, replaced: dict[str, bytes]) -> bytes:
    """A copy of the package with some parts replaced (keys lower-case), entries in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buffer, "w") as zout:
        for info in zin.infolist():
            body = replaced.get(info.filename.replace("\\", "/").lower())
            zout.writestr(info, zin.read(info) if body is None else body,
                          compress_type=info.compress_type)
    return buffer.getvalue()


# --- compound files: .xls, encrypted .xlsx -------------------------------------------------

def _compound(data: bytes) -> Container:
    try:
        cf = CompoundFile(data)
    except CfbError as exc:
        raise _refuse("GBV-F005", detail=str(exc)) from None
    names = cf.names()
    if "EncryptedPackage" in names or "EncryptionInfo" in names:
        raise _refuse("GBV-F041")
    workbooks = [e for e in cf.entries if e.name.lower() in ("workbook", "book")]
    if len(workbooks) > 1:
        raise _refuse("GBV-F042", part=" / ".join(e.name for e in workbooks))
    entry = cf.find(*biff.WORKBOOK_STREAMS)
    if entry is None:
        raise _refuse("GBV-F004", detail="a compound document without a workbook stream")
    try:
        stream = cf.read(entry)
        scan = biff.scan(stream, MAX_ROWS, MAX_COLS)
    except (CfbError, IndexError, ValueError) as exc:  # struct.error is a ValueError
        raise _refuse("GBV-F005", detail=str(exc)) from None
    if scan.encrypted:
        raise _refuse("GBV-F041")
    out = Container("xls", data)
    if any(n in ("_VBA_PROJECT_CUR", "_VBA_PROJECT", "VBA") for n in names) or any(
            s.kind in (1, 6) for s in scan.sheets):
        out.notes.append(("GBV-F010", {}))
    out.sheets = [Sheet(s.name, s.far, (s.max_row + 1) * (s.max_col + 1)) for s in scan.sheets]
    for name, ref in scan.names.items():
        if name.startswith("gbv_"):
            target = None
            if ref and ref[0] < len(scan.sheets):
                target = (scan.sheets[ref[0]].name, f"{column_letters(ref[2])}{ref[1] + 1}")
            out.names[name] = target
            out.name_targets[name] = f"{target[0]}!{target[1]}" if target else "#REF!"
    _check_area(out)
    try:
        out.data = biff.sanitised(cf, entry, scan.patches)
    except CfbError as exc:
        raise _refuse("GBV-F005", detail=str(exc)) from None
    return out


def _check_area(out: Container) -> None:
    area = sum(s.area for s in out.sheets)
    if area > MAX_CELLS:
        raise _refuse("GBV-F053", cells=f"{area:,}".replace(",", " "), limit=f"{MAX_CELLS:,}".replace(",", " "))
