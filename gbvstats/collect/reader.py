"""Reading filled workbooks into the long cells table, refusing what is not exact.

The file is first checked as a container (`container.py`: sizes, encryption, macros,
duplicated parts, XML declarations, values far from A1), then read with python-calamine
from a copy bounded in size. The form is identified by the hidden `_meta` sheet (or,
failing that, by the title and line codes); the header by the workbook's named cells
(`gbv_unit`, ...; labels in column A only where a name is missing); cells by line code
and column number, never by fixed position. A sheet, a header field or a metadata key
that is given twice is an error, never resolved by file order. Every problem is a
catalogued finding with sheet and cell address.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.collect.container import Container, Unreadable, inspect
from gbvstats.collect.grid import MAX_COLS, MAX_ROWS, FarCell, column_index
from gbvstats.collect.grid import column_letters as _col
from gbvstats.i18n import LANGS, t
from gbvstats.periods import parse_period
from gbvstats.schema.model import FormVersion, Registry

if TYPE_CHECKING:
    import pandas as pd

MAX_FILE_BYTES = 20 * 1024 * 1024  # a filled form is tens of kilobytes
MAX_COUNT = 10**15 - 1  # Excel keeps 15 significant digits: a larger count was not stored exactly
HEADER_ROWS_SCANNED = 40
HEADER_FIELDS = ("unit", "period", "contact", "phone", "date")
KNOWN_SHEETS = {"title", "_meta", "_lists", "_labels", "findings"}
DASHES = {"-", "–", "—", "‒", "―", "x", "X", "х", "Х"}
SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3}){2,}$")  # 1.234.567: a decimal has one point
THOUSANDS_SPACE = re.compile(r"^[+-]?\d{1,3}( \d{3})+$")
THOUSANDS_APOSTROPHE = re.compile(r"^\d{1,3}('\d{3})+$")
ONE_GROUP = re.compile(r"^(\d{1,3})([.,])(\d{3})$")  # 1.000, 1,000, 1.234: which separator?
INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?\d*[.,]\d+$")
LEADING_DIGITS = re.compile(r"^\s*(\d+)")
FOOTNOTE_MARKS = re.compile(r"[\s*†‡⁰¹²³⁴⁵⁶⁷⁸⁹\u2460-\u2473\u24ea\u2776-\u2793]+$")
HOMOGLYPHS = str.maketrans("АВЕКМНОРСТХаеорсух", "ABEKMHOPCTXaeopcyx")  # Cyrillic that looks Latin
EXCEL_ERRORS = ("#REF!", "#DIV/0!", "#VALUE!", "#N/A", "#NAME?", "#NUM!", "#NULL!", "#SPILL!",
                "#CALC!", "#GETTING_DATA")


@dataclass
class ReadResult:
    path: Path
    form: FormVersion | None = None
    header: dict[str, str] = field(default_factory=dict)
    cells: pd.DataFrame | None = None
    findings: list[Finding] = field(default_factory=list)
    sha256: str = ""
    header_cells: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (sheet, A1)


def max_file_bytes() -> int:
    """The size limit: env GBVSTATS_MAX_FILE_MB (megabytes, may be fractional), else 20 MB."""
    import os

    raw = os.environ.get("GBVSTATS_MAX_FILE_MB", "").strip()
    try:
        return int(float(raw) * 1024 * 1024) if raw else MAX_FILE_BYTES
    except ValueError:
        return MAX_FILE_BYTES


def read_workbook(path: Path, reg: Registry, max_bytes: int | None = None,
                  typed: bool = True) -> ReadResult:
    """Read one workbook. `typed=False` leaves the pandera typing to a later
    `type_results` over many files at once (one validation per form version is faster)."""
    path = Path(path)
    max_bytes = max_file_bytes() if max_bytes is None else max_bytes
    result = ReadResult(path=path)
    name = path.name

    def add(code: str, **kw: Any) -> None:
        result.findings.append(Finding(code=code, file=name, **kw))

    try:
        data = _check_file(path, max_bytes)
        result.sha256 = hashlib.sha256(data).hexdigest()
        box = inspect(data, path.suffix.lower())
        for code, params in box.notes:
            add(code, params=params)
        book = _Book(_open_book(box.data), box, add)
    except Unreadable as exc:
        exc.finding.file = name
        result.findings.append(exc.finding)
        return result

    try:
        form = _identify(book, reg, add)
        result.form = form
        _far_cells(book, form, add)
        if form is None:
            return result
        result.header, result.header_cells = _read_header(book, form, reg, add)
        cells = _read_tables(book, form, add)
        _extra_sheets(book, form, add)
    except Exception as exc:  # a defect of ours must not end in a traceback: say so, read nothing
        result.form, result.cells = None, None
        add("GBV-F054", params={"detail": f"{type(exc).__name__}: {exc}"[:300]})
        return result
    result.cells = cells
    if typed:
        type_results([result])
    return result


def check_container(path: Path, max_bytes: int | None = None) -> Container:
    """The file checked as the reader checks it before reading. Raises `Unreadable`."""
    path = Path(path)
    data = _check_file(path, max_file_bytes() if max_bytes is None else max_bytes)
    return inspect(data, path.suffix.lower())


def sheet_rows(path: Path, max_bytes: int | None = None) -> dict[str, list[list[Any]]]:
    """Every sheet's values as the reader sees them (bounded, far values left out), for
    writers that copy a workbook (feedback). Raises `Unreadable`."""
    box = check_container(path, max_bytes)
    book = _Book(_open_book(box.data), box, lambda *a, **k: None)
    return {name: book.rows(name) for name in book.names}


# --- the file itself -------------------------------------------------------------------

def _check_file(path: Path, max_bytes: int) -> bytes:
    if path.is_dir():
        raise Unreadable(Finding("GBV-F055", params={"path": str(path)}))
    if not path.is_file():
        raise Unreadable(Finding("GBV-F001", params={"path": str(path)}))
    try:
        size = path.stat().st_size
    except OSError as e:
        raise _os_refused(path, e) from None
    if size > max_bytes:
        raise Unreadable(Finding("GBV-F002", params={"size": _mb(size), "limit": _mb(max_bytes)}))
    if size == 0:
        raise Unreadable(Finding("GBV-F004", params={"detail": "empty file"}))
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise Unreadable(Finding("GBV-F003", params={"suffix": suffix or "(none)"}))
    try:
        return path.read_bytes()
    except OSError as e:
        raise _os_refused(path, e) from None


def _os_refused(path: Path, e: OSError) -> Unreadable:
    return Unreadable(Finding("GBV-F056", params={"path": str(path), "reason": e.strerror or type(e).__name__}))


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _open_book(data: bytes):
    import io

    import python_calamine as pc

    try:
        return pc.load_workbook(io.BytesIO(data))  # the checked, bounded copy
    except pc.PasswordError:
        raise Unreadable(Finding("GBV-F041")) from None
    except BaseException as exc:  # the library raises several types, a panic among them
        if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise Unreadable(Finding("GBV-F005", params={"detail": f"{type(exc).__name__}: {exc}"})) from None


class _Book:
    """The opened workbook: sheet names, each sheet's rows read once, and a sheet the
    library fails on reported (GBV-F051) instead of raised."""

    def __init__(self, book, box: Container, add):
        self.book, self.box, self.add = book, box, add
        self.names: list[str] = list(book.sheet_names)
        self._rows: dict[str, list[list[Any]]] = {}
        self.failed: set[str] = set()

    def rows(self, sheet: str, report: bool = True) -> list[list[Any]]:
        box = next((s for s in self.box.sheets if s.name == sheet), None)
        if box and box.skipped:
            return []
        if box and box.damaged and sheet not in self._rows:
            self._rows[sheet] = []
            self.failed.add(sheet)
            if report:
                self.add("GBV-F051", sheet=sheet, params={"sheet": sheet, "detail": box.damaged})
        if sheet not in self._rows:
            try:
                self._rows[sheet] = self.book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
            except BaseException as exc:  # XmlError, CalamineError, a panic: one damaged sheet
                if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                    raise
                self._rows[sheet] = []
                self.failed.add(sheet)
                if report:
                    self.add("GBV-F051", sheet=sheet, params={"sheet": sheet,
                                                              "detail": f"{type(exc).__name__}: {exc}"})
        return self._rows[sheet]

    def matching(self, wanted: str) -> list[str]:
        """The sheets taken for `wanted`: same name up to spaces, case and look-alike letters."""
        key = sheet_key(wanted)
        return [s for s in self.names if sheet_key(s) == key]

    def one(self, wanted: str, role: str, add) -> str | None:
        """The one sheet for `wanted`, or None (with GBV-F043 when several would do)."""
        found = self.matching(wanted)
        if len(found) > 1:
            add("GBV-F043", sheet=found[0], params={"role": role, "sheets": ", ".join(repr(s) for s in found)})
            return None
        return found[0] if found else None

    def value(self, sheet: str, addr: str) -> Any:
        m = re.fullmatch(r"([A-Z]+)(\d+)", addr)
        rows = self.rows(sheet)
        r, c = int(m[2]) - 1, column_index(m[1])
        return rows[r][c] if r < len(rows) and c < len(rows[r]) else ""


@lru_cache(maxsize=4096)
def sheet_key(name: str) -> str:
    """A sheet name as people mean it: "T1 ", "t1", "Т1" (Cyrillic) are all T1."""
    text = unicodedata.normalize("NFKC", str(name)).translate(HOMOGLYPHS)
    text = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return text.casefold()


def _far_cells(book: _Book, form: FormVersion | None, add) -> None:
    """Values the bounded copy left out: a figure on a table sheet would be lost (error);
    anything else far from the form is reported and ignored."""
    tables = {sheet_key(tb.id) for tb in form.tables} if form else set()
    for sheet in book.box.sheets:
        if not sheet.far:
            continue
        figures = [c for c in sheet.far if c.figure] if sheet_key(sheet.name) in tables else []
        rows, cols = MAX_ROWS, _col(MAX_COLS - 1)
        for cell in figures:
            add("GBV-F045", sheet=sheet.name, cell=_on_grid(cell),
                params={"value": cell.value, "cell": cell.address, "rows": rows, "columns": cols})
        rest = [c for c in sheet.far if c not in figures]
        if rest:
            add("GBV-F044", sheet=sheet.name, cell=_on_grid(rest[0]),
                params={"count": len(rest), "cell": rest[0].address, "rows": rows, "columns": cols})


def _on_grid(cell: FarCell) -> str | None:
    """The address, when it is one a spreadsheet can show (an OpenDocument repeat count
    can place a value past row 1048576; the message still names it)."""
    return cell.address if cell.row < 1_048_576 and cell.col < 16_384 else None


# --- which form ------------------------------------------------------------------------

def _identify(book: _Book, reg: Registry, add) -> FormVersion | None:
    found = book.matching("_meta")
    if len(found) > 1:
        add("GBV-F043", sheet=found[0], params={"role": "_meta", "sheets": ", ".join(repr(s) for s in found)})
        return None
    if found:
        return _identify_by_meta(book, found[0], reg, add)
    form = _identify_by_content(book, reg)
    if form is None:
        add("GBV-F014", params={"looked_for": "hidden sheet _meta; a form title on sheet Title; "
                                              "table sheets T1.. with known line codes"})
        return None
    add("GBV-F015", params={"form": form.key})
    return form


def _identify_by_meta(book: _Book, sheet: str, reg: Registry, add) -> FormVersion | None:
    entries: dict[str, list[tuple[Any, str]]] = {}
    for i, row in enumerate(book.rows(sheet)):
        if len(row) >= 2 and str(row[0]).strip():
            entries.setdefault(str(row[0]).strip(), []).append((row[1], f"B{i + 1}"))
    for key in ("form", "version", "schema_hash"):
        values = entries.get(key, [])
        different = [(v, a) for v, a in values if _text(v) != _text(values[0][0])]
        if different:
            add("GBV-F046", sheet=sheet, cell=different[0][1],
                params={"field": key, "first": _text(values[0][0]), "first_cell": values[0][1],
                        "second": _text(different[0][0]), "second_cell": different[0][1]})
            return None
    form_code, form_cell = (_text(entries["form"][0][0]), entries["form"][0][1]) if "form" in entries else ("", None)
    version, version_cell = entries["version"][0] if "version" in entries else (None, form_cell)
    number = _whole(version)
    try:
        form = reg.get(form_code, number) if number is not None else None
    except (KeyError, TypeError, ValueError):
        form = None
    if form is None:
        add("GBV-F012", sheet=sheet, cell=version_cell, params={"form": form_code, "version": _text(version)})
        return None
    if _text(entries.get("schema_hash", [("", "")])[0][0]) != form.schema_hash:
        add("GBV-F013", sheet=sheet, params={"form": form.key})
    return form


def _whole(v: Any) -> int | None:
    """A small whole number (a version) from what a cell holds, else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 10**6:
        return int(v)
    if isinstance(v, int) and abs(v) < 10**6:
        return v
    text = str(v).strip() if isinstance(v, str) else ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else None


