"""The XML inside `.xlsx` and `.ods` workbooks, read with byte-level scans before the
spreadsheet library parses it, for what that library would otherwise turn into a crash,
an unbounded allocation or a silent choice:

- a DOCTYPE or ENTITY declaration (billion laughs, external entities) or a part not in
  UTF-8, in any part: refused, never expanded (`xml_problem`);
- values far from A1 (`scan_xlsx_sheet`, `scan_ods_content`): the library allocates a
  dense grid up to the farthest value, so such values are cut out of the copy it is
  given (and reported by the reader), mirroring exactly how the library positions cells
  (explicit `r` references, or counting cells and `</row>` ends; ODF repeat counts);
- cells holding formulas or error values (`formula_cells`), which the library does not
  report;
- the sheets, relationships and defined names of the workbook (`workbook_parts`,
  `relationships`, `cell_reference`).

The scans are regular expressions over the raw bytes: comments, CDATA and processing
instructions are skipped as the XML tokenizer skips them, and quoted attribute values are
read whole, so a tag is seen exactly where the library sees one. A sheet whose cells all
carry plain references within the limits (every file written by Excel, LibreOffice or
openpyxl) is checked with two counting passes and handed over unchanged.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from gbvstats.collect.grid import FarCell, column_index

# --- every part --------------------------------------------------------------------------

_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.I)


def xml_problem(data: bytes) -> str | None:
    """"encoding" for a part not in UTF-8 (UTF-16/32: the byte scans could not see its
    tags), "dtd" for a document type or entity declaration, else None."""
    head = data[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" in head:
        return "encoding"
    if _DECLARATION.search(data):
        return "dtd"
    return None


def _attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m[1]: m[2] if m[2] is not None else m[3] for m in _ATTR.finditer(raw)}


_ATTR = re.compile(rb"""([^\s=/"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", "replace"))


# --- xlsx: package, workbook, relationships -----------------------------------------------

_REL = re.compile(rb"<(?:[^\s<>/:!?]+:)?Relationship\b((?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)>")
_SHEET = re.compile(rb"<(?:[^\s<>/:!?]+:)?sheet\b((?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)>")
_DEFINED = re.compile(rb"<((?:[^\s<>/:!?]+:)?)definedName\b((?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)>(.*?)</\1definedName>",
                      re.S)


def relationships(xml: bytes) -> list[tuple[str, str, str]]:
    """(Id, Target, Type) of each relationship."""
    out = []
    for m in _REL.finditer(xml):
        a = _attrs(m[1])
        out.append((_text(a.get(b"Id", b"")), _text(a.get(b"Target", b"")), _text(a.get(b"Type", b""))))
    return out


def office_folder(package_rels: bytes) -> str:
    """The folder of the workbook part, as the package relationships name it ("xl/")."""
    for _, target, typ in relationships(package_rels):
        if typ.endswith("/relationships/officeDocument"):
            folder = target[: target.rfind("/") + 1] if "/" in target else ""
            return folder.removeprefix("/")
    return "xl/"


@dataclass
class SheetDecl:
    name: str
    rid: str


def workbook_parts(xml: bytes) -> tuple[list[SheetDecl], list[tuple[str, bool, str]]]:
    """The declared sheets in order, and the defined names (name, sheet-local, text)."""
    sheets = []
    for m in _SHEET.finditer(xml):
        a = _attrs(m[1])
        rid = next((v for k, v in a.items() if k == b"id" or k.endswith(b":id")), b"")
        sheets.append(SheetDecl(_text(a.get(b"name", b"")), _text(rid)))
    names = []
    for m in _DEFINED.finditer(xml):
        a = _attrs(m[2])
        names.append((_text(a.get(b"name", b"")), b"localSheetId" in a, _text(m[3]).strip()))
    return sheets, names


def part_path(folder: str, target: str) -> str:
    """The zip member a workbook relationship's target names (absolute or relative)."""
    return target[1:] if target.startswith("/") else f"{folder}{target}"


_A1 = r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})"
_XLSX_REF = re.compile(rf"^(?:'((?:[^']|'')+)'|([^'!]+))!{_A1}(?::{_A1})?$")
_ODS_REF = re.compile(rf"^\$?(?:'((?:[^']|'')+)'|([^'.]+))\.{_A1}(?::\.?{_A1})?$")


