"""Secondary suppression that a linear-programming attacker cannot undo.

For a confidential cell to keep an interval at least `need` wide, there must be two other
tables, consistent with everything published and every relation, in which the cell is
lower by L and higher by U (L + U >= need, L at most its value): the attacker cannot
exclude either, so its least and greatest values lie beyond them. Such an alternative is
a *witness*: a change to some cells (the cell itself, and the cells it has to be
balanced by), every changed cell hidden.

For each confidential cell, in table order, a linear programme over the changes of the
non-zero counts of its group (cells linked by relations) looks first for the largest
change in each direction using hidden cells only. When they fall short, the cheapest
change by the missing amount is sought with published cells allowed too (cost of a cell:
1 + ln(1 + value) per unit, `total_cost` times more on totals, hidden cells nearly free)
and every published cell it changes is hidden. Hiding more never removes a witness, so a
cell once protected stays protected.

Then complementary cells are tried for publication again, dearest first: a cell is
published if every confidential cell whose witnesses used it still moves far enough both
ways without it (most cells are used by few witnesses, so this costs a few programmes
per cell, not an audit; the pass stops after twice as many programmes as the protection
took, which on the demo is never reached: it needs less than one time).

Zeros and blanks never change: they stay published. Rates do not constrain the changes,
because a rate is hidden with its numerator or denominator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gbvstats.publish.audit import EXACT_TOLERANCE, Protection, Solver
from gbvstats.publish.lp import OPTIMAL, Programme
from gbvstats.publish.relations import Cell, TableModel

TINY = 1e-7  # a change smaller than this is no change
HIDDEN_COST = 1e-3  # a hidden cell's cost, relative to the same cell published
SPARSE = 1e-4  # weight of the cells' costs beside "go as far as possible"


@dataclass
class Witness:
    """The cell can be `amount` lower (direction -1) or higher (+1), changing `support`."""

    amount: float
    support: frozenset[Cell]


def secondary_lp(model: TableModel, confidential: list[Cell], protection: Protection,
                 solver: Solver | None = None, prune: bool = True) -> set[Cell]:
    """The confidential cells and the complementary cells that protect them (see above)."""
    solver = solver or Solver()
    hidden = set(confidential)
    changes = Changes(model, protection, solver.engine)
    witnesses: dict[tuple[Cell, int], Witness] = {}
    for cell in confidential:
        value = model.values[cell]
        need = protection.required(value)
        down = changes.furthest(hidden, cell, -1, value)
        up = changes.furthest(hidden, cell, +1, need)
        if down.amount + up.amount < need - TINY:
            low = min(value, max(down.amount, need // 2))  # whole numbers, as the audit reads them
            if down.amount < low - TINY:
                down = changes.move(hidden, cell, -low, published=True) or down
                hidden |= down.support
            if up.amount < need - low - TINY:
                up = changes.move(hidden, cell, need - low, published=True) or up
                hidden |= up.support
        witnesses[(cell, -1)], witnesses[(cell, +1)] = down, up
    if prune:
        budget = 2 * changes.solves  # tidying may cost twice the programmes protecting did
        hidden = _prune(model, hidden, set(confidential), witnesses, changes, protection, budget)
    solver.solves += changes.solves
    return hidden


def with_rates(model: TableModel, hidden: set[Cell]) -> set[Cell]:
    """The hidden cells and every rate hidden with its numerator or denominator."""
    return set(hidden) | {rate for rate, sources in model.rate_cells.items() if any(s in hidden for s in sources)}


def _prune(model: TableModel, hidden: set[Cell], confidential: set[Cell],
           witnesses: dict[tuple[Cell, int], Witness], changes: Changes, protection: Protection,
           budget: int) -> set[Cell]:
    """Publish again each complementary cell (dearest first) if every confidential cell
    whose witnesses used it can still move far enough both ways without it; stop when
    `budget` programmes have been solved (in a table where most cells are confidential,
    every cell serves many witnesses and trying them all would cost far more than the
    protection did)."""
    start = changes.solves
    for cell in sorted(hidden - confidential, key=lambda c: (-cost(model, c, protection), c)):
        if changes.solves - start >= budget:
            break
        users = sorted({target for (target, _), w in witnesses.items() if cell in w.support})
        trial = hidden - {cell}
        found = {}
        for target in users:
            value = model.values[target]
            need = protection.required(value)
            down, up = witnesses[(target, -1)], witnesses[(target, +1)]
            if cell in down.support:
                down = changes.furthest(trial, target, -1, value)
            if cell in up.support:
                up = changes.furthest(trial, target, +1, need)
            if down.amount + up.amount < need - TINY:
                break
            found[(target, -1)], found[(target, +1)] = down, up
        else:
            hidden = trial
            witnesses.update(found)
    return hidden


def cost(model: TableModel, cell: Cell, protection: Protection) -> float:
    """What suppressing a cell costs: 1 + ln(1 + value), more on totals and sum columns."""
    base = 1.0 + math.log1p(max(model.values[cell], 0.0))
    if cell in model.costly:
        base *= protection.total_cost
    return base


def _movable(value: float) -> bool:
    return not math.isnan(value) and value > 0  # zeros and blanks stay published


class Changes:
    """The programme of changes for each group of linked non-zero count cells, built once
    and solved for each cell and direction: variables are the increase and the decrease
    of every cell of the group; each relation must still hold (an inequality must keep
    holding); a decrease is at most the figure; cells that may not change are fixed."""

    def __init__(self, model: TableModel, protection: Protection, engine: str):
        self.model, self.protection, self.engine = model, protection, engine
        self.solves = 0
        movable = sorted(c for c in model.cells if _movable(model.values[c]))
        parent = {c: c for c in movable}

        def find(c: Cell) -> Cell:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        self.relations = [r for r in model.relations if r.given is None]  # a rate hides with its operands
        for rel in self.relations:
            cells = [c for c in rel.cells() if c in parent]
            for other in cells[1:]:
                a, b = find(cells[0]), find(other)
                if a != b:
                    parent[b] = a
        groups: dict[Cell, list[Cell]] = {}
        for c in movable:
            groups.setdefault(find(c), []).append(c)
        self.group_of = {c: root for root, members in groups.items() for c in members}
        self.members = groups
        self.programmes: dict[Cell, tuple[Programme, dict[Cell, int]]] = {}

    def _programme(self, root: Cell) -> tuple[Programme, dict[Cell, int]]:
        if root not in self.programmes:
            members = self.members[root]
            col = {c: n for n, c in enumerate(members)}
            n = len(members)
            rows = []
            for rel in self.relations:
                terms = [(c, k) for c, k in rel.terms if c in col]
                if not terms or self.group_of.get(terms[0][0]) != root:
                    continue
                cols = [col[c] for c, _ in terms] + [n + col[c] for c, _ in terms]
                coefs = [k for _, k in terms] + [-k for _, k in terms]
                if rel.sense == "=":
                    rows.append((cols, coefs, 0.0, 0.0))
                else:
                    values = self.model.values
                    slack = rel.rhs - sum(k * (0.0 if math.isnan(values[c]) else values[c]) for c, k in rel.terms)
                    rows.append((cols, coefs, -math.inf, max(slack, 0.0)))
            upper = [math.inf] * n + [self.model.values[c] for c in members]
            self.programmes[root] = (Programme(2 * n, rows, [0.0] * (2 * n), upper, self.engine), col)
        return self.programmes[root]

    def _set(self, prog: Programme, col: dict[Cell, int], hidden: set[Cell], published: bool,
             cell: Cell, lower: float, upper: float, direction: int) -> None:
        """Bounds: hidden cells (and published ones if allowed) may change; `cell` moves
        in `direction` by lower..upper; the rest is fixed."""
        n = len(col)
        lo, hi = [0.0] * (2 * n), [0.0] * (2 * n)
        for c, i in col.items():
            if published or c in hidden:
                hi[i], hi[n + i] = math.inf, self.model.values[c]
        i = col[cell]
        up, down = (i, n + i) if direction > 0 else (n + i, i)
        lo[up], hi[up], lo[down], hi[down] = lower, upper, 0.0, 0.0
        prog.set_bounds(list(range(2 * n)), lo, hi)

    def _costs(self, col: dict[Cell, int], hidden: set[Cell]) -> list[float]:
        unit = [cost(self.model, c, self.protection) * (HIDDEN_COST if c in hidden else 1.0) for c in col]
        return unit + unit

    def furthest(self, hidden: set[Cell], cell: Cell, direction: int, limit: float) -> Witness:
        """How far (up to `limit`, in whole counts) the cell can move in `direction`
        changing hidden cells only."""
        if cell not in self.group_of:
            return Witness(0.0, frozenset())
        prog, col = self._programme(self.group_of[cell])
        n = len(col)
        self._set(prog, col, hidden, False, cell, 0.0, limit, direction)
        costs = [SPARSE * c for c in self._costs(col, hidden)]
        i = col[cell] if direction > 0 else n + col[cell]
        costs[i] -= 1.0
        prog.set_cost(costs)
        res = prog.solve()
        self.solves += 1
        if res.status != OPTIMAL:
            return Witness(0.0, frozenset())
        # counts are whole numbers: an attacker rounds the bound inwards, so only the whole
        # part of the move protects (the support of the longer move serves the shorter one)
        return Witness(float(math.floor(res.x[i] + EXACT_TOLERANCE)), self._support(res.x, col, n))

    def move(self, hidden: set[Cell], cell: Cell, change: float, published: bool) -> Witness | None:
        """The cheapest change moving `cell` by exactly `change` (hidden cells only, or
        published ones too); None when there is none."""
        if cell not in self.group_of:
            return Witness(abs(change), frozenset({cell}))  # in no relation: free to move
        prog, col = self._programme(self.group_of[cell])
        n = len(col)
        direction = 1 if change > 0 else -1
        self._set(prog, col, hidden, published, cell, abs(change), abs(change), direction)
        prog.set_cost(self._costs(col, hidden))
        res = prog.solve()
        self.solves += 1
        if res.status != OPTIMAL:
            return None
        return Witness(abs(change), self._support(res.x, col, n))

    @staticmethod
    def _support(x, col: dict[Cell, int], n: int) -> frozenset[Cell]:
        moved = x[:n] + x[n:]
        return frozenset(c for c, i in col.items() if moved[i] > TINY)
