"""Statistical disclosure control of indicator tables before publication.

Counts from 1 to `threshold` are suppressed (primary); zeros are not sensitive. Then, so
that no suppressed cell can be recovered by subtraction from a published total, every
additive line (the parts of a total and the total itself, along any dimension with a
total code: `area` 'KG' = the oblasts, `sex` '_T' = F + M, ...) that holds exactly one
suppressed cell gets a second one: its smallest non-zero published part, else the total.
This repeats over all lines until nothing changes (secondary suppression). A rate derived
from a suppressed count is suppressed with it.

Pure functions over pandas DataFrames; the table's metadata says which columns are
counts and which rates come from which count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_THRESHOLD = 4
AREA_TOTAL = "KG"
TOTAL = "_T"
NOT_DIMENSIONS = ("year", "territory")

Line = tuple[object, list[object]]  # (index of the total row, indexes of its parts)
Cell = tuple[object, str]  # (row index, column)
CellLine = tuple[Cell, list[Cell]]


def total_code(dim: str, totals: dict[str, str] | None = None) -> str:
    if totals and dim in totals:
        return totals[dim]
    return AREA_TOTAL if dim == "area" else TOTAL


def dimensions(df: pd.DataFrame, measures: list[str],
               totals: dict[str, str] | None = None) -> list[str]:
    """The classifying columns: every non-numeric column but year and territory, less
    labels of another one (e.g. an offence's ICCS code): columns with no total code whose
    value is fixed by another column's."""
    import pandas as pd

    cols = [c for c in df.columns if c not in NOT_DIMENSIONS and c not in measures
            and not pd.api.types.is_numeric_dtype(df[c])]
    return [c for c in cols if (df[c] == total_code(c, totals)).any()
            or not any(_fixed_by(df, c, other) for other in cols if other != c)]


def _fixed_by(df: pd.DataFrame, col: str, other: str) -> bool:
    return bool(df.groupby(other, dropna=False)[col].nunique(dropna=False).max() <= 1)


def lines(df: pd.DataFrame, dims: list[str], totals: dict[str, str] | None = None) -> list[Line]:
    """Every additive line: for each set of dimensions with total codes, a row with the
    total on all of them and the rows with a part on all of them that agree with it on
    the other dimensions (one dimension: 'KG' = the oblasts; two: 'KG' x '_T' = every
    oblast x sex, for tables that publish the grand total without the margins)."""
    from itertools import combinations

    keys = df[dims].astype("object").where(df[dims].notna(), "\0")
    with_total = [d for d in dims if (keys[d] == total_code(d, totals)).any()]
    out: list[Line] = []
    for size in range(1, len(with_total) + 1):
        for crossed in combinations(with_total, size):
            out += _crossed_lines(keys, dims, list(crossed), totals)
    return out


def _crossed_lines(keys: pd.DataFrame, dims: list[str], crossed: list[str],
                   totals: dict[str, str] | None) -> list[Line]:
    codes = [total_code(d, totals) for d in crossed]
    others = [d for d in dims if d not in crossed]
    rows = list(zip(keys.index, keys[crossed].itertuples(index=False, name=None),
                    keys[others].itertuples(index=False, name=None), strict=True))
    parts: dict[tuple, list] = {}
    for i, at, rest in rows:
        if all(a != c for a, c in zip(at, codes, strict=True)):
            parts.setdefault(rest, []).append(i)
    return [(i, parts[rest]) for i, at, rest in rows if list(at) == codes and rest in parts]


def primary(values: pd.Series, threshold: int = DEFAULT_THRESHOLD) -> pd.Series:
    """Counts from 1 to `threshold`."""
    return values.notna() & (values >= 1) & (values <= threshold)


def cell_lines(df: pd.DataFrame, counts: list[str], dims: list[str],
               totals: dict[str, str] | None = None,
               sums: dict[str, list[str]] | None = None) -> list[CellLine]:
    """The additive lines over cells (row, column): every count along the dimensions'
    totals, and every row's declared sums of columns (`victims = victims_women + ...`)."""
    out = [((t, c), [(p, c) for p in parts]) for t, parts in lines(df, dims, totals) for c in counts]
    for total, parts in (sums or {}).items():
        if total in counts and all(p in counts for p in parts):
            out += [((i, total), [(i, p) for p in parts]) for i in df.index]
    return out


def secondary(values: dict[Cell, float], suppressed: set[Cell], all_lines: list[CellLine]) -> set[Cell]:
    """Add suppressions until no line with published values has exactly one suppressed cell."""
    import math

    hidden = set(suppressed)
    changed = True
    while changed:
        changed = False
        for total, parts in all_lines:
            cells = [total, *parts]
            if any(math.isnan(values[c]) for c in cells):
                continue  # a line with an unpublished value gives no equation
            if sum(c in hidden for c in cells) != 1:
                continue
            hidden.add(_complement(values, hidden, total, parts))
            changed = True
    return hidden


def _complement(values: dict[Cell, float], hidden: set[Cell], total: Cell, parts: list[Cell]) -> Cell:
    open_parts = [p for p in parts if p not in hidden]
    nonzero = sorted((p for p in open_parts if values[p] > 0), key=lambda p: values[p])
    if nonzero:
        return nonzero[0]
    if total not in hidden:
        return total
    return open_parts[0]


def protect(df: pd.DataFrame, counts: list[str], rates: dict[str, str | list[str]] | None = None,
            threshold: int = DEFAULT_THRESHOLD, totals: dict[str, str] | None = None,
            dims: list[str] | None = None,
            sums: dict[str, list[str]] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table with suppressed cells emptied, and a boolean frame (one column per count
    and rate) marking them. `rates` maps a rate column to the count(s) it reveals (its
    numerator and a protected denominator);
    `sums` a count column to the count columns that add up to it on every row."""
    import pandas as pd

    rates = rates or {}
    df = df.reset_index(drop=True)
    measures = [c for c in df.columns if c in counts or c in rates]
    dims = dimensions(df, [*counts, *rates], totals) if dims is None else dims
    values = {(i, c): float(v) for c in counts for i, v in df[c].astype("float64").items()}
    first = {cell for cell, v in values.items() if 1 <= v <= threshold}
    hidden = secondary(values, first, cell_lines(df, counts, dims, totals, sums))
    flags = {c: pd.Series([(i, c) in hidden for i in df.index], index=df.index) for c in counts}
    for rate, sources in rates.items():
        shown = [c for c in ([sources] if isinstance(sources, str) else sources) if c in flags]
        flags[rate] = pd.Series(False, index=df.index)
        for col in shown:  # hidden whenever its numerator or denominator is
            flags[rate] = flags[rate] | flags[col]
    mask = pd.DataFrame({c: flags[c] for c in measures}, index=df.index)
    out = df.copy()
    for col in measures:
        out[col] = out[col].mask(mask[col])
        if col in counts and _whole(out[col]):
            out[col] = out[col].astype("Int64")  # counts stay integers around the gaps
    return out, mask


def _whole(values: pd.Series) -> bool:
    import pandas as pd

    present = values.dropna()
    return pd.api.types.is_numeric_dtype(values) and bool((present == present.round()).all())


def recover(df: pd.DataFrame, col: str, suppressed: pd.Series, dims: list[str],
            totals: dict[str, str] | None = None) -> dict[object, float]:
    """An attacker: solve every line with one unknown by subtraction, repeatedly (a cell
    recovered on one line helps on the others). Returns the recovered cells."""
    values = df[col].astype("float64")
    known = ~suppressed & values.notna()
    found: dict[object, float] = {}
    progress = True
    while progress:
        progress = False
        for total, parts in lines(df, dims, totals):
            cells = [total, *parts]
            unknown = [c for c in cells if not known[c]]
            if len(unknown) != 1 or (suppressed[cells] | known[cells]).sum() != len(cells):
                continue
            cell = unknown[0]
            part_sum = sum(values[p] for p in parts if p != cell)
            found[cell] = part_sum if cell == total else values[total] - part_sum
            known[cell] = True
            progress = True
    return found