def _identify_by_content(book: _Book, reg: Registry) -> FormVersion | None:
    titles = book.matching("Title")
    title_text = ""
    if len(titles) == 1:
        title_text = " ".join(str(v) for r in book.rows(titles[0])[:3] for v in r if v).strip()
    best, best_score = None, 0
    for form in reg.versions():
        names = {v.strip() for v in form.title.values()}
        if title_text and not any(tt in title_text for tt in names):
            continue
        score = 0
        for table in form.tables:
            sheets = book.matching(table.id)
            if len(sheets) != 1:
                continue
            codes = {_code(v) for r in book.rows(sheets[0]) for v in r[:4]}
            score += sum(1 for ln in table.lines if ln.code in codes)
        if score > best_score:
            best, best_score = form, score
    return best


# --- the header ------------------------------------------------------------------------

@cache
def _header_labels() -> dict[str, set[str]]:
    return {f: {t(f"tpl.header.{f}", lang).strip().lower() for lang in LANGS} for f in HEADER_FIELDS}


def _read_header(book: _Book, form: FormVersion, reg: Registry, add
                 ) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """The named cells (`gbv_unit`, ...) are the header; a label in column A of Title
    stands in only where the name is missing or broken. A second value for a field,
    in the named cell and a labelled row or in two labelled rows, is an error (GBV-F046):
    which one is meant is never decided by position in the file."""
    title = book.one("Title", "Title", add)
    named: dict[str, tuple[str, str, str]] = {}
    for fld in HEADER_FIELDS:
        key = f"gbv_{fld}"
        if key not in book.box.names:
            continue
        target = book.box.names[key]
        if target is None or target[0] not in book.names or target[0] in book.failed:
            add("GBV-F047", sheet=title, params={"name": key, "target": book.box.name_targets.get(key, "")})
            continue
        named[fld] = (target[0], target[1], _text(book.value(*target)))
    labelled = _labelled(book, title) if title else {}
    header: dict[str, str] = {}
    cells: dict[str, tuple[str, str]] = {}
    conflict: set[str] = set()
    for fld in HEADER_FIELDS:
        hits = labelled.get(fld, [])
        if fld in named:
            sheet, addr, value = named[fld]
            cells[fld] = (sheet, addr)
            other = next(((a, v) for a, v in hits if v and (sheet, a) != (title, addr)
                          and not _same(fld, v, value)), None)
            if other and value:
                add("GBV-F046", sheet=title, cell=other[0],
                    params={"field": fld, "first": value, "first_cell": f"{sheet}!{addr}",
                            "second": other[1], "second_cell": f"{title}!{other[0]}"})
                conflict.add(fld)
            header[fld] = value
            continue
        filled = [(a, v) for a, v in hits if v]
        other = next(((a, v) for a, v in filled if not _same(fld, v, filled[0][1])), None)
        if other:
            add("GBV-F046", sheet=title, cell=other[0],
                params={"field": fld, "first": filled[0][1], "first_cell": f"{title}!{filled[0][0]}",
                        "second": other[1], "second_cell": f"{title}!{other[0]}"})
            conflict.add(fld)
        if filled:
            header[fld], cells[fld] = filled[0][1], (title, filled[0][0])
        elif hits:
            header[fld], cells[fld] = "", (title, hits[0][0])
    default = title or "Title"
    cells.setdefault("unit", (default, "C4"))
    cells.setdefault("period", (default, "C5"))
    if "unit" in conflict:
        header.pop("unit", None)
    else:
        _check_unit(header, cells["unit"], form, reg, add)
    if "period" in conflict:
        header.pop("period", None)
    else:
        _check_period(header, cells["period"], form, add)
    return {k: v for k, v in header.items() if v or k not in ("unit", "period")}, cells


