"""The XML inside `.xlsx` and `.ods` workbooks, read before the spreadsheet library parses
it, for what that library would otherwise turn into a crash, an unbounded allocation or a
silent choice:

- a DOCTYPE or ENTITY declaration (billion laughs, external entities) or a part not in
  UTF-8, in any part: refused, never expanded (`xml_problem`);
- values far from A1 (`scan_xlsx_sheet`, `scan_ods_content`): the library allocates a
  dense grid up to the farthest value, so such values are cut out of the copy it is
  given (and reported by the reader), placing cells exactly as the library does (explicit
  `r` references, or counting cells and `</row>` ends; ODF repeat counts);
- cells holding formulas or error values, which the library does not report;
- the sheets, relationships and defined names of the workbook (`workbook_parts`,
  `relationships`, `cell_reference`).

A sheet whose cells all carry plain references within the limits and that holds no formula
or error cell (most files written by Excel, LibreOffice or openpyxl) is checked with two
counting passes of a regular expression and handed over unchanged; everything else is
parsed with expat (linear time; document types were refused before, so nothing is ever
expanded or fetched). A part expat cannot parse is not handed to the library either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from operator import itemgetter
from xml.parsers import expat

from gbvstats.collect.grid import FarCell, column_index, column_letters

# --- every part --------------------------------------------------------------------------

_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.I)
_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']""")
UTF8 = {b"utf-8", b"utf8", b"us-ascii", b"ascii"}


def xml_problem(data: bytes) -> str | None:
    """"encoding" for a part not in UTF-8 (UTF-16/32, or declaring another encoding: the
    scans could not see its tags), "dtd" for a document type or entity declaration."""
    head = data[:4]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" in head:
        return "encoding"
    declared = _ENCODING.match(data[:200])
    if declared and declared[1].lower() not in UTF8:
        return "encoding"
    if b"<!" in data and _DECLARATION.search(data):  # the substring test is the fast one
        return "dtd"
    return None


class XmlError(Exception):
    """A part expat cannot parse: `line`, `column` and the reason."""


def _parser(start, end=None, text=None) -> expat.XMLParserType:
    p = expat.ParserCreate()
    p.buffer_text = True
    p.StartElementHandler = start
    if end:
        p.EndElementHandler = end
    if text:
        p.CharacterDataHandler = text
    return p


def _parse(p: expat.XMLParserType, data: bytes) -> None:
    try:
        p.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlError(f"not well-formed XML (line {exc.lineno}, column {exc.offset}): "
                       f"{expat.ErrorString(exc.code)}") from None


def _local(name: str) -> str:
    return name.split(":", 1)[-1]  # as the library compares names: after the first colon


# --- xlsx: package, workbook, relationships -----------------------------------------------

def relationships(xml: bytes) -> list[tuple[str, str, str]]:
    """(Id, Target, Type) of each relationship."""
    out = []

    def start(name, attrs):
        if _local(name) == "Relationship":
            out.append((attrs.get("Id", ""), attrs.get("Target", ""), attrs.get("Type", "")))
    _parse(_parser(start), xml)
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
    sheets: list[SheetDecl] = []
    names: list[tuple[str, bool, str]] = []
    current: list = []

    def start(name, attrs):
        local = _local(name)
        if local == "sheet":
            rid = next((v for k, v in attrs.items() if _local(k) == "id"), "")
            sheets.append(SheetDecl(attrs.get("name", ""), rid))
        elif local == "definedName":
            current[:] = [attrs.get("name", ""), "localSheetId" in attrs, ""]

    def end(name):
        if _local(name) == "definedName" and current:
            names.append((current[0], current[1], current[2].strip()))
            current.clear()

    def text(data):
        if current:
            current[2] += data
    _parse(_parser(start, end, text), xml)
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
    sheet = m[1].replace("''", "'") if m[1] is not None else m[2]
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
    special: dict[str, str] = field(default_factory=dict)  # A1 -> formula | formula-no-value | #REF!..

    @property
    def area(self) -> int:
        return (self.max_row + 1) * (self.max_col + 1)


_ANY_C = re.compile(rb"<c[\s/>]")
_PLAIN_C = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"[\s/>]')
_FORMULA = re.compile(rb"<f[\s/>]")
EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
               b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')


