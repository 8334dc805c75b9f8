"""How much of a sheet the reader will look at, and the cells it leaves out.

The spreadsheet library builds a dense grid from A1 to the farthest value of a sheet, so
one value in XFD1048576 of a 19 KB file asks for hundreds of gigabytes. No form sheet
comes near these limits (the widest template uses 8 columns and 60 rows); a value beyond
them is left out of the copy handed to the library and reported where it was
(GBV-F044/F045), and a workbook whose sheets together would still exceed MAX_CELLS is
refused (GBV-F053).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ROWS = 2000  # rows 1..2000
MAX_COLS = 200  # columns A..GR
MAX_CELLS = 2_000_000  # the grids of all sheets together


@dataclass
class FarCell:
    row: int  # 0-based
    col: int
    figure: bool  # a number (or a formula's value) rather than text
    value: str

    @property
    def address(self) -> str:
        return f"{column_letters(self.col)}{self.row + 1}"


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(65 + rem) + name
    return name


def column_index(letters: str | bytes) -> int:
    """A -> 0, AA -> 26 (any case, as readers accept)."""
    if isinstance(letters, bytes):
        letters = letters.decode("ascii", "replace")
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1