def _labelled(book: _Book, title: str) -> dict[str, list[tuple[str, str]]]:
    """Rows of the Title sheet whose column A is a header label (in any language):
    field -> [(address of the value, value)], the value being the first filled cell
    right of the label (C when none is)."""
    labels = _header_labels()
    out: dict[str, list[tuple[str, str]]] = {}
    for i, row in enumerate(book.rows(title)[:HEADER_ROWS_SCANNED]):
        key = str(row[0]).strip().lower() if row else ""
        for fld, names in labels.items():
            if key in names:
                col, value = next(((j, v) for j, v in enumerate(row[1:], start=1) if str(v).strip()), (2, ""))
                out.setdefault(fld, []).append((f"{_col(col)}{i + 1}", _text(value)))
    return out


def _same(fld: str, a: str, b: str) -> bool:
    """Two values of a header field that mean the same: the same unit code, the same
    period, or the same text up to spaces and case."""
    if fld == "unit":
        ma, mb = LEADING_DIGITS.match(a), LEADING_DIGITS.match(b)
        if ma and mb:
            return ma[1] == mb[1]
    if fld == "period":
        try:
            return parse_period(_period_text(a)) == parse_period(_period_text(b))
        except ValueError:
            pass
    return SPACES.sub(" ", a).strip().casefold() == SPACES.sub(" ", b).strip().casefold()


