"""The disclosure audit: what a linear-programming attacker learns from a published table.

The attacker knows every published figure of the table and every relation it satisfies
(`gbvstats.publish.relations`), and that counts are not negative. For each suppressed
confidential cell it solves two linear programmes (scipy's HiGHS): the least and the
greatest value the cell can take. Integrality is relaxed, which only widens what the
attacker can be sure of by less than one. The pattern is safe when no such interval pins
the value and every interval is at least the protection width declared in
`schemas/disclosure.yaml` (tau-ARGUS and sdcTable call its halves the lower and upper
protection levels).

The hidden cells fall apart into independent groups (cells linked by a relation that
holds at least two of them, transitively); each group is one small programme, solved once
per confidential cell in it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gbvstats.publish.lp import OPTIMAL, UNBOUNDED, Programme
from gbvstats.publish.relations import AREA, AREA_TOTAL, Cell, Relation, TableModel

EXACT_TOLERANCE = 1e-6
EXACT, UNDER, OK, FAILED = "exact", "under_protected", "ok", "not_solved"
CODES = {EXACT: "GBV-D001", UNDER: "GBV-D002", FAILED: "GBV-D003"}


class DisclosureSettingsError(ValueError):
    """`schemas/disclosure.yaml` is missing a key or holds a value out of range."""

    def __init__(self, path: Path | str, key: str, problem: str):
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = path, key, problem


@dataclass(frozen=True)
class Protection:
    """What suppression must achieve (schemas/disclosure.yaml).

    A count from 1 to `threshold` is confidential below national level (on national rows
    too when `primary_national`). An attacker must not narrow it to an interval narrower
    than max(`threshold_multiple` x threshold, `value_percent` % of the value).
    Complementary cells cost 1 + ln(1 + value), `total_cost` times more on a total or
    subtotal row or a declared sum column, `national_cost` times more on a national row."""

    threshold: int = 4
    threshold_multiple: float = 1.0
    value_percent: float = 50.0  # as schemas/disclosure.yaml ships
    total_cost: float = 3.0
    primary_national: bool = False
    national_cost: float = 10.0

    def required(self, value: float) -> int:
        """The least width of the interval (in whole counts) a confidential cell must keep."""
        need = max(self.threshold * self.threshold_multiple, abs(value) * self.value_percent / 100.0)
        return max(1, math.ceil(need - 1e-9))

    def confidential(self, value: float) -> bool:
        """A small count (whatever its level: see `confidential_cell`)."""
        return not math.isnan(value) and 1 <= value <= self.threshold

    def confidential_cell(self, model: TableModel, cell: Cell) -> bool:
        """A cell primary suppression hides: a small count, not on a national row unless
        national rows are declared confidential too."""
        return self.confidential(model.values[cell]) and (self.primary_national or not national(model, cell))


def national(model: TableModel, cell: Cell) -> bool:
    """The cell is a national figure: its row's area is the country (relations.AREA_TOTAL)
    or its table has no area dimension."""
    return national_area(model.rows[cell[0]][1].get(AREA, AREA_TOTAL))


def national_area(area: Any) -> bool:
    """An area code (None or blank: a table without areas) that stands for the country."""
    return area is None or (isinstance(area, float) and math.isnan(area)) or area == AREA_TOTAL


def settings_path() -> Path:
    from gbvstats.paths import schemas_dir

    return schemas_dir() / "disclosure.yaml"


def load_protection(path: Path | None = None, threshold: int | None = None) -> Protection:
    """The declared protection; `threshold` (the command line's) overrides the file's."""
    import yaml

    from gbvstats.paths import load_yaml

    path = path or settings_path()
    try:
        data = load_yaml(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        data = {}  # the defaults above
    except OSError as exc:
        raise DisclosureSettingsError(path, "(file)", f"cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DisclosureSettingsError(path, "(file)", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DisclosureSettingsError(path, "(root)", "expected a mapping")
    prot = data.get("protection") or {}
    cost = data.get("cost") or {}
    primary = data.get("primary") or {}
    for key, part in (("protection", prot), ("cost", cost), ("primary", primary)):
        if not isinstance(part, dict):
            raise DisclosureSettingsError(path, key, "expected a mapping")
    national_flag = primary.get("national", Protection.primary_national)
    if not isinstance(national_flag, bool):
        raise DisclosureSettingsError(path, "primary.national", f"expected true or false, got {national_flag!r}")
    values = {"threshold": data.get("threshold", Protection.threshold),
              "threshold_multiple": prot.get("threshold_multiple", Protection.threshold_multiple),
              "value_percent": prot.get("value_percent", Protection.value_percent),
              "total_cost": cost.get("total_multiple", Protection.total_cost),
              "national_cost": cost.get("national_multiple", Protection.national_cost)}
    where = {"threshold": "threshold", "threshold_multiple": "protection.threshold_multiple",
             "value_percent": "protection.value_percent", "total_cost": "cost.total_multiple",
             "national_cost": "cost.national_multiple"}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise DisclosureSettingsError(path, where[name], f"expected a number >= 0, got {value!r}")
    if not isinstance(values["threshold"], int):
        raise DisclosureSettingsError(path, "threshold", f"expected a whole number, got {values['threshold']!r}")
    if values["total_cost"] < 1:
        raise DisclosureSettingsError(path, "cost.total_multiple", f"expected a number >= 1, got {values['total_cost']!r}")
    if values["national_cost"] < 1:
        raise DisclosureSettingsError(path, "cost.national_multiple",
                                      f"expected a number >= 1, got {values['national_cost']!r}")
    if threshold is not None:
        values["threshold"] = threshold
    return Protection(int(values["threshold"]), float(values["threshold_multiple"]),
                      float(values["value_percent"]), float(values["total_cost"]), national_flag,
                      float(values["national_cost"]))


@dataclass
class CellAudit:
    """One confidential suppressed cell as the attacker sees it."""

    table: str
    cell: dict[str, Any]  # dimension values and column
    value: float
    lower: float
    upper: float  # inf when nothing bounds it from above
    required_width: float
    status: str  # ok | exact | under_protected | not_solved
    where: Cell = field(repr=False, default=(0, ""))

    @property
    def width(self) -> float:
        return self.upper - self.lower

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("where")
        data["upper"] = None if math.isinf(self.upper) else self.upper
        data["width"] = None if math.isinf(self.upper) else self.width
        return data


class Solver:
    """Solves the attacker's programmes and counts them (for the report and the benchmark).
    `engine`: "auto" (HiGHS, warm-started) or "linprog" (scipy's public `linprog`)."""

    def __init__(self, engine: str = "auto"):
        self.engine = engine
        self.solves = 0

    def bounds(self, model: TableModel, hidden: set[Cell], targets: list[Cell],
               groups: Groups | None = None) -> dict[Cell, tuple[float, float]]:
        """The least and greatest value each target (a hidden cell) can take given every
        published figure and relation. (nan, nan) when a programme cannot be solved."""
        return {c: (lo, hi) for c, lo, hi in self.each_bound(model, hidden, targets, groups)}

    def each_bound(self, model: TableModel, hidden: set[Cell], targets: list[Cell],
                   groups: Groups | None = None) -> Iterator[tuple[Cell, float, float]]:
        """`bounds`, one target at a time in the order given (stop when you know enough);
        each group's programme is built once."""
        groups = groups or components(model, hidden)
        built: dict[int, Iterator] = {}
        for t in targets:
            gid = groups.group_of.get(t, -1)
            if gid == -1:  # in no usable relation: nothing bounds it but zero
                yield t, 0.0, math.inf
                continue
            if gid not in built:
                built[gid] = self.group_bounds(model, hidden, groups.members[gid], groups.relations[gid])
                next(built[gid])
            yield built[gid].send(t)

    def group_bounds(self, model: TableModel, hidden: set[Cell], members: list[Cell],
                     rels: list[Relation]):
        """A coroutine over one group's programme: send a member, receive (member, least,
        greatest). Prime it with next()."""
        import numpy as np

        members = [c for c in members if c in hidden]
        col = {c: n for n, c in enumerate(members)}
        rels = [r for r in rels if any(c in col for c in r.cells())]
        prog = Programme(len(members), _rows(rels, col, model, hidden),
                         [0.0] * len(members), [math.inf] * len(members), self.engine)
        answer = None
        while True:
            t = yield answer
            found = []
            for sign in (1.0, -1.0):
                cost = np.zeros(prog.n)
                cost[col[t]] = sign
                prog.set_cost(cost)
                res = prog.solve()
                self.solves += 1
                if res.status == OPTIMAL:
                    found.append(sign * res.value)
                elif res.status == UNBOUNDED and sign < 0:
                    found.append(math.inf)
                else:
                    found.append(math.nan)
            answer = (t, found[0], found[1])


def _rows(rels: list[Relation], col: dict[Cell, int], model: TableModel, hidden: set[Cell]):
    """Each relation as a row over the hidden cells, the published ones moved to the right."""
    rows = []
    for rel in rels:
        cols, coefs, rhs = [], [], rel.rhs
        for cell, coef in rel.terms:
            if cell in hidden:
                cols.append(col[cell])
                coefs.append(coef)
            else:
                v = model.values[cell]
                rhs -= coef * (0.0 if math.isnan(v) else v)
        rows.append((cols, coefs, rhs if rel.sense == "=" else -math.inf, rhs))
    return rows


@dataclass
class Groups:
    group_of: dict[Cell, int]
    members: list[list[Cell]]
    relations: list[list[Relation]]


def active(model: TableModel, hidden: set[Cell]) -> list[Relation]:
    """The relations a reader of the published table can use that hold a hidden cell."""
    return [r for r in model.relations
            if (r.given is None or r.given not in hidden) and any(c in hidden for c in r.cells())]


def components(model: TableModel, hidden: set[Cell]) -> Groups:
    """Hidden cells linked (transitively) by usable relations, and each group's relations."""
    parent: dict[Cell, Cell] = {}

    def find(c: Cell) -> Cell:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    rels = active(model, hidden)
    for rel in rels:
        cells = [c for c in rel.cells() if c in hidden]
        first = find(cells[0])
        for other in cells[1:]:
            root = find(other)
            if root != first:
                parent[root] = first
    roots: dict[Cell, int] = {}
    members: list[list[Cell]] = []
    group_of: dict[Cell, int] = {}
    for c in sorted(parent, key=_order):
        r = find(c)
        if r not in roots:
            roots[r] = len(members)
            members.append([])
        group_of[c] = roots[r]
        members[roots[r]].append(c)
    relations: list[list[Relation]] = [[] for _ in members]
    for rel in rels:
        relations[group_of[next(c for c in rel.cells() if c in hidden)]].append(rel)
    return Groups(group_of, members, relations)


def _order(cell: Cell) -> tuple[int, str]:
    return cell


def audit_cells(model: TableModel, hidden: set[Cell], confidential: list[Cell], protection: Protection,
                solver: Solver | None = None) -> list[CellAudit]:
    """Every confidential hidden cell with the interval an attacker can narrow it to."""
    solver = solver or Solver()
    found = solver.bounds(model, hidden, [c for c in confidential if c in hidden])
    out = []
    for cell in confidential:
        value = model.values[cell]
        lo, hi = found.get(cell, (value, value))  # published: known exactly
        out.append(CellAudit(model.table_of(cell), model.key(cell), value, _clean(lo), _clean(hi),
                             protection.required(value), judge(lo, hi, protection.required(value)), cell))
    return out


def _clean(x: float) -> float:
    """Round solver noise (1e-9) off a bound, keeping real fractions."""
    if math.isnan(x) or math.isinf(x):
        return x
    r = round(x)
    return float(r) if abs(x - r) < 1e-7 else round(x, 6)


def whole(lower: float, upper: float) -> tuple[float, float]:
    """The bounds as an attacker who knows counts are whole numbers reads them."""
    return math.ceil(lower - EXACT_TOLERANCE), (upper if math.isinf(upper) else math.floor(upper + EXACT_TOLERANCE))


def judge(lower: float, upper: float, required: float) -> str:
    """exact: one whole number fits; under_protected: fewer than `required` + 1 do."""
    if math.isnan(lower) or math.isnan(upper):
        return FAILED
    lo, hi = whole(lower, upper)
    if hi - lo < 1:
        return EXACT
    if hi - lo < required:
        return UNDER
    return OK


@dataclass
class TableAudit:
    """The audit of one table: its counts of cells and what failed."""

    table: str
    cells: int
    confidential: int
    secondary: int
    relations: int
    relations_not_holding: int
    groups: int
    solves: int
    seconds: float
    audited: list[CellAudit]
    not_holding: list[str] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # tables audited together with this one

    @property
    def failures(self) -> list[CellAudit]:
        return [a for a in self.audited if a.status != OK]

    def summary(self) -> dict[str, Any]:
        """Counts only: safe to publish (no confidential value in it)."""
        return {"cells": self.cells, "confidential": self.confidential, "secondary": self.secondary,
                "relations": self.relations, "relations_not_holding": self.relations_not_holding,
                "groups": self.groups, "lp_solves": self.solves, "seconds": round(self.seconds, 3),
                "audited_with": self.linked,
                "exact": sum(a.status == EXACT for a in self.audited),
                "under_protected": sum(a.status == UNDER for a in self.audited),
                "not_solved": sum(a.status == FAILED for a in self.audited)}

    def findings(self):
        """Each failure as a catalogued finding (GBV-D001 exact, D002 too narrow, D003 not solved)."""
        from gbvstats.catalogue import Finding

        out = []
        for a in self.failures:
            cell = ", ".join(f"{k}={v}" for k, v in a.cell.items() if k != "column")
            out.append(Finding(CODES[a.status], cell=f"{a.cell['column']} [{cell}]", params={
                "table": a.table, "column": a.cell["column"], "cell": cell, "value": _num(a.value),
                "lower": _num(a.lower), "upper": _num(a.upper), "required": _num(a.required_width),
                "width": _num(a.width)}))
        return out


def _num(x: float) -> str:
    if math.isnan(x):
        return "?"
    if math.isinf(x):
        return "∞"
    return f"{x:g}"
