"""Reading filled workbooks into the long cells table, refusing what is not exact.

The form is identified by the hidden `_meta` sheet (or, failing that, by the title and
line codes); cells are found by line code and column number, never by fixed position.
Values are read with python-calamine; the zip parts are inspected directly for what
calamine does not report (formulas without a cached value, error cells, macros, external
links). Every problem is a catalogued finding with sheet and cell address.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.i18n import LANGS, t
from gbvstats.periods import parse_period
from gbvstats.schema.model import FormVersion, Registry

if TYPE_CHECKING:
    import pandas as pd

MAX_FILE_BYTES = 20 * 1024 * 1024  # a filled form is tens of kilobytes
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, per zip entry
HEADER_ROWS_SCANNED = 40
KNOWN_SHEETS = {"title", "_meta", "_lists", "_labels", "findings"}
UNREAD_SHEETS = {"_lists", "_labels"}
DASHES = {"-", "–", "—", "‒", "―", "x", "X", "х", "Х"}
SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
THOUSANDS_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
THOUSANDS_SPACE = re.compile(r"^[+-]?\d{1,3}( \d{3})+$")
THOUSANDS_APOSTROPHE = re.compile(r"^\d{1,3}('\d{3})+$")
INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?\d*[.,]\d+$")
SOATE = re.compile(r"^\s*(\d{14})")
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


class Unreadable(Exception):
    """The file cannot be read at all; carries the finding that says why."""

    def __init__(self, finding: Finding):
        super().__init__(finding.code)
        self.finding = finding


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
        parts = _inspect_zip(path, data) if data[:2] == b"PK" else {}
        for code, params in parts.get("suspicious", []):
            add(code, params=params)
        book = _open_book(data)
    except Unreadable as exc:
        exc.finding.file = name
        result.findings.append(exc.finding)
        return result

    sheets = {s: s for s in book.sheet_names}
    form = _identify(book, sheets, reg, add)
    result.form = form
    if form is None:
        return result
    result.header = _read_header(book, sheets, form, reg, add)
    cells = _read_tables(book, sheets, form, parts.get("special", {}), add)
    _extra_sheets(book, form, add)
    result.cells = cells
    if typed:
        type_results([result])
    return result


# --- the file itself -------------------------------------------------------------------

def _check_file(path: Path, max_bytes: int) -> bytes:
    if not path.is_file():
        raise Unreadable(Finding("GBV-F001", params={"path": str(path)}))
    size = path.stat().st_size
    if size > max_bytes:
        raise Unreadable(Finding("GBV-F002", params={"size": _mb(size), "limit": _mb(max_bytes)}))
    if size == 0:
        raise Unreadable(Finding("GBV-F004", params={"detail": "empty file"}))
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".xlsm", ".xls", ".ods"):
        raise Unreadable(Finding("GBV-F003", params={"suffix": suffix or "(none)"}))
    if data[:2] != b"PK" and data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise Unreadable(Finding("GBV-F004", params={"detail": f"starts with {data[:8]!r}"}))
    return data


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _inspect_zip(path: Path, data: bytes) -> dict[str, Any]:
    """Check sizes before anything is decompressed; find macros, external links, and the
    cells calamine cannot tell us about (formulas, error values)."""
    import io

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise Unreadable(Finding("GBV-F005", params={"detail": str(exc)})) from None
    total = sum(i.file_size for i in infos)
    worst = max(infos, key=lambda i: i.file_size / max(i.compress_size, 1), default=None)
    if total > MAX_UNPACKED_BYTES or (
            worst and worst.file_size > 1_000_000 and worst.file_size / max(worst.compress_size, 1) > MAX_RATIO):
        raise Unreadable(Finding("GBV-F006", params={"unpacked": _mb(total), "limit": _mb(MAX_UNPACKED_BYTES)}))
    names = {i.filename for i in infos}
    out: dict[str, Any] = {"suspicious": [], "special": {}}
    if path.suffix.lower() == ".xlsm" or any(n.lower().endswith("vbaproject.bin") for n in names):
        out["suspicious"].append(("GBV-F010", {}))
    links = sorted(n for n in names if n.startswith("xl/externalLinks/") and n.endswith(".xml"))
    if links:
        out["suspicious"].append(("GBV-F011", {"count": len(links)}))
    if "xl/workbook.xml" in names:
        try:
            out["special"] = _special_cells(zf)
        except (zipfile.BadZipFile, OSError, KeyError, EOFError) as exc:
            raise Unreadable(Finding("GBV-F005", params={"detail": str(exc)})) from None
    return out


_SHEET_DECL = re.compile(rb'<sheet\b[^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"')
_REL = re.compile(rb'<Relationship\b[^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"')
_REL2 = re.compile(rb'<Relationship\b[^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"')
_CELL = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_REF = re.compile(rb'\br="([A-Z]+\d+)"')
_TYPE = re.compile(rb'\bt="(\w+)"')
_VALUE = re.compile(rb"<v>(.*?)</v>", re.S)


def _special_cells(zf: zipfile.ZipFile) -> dict[str, dict[str, str]]:
    """{sheet: {address: "formula" | "formula-no-value" | "#REF!"...}} for .xlsx files."""
    import html

    rels = zf.read("xl/_rels/workbook.xml.rels")
    targets = {rid: tgt for rid, tgt in _REL.findall(rels)}
    targets.update({rid: tgt for tgt, rid in _REL2.findall(rels)})
    special: dict[str, dict[str, str]] = {}
    for name, rid in _SHEET_DECL.findall(zf.read("xl/workbook.xml")):
        if html.unescape(name.decode()).strip().lower() in UNREAD_SHEETS:
            continue  # the template's own lists: no value is ever read from them
        target = targets.get(rid, b"").decode()
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part not in zf.namelist():
            continue
        found: dict[str, str] = {}
        xml = zf.read(part)
        if b"<f" not in xml and b't="e"' not in xml:  # most sheets: no formula, no error cell
            special[html.unescape(name.decode())] = found
            continue
        for attrs, body in _CELL.findall(xml):
            body = body or b""
            ctype = (_TYPE.search(attrs) or [None, b""])[1]
            has_formula = b"<f" in body
            if not has_formula and ctype != b"e":
                continue
            ref = _REF.search(attrs)
            if not ref:
                continue
            value = _VALUE.search(body)
            if ctype == b"e":
                found[ref[1].decode()] = value[1].decode() if value else "#ERROR"
            elif value is None or value[1] == b"":
                found[ref[1].decode()] = "formula-no-value"
            else:
                found[ref[1].decode()] = "formula"
        special[html.unescape(name.decode())] = found
    return special


def _open_book(data: bytes):
    import io

    import python_calamine as pc

    try:
        return pc.load_workbook(io.BytesIO(data))  # the bytes already read and checked
    except Exception as exc:  # calamine raises several types for broken files
        raise Unreadable(Finding("GBV-F005", params={"detail": f"{type(exc).__name__}: {exc}"})) from None


def _rows(book, sheet: str) -> list[list[Any]]:
    return book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


# --- which form ------------------------------------------------------------------------

def _identify(book, sheets: dict[str, str], reg: Registry, add) -> FormVersion | None:
    meta_sheet = next((s for s in sheets if s.strip().lower() == "_meta"), None)
    if meta_sheet:
        meta = {str(r[0]).strip(): r[1] for r in _rows(book, meta_sheet) if len(r) >= 2 and r[0]}
        form_code, version = str(meta.get("form", "")).strip(), meta.get("version")
        try:
            form = reg.get(form_code, int(float(version)))
        except (KeyError, TypeError, ValueError):
            add("GBV-F012", sheet=meta_sheet, params={"form": form_code, "version": version})
            return None
        if str(meta.get("schema_hash", "")).strip() != form.schema_hash:
            add("GBV-F013", sheet=meta_sheet, params={"form": form.key})
        return form
    form = _identify_by_content(book, sheets, reg)
    if form is None:
        add("GBV-F014", params={"looked_for": "hidden sheet _meta; a form title on sheet Title; "
                                              "table sheets T1.. with known line codes"})
        return None
    add("GBV-F015", params={"form": form.key})
    return form


def _identify_by_content(book, sheets: dict[str, str], reg: Registry) -> FormVersion | None:
    title_sheet = next((s for s in sheets if s.strip().lower() == "title"), None)
    title_text = ""
    if title_sheet:
        rows = _rows(book, title_sheet)
        title_text = " ".join(str(v) for r in rows[:3] for v in r if v).strip()
    best, best_score = None, 0
    for form in reg.versions():
        titles = {v.strip() for v in form.title.values()}
        if title_text and not any(tt in title_text for tt in titles):
            continue
        score = 0
        for table in form.tables:
            sheet = _table_sheet(sheets, table.id)
            if sheet is None:
                continue
            codes = {_code(v) for r in _rows(book, sheet) for v in r[:4]}
            score += sum(1 for ln in table.lines if ln.code in codes)
        if score > best_score:
            best, best_score = form, score
    return best


# --- the header ------------------------------------------------------------------------

@cache
def _header_labels() -> dict[str, set[str]]:
    fields = ("unit", "period", "contact", "phone", "date")
    return {f: {t(f"tpl.header.{f}", lang).strip().lower() for lang in LANGS} for f in fields}


def _read_header(book, sheets, form: FormVersion, reg: Registry, add) -> dict[str, str]:
    title_sheet = next((s for s in sheets if s.strip().lower() == "title"), None)
    header: dict[str, str] = {}
    cells: dict[str, str] = {}
    if title_sheet:
        labels = _header_labels()
        for i, row in enumerate(_rows(book, title_sheet)[:HEADER_ROWS_SCANNED]):
            key = str(row[0]).strip().lower() if row else ""
            for fld, names in labels.items():
                if key in names:
                    col, value = next(((j, v) for j, v in enumerate(row[1:], start=1)
                                       if str(v).strip()), (2, ""))
                    header[fld] = _text(value)
                    cells[fld] = f"{_col(col)}{i + 1}"
    sheet = title_sheet or "Title"
    _check_unit(header, cells, form, reg, sheet, add)
    _check_period(header, cells, form, sheet, add)
    return header


def _check_unit(header, cells, form: FormVersion, reg: Registry, sheet: str, add) -> None:
    raw = header.get("unit", "")
    cell = cells.get("unit", "C4")
    if not raw:
        add("GBV-F020", sheet=sheet, cell=cell, params={"field": "unit"})
        return
    m = SOATE.match(raw)
    code = m[1] if m else ""
    if not reg.territories().get(code):
        add("GBV-F021", sheet=sheet, cell=cell, params={"value": raw})
        header.pop("unit")
        return
    header["unit"] = code
    if code not in {c.code for c in reg.units(form.level)}:
        add("GBV-F022", sheet=sheet, cell=cell, params={"value": raw, "level": form.level})
        header.pop("unit")


def _check_period(header, cells, form: FormVersion, sheet: str, add) -> None:
    raw = header.get("period", "")
    cell = cells.get("period", "C5")
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

def _table_sheet(sheets: dict[str, str], table_id: str) -> str | None:
    return next((s for s in sheets if s.strip().lower() == table_id.lower()), None)


def _read_tables(book, sheets, form: FormVersion, special, add) -> pd.DataFrame | None:
    records = []
    for table in form.tables:
        sheet = _table_sheet(sheets, table.id)
        if sheet is None:
            add("GBV-F030", params={"table": table.id})
            continue
        records.extend(_read_table(_rows(book, sheet), sheet, table, special.get(sheet, {}), add))
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
    _stray_columns(rows, header_row, line_rows, col_index, sheet, table, add)
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
    return any(c < len(row) and normalise(row[c])[0] is not None for c in columns)


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


def _stray_columns(rows, header_row, line_rows, col_index, sheet, table, add) -> None:
    """Figures right of the form's last column, under a number that is not one of its columns."""
    numbers = sorted(col_index)
    last = max(col_index.values())
    header = rows[header_row]
    for c in range(last + 1, len(header)):
        if not str(header[c]).strip():
            continue
        if any(_has_figure(rows[r], [c]) for r in line_rows.values()):
            add("GBV-F035", sheet=sheet, cell=f"{_col(c)}{header_row + 1}",
                params={"column": _col(c), "value": _text(header[c]), "table": table.id,
                        "numbers": ", ".join(map(str, numbers))})


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
        add(problem, **where, params={"value": _text(raw)})
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
    if THOUSANDS_COMMA.match(compact) or THOUSANDS_APOSTROPHE.match(compact):
        compact = compact.replace(",", "").replace("'", "")
    if INTEGER.match(compact):
        n = int(compact)
        return (n, None) if n >= 0 else (None, "GBV-V003")
    if DECIMAL.match(compact):
        whole = compact.replace(",", ".")
        if float(whole).is_integer() and re.match(r"^\d+[.,]0+$", compact):
            return int(float(whole)), None
        return None, "GBV-V002"
    return None, "GBV-V001"


def _extra_sheets(book, form: FormVersion, add) -> None:
    tables = {tb.id.lower() for tb in form.tables}
    for sheet in book.sheet_names:
        key = sheet.strip().lower()
        if key in KNOWN_SHEETS or key in tables:
            continue
        if any(str(v).strip() for row in _rows(book, sheet) for v in row):
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

def _col(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def _small_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)) and float(v).is_integer():
        return int(v)
    # "01" is a line code, not a column number: the code column must not pass for the number row
    if isinstance(v, str) and v.strip().isdigit() and not v.strip().startswith("0"):
        return int(v.strip())
    return None


def _code(v: Any) -> str:
    """A line code as printed: 1 and 1.0 read back as "01" when the form uses two digits."""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:02d}"
    text = str(v).strip()
    return f"{int(text):02d}" if text.isdigit() and len(text) == 1 else text


def _text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip() if v is not None else ""