def _check_unit(header, where: tuple[str, str], form: FormVersion, reg: Registry, add) -> None:
    sheet, cell = where
    raw = header.get("unit", "")
    if not raw:
        add("GBV-F020", sheet=sheet, cell=cell, params={"field": "unit"})
        return
    m = LEADING_DIGITS.match(raw)
    if m and len(m[1]) != 14:  # never cut a 15-digit typo to 14 digits
        add("GBV-F049", sheet=sheet, cell=cell, params={"value": raw, "digits": len(m[1])})
        header.pop("unit")
        return
    code = m[1] if m else ""
    if not reg.territories().get(code):
        add("GBV-F021", sheet=sheet, cell=cell, params={"value": raw})
        header.pop("unit")
        return
    header["unit"] = code
    if code not in {c.code for c in reg.units(form.level)}:
        add("GBV-F022", sheet=sheet, cell=cell, params={"value": raw, "level": form.level})
        header.pop("unit")


def _check_period(header, where: tuple[str, str], form: FormVersion, add) -> None:
    sheet, cell = where
    raw = header.get("period", "")
    if not raw:
        add("GBV-F020", sheet=sheet, cell=cell, params={"field": "period"})
        return
    try:
        period = parse_period(_period_text(raw))
    except ValueError:
        add("GBV-F023", sheet=sheet, cell=cell, params={"value": raw})
        header.pop("period")
        return
    header["period"] = str(period)
    if not form.valid_for(period):
        add("GBV-F024", sheet=sheet, cell=cell,
            params={"value": raw, "form": form.key, "periodicity": form.periodicity,
                    "valid": f"{form.valid_from} .. {form.valid_to or ''}"})
        header.pop("period")


