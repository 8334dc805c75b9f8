"""Text the tool writes into CSV and spreadsheet files stays text, never a formula.

Every CSV or workbook gbvstats writes goes through this module (OWASP, "CSV Injection"):
- **CSV**: a text field that a spreadsheet would take for a formula, i.e. one starting
  with `=`, `+`, `-`, `@`, a tab or a carriage return (or their full-width forms, or
  blanks before `=` `+` `-` `@`), is written with a leading apostrophe (`'=1+2`), which
  spreadsheets show as text. Numbers stay numbers: numeric values are never touched, and
  a text field that is exactly a number (`-5`, `+3.2`, `1e3`) is left as it is, since no
  spreadsheet evaluates it as anything but that number. Header names are treated the
  same way as values.
- **xlsx** (openpyxl): assigning a string that starts with `=` makes a formula cell. Every
  such cell the tool did not load as a formula from the user's own workbook is turned back
  into a text cell before saving, so the text shows exactly as typed.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# first characters a spreadsheet reads as the start of a formula (or a DDE command);
# full-width forms included, as some spreadsheet programs normalise them
TRIGGERS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_BLANK = " \t\r\n\u00a0\u3000"
_NUMBER = re.compile(r"^[+-]?(\d[\d_ ]*([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def is_risky(text: str) -> bool:
    """True when a spreadsheet could evaluate `text` as a formula."""
    if not text:
        return False
    stripped = text.lstrip(_BLANK)
    if not stripped or stripped == "-":  # nothing, or the dash of "nothing reported"
        return False
    if text[0] not in TRIGGERS and stripped[0] not in TRIGGERS:
        return False
    return not _NUMBER.match(stripped.rstrip(_BLANK))


def neutral(value: Any) -> Any:
    """A CSV field: risky text with a leading apostrophe; anything else unchanged."""
    if isinstance(value, str) and is_risky(value):
        return "'" + value
    return value


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names are neutral (numbers untouched)."""
    out = frame.copy()
    out.columns = [neutral(str(c)) for c in out.columns]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if column.dtype.kind in "biufcmM":  # numbers, booleans, dates: nothing to do
            continue
        if column.map(lambda v: isinstance(v, str) and is_risky(v)).any():
            out.isetitem(i, column.map(neutral))
    return out


def frame_csv(frame: pd.DataFrame, target: Path | str | IO[str] | None = None, **options) -> str | None:
    """`DataFrame.to_csv` with neutral text: to a path or stream, or returned as a string."""
    options.setdefault("index", False)
    safe = csv_frame(frame)
    if target is None:
        return safe.to_csv(**options)
    if isinstance(target, (str, Path)):
        options.setdefault("encoding", "utf-8")
    safe.to_csv(target, **options)
    return None


def csv_rows(rows: Iterable[Iterable[Any]]) -> Iterator[list[Any]]:
    """Rows for `csv.writer` with neutral text."""
    for row in rows:
        yield [neutral(v) for v in row]


def write_csv_rows(path: Path, rows: Iterable[Iterable[Any]]) -> None:
    """A CSV file from rows (the first one the header), every field neutral."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(csv_rows(rows))


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(csv_rows(rows))
    return buffer.getvalue()


# --- workbooks (openpyxl) ---------------------------------------------------------------


def _cells(ws):
    """The cells a sheet holds. `iter_rows` would create every empty cell of the used range
    (and change the file written); openpyxl keeps the real ones in `_cells`."""
    return list(ws._cells.values())


def formula_cells(wb) -> set[tuple[str, str]]:
    """(sheet, coordinate) of every formula cell of a loaded workbook: the user's own."""
    return {(ws.title, cell.coordinate) for ws in wb.worksheets
            for cell in _cells(ws) if cell.data_type == "f"}


def text_cells(wb, keep: set[tuple[str, str]] | frozenset = frozenset()) -> int:
    """Make every formula cell a text cell, except those in `keep` (formulas the user's own
    workbook had when it was loaded). Returns how many cells were changed."""
    changed = 0
    for ws in wb.worksheets:
        for cell in _cells(ws):
            if cell.data_type == "f" and (ws.title, cell.coordinate) not in keep:
                if not isinstance(cell.value, str):  # an array or data-table formula object
                    cell.value = str(getattr(cell.value, "text", cell.value))
                cell.data_type = "s"
                changed += 1
    return changed


def save_workbook(wb, path: Path | str, keep: set[tuple[str, str]] | frozenset = frozenset()) -> Path:
    """Save an openpyxl workbook after `text_cells`: no formula the tool did not mean."""
    text_cells(wb, keep)
    wb.save(path)
    return Path(path)
