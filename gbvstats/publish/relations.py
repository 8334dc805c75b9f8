"""The linear relations a published table satisfies: what an attacker can solve with.

A published indicator table is more than a list of numbers. Its totals add up: the
national row is the sum of the oblasts, sex `_T` is F + M (+ `_U`), age `_T` is 0-17 plus
18+ and, in the same table, also the sum of the NSC's age bands; crossed, the grand
total is the sum of every oblast x sex x age cell even where the margins are not shown;
declared column sums hold on every row (`-- sums: sanctioned = community_service + arrest
+ fine`); and a published rate with its published denominator pins its numerator to an
interval as narrow as the rate's rounding (`-- rates: r = numerator / denominator * m`).

This module derives those relations from the table and its declarations, never from a
list kept per table:
- the dimensions are the table's classifying columns (`sdc.dimensions`);
- a dimension's breakdowns come from its code list: the `hierarchies:` it declares
  (several may share one total), else the `parent:` links of its codes, else "every code
  but the total is a part of it"; `area` from the territory list (the country is the sum
  of the oblast-level units);
- each breakdown gives, for every combination of the other dimensions, `total = sum of
  parts`, and crossed breakdowns (two or more dimensions at once) wherever the margins
  that would imply them are not in the table;
- `-- sums:` and `-- rates:` headers give the row-wise relations.

A structural relation is kept only if the table's own figures satisfy it (blank counted as
0, as SQL's `sum` does): the attacker is granted every relation that is true, and one that
is not true (a total that is not the sum of its parts, because an agency's reported total
disagrees with its breakdown) is reported, not used. Where some parts are not in the
table at all, the relation is `total >= sum of the parts present`, unless the parts present
add up exactly.

Relations are data (`Relation`: terms, sense, right-hand side, a readable label); the
audit (`gbvstats.publish.audit`) turns them into linear programmes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations, product
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

Cell = tuple[int, str]  # (row of the table, column)

AREA = "area"
AREA_TOTAL = "KG"
TOTAL = "_T"


@dataclass(frozen=True)
class Hierarchy:
    """One breakdown of a dimension: `total` = sum of `parts`."""

    id: str
    total: str
    parts: tuple[str, ...]


@dataclass(frozen=True)
class Relation:
    """`sum(coefficient * cell) <sense> rhs`, sense "=" or "<=".

    `given`: the relation is known to a reader only while this cell is published (a
    rate). `label` says in words where it comes from."""

    kind: str  # hierarchy | partial | crossed | sum | rate
    terms: tuple[tuple[Cell, float], ...]
    sense: str = "="
    rhs: float = 0.0
    given: Cell | None = None
    label: str = ""

    def cells(self) -> list[Cell]:
        return [c for c, _ in self.terms]


@dataclass
class Declarations:
    """What a pipeline header and the code lists say about a table."""

    counts: list[str]
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)  # rate -> numerator, denominator, multiplier
    sums: dict[str, list[str]] = field(default_factory=dict)  # total column -> part columns
    hierarchies: dict[str, list[Hierarchy]] = field(default_factory=dict)  # dimension -> breakdowns
    totals: dict[str, str] = field(default_factory=dict)  # dimension -> its total code, when not _T/KG


@dataclass
class TableModel:
    """A table, its cells' values and every relation they satisfy."""

    table: str
    frame: pd.DataFrame  # index 0..n-1
    dims: list[str]
    counts: list[str]
    values: dict[Cell, float]  # counts, rates and their operands; NaN when blank
    relations: list[Relation]
    not_holding: list[Relation]  # structural relations the figures do not satisfy
    rate_cells: dict[Cell, list[Cell]]  # a rate cell -> its numerator and denominator cells
    totals_rows: set[int]  # rows holding a total or subtotal code on some dimension
    sum_columns: set[str]  # columns that are declared sums of others

    def key(self, cell: Cell) -> dict[str, Any]:
        """The cell's coordinates in the table's own terms: its dimension values and column."""
        row, col = cell
        return {**{d: _plain(self.frame.at[row, d]) for d in self.dims}, "column": col}

    def describe(self, cell: Cell) -> str:
        k = self.key(cell)
        col = k.pop("column")
        return f"{col} [{', '.join(f'{d}={v}' for d, v in k.items())}]"


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# --- breakdowns from the code lists ---------------------------------------------------