_QUARTER_FIRST = re.compile(r"^([1-4])\s*[-.]?\s*(?:Q|К|КВ|КВАРТАЛ|ЧЕЙРЕК)\.?\s*[-,]?\s*(\d{4})\s*-?\s*(?:Г\.?|ГОДА?|Ж\.?|ЖЫЛ)?$")
_QUARTER_LAST = re.compile(r"^(\d{4})\s*[-/ ]?\s*(?:Q|К|КВ\.?)\s*([1-4])$")
_ROMAN = {"I": "1", "II": "2", "III": "3", "IV": "4"}


def _period_text(raw: str) -> str:
    """Unambiguous ways of writing a quarter: "1 кв. 2024", "I квартал 2024 г.", "2024 Q1"."""
    text = SPACES.sub(" ", raw).strip().upper()
    roman = re.match(r"^(IV|I{1,3})\b\s*(.*)$", text)
    if roman:
        text = f"{_ROMAN[roman[1]]} {roman[2]}"
    if m := _QUARTER_FIRST.match(text):
        return f"{m[2]}-Q{m[1]}"
    if m := _QUARTER_LAST.match(text):
        return f"{m[1]}-Q{m[2]}"
    return text.replace(" ", "")


# --- the tables ------------------------------------------------------------------------

def _read_tables(book: _Book, form: FormVersion, add) -> pd.DataFrame | None:
    records = []
    for table in form.tables:
        sheet = book.one(table.id, f"table {table.id}", add)
        if sheet is None:
            if not book.matching(table.id):
                add("GBV-F030", params={"table": table.id})
            continue
        rows = book.rows(sheet)
        if sheet in book.failed:
            continue
        records.extend(_read_table(rows, sheet, table, book.box.special.get(sheet, {}), add))
    return cells_frame(records) if records else None