def scan_xlsx_sheet(xml: bytes, max_rows: int, max_cols: int) -> SheetScan:
    """Raises XmlError when the part must be parsed and cannot be."""
    if _plain(xml):
        refs = _PLAIN_C.findall(xml)
        if len(refs) == len(_ANY_C.findall(xml)):
            if not refs:
                return SheetScan()
            max_row = max(map(int, map(itemgetter(1), refs))) - 1
            max_col = max(map(column_index, set(map(itemgetter(0), refs))))
            if max_row < max_rows and max_col < max_cols:
                return SheetScan(max_row=max_row, max_col=max_col)
    return _parse_xlsx_sheet(xml, max_rows, max_cols)


def _plain(xml: bytes) -> bool:
    """No comment or CDATA, no namespace prefix on cells, no formula or error cell: the
    counting passes are exact. Anything else is parsed."""
    return not (b"<!" in xml or b":c" in xml or b":f" in xml or b't="e"' in xml or b"t='e'" in xml
                or (b"<f" in xml and _FORMULA.search(xml)))


def _position(ref: str | None) -> tuple[int, int | None] | None:
    """(row, col) 0-based from a reference as the library parses it; col None for "5"."""
    m = re.fullmatch(r"([A-Za-z]*)([0-9]+)", ref or "")
    if not m or int(m[2]) == 0:
        return None
    return int(m[2]) - 1, (column_index(m[1]) if m[1] else None)


def _parse_xlsx_sheet(xml: bytes, max_rows: int, max_cols: int) -> SheetScan:
    out = SheetScan()
    cut: list[tuple[int, int]] = []
    at = {"row": 0, "col": 0}
    cell: dict | None = None
    p: expat.XMLParserType

    def start(name, attrs):
        nonlocal cell
        local = _local(name)
        if local == "row":
            pos = _position(attrs.get("r"))
            if pos:
                at["row"] = pos[0]
        elif local == "c":
            pos = _position(attrs.get("r")) if "r" in attrs else None
            pos = (pos[0], pos[1]) if pos and pos[1] is not None else (at["row"], at["col"])
            cell = {"start": p.CurrentByteIndex, "pos": pos, "type": attrs.get("t"), "value": False,
                    "formula": False, "text": None, "reading": False}
        elif cell is not None:
            if local in ("v", "is"):
                cell["value"] = True
                cell["reading"] = local == "v"
                cell["text"] = "" if local == "v" else cell["text"]
            elif local == "f":
                cell["formula"] = True

    def end(name):
        nonlocal cell
        local = _local(name)
        if local == "row":
            at["row"], at["col"] = at["row"] + 1, 0
        elif local == "c" and cell is not None:
            _finish(cell, p.CurrentByteIndex)
            cell = None
        elif local == "v" and cell is not None:
            cell["reading"] = False

    def text(data):
        if cell is not None and cell["reading"]:
            cell["text"] += data

    def _finish(c: dict, end_at: int) -> None:
        row, col = c["pos"]
        at["col"] = col + 1
        address = f"{column_letters(col)}{row + 1}"
        if c["type"] == "e":
            out.special[address] = c["text"] or "#ERROR"
        elif c["formula"]:
            out.special[address] = "formula" if c["text"] else "formula-no-value"
        if not c["value"]:
            return
        if row >= max_rows or col >= max_cols:
            figure = c["type"] in (None, "n")
            out.far.append(FarCell(row, col, figure, (c["text"] or "")[:40] if figure else ""))
            cut.append((c["start"], _element_end(xml, c["start"], end_at)))
        else:
            out.max_row, out.max_col = max(out.max_row, row), max(out.max_col, col)

    p = _parser(start, end, text)
    _parse(p, xml)
    out.xml = _apply(xml, [(s, e, b"") for s, e in cut])
    return out


# --- ods: content.xml --------------------------------------------------------------------

LIBRARY_MAX_ROWS, LIBRARY_MAX_COLS = 1_048_576, 16_384  # what the library caps repeats to
CELLS = ("table:table-cell", "table:covered-table-cell")
_VALUE_ATTRS = ("office:value", "office:string-value", "office:date-value", "office:time-value",
                "office:boolean-value", "table:formula")
_TAG = re.compile(rb"""<[^\s/>]++(?:[^>"']++|"[^"]*+"|'[^']*+')*+>""")


@dataclass
class OdsTable:
    name: str
    scan: SheetScan