def total_code(dim: str, totals: dict[str, str] | None = None) -> str:
    if totals and dim in totals:
        return totals[dim]
    return AREA_TOTAL if dim == AREA else TOTAL


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def codelist_hierarchies(codelist: Any, total: str = TOTAL) -> list[Hierarchy]:
    """A code list's breakdowns: its declared `hierarchies`, else its codes' `parent`
    links (each parent = its children; the total = the codes without a parent), else one
    breakdown: the total = every other code."""
    declared = _field(codelist, "hierarchies")
    if declared:
        return [Hierarchy(str(_field(h, "id") or _field(h, "total")), str(_field(h, "total")),
                          tuple(str(p) for p in _field(h, "parts")))
                for h in declared]
    codes = [c for c in _field(codelist, "codes") or []]
    code_of = [str(_field(c, "code")) for c in codes]
    parent_of = {str(_field(c, "code")): _field(c, "parent") for c in codes}
    out = []
    if any(parent_of.values()):
        children: dict[str, list[str]] = {}
        for code in code_of:
            if parent_of[code]:
                children.setdefault(str(parent_of[code]), []).append(code)
        for parent, kids in children.items():
            out.append(Hierarchy(parent, parent, tuple(kids)))
        top = tuple(c for c in code_of if not parent_of[c] and c != total)
        if total in code_of and top:
            out.insert(0, Hierarchy(total, total, top))
        return out
    parts = tuple(c for c in code_of if c != total)
    return [Hierarchy(total, total, parts)] if parts else []


def area_hierarchies(territories: Any) -> list[Hierarchy]:
    """`area` (SDMX codes): every territory with an SDMX code is the sum of its children
    that have one (the country = the oblasts and the cities of republican significance)."""
    codes = _field(territories, "codes") or []
    sdmx = {str(_field(c, "code")): getattr(c, "sdmx_code", None) or (c.get("sdmx_code") if isinstance(c, dict) else None)
            for c in codes}
    children: dict[str, list[str]] = {}
    for c in codes:
        code, parent = str(_field(c, "code")), _field(c, "parent")
        if sdmx.get(code) and parent and sdmx.get(str(parent)):
            children.setdefault(sdmx[str(parent)], []).append(sdmx[code])
    return [Hierarchy(total, total, tuple(parts)) for total, parts in children.items()]


def registry_hierarchies(dims: list[str], registry: Any = None) -> dict[str, list[Hierarchy]]:
    """The breakdowns of each dimension that has a code list (`offence` is the
    `offence_group` list); a dimension without one falls back to its total code."""
    from gbvstats.schema.check import DIM_LIST

    if registry is None:
        from gbvstats.schema.model import registry as load

        registry = load()
    out: dict[str, list[Hierarchy]] = {}
    for dim in dims:
        if dim == AREA and "territory" in registry.codelists:
            out[dim] = area_hierarchies(registry.codelists["territory"])
        elif DIM_LIST.get(dim, dim) in registry.codelists:
            out[dim] = codelist_hierarchies(registry.codelists[DIM_LIST.get(dim, dim)])
    return out


# --- the model ------------------------------------------------------------------------


