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
NOT_DIMENSIONS = ("year", "territory")


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

    kind: str  # hierarchy | partial | crossed | duplicate | sum | rate | link
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
    """Cells, their values and every relation they satisfy: of one table, or of several
    tables that publish some of the same figures (`combine`), rows numbered across them."""

    table: str
    rows: list[tuple[str, dict[str, Any]]]  # each row's table and dimension values
    cells: list[Cell]  # the protected (count) cells
    values: dict[Cell, float]  # counts, rates and their operands; NaN when blank
    relations: list[Relation]
    not_holding: list[Relation]  # structural relations the figures do not satisfy
    rate_cells: dict[Cell, list[Cell]]  # a rate cell -> the cells it is hidden with
    costly: set[Cell]  # cells on a total or subtotal row, or in a declared sum column
    dims: list[str] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)

    def table_of(self, cell: Cell) -> str:
        return self.rows[cell[0]][0]

    def key(self, cell: Cell) -> dict[str, Any]:
        """The cell's coordinates in its table's own terms: dimension values and column."""
        return {**self.rows[cell[0]][1], "column": cell[1]}

    def describe(self, cell: Cell) -> str:
        k = self.key(cell)
        col = k.pop("column")
        return f"{self.table_of(cell)}.{col} [{', '.join(f'{d}={v}' for d, v in k.items())}]"


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


# --- the model ------------------------------------------------------------------------


def build(table: str, frame: pd.DataFrame, decl: Declarations, dims: list[str] | None = None) -> TableModel:
    """Every relation of `frame` (a table as computed, before suppression)."""
    frame = frame.reset_index(drop=True)
    counts = [c for c in decl.counts if c in frame.columns]
    rates = {r: d for r, d in decl.rates.items() if r in frame.columns}
    defined = {r: d for r, d in rates.items()
               if d.get("numerator") in frame.columns and d.get("denominator") in frame.columns}
    if dims is None:
        dims = dimensions(frame, [*counts, *rates], decl.totals)
    operands = [d[k] for d in defined.values() for k in ("numerator", "denominator")]
    columns = list(dict.fromkeys([*counts, *defined, *operands]))
    values = {(i, c): _number(v) for c in columns for i, v in enumerate(frame[c].tolist())}
    hier = _hierarchies(frame, dims, decl)
    candidates = _hierarchy_relations(frame, dims, counts, hier)
    candidates += _duplicate_relations(frame, dims, counts)
    candidates += _sum_relations(frame, counts, decl.sums)
    candidates += _rate_relations(frame, defined, values)
    kept, broken = [], []
    for rel in candidates:
        settled = _settle(rel, values)
        if settled is not None:
            kept.append(settled)
        elif _lhs(rel, values) is not None:
            broken.append(rel)
    rate_cells = {}
    for rate, d in rates.items():
        sources = [d["numerator"], d["denominator"]] if "numerator" in d else d.get("sources", [])
        for i in range(len(frame)):
            rate_cells[(i, rate)] = [(i, s) for s in sources if s in frame.columns]
    costly_rows = set()
    for dim, hs in hier.items():
        tops = {h.total for h in hs}
        costly_rows |= {i for i, v in enumerate(frame[dim].tolist()) if v in tops}
    cells = [(i, c) for c in counts for i in range(len(frame))]
    costly = {(i, c) for i, c in cells if i in costly_rows or c in decl.sums}
    rows = [(table, {d: _plain(v) for d, v in zip(dims, r, strict=True)})
            for r in frame[dims].itertuples(index=False, name=None)]
    return TableModel(table, rows, cells, values, kept, broken, rate_cells, costly, dims, counts)


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def _hierarchies(frame: pd.DataFrame, dims: list[str], decl: Declarations) -> dict[str, list[Hierarchy]]:
    """The breakdowns that apply to this table: declared ones whose total and at least
    one part occur in the column; for a dimension with none declared, its total code =
    every other code present. Codes in the table that no declared breakdown knows are
    added as parts of each breakdown of the dimension's total (a copy of it)."""
    out: dict[str, list[Hierarchy]] = {}
    for dim in dims:
        present = set(frame[dim].dropna().astype(str))
        tot = total_code(dim, decl.totals)
        declared = decl.hierarchies.get(dim)
        if declared is None:
            declared = [Hierarchy(tot, tot, tuple(sorted(present - {tot})))]
        known = {c for h in declared for c in (h.total, *h.parts)}
        unknown = tuple(sorted(present - known - {tot}))
        if unknown:
            declared = [*declared, *(Hierarchy(f"{h.id}+", h.total, (*h.parts, *unknown))
                                     for h in declared if h.total == tot)]
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


