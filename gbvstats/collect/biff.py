"""What a legacy `.xls` workbook (BIFF5/BIFF8 records in a compound file) holds, read
before the spreadsheet library builds its grids: sheet names and kinds, whether it is
encrypted, the defined names of the header cells, and every cell record's position.

The library allocates a dense grid from the top-left cell to the farthest value, and a
declared DIMENSIONS record reserves rows x columns up front; one value in IV65536 or a
forged DIMENSIONS costs gigabytes. `scan` finds such records, and `sanitised` returns a
copy of the file in which they are turned into blanks (same length, patched in place
inside the compound file), so the rest of the workbook can still be read and checked.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from gbvstats.collect.cfb import CfbError, CompoundFile, file_offset
from gbvstats.collect.grid import FarCell

BOF, EOF, BOUNDSHEET, NAME, EXTERNSHEET, FILEPASS, DIMENSIONS = (
    0x0809, 0x000A, 0x0085, 0x0018, 0x0017, 0x002F, 0x0200)
FORMULA, STRING, MULRK, BLANK = 0x0006, 0x0207, 0x00BD, 0x0201
NUMBERS = {0x0203, 0x027E}  # Number, RK
TEXTS = {0x0204, 0x00D6, 0x00FD, 0x0205}  # Label, RString, LabelSst, BoolErr
WORKBOOK_STREAMS = ("Workbook", "Book", "WORKBOOK", "BOOK")  # the order readers try


@dataclass
class BiffSheet:
    name: str
    kind: int  # 0 worksheet, 1 Excel 4.0 macro sheet, 2 chart, 6 VBA module
    pos: int
    max_row: int = -1  # 0-based, over the cells that stay
    max_col: int = -1
    far: list[FarCell] = field(default_factory=list)


@dataclass
class BiffScan:
    sheets: list[BiffSheet]
    encrypted: bool
    names: dict[str, tuple[int, int, int] | None]  # name (lower case) -> (sheet index, row, col)
    patches: list[tuple[int, bytes]]  # (stream position, bytes written there)


def _records(stream: bytes, pos: int = 0):
    while pos + 4 <= len(stream):
        typ, size = struct.unpack_from("<HH", stream, pos)
        yield pos, typ, stream[pos + 4:pos + 4 + size]
        pos += 4 + size


def scan(stream: bytes, max_rows: int, max_cols: int) -> BiffScan:
    biff8, encrypted = True, False
    sheets: list[BiffSheet] = []
    raw_names: list[tuple[str, bytes]] = []
    xti: list[int] = []
    for _, typ, data in _records(stream):
        if typ == BOF and len(data) >= 2:
            biff8 = struct.unpack_from("<H", data)[0] == 0x0600
        elif typ == FILEPASS:
            encrypted = True  # what follows is ciphertext
            break
        elif typ == BOUNDSHEET and len(data) >= 8:
            pos, kind = struct.unpack_from("<I", data)[0], data[5]
            sheets.append(BiffSheet(_short_string(data[6:], biff8), kind, pos))
        elif typ == NAME and biff8 and len(data) >= 15:
            name = _name_record(data)
            if name:
                raw_names.append(name)
        elif typ == EXTERNSHEET and biff8 and len(data) >= 2:
            count = struct.unpack_from("<H", data)[0]
            xti.extend(struct.unpack_from("<H", data, 2 + 6 * i + 2)[0]
                       for i in range(count) if 2 + 6 * i + 6 <= len(data))
        elif typ == EOF:
            break
    patches: list[tuple[int, bytes]] = []
    if not encrypted:
        for sheet in sheets:
            _scan_sheet(stream, sheet, max_rows, max_cols, patches)
    names = {}
    for name, rgce in raw_names:
        names[name.lower()] = _ref3d(rgce, xti)
    return BiffScan(sheets, encrypted, names, patches)


def _scan_sheet(stream: bytes, sheet: BiffSheet, max_rows: int, max_cols: int,
                patches: list[tuple[int, bytes]]) -> None:
    """Mirror the reading library: the sheet's own substream (nested ones skipped) up
    to its EOF; every value record counted where the library would place it."""
    seen_bof, depth, dropped_formula = False, 0, False

    def place(pos: int, row: int, col: int, figure: bool, value: str) -> None:
        if row >= max_rows or col >= max_cols:
            sheet.far.append(FarCell(row, col, figure, value))
            patches.append((pos, struct.pack("<H", BLANK)))
        else:
            sheet.max_row, sheet.max_col = max(sheet.max_row, row), max(sheet.max_col, col)

    for pos, typ, data in _records(stream, sheet.pos):
        if depth:
            depth += {BOF: 1, EOF: -1}.get(typ, 0)
            continue
        if typ == BOF:
            depth, seen_bof = (depth + 1, seen_bof) if seen_bof else (depth, True)
            continue
        if typ == EOF:
            break
        if typ == DIMENSIONS and len(data) in (10, 14):
            patches.append((pos + 4, _small_dimensions(len(data))))
            continue
        if len(data) < 4:
            continue
        row, col = struct.unpack_from("<HH", data)
        if typ in NUMBERS:
            place(pos, row, col, True, _number(typ, data))
        elif typ in TEXTS:
            place(pos, row, col, False, "")
        elif typ == FORMULA:
            before = len(sheet.far)
            place(pos, row, col, True, "")
            dropped_formula = len(sheet.far) > before
        elif typ == STRING and dropped_formula:
            patches.append((pos, struct.pack("<H", BLANK)))  # the dropped formula's text value
        elif typ == MULRK and len(data) >= 6:
            last = struct.unpack_from("<H", data, len(data) - 2)[0]
            if row >= max_rows or last >= max_cols:
                sheet.far.append(FarCell(row, max(col, min(last, 0xFFFF)), True, ""))
                patches.append((pos, struct.pack("<H", BLANK)))
            else:
                place(pos, row, last, True, "")
                sheet.max_col = max(sheet.max_col, col)
        if typ not in (FORMULA, STRING):
            dropped_formula = False


def _small_dimensions(size: int) -> bytes:
    """DIMENSIONS is only a hint the library reserves memory by: declare one cell."""
    if size == 14:
        return struct.pack("<IIHHH", 0, 1, 0, 1, 0)
    return struct.pack("<HHHHH", 0, 1, 0, 1, 0)


def _number(typ: int, data: bytes) -> str:
    if typ == 0x0203 and len(data) >= 14:
        value = struct.unpack_from("<d", data, 6)[0]
    elif typ == 0x027E and len(data) >= 10:
        rk = struct.unpack_from("<I", data, 6)[0]
        value = (struct.unpack("<d", struct.pack("<Q", (rk & 0xFFFFFFFC) << 32))[0] if not rk & 2
                 else float(struct.unpack("<i", struct.pack("<I", rk & 0xFFFFFFFC))[0] >> 2))
        value = value / 100 if rk & 1 else value
    else:
        return ""
    return f"{value:.15g}"


def _short_string(data: bytes, biff8: bool) -> str:
    if not data:
        return ""
    cch = data[0]
    if not biff8:
        return data[1:1 + cch].decode("cp1251", "replace")
    high = len(data) > 1 and data[1] & 1
    raw = data[2:2 + cch * (2 if high else 1)]
    return raw.decode("utf-16-le", "replace") if high else raw.decode("latin-1")


def _name_record(data: bytes) -> tuple[str, bytes] | None:
    grbit, _, cch, cce, _, itab = struct.unpack_from("<HBBHHH", data)
    if grbit & 0x20 or itab:  # built-in names (print areas) and sheet-local names
        return None
    high = data[14] & 1
    end = 15 + cch * (2 if high else 1)
    raw = data[15:end]
    name = raw.decode("utf-16-le", "replace") if high else raw.decode("latin-1")
    return name, data[end:end + cce]


def _ref3d(rgce: bytes, xti: list[int]) -> tuple[int, int, int] | None:
    """(sheet index, row, col) when the name's formula is one cell on one sheet."""
    if len(rgce) == 7 and rgce[0] in (0x3A, 0x5A, 0x7A):
        ixti, row, col = struct.unpack_from("<HHH", rgce, 1)
        rows, cols = (row, row), (col & 0x3FFF, col & 0x3FFF)
    elif len(rgce) == 11 and rgce[0] in (0x3B, 0x5B, 0x7B):
        ixti, r1, r2, c1, c2 = struct.unpack_from("<HHHHH", rgce, 1)
        rows, cols = (r1, r2), (c1 & 0x3FFF, c2 & 0x3FFF)
    else:
        return None
    if rows[0] != rows[1] or cols[0] != cols[1] or ixti >= len(xti):
        return None
    return xti[ixti], rows[0], cols[0]


def sanitised(cf: CompoundFile, stream_entry, patches: list[tuple[int, bytes]]) -> bytes:
    """A copy of the file with the patches written into the workbook stream."""
    if not patches:
        return cf.data
    out = bytearray(cf.data)
    segments = cf.segments(stream_entry)
    for pos, data in patches:
        for i, b in enumerate(data):
            out[file_offset(segments, pos + i)] = b
    return bytes(out)


__all__ = ["BiffScan", "BiffSheet", "CfbError", "FarCell", "WORKBOOK_STREAMS", "sanitised", "scan"]