def cells_frame(records: list[tuple]) -> pd.DataFrame:
    """The long cells table (tbl, line, col, value, sheet, addr) from record tuples,
    built column-wise: several times cheaper than from_records plus casts."""
    import numpy as np
    import pandas as pd

    tbl, line, col, value, sheet, addr = (list(c) for c in zip(*records, strict=True)) if records else ([],) * 6
    return pd.DataFrame({"tbl": tbl, "line": line, "col": np.array(col, dtype="int32"),
                         "value": pd.array(value, dtype="Int64"), "sheet": sheet, "addr": addr})


def _read_table(rows, sheet: str, table, special: dict[str, str], add) -> list[tuple]:
    numbers = [c.number for c in table.columns]
    found = _number_row(rows, numbers)
    if found is None:
        add("GBV-F031", sheet=sheet, params={"numbers": ", ".join(map(str, numbers))})
        return []
    header_row, col_index = found
    code_col, line_rows = _line_rows(rows, header_row, table, min(col_index.values()))
    _stray_rows(rows, header_row, code_col, line_rows, col_index, sheet, table, add)
    _stray_columns(rows, header_row, code_col, line_rows, col_index, sheet, table, add)
    out = []
    for line in table.lines:
        r = line_rows.get(line.code)
        if r is None:
            add("GBV-F032", sheet=sheet, params={"line": line.code, "table": table.id})
            continue
        for col in table.columns:
            c = col_index[col.number]
            addr = f"{_col(c)}{r + 1}"
            raw = rows[r][c] if c < len(rows[r]) else ""
            kind = special.get(addr)
            greyed = col.number in line.greyed
            value = _cell_value(raw, kind, greyed, sheet, addr, line.code, col.number, add)
            if not greyed:
                out.append((table.id, line.code, col.number, value, sheet, addr))
    return out


def _number_row(rows, numbers: list[int]) -> tuple[int, dict[int, int]] | None:
    """The printed column-number row: the numbers 1..N in order, left to right."""
    for i, row in enumerate(rows[:HEADER_ROWS_SCANNED]):
        positions: dict[int, int] = {}
        for j, v in enumerate(row):
            n = _small_int(v)
            if n is not None and n in numbers and n not in positions:
                positions[n] = j
        if len(positions) == len(numbers) and [positions[n] for n in sorted(numbers)] == sorted(positions.values()):
            return i, positions
    return None


def _line_rows(rows, header_row: int, table, first_data_col: int) -> tuple[int, dict[str, int]]:
    """The line-code column (the one left of the data holding most codes) and each code's row."""
    codes = {ln.code for ln in table.lines}
    best_col, best = 0, {}
    for c in range(first_data_col):
        found = {}
        for r in range(header_row + 1, len(rows)):
            code = _code(rows[r][c]) if c < len(rows[r]) else ""
            if code in codes and code not in found:
                found[code] = r
        if len(found) > len(best):
            best_col, best = c, found
    return best_col, best


def _has_figure(row: list, columns) -> bool:
    """A number in one of these cells (a refused one too: 4.5, -3, 1.000), not text."""
    for c in columns:
        if c < len(row) and row[c] != "":
            value, problem = normalise(row[c])
            if value is not None or problem not in (None, "GBV-V001", "GBV-V004"):
                return True
    return False


def _stray_rows(rows, header_row, code_col, line_rows, col_index, sheet, table, add) -> None:
    """Rows with figures that are not read: a repeated line code, or a code not of the form."""
    codes = {ln.code for ln in table.lines}
    data_cols = range(min(col_index.values()), max(len(r) for r in rows))
    for r in range(header_row + 1, len(rows)):
        raw = rows[r][code_col] if code_col < len(rows[r]) else ""
        code = _code(raw)
        addr = f"{_col(code_col)}{r + 1}"
        if code in codes and line_rows.get(code) != r:
            add("GBV-F033", sheet=sheet, cell=addr, line=code,
                params={"line": code, "table": table.id, "rows": f"{line_rows[code] + 1}, {r + 1}"})
        elif code not in codes and _has_figure(rows[r], data_cols):
            add("GBV-F034", sheet=sheet, cell=addr,
                params={"row": r + 1, "value": _text(raw), "table": table.id})