def build(table: str, frame: pd.DataFrame, decl: Declarations, dims: list[str] | None = None) -> TableModel:
    """Every relation of `frame` (a table as computed, before suppression)."""
    from gbvstats.publish.sdc import dimensions

    frame = frame.reset_index(drop=True)
    counts = [c for c in decl.counts if c in frame.columns]
    rates = {r: d for r, d in decl.rates.items()
             if r in frame.columns and d["numerator"] in frame.columns and d["denominator"] in frame.columns}
    if dims is None:
        dims = dimensions(frame, [*counts, *rates], decl.totals)
    columns = list(dict.fromkeys([*counts, *rates, *(d[k] for d in rates.values() for k in ("numerator", "denominator"))]))
    values = {(i, c): _number(v) for c in columns for i, v in enumerate(frame[c].tolist())}
    hier = _hierarchies(frame, dims, decl)
    candidates = _hierarchy_relations(frame, dims, counts, hier)
    candidates += _sum_relations(frame, counts, decl.sums)
    rate_rels, rate_cells = _rate_relations(frame, rates, values)
    kept, broken = [], []
    for rel in [*candidates, *rate_rels]:
        settled = _settle(rel, values)
        if settled is not None:
            kept.append(settled)
        elif _lhs(rel, values) is not None:
            broken.append(rel)
    totals_rows = set()
    for dim, hs in hier.items():
        tops = {h.total for h in hs}
        totals_rows |= {i for i, v in enumerate(frame[dim].tolist()) if v in tops}
    sum_columns = {t for t in decl.sums if t in counts}
    return TableModel(table, frame, dims, counts, values, kept, broken, rate_cells, totals_rows, sum_columns)


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _hierarchies(frame: pd.DataFrame, dims: list[str], decl: Declarations) -> dict[str, list[Hierarchy]]:
    """The breakdowns that apply to this table: declared ones whose total and at least
    one part occur in the column; for a dimension with none declared, its total code =
    every other code present."""
    out: dict[str, list[Hierarchy]] = {}
    for dim in dims:
        present = set(frame[dim].dropna().astype(str))
        tot = total_code(dim, decl.totals)
        declared = decl.hierarchies.get(dim)
        if declared is None:
            declared = [Hierarchy(tot, tot, tuple(sorted(present - {tot})))]
        usable = [h for h in declared if h.total in present and present & set(h.parts)]
        if usable:
            out[dim] = usable
    return out


def _hierarchy_relations(frame: pd.DataFrame, dims: list[str], counts: list[str],
                         hier: dict[str, list[Hierarchy]]) -> list[Relation]:
    """For every set of dimensions with breakdowns (one, or several crossed) and every
    choice of one breakdown each: at each combination of the other dimensions, the row
    with the totals = the sum of the rows with parts. A crossed relation is left out when
    the table shows the margins that imply it."""
    keys = [tuple(str(v) if v == v and v is not None else "\0" for v in row)
            for row in frame[dims].itertuples(index=False, name=None)]
    index = {k: i for i, k in enumerate(keys)}
    pos = {d: n for n, d in enumerate(dims)}
    out: list[Relation] = []
    for size in range(1, len(hier) + 1):
        for crossed in combinations([d for d in dims if d in hier], size):
            for choice in product(*(hier[d] for d in crossed)):
                out += _crossed(keys, index, pos, dims, counts, dict(zip(crossed, choice, strict=True)))
    return out


def _crossed(keys, index, pos, dims, counts, chosen: dict[str, Hierarchy]) -> list[Relation]:
    out = []
    crossed = list(chosen)
    for key in keys:
        if any(key[pos[d]] != chosen[d].total for d in crossed):
            continue
        total_row = index[key]
        if len(crossed) > 1 and _implied(key, index, pos, chosen):
            continue
        part_rows = []
        complete = True
        for parts in product(*(chosen[d].parts for d in crossed)):
            k = list(key)
            for d, p in zip(crossed, parts, strict=True):
                k[pos[d]] = p
            row = index.get(tuple(k))
            if row is None:
                complete = False
            else:
                part_rows.append(row)
        if not part_rows:
            continue
        where = ", ".join(f"{d}={key[pos[d]]}" for d in dims if d not in chosen)
        what = " x ".join(f"{d} {h.total} = {' + '.join(h.parts)}" for d, h in chosen.items())
        kind = "hierarchy" if len(crossed) == 1 else "crossed"
        for col in counts:
            terms = ((total_row, col), 1.0), *(((r, col), -1.0) for r in part_rows)
            label = f"{col}: {what}" + (f" ({where})" if where else "")
            out.append(Relation(kind, tuple(terms), "=", 0.0, None, label if complete else label + PARTIAL))
    return out


def _implied(key, index, pos, chosen: dict[str, Hierarchy]) -> bool:
    """Whether the table holds, for some crossed dimension, every margin row (one of its
    parts, the totals elsewhere): then lower-order relations imply the crossed one."""
    for d, h in chosen.items():
        rows = []
        for p in h.parts:
            k = list(key)
            k[pos[d]] = p
            rows.append(tuple(k) in index)
        if all(rows):
            return True
    return False