def cell_reference(text: str, ods: bool = False) -> tuple[str, str] | None:
    """(sheet, "C4") when a defined name's target is one cell, else None
    (`Title!$C$4`, `'My sheet'!C4`; in ODF `$Title.$C$4`)."""
    m = (_ODS_REF if ods else _XLSX_REF).match(text.strip())
    if not m:
        return None
    sheet = (m[1].replace("''", "'") if m[1] is not None else m[2])
    col, row = m[3].upper(), int(m[4])
    if m[5] is not None and (m[5].upper(), int(m[6])) != (col, row):
        return None  # a range, not one cell
    return sheet, f"{col}{row}"


# --- xlsx: one sheet ---------------------------------------------------------------------

@dataclass
class SheetScan:
    far: list[FarCell] = field(default_factory=list)
    max_row: int = -1  # 0-based extent of the cells that stay (may overstate)
    max_col: int = -1
    xml: bytes | None = None  # the sanitised part, when cells were cut out

    @property
    def area(self) -> int:
        return (self.max_row + 1) * (self.max_col + 1)


_ANY_C = re.compile(rb"<(?:[^\s<>/:!?]+:)?c[\s/>]")
_PLAIN_C = re.compile(rb'<(?:[^\s<>/:!?]+:)?c r="([A-Z]{1,3})([1-9][0-9]{0,6})"[\s/>]')
_SHEET_TOKEN = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|<(/?)((?:[^\s<>/:!?]+:)?(?:row|c|v|is))(?=[\s/>])((?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)>", re.S)


def scan_xlsx_sheet(xml: bytes, max_rows: int, max_cols: int) -> SheetScan:
    if b"<!" not in xml:
        plain = _PLAIN_C.findall(xml)
        if len(plain) == len(_ANY_C.findall(xml)):
            if not plain:
                return SheetScan()
            max_row = max(int(r) for _, r in plain) - 1
            max_col = column_index(max(plain, key=lambda p: (len(p[0]), p[0]))[0].decode())
            if max_row < max_rows and max_col < max_cols:
                return SheetScan(max_row=max_row, max_col=max_col)
    return _scan_xlsx_exactly(xml, max_rows, max_cols)


def _position(ref: bytes | None) -> tuple[int, int | None] | None:
    """(row, col) 0-based from a reference as the library parses it; col None for "5"."""
    m = re.fullmatch(rb"([A-Za-z]*)([0-9]+)", ref or b"")
    if not m or int(m[2]) == 0:
        return None
    return int(m[2]) - 1, (column_index(m[1].decode()) if m[1] else None)


def _scan_xlsx_exactly(xml: bytes, max_rows: int, max_cols: int) -> SheetScan:
    out = SheetScan()
    cut: list[tuple[int, int]] = []
    row_i = col_i = 0
    cell: dict | None = None

    def finish(end: int) -> None:
        nonlocal col_i
        row, col = cell["pos"]
        col_i = col + 1
        if not cell["value"]:
            return
        if row >= max_rows or col >= max_cols:
            figure = cell["type"] in (None, b"n")
            out.far.append(FarCell(row, col, figure, _text(cell["text"] or b"")[:40] if figure else ""))
            cut.append((cell["start"], end))
        else:
            out.max_row, out.max_col = max(out.max_row, row), max(out.max_col, col)

    value_start = None
    for m in _SHEET_TOKEN.finditer(xml):
        if m[2] is None:
            continue  # comment, CDATA, processing instruction
        closing, local, attrs = bool(m[1]), m[2].split(b":", 1)[-1], m[3]
        empty = attrs.rstrip().endswith(b"/")
        if local == b"row":
            if not closing:
                pos = _position(_attrs(attrs).get(b"r"))
                if pos:
                    row_i = pos[0]
            if closing or empty:
                row_i, col_i = row_i + 1, 0
        elif local == b"c":
            if closing:
                if cell:
                    finish(m.end())
                    cell = None
                continue
            a = _attrs(attrs)
            pos = _position(a.get(b"r")) if b"r" in a else None
            pos = (pos[0], pos[1]) if pos and pos[1] is not None else (row_i, col_i)
            cell = {"start": m.start(), "pos": pos, "type": a.get(b"t"), "value": False, "text": None}
            if empty:
                finish(m.end())
                cell = None
        elif cell is not None and not closing:
            cell["value"] = True
            value_start = m.end() if local == b"v" and not empty else None
        elif cell is not None and local == b"v" and value_start is not None:
            cell["text"], value_start = xml[value_start:m.start()], None
    out.xml = _apply(xml, [(start, end, b"") for start, end in cut])
    return out


# --- xlsx: cells the library cannot tell us about ----------------------------------------

_CELL = re.compile(rb"<((?:[^\s<>/:!?]+:)?)c\b((?:[^>\"'/]++|\"[^\"]*+\"|'[^']*+')*+)(?:/>|>(.*?)</\1c>)", re.S)
_FORMULA = re.compile(rb"<(?:[^\s<>/:!?]+:)?f[\s/>]")
_VALUE = re.compile(rb"<(?:[^\s<>/:!?]+:)?v>(.*?)</(?:[^\s<>/:!?]+:)?v>", re.S)


def formula_cells(xml: bytes) -> dict[str, str]:
    """{address: "formula" | "formula-no-value" | "#REF!"...} for one sheet part."""
    found: dict[str, str] = {}
    if not _FORMULA.search(xml) and b't="e"' not in xml and b"t='e'" not in xml:
        return found  # most sheets: no formula, no error cell
    for m in _CELL.finditer(xml):
        a, body = _attrs(m[2]), m[3] or b""
        ref = a.get(b"r")
        has_formula = bool(_FORMULA.search(body))
        if not ref or (not has_formula and a.get(b"t") != b"e"):
            continue
        value = _VALUE.search(body)
        if a.get(b"t") == b"e":
            found[_text(ref)] = _text(value[1]) if value else "#ERROR"
        elif value is None or value[1] == b"":
            found[_text(ref)] = "formula-no-value"
        else:
            found[_text(ref)] = "formula"
    return found


# --- ods: content.xml --------------------------------------------------------------------

LIBRARY_MAX_ROWS, LIBRARY_MAX_COLS = 1_048_576, 16_384  # what the library caps repeats to

_ODS_TOKEN = re.compile(
    rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>"
    rb"|<(/?)(table:table|table:table-row|table:table-cell|table:covered-table-cell|table:named-range)"
    rb"(?=[\s/>])((?:[^>\"']++|\"[^\"]*+\"|'[^']*+')*+)>", re.S)
_HAS_VALUE = re.compile(rb"""(?:office:(?:value|string-value|date-value|time-value|boolean-value)|table:formula)"""
                        rb"""\s*=|office:value-type\s*=\s*["']string["']""")
_ROWS_REPEATED = re.compile(rb"""table:number-rows-repeated\s*=\s*["']([^"']*)""")
_COLS_REPEATED = re.compile(rb"""table:number-columns-repeated\s*=\s*["']([^"']*)""")


@dataclass
class OdsTable:
    name: str
    scan: SheetScan


def scan_ods_content(xml: bytes, max_rows: int, max_cols: int
                     ) -> tuple[list[OdsTable], dict[str, str], bytes | None]:
    """The tables (far values cut out), the named ranges {name: address}, and the
    sanitised content.xml (None when nothing was cut)."""
    tables: list[OdsTable] = []
    names: dict[str, str] = {}
    edits: list[tuple[int, int, bytes]] = []
    table: OdsTable | None = None
    row: dict | None = None
    cell: dict | None = None
    rows_done = 0
    inside: tuple[bytes, int] | None = None  # within a cell's content: (its tag name, depth)
    for m in _ODS_TOKEN.finditer(xml):
        if m[2] is None:
            continue  # comment, CDATA, processing instruction
        closing, name, attrs = bool(m[1]), m[2], m[3]
        empty = attrs.rstrip().endswith(b"/")
        if inside is not None:  # the library skips a cell's content to its matching end
            if name == inside[0] and not empty:
                depth = inside[1] + (-1 if closing else 1)
                inside = (name, depth) if depth else None
                if inside is None:
                    _ods_cell(cell, m.end(), row, table.scan, max_rows, max_cols, edits)
                    cell = None
            continue
        if name == b"table:named-range":
            if not closing:
                a = _attrs(attrs)
                names[_text(a.get(b"table:name", b""))] = _text(a.get(b"table:cell-range-address", b""))
        elif name == b"table:table":
            table = None
            if not closing and not empty and b"table:name" in (a := _attrs(attrs)):
                table, rows_done = OdsTable(_text(a[b"table:name"]), SheetScan()), 0
                tables.append(table)
            elif not closing and b"table:name" in (a := _attrs(attrs)):
                tables.append(OdsTable(_text(a[b"table:name"]), SheetScan()))
        elif table is None:
            continue
        elif name == b"table:table-row":
            if not closing:
                repeats = _count(_ROWS_REPEATED.search(attrs))
                repeats = min(repeats, max(0, LIBRARY_MAX_ROWS - rows_done))
                row = {"start": rows_done, "repeats": repeats, "col": 0, "tag": m, "capped": False}
            if (closing or empty) and row is not None:
                rows_done += row["repeats"]
                row = None
        elif row is not None and not closing:  # table-cell or covered-table-cell
            repeats = _count(_COLS_REPEATED.search(attrs))
            repeats = min(repeats, max(0, LIBRARY_MAX_COLS - row["col"]))
            cell = {"tag": m, "col": row["col"], "repeats": repeats, "value": bool(_HAS_VALUE.search(attrs))}
            row["col"] += repeats
            if empty:
                _ods_cell(cell, m.end(), row, table.scan, max_rows, max_cols, edits)
                cell = None
            else:
                inside = (name, 1)
    return tables, names, _apply(xml, edits)


def _count(m: re.Match | None) -> int:
    return int(m[1]) if m and m[1].isdigit() else 1


def _ods_cell(cell: dict, end: int, row: dict, scan: SheetScan, max_rows: int, max_cols: int,
              edits: list[tuple[int, int, bytes]]) -> None:
    """Place one cell (a run of repeated cells in a run of repeated rows); cut what lies
    beyond the limits: the whole element, or the repeat count down to the limit."""
    if not cell["value"]:
        return
    r0, c0 = row["start"], cell["col"]
    # a run capped to nothing by the library still counts where it stands
    r1, c1 = r0 + max(row["repeats"], 1) - 1, c0 + max(cell["repeats"], 1) - 1
    if r1 < max_rows and c1 < max_cols:
        scan.max_row, scan.max_col = max(scan.max_row, r1), max(scan.max_col, c1)
        return
    a = _attrs(cell["tag"][3])
    figure = a.get(b"office:value-type") in (b"float", b"percentage", b"currency")
    preview = _text(a.get(b"office:value", b""))[:40] if figure else ""
    if r0 >= max_rows or c0 >= max_cols:
        scan.far.append(FarCell(r0, c0, figure, preview))
        edits.append((cell["tag"].start(), end, b""))
        return
    if c1 >= max_cols:
        scan.far.append(FarCell(r0, max_cols, figure, preview))
        edits.append(_set_attr(cell["tag"], b"table:number-columns-repeated", max_cols - c0))
        c1 = max_cols - 1
    if r1 >= max_rows:
        if not row["capped"]:
            scan.far.append(FarCell(max_rows, c0, figure, preview))
            edits.append(_set_attr(row["tag"], b"table:number-rows-repeated", max_rows - r0))
            row["capped"] = True
        r1 = max_rows - 1
    scan.max_row, scan.max_col = max(scan.max_row, r1), max(scan.max_col, c1)


def _set_attr(tag: re.Match, name: bytes, value: int) -> tuple[int, int, bytes]:
    m = re.search(re.escape(name) + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag[0])
    group = 1 if m[1] is not None else 2
    return tag.start() + m.start(group), tag.start() + m.end(group), str(value).encode()


def _apply(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes | None:
    if not edits:
        return None
    pieces, last = [], 0
    for start, end, replacement in sorted(edits):
        pieces.extend((data[last:start], replacement))
        last = end
    pieces.append(data[last:])
    return b"".join(pieces)