def scan_ods_content(xml: bytes, max_rows: int, max_cols: int
                     ) -> tuple[list[OdsTable], dict[str, str], bytes | None]:
    """The tables (far values cut out), the named ranges {name: address}, and the
    sanitised content.xml (None when nothing was cut). Raises XmlError."""
    tables: list[OdsTable] = []
    names: dict[str, str] = {}
    edits: list[tuple[int, int, bytes]] = []
    st: dict = {"table": None, "row": None, "cell": None, "rows_done": 0, "inside": None}
    p: expat.XMLParserType

    def start(name, attrs):
        if st["inside"] is not None:  # the library skips a cell's content to its matching end
            if name == st["inside"][0]:
                st["inside"][1] += 1
            return
        if name == "table:named-range":
            names[attrs.get("table:name", "")] = attrs.get("table:cell-range-address", "")
        elif name == "table:table":
            st["table"] = None
            if "table:name" in attrs:
                st["table"], st["rows_done"] = OdsTable(attrs["table:name"], SheetScan()), 0
                tables.append(st["table"])
        elif st["table"] is None:
            return
        elif name == "table:table-row":
            repeats = min(_count(attrs.get("table:number-rows-repeated")),
                          max(0, LIBRARY_MAX_ROWS - st["rows_done"]))
            st["row"] = {"start": st["rows_done"], "repeats": repeats, "col": 0,
                         "at": p.CurrentByteIndex, "capped": False}
        elif name in CELLS and st["row"] is not None:
            row = st["row"]
            repeats = min(_count(attrs.get("table:number-columns-repeated")), max(0, LIBRARY_MAX_COLS - row["col"]))
            value = any(k in attrs for k in _VALUE_ATTRS) or attrs.get("office:value-type") == "string"
            st["cell"] = {"at": p.CurrentByteIndex, "col": row["col"], "repeats": repeats, "value": value,
                          "attrs": attrs}
            row["col"] += repeats
            st["inside"] = [name, 1]

    def end(name):
        if st["inside"] is not None:
            if name == st["inside"][0]:
                st["inside"][1] -= 1
                if st["inside"][1] == 0:
                    st["inside"] = None
                    _ods_cell(st["cell"], _element_end(xml, st["cell"]["at"], p.CurrentByteIndex), st["row"],
                              st["table"].scan, max_rows, max_cols, xml, edits)
                    st["cell"] = None
            return
        if name == "table:table":
            st["table"] = None
        elif name == "table:table-row" and st["row"] is not None:
            st["rows_done"] += st["row"]["repeats"]
            st["row"] = None

    p = _parser(start, end)
    _parse(p, xml)
    return tables, names, _apply(xml, edits)


def _element_end(xml: bytes, start: int, end_event: int) -> int:
    """Where an element ends: after its end tag, or after its start tag when it is empty
    (`<c .../>`: expat reports the end where the start is)."""
    if end_event == start:
        return _TAG.match(xml, start).end()
    return xml.index(b">", end_event) + 1


def _count(raw: str | None) -> int:
    return int(raw) if raw and raw.isascii() and raw.isdigit() else 1


def _ods_cell(cell: dict, end: int, row: dict, scan: SheetScan, max_rows: int, max_cols: int,
              xml: bytes, edits: list[tuple[int, int, bytes]]) -> None:
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
    a = cell["attrs"]
    figure = a.get("office:value-type") in ("float", "percentage", "currency")
    preview = a.get("office:value", "")[:40] if figure else ""
    if r0 >= max_rows or c0 >= max_cols:
        scan.far.append(FarCell(r0, c0, figure, preview))
        edits.append((cell["at"], end, b""))
        return
    if c1 >= max_cols:
        scan.far.append(FarCell(r0, max_cols, figure, preview))
        edits.append(_set_attr(xml, cell["at"], b"table:number-columns-repeated", max_cols - c0))
        c1 = max_cols - 1
    if r1 >= max_rows:
        if not row["capped"]:
            scan.far.append(FarCell(max_rows, c0, figure, preview))
            edits.append(_set_attr(xml, row["at"], b"table:number-rows-repeated", max_rows - r0))
            row["capped"] = True
        r1 = max_rows - 1
    scan.max_row, scan.max_col = max(scan.max_row, r1), max(scan.max_col, c1)


def _set_attr(xml: bytes, at: int, name: bytes, value: int) -> tuple[int, int, bytes]:
    """The edit that sets one attribute's value in the start tag at `at`."""
    tag = _TAG.match(xml, at)
    m = re.search(re.escape(name) + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""", tag[0])
    group = 1 if m[1] is not None else 2
    return at + m.start(group), at + m.end(group), str(value).encode()


def _apply(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes | None:
    if not edits:
        return None
    pieces, last = [], 0
    for start, end, replacement in sorted(edits):
        pieces.extend((data[last:start], replacement))
        last = end
    pieces.append(data[last:])
    return b"".join(pieces)