def _sum_relations(frame: pd.DataFrame, counts: list[str], sums: dict[str, list[str]]) -> list[Relation]:
    out = []
    for total, parts in sums.items():
        if total not in counts or not all(p in counts for p in parts):
            continue
        for i in range(len(frame)):
            terms = (((i, total), 1.0), *(((i, p), -1.0) for p in parts))
            out.append(Relation("sum", terms, "=", 0.0, None, f"row {i}: {total} = {' + '.join(parts)}"))
    return out


def _settle(rel: Relation, values: dict[Cell, float]) -> Relation | None:
    """The relation as the figures satisfy it (blank = 0), or None. An equality whose
    parts are not all in the table that does not hold exactly becomes `total >= parts
    present` when that holds. A relation over blanks only says nothing and is dropped
    (returned unchanged, to be reported as not holding only if it has figures)."""
    lhs = _lhs(rel, values)
    if lhs is None:
        return None
    scale = 1.0 + sum(abs(v) for v in _filled(rel, values))
    if rel.sense == "=" and abs(lhs - rel.rhs) <= 1e-9 * scale:
        return rel
    if rel.sense == "<=" and lhs <= rel.rhs + 1e-9 * scale:
        return rel
    if rel.sense == "=" and rel.label.endswith(PARTIAL) and lhs >= rel.rhs:
        # total - parts >= 0, i.e. parts - total <= 0
        return Relation("partial", tuple((c, -k) for c, k in rel.terms), "<=", -rel.rhs, rel.given, rel.label)
    return None


PARTIAL = " [parts missing]"


def _filled(rel: Relation, values: dict[Cell, float]) -> list[float]:
    return [0.0 if math.isnan(values[c]) else values[c] for c, _ in rel.terms]


def _lhs(rel: Relation, values: dict[Cell, float]) -> float | None:
    """The left-hand side on the figures (blank = 0); None when fewer than two of its
    cells have a figure (a total not broken down, or parts without a total: no relation)."""
    if sum(not math.isnan(values[c]) for c, _ in rel.terms) < 2:
        return None
    return sum(k * v for (_, k), v in zip(rel.terms, _filled(rel, values), strict=True))


def _rate_relations(frame: pd.DataFrame, rates: dict[str, dict[str, Any]],
                    values: dict[Cell, float]) -> tuple[list[Relation], dict[Cell, list[Cell]]]:
    """A published rate r = round(m * numerator / denominator, k) gives, on its row,
    (r - h) * denominator <= m * numerator <= (r + h) * denominator with h = half a unit
    of its last decimal (k read off the published values): linear in both operands."""
    out: list[Relation] = []
    cells: dict[Cell, list[Cell]] = {}
    for rate, d in rates.items():
        num, den, mult = d["numerator"], d["denominator"], float(d.get("multiplier", 1))
        half = 0.5 * 10.0 ** -decimals(frame[rate])
        for i in range(len(frame)):
            r, n, q = values[(i, rate)], values[(i, num)], values[(i, den)]
            cells[(i, rate)] = [(i, num), (i, den)]
            if math.isnan(r) or math.isnan(n) or math.isnan(q) or q <= 0:
                continue
            lo, hi = r - half, r + half
            slack = 1e-9 * (1.0 + abs(mult * n))  # float rounding of the published value
            label = f"row {i}: {rate} = {num} / {den} * {mult:g} = {r:g} (+/- {half:g})"
            out.append(Relation("rate", (((i, num), mult), ((i, den), -hi)), "<=", slack, (i, rate), label))
            out.append(Relation("rate", (((i, den), lo), ((i, num), -mult)), "<=", slack, (i, rate), label))
    return out, cells


def decimals(values: pd.Series, most: int = 6) -> int:
    """The number of decimals a rate column is published with (as many as its values need)."""
    present = [float(v) for v in values.dropna().tolist()]
    for k in range(most + 1):
        if all(abs(v * 10**k - round(v * 10**k)) < 1e-6 for v in present):
            return k
    return most