def _duplicate_relations(frame: pd.DataFrame, dims: list[str], counts: list[str]) -> list[Relation]:
    """Rows with the same dimension values (a table that should not have them) show the
    same figure twice: hidden in one row and shown in the other, it is shown."""
    first: dict[tuple, int] = {}
    out = []
    for i, row in enumerate(frame[dims].itertuples(index=False, name=None)):
        key = tuple(str(v) for v in row)
        if key not in first:
            first[key] = i
            continue
        where = ", ".join(f"{d}={v}" for d, v in zip(dims, key, strict=True))
        out += [Relation("duplicate", (((first[key], c), 1.0), ((i, c), -1.0)), "=", 0.0, None,
                         f"{c}: rows {first[key]} and {i} repeat ({where})") for c in counts]
    return out


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
                    values: dict[Cell, float]) -> list[Relation]:
    """A published rate r = round(m * numerator / denominator, k) gives, on its row,
    (r - h) * denominator <= m * numerator <= (r + h) * denominator with h = half a unit
    of its last decimal (k read off the published values): linear in both operands, and
    known only while the rate is published."""
    out: list[Relation] = []
    for rate, d in rates.items():
        num, den, mult = d["numerator"], d["denominator"], float(d.get("multiplier", 1))
        half = 0.5 * 10.0 ** -decimals(frame[rate])
        for i in range(len(frame)):
            r, n, q = values[(i, rate)], values[(i, num)], values[(i, den)]
            if math.isnan(r) or math.isnan(n) or math.isnan(q) or q <= 0:
                continue
            lo, hi = r - half, r + half
            slack = 1e-9 * (1.0 + abs(mult * n))  # float rounding of the published value
            label = f"row {i}: {rate} = {num} / {den} * {mult:g} = {r:g} (+/- {half:g})"
            out.append(Relation("rate", (((i, num), mult), ((i, den), -hi)), "<=", slack, (i, rate), label))
            out.append(Relation("rate", (((i, den), lo), ((i, num), -mult)), "<=", slack, (i, rate), label))
    return out


def decimals(values: pd.Series, most: int = 6) -> int:
    """The number of decimals a rate column is published with (as many as its values need)."""
    present = [float(v) for v in values.dropna().tolist()]
    for k in range(most + 1):
        if all(abs(v * 10**k - round(v * 10**k)) < 1e-6 for v in present):
            return k
    return most


# --- tables that publish the same figures ---------------------------------------------


@dataclass(frozen=True)
class Link:
    """Column `column_a` of table `a` and `column_b` of table `b` hold the same figure on
    every row they share (the rows of the dimensions they have in common, their other
    dimensions at the total): e.g. trafficking victims by oblast in ind05 (all forms, sexes
    and ages) and victims identified in ind06."""

    a: str
    column_a: str
    b: str
    column_b: str
    pairs: tuple[tuple[int, int], ...]  # (row in a, row in b)


def links(models: dict[str, TableModel], min_rows: int = 3) -> list[Link]:
    """Count columns of two different tables whose figures agree on every shared row, with
    at least `min_rows` shared figures and one of them not zero. A reader can match them
    as well as we can, so a figure hidden in one table and shown in the other is shown."""
    out = []
    names = sorted(models)
    for x, a in enumerate(names):
        for b in names[x + 1:]:
            pairs = _shared_rows(models[a], models[b])
            if len(pairs) < min_rows:
                continue
            for ca in models[a].counts:
                for cb in models[b].counts:
                    if _same(models[a], ca, models[b], cb, pairs, min_rows):
                        out.append(Link(a, ca, b, cb, tuple(pairs)))
    return out


def _shared_rows(ma: TableModel, mb: TableModel) -> list[tuple[int, int]]:
    common = [d for d in ma.dims if d in mb.dims]
    if not common:
        return []

    def index(m: TableModel) -> dict[tuple, int]:
        out = {}
        for i, (_, key) in enumerate(m.rows):
            if all(str(v) == total_code(d) for d, v in key.items() if d not in common):
                out.setdefault(tuple(str(key[d]) for d in common), i)
        return out

    ia, ib = index(ma), index(mb)
    return sorted((ia[k], ib[k]) for k in ia.keys() & ib.keys())


def _same(ma: TableModel, ca: str, mb: TableModel, cb: str, pairs, min_rows: int) -> bool:
    figures = 0
    nonzero = False
    for ra, rb in pairs:
        va, vb = ma.values[(ra, ca)], mb.values[(rb, cb)]
        if math.isnan(va) and math.isnan(vb):
            continue
        if math.isnan(va) or math.isnan(vb) or va != vb:
            return False
        figures += 1
        nonzero |= va != 0
    return figures >= min_rows and nonzero


def combine(models: list[TableModel], found: list[Link]) -> tuple[TableModel, dict[str, int]]:
    """One model of several tables (rows numbered on, table after table) with a relation
    `a = b` for every linked pair of cells; and each table's first row number."""
    offsets, at = {}, 0
    for m in models:
        offsets[m.table] = at
        at += len(m.rows)

    def move(m: TableModel, cell: Cell) -> Cell:
        return (cell[0] + offsets[m.table], cell[1])

    def moved(m: TableModel, rel: Relation) -> Relation:
        return Relation(rel.kind, tuple((move(m, c), k) for c, k in rel.terms), rel.sense, rel.rhs,
                        move(m, rel.given) if rel.given else None, f"{m.table}: {rel.label}")

    rows, cells, values, rels, broken, rate_cells, costly = [], [], {}, [], [], {}, set()
    for m in models:
        rows += m.rows
        cells += [move(m, c) for c in m.cells]
        values |= {move(m, c): v for c, v in m.values.items()}
        rels += [moved(m, r) for r in m.relations]
        broken += [moved(m, r) for r in m.not_holding]
        rate_cells |= {move(m, c): [move(m, s) for s in src] for c, src in m.rate_cells.items()}
        costly |= {move(m, c) for c in m.costly}
    by_name = {m.table: m for m in models}
    for link in found:
        ma, mb = by_name[link.a], by_name[link.b]
        for ra, rb in link.pairs:
            a, b = move(ma, (ra, link.column_a)), move(mb, (rb, link.column_b))
            if not (math.isnan(values[a]) or math.isnan(values[b])):
                rels.append(Relation("link", ((a, 1.0), (b, -1.0)), "=", 0.0, None,
                                     f"{link.a}.{link.column_a} = {link.b}.{link.column_b}"))
    name = " + ".join(m.table for m in models)
    return TableModel(name, rows, cells, values, rels, broken, rate_cells, costly), offsets