def _stray_columns(rows, header_row, code_col, line_rows, col_index, sheet, table, add) -> None:
    """Figures on the form's lines in a column that is not one of its columns: under a
    number or text that is not a column number of the table (GBV-F035), or under no
    column number at all (GBV-F048). Either would be lost."""
    numbers = ", ".join(map(str, sorted(col_index)))
    mapped = set(col_index.values())
    header = rows[header_row]
    width = max((len(rows[r]) for r in line_rows.values()), default=0)
    for c in range(code_col + 1, width):
        if c in mapped:
            continue
        hit = next((r for r in sorted(line_rows.values()) if _has_figure(rows[r], [c])), None)
        if hit is None:
            continue
        head = header[c] if c < len(header) else ""
        if str(head).strip():
            add("GBV-F035", sheet=sheet, cell=f"{_col(c)}{header_row + 1}",
                params={"column": _col(c), "value": _text(head), "table": table.id, "numbers": numbers})
        else:
            add("GBV-F048", sheet=sheet, cell=f"{_col(c)}{hit + 1}",
                params={"column": _col(c), "cell": f"{_col(c)}{hit + 1}", "row": header_row + 1,
                        "table": table.id, "numbers": numbers})


def _cell_value(raw, kind, greyed, sheet, addr, line, col, add) -> int | None:
    where = {"sheet": sheet, "cell": addr, "line": line, "column": col}
    if kind == "formula-no-value":
        add("GBV-V006", **where, params={"cell": addr})
        return None
    if kind and kind.startswith("#"):
        add("GBV-V004", **where, params={"value": kind})
        return None
    if kind == "formula":
        add("GBV-V007", **where, params={"value": raw})
    value, problem = normalise(raw)
    if problem:
        extra = _separator_readings(raw) if problem == "GBV-V021" else {}
        add(problem, **where, params={"value": _text(raw), **extra})
        return None
    if greyed and value is not None:
        add("GBV-V005", **where, params={"value": _text(raw)})
        return None
    return value


def normalise(raw: Any) -> tuple[int | None, str | None]:
    """A count from what a cell holds, or the finding code that refuses it.
    Blank and dash mean nothing reported (None), distinct from 0."""
    from datetime import date, datetime, time, timedelta

    if raw is None or raw == "":
        return None, None
    if isinstance(raw, bool) or isinstance(raw, (date, datetime, time, timedelta)):
        return None, "GBV-V001"
    if isinstance(raw, (int, float)):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None, "GBV-V001"
        if abs(raw) > MAX_COUNT:
            return None, "GBV-V020"
        if float(raw) != int(raw):
            return None, "GBV-V002"
        return (int(raw), None) if raw >= 0 else (None, "GBV-V003")
    text = SPACES.sub(" ", str(raw)).strip()
    if not text or text in DASHES:
        return None, None
    if text.upper() in EXCEL_ERRORS:
        return None, "GBV-V004"
    text = text.replace("−", "-")
    if " " in text and not THOUSANDS_SPACE.match(text):
        return None, "GBV-V001"  # "12 34" is two numbers or a typo, not 1234
    compact = text.replace(" ", "")
    if (m := ONE_GROUP.match(compact)) and (m[2] == "." or m[3] == "000"):
        return None, "GBV-V021"  # 1.000 or 1,000: a thousand, or one with a decimal point?
    if THOUSANDS_COMMA.match(compact) or THOUSANDS_APOSTROPHE.match(compact) or THOUSANDS_DOT.match(compact):
        compact = compact.replace(",", "").replace("'", "").replace(".", "")
    if INTEGER.match(compact):
        if len(compact.lstrip("+-").lstrip("0")) > 15:  # before int(): 5,000 digits must not cost
            return None, "GBV-V020" if not compact.startswith("-") else "GBV-V003"
        n = int(compact)
        return (n, None) if n >= 0 else (None, "GBV-V003")
    if DECIMAL.match(compact):
        whole = compact.replace(",", ".")
        if len(whole) > 40:
            return None, "GBV-V002"
        if re.match(r"^\d+[.,]0+$", compact) and float(whole).is_integer():
            return (int(float(whole)), None) if float(whole) <= MAX_COUNT else (None, "GBV-V020")
        return None, "GBV-V002"
    return None, "GBV-V001"


def _separator_readings(text: str) -> dict[str, str]:
    """The two readings of 1.000 / 1,000, for the message of GBV-V021."""
    m = ONE_GROUP.match(SPACES.sub("", str(text)))
    if not m:
        return {"thousands": "", "decimal": ""}
    decimal = f"{int(m[1])}.{m[3]}".rstrip("0").rstrip(".")
    return {"thousands": f"{int(m[1] + m[3])}", "decimal": decimal}


def _extra_sheets(book: _Book, form: FormVersion, add) -> None:
    tables = {sheet_key(tb.id) for tb in form.tables}
    far = {sh.name for sh in book.box.sheets if sh.far}
    for sheet in book.names:
        key = sheet_key(sheet)
        if key in KNOWN_SHEETS or key in tables:
            continue
        rows = book.rows(sheet, report=False)
        if sheet in far or sheet in book.failed or any(str(v).strip() for row in rows for v in row):
            add("GBV-F016", sheet=sheet, params={"sheet": sheet})


def type_results(results: list[ReadResult]) -> None:
    """Structural typing with pandera, one validation per form version for all its files;
    failure cases become catalogued findings of the file they came from."""
    import numpy as np
    import pandas as pd

    groups: dict[str, list[ReadResult]] = {}
    for r in results:
        if r.form is not None and r.cells is not None:
            groups.setdefault(r.form.key, []).append(r)
    for group in groups.values():
        form = group[0].form
        frame = pd.concat([r.cells for r in group], ignore_index=True)
        frame["_file"] = np.repeat(np.arange(len(group)), [len(r.cells) for r in group])
        for index, column, check, value in _failure_cases(frame, form):
            if index is None:
                for r in group:
                    r.findings.append(Finding("GBV-V010", file=r.path.name,
                                              params={"column": column, "check": check, "value": value}))
                continue
            row = frame.loc[index]
            r = group[int(row["_file"])]
            r.findings.append(Finding("GBV-V010", file=r.path.name, sheet=row["sheet"], cell=row["addr"],
                                      table=row["tbl"], line=row["line"], column=int(row["col"]),
                                      params={"column": column, "check": check, "value": value}))
        expected = {(c.table, c.line, c.column) for c in form.cells() if c.input}
        for r in group:
            _missing_cells(r, expected)


def _failure_cases(frame: pd.DataFrame, form: FormVersion) -> list[tuple[Any, str, str, str]]:
    import pandas as pd
    import pandera.pandas as pa

    expected = {(c.table, c.line, c.column) for c in form.cells() if c.input}
    schema = pa.DataFrameSchema(
        {
            "tbl": pa.Column(str, pa.Check.isin(sorted({k[0] for k in expected}))),
            "line": pa.Column(str),
            "col": pa.Column("int32", pa.Check.ge(1)),
            "value": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        },
        unique=["_file", "tbl", "line", "col"],
        strict=False,
    )
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return []
    out: dict[tuple[Any, str], tuple[Any, str, str, str]] = {}
    for case in cases.itertuples():
        index = None if pd.isna(case.index) else case.index
        if case.check == "multiple_fields_uniqueness" and index is not None:
            # one case per key column of a repeated row: report the row once, as its key
            row = frame.loc[index]
            out[(index, case.check)] = (index, "tbl, line, col", case.check,
                                        f"{row['tbl']}/{row['line']}/{row['col']}")
        else:
            out.setdefault((index, f"{case.column} {case.check}"),
                           (index, str(case.column), str(case.check), str(case.failure_case)))
    return list(out.values())


def _missing_cells(result: ReadResult, expected: set[tuple[str, str, int]]) -> None:
    cells = result.cells
    present = set(zip(cells["tbl"].tolist(), cells["line"].tolist(), cells["col"].tolist(), strict=True))
    for tbl, line, col in sorted(expected - present):
        result.findings.append(Finding("GBV-V011", file=result.path.name, sheet=tbl, line=line, column=col,
                                       params={"table": tbl, "line": line, "column": col}))


# --- small helpers ---------------------------------------------------------------------

def _small_int(v: Any) -> int | None:
    """A column number as printed: 3, 3.0, "3", "3*", "3¹" (a footnote mark beside it)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return int(v) if float(v).is_integer() and abs(v) < 10**6 else None
    if isinstance(v, str):
        text = FOOTNOTE_MARKS.sub("", v.strip())
        # "01" is a line code, not a column number: the code column must not pass for the number row
        if text.isascii() and text.isdigit() and not text.startswith("0") and len(text) < 7:
            return int(text)
    return None


def _code(v: Any) -> str:
    """A line code as printed: 1 and 1.0 read back as "01" when the form uses two digits;
    a footnote mark beside it ("02*", "02¹") is not part of it."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 10**6:
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:02d}"
    text = FOOTNOTE_MARKS.sub("", str(v).strip()) if isinstance(v, str) else str(v).strip()
    return f"{int(text):02d}" if text.isascii() and text.isdigit() and len(text) == 1 else text


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        v = int(v)
    return str(v).strip() if v is not None else ""
