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
1 + ln(1 + value) per unit, `total_cost` times more on totals, `national_cost` times more
on national rows, hidden cells nearly free)
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

from gbvstats.publish.audit import EXACT_TOLERANCE, Protection, Solver, national
from gbvstats.publish.lp import OPTIMAL, Programme
from gbvstats.publish.relations import Cell, TableModel

TINY = 1e-7  # a change smaller than this is no change
HIDDEN_COST = 1e-3  # a hidden cell's cost, relative to the same cell published
SPARSE = 1e-4  # weight of the cells' costs beside "go as far as possible"


@dataclass(frozen=True)
class Witness:
    """An alternative table: the signed change of every cell it changes (all hidden)."""

    moves: tuple[tuple[Cell, float], ...]
    support: frozenset[Cell]

    @classmethod
    def of(cls, moves: list[tuple[Cell, float]]) -> Witness:
        return cls(tuple(moves), frozenset(c for c, _ in moves))


@dataclass(frozen=True)
class Reach:
    """How far (whole counts) a cell moves one way in a witness (None: not at all)."""

    amount: float
    witness: Witness | None

    def uses(self, cell: Cell) -> bool:
        return self.witness is not None and cell in self.witness.support


NOWHERE = Reach(0.0, None)


class Store:
    """Every witness found so far, by the cells it moves: one cell's witness often
    shows another confidential cell can move too, and then no programme is needed."""

    def __init__(self) -> None:
        self.by_cell: dict[Cell, list[tuple[float, Witness]]] = {}

    def add(self, witness: Witness | None) -> None:
        if witness is not None:
            for cell, change in witness.moves:
                self.by_cell.setdefault(cell, []).append((change, witness))

    def drop(self, cell: Cell) -> None:
        """Forget the witnesses that change `cell` (it is about to be published)."""
        gone = {id(w) for _, w in self.by_cell.get(cell, [])}
        for key in list(self.by_cell):
            self.by_cell[key] = [(m, w) for m, w in self.by_cell[key] if id(w) not in gone]

    def best(self, cell: Cell, direction: int, limit: float, avoid: Cell | None = None) -> Reach:
        """The furthest whole move of `cell` in `direction` (at most `limit`) among the
        witnesses (not changing `avoid`)."""
        found = NOWHERE
        for change, witness in self.by_cell.get(cell, []):
            if avoid is not None and avoid in witness.support:
                continue
            amount = min(limit, math.floor(direction * change + EXACT_TOLERANCE))
            if amount > found.amount:
                found = Reach(float(amount), witness)
        return found


def secondary_lp(model: TableModel, confidential: list[Cell], protection: Protection,
                 solver: Solver | None = None, prune: bool = True) -> set[Cell]:
    """The confidential cells and the complementary cells that protect them (see above)."""
    solver = solver or Solver()
    hidden = set(confidential)
    changes = Changes(model, protection, solver.engine)
    store = Store()
    chosen: dict[Cell, tuple[Reach, Reach]] = {}
    for cell in confidential:
        value = model.values[cell]
        need = protection.required(value)
        down, up = _reach(cell, value, need, hidden, store, changes)
        if down.amount + up.amount < need - TINY:
            low = min(value, max(down.amount, need // 2))  # whole numbers, as the audit reads them
            if down.amount < low - TINY:
                witness = changes.move(hidden, cell, -low, published=True)
                store.add(witness)
                down = Reach(low, witness) if witness else down
                hidden |= witness.support if witness else set()
            if up.amount < need - low - TINY:
                witness = changes.move(hidden, cell, need - low, published=True)
                store.add(witness)
                up = Reach(need - low, witness) if witness else up
                hidden |= witness.support if witness else set()
        chosen[cell] = (down, up)
    if prune:
        budget = 2 * changes.solves  # tidying may cost twice the programmes protecting did
        hidden = _prune(model, hidden, chosen, store, changes, protection, budget)
    solver.solves += changes.solves
    return hidden


def _reach(cell: Cell, value: float, need: float, hidden: set[Cell], store: Store, changes: Changes,
           avoid: Cell | None = None) -> tuple[Reach, Reach]:
    """How far the cell moves down and up on hidden cells: from the witnesses already
    found when they suffice, else by solving (and keeping what is found)."""
    down, up = store.best(cell, -1, value, avoid), store.best(cell, +1, need, avoid)
    if down.amount + up.amount >= need - TINY:
        return down, up
    if down.amount < min(value, need):
        found = changes.furthest(hidden, cell, -1, value)
        store.add(found.witness)
        down = found if found.amount > down.amount else down
    if down.amount + up.amount < need - TINY:
        found = changes.furthest(hidden, cell, +1, need)
        store.add(found.witness)
        up = found if found.amount > up.amount else up
    return down, up


def with_rates(model: TableModel, hidden: set[Cell]) -> set[Cell]:
    """The hidden cells and every rate hidden with its numerator or denominator."""
    return set(hidden) | {rate for rate, sources in model.rate_cells.items() if any(s in hidden for s in sources)}


def _prune(model: TableModel, hidden: set[Cell], chosen: dict[Cell, tuple[Reach, Reach]], store: Store,
           changes: Changes, protection: Protection, budget: int) -> set[Cell]:
    """Publish again each complementary cell (dearest first) if every confidential cell
    whose chosen witnesses changed it can still move far enough both ways without it;
    stop when `budget` programmes have been solved (in a table where most cells are
    confidential, every cell serves many witnesses and trying them all would cost far
    more than the protection did)."""
    start = changes.solves
    for cell in sorted(hidden - set(chosen), key=lambda c: (-cost(model, c, protection), c)):
        if changes.solves - start >= budget:
            break
        trial = hidden - {cell}
        found = {}
        for target, (down, up) in chosen.items():
            if not (down.uses(cell) or up.uses(cell)):
                continue
            value = model.values[target]
            need = protection.required(value)
            down, up = _reach(target, value, need, trial, store, changes, avoid=cell)
            if down.amount + up.amount < need - TINY:
                break
            found[target] = (down, up)
        else:
            hidden = trial
            chosen.update(found)
            store.drop(cell)
    return hidden


def cost(model: TableModel, cell: Cell, protection: Protection) -> float:
    """What suppressing a cell costs: 1 + ln(1 + value), more on totals and sum columns,
    more again on national rows (subnational cells are hidden before national ones)."""
    base = 1.0 + math.log1p(max(model.values[cell], 0.0))
    if cell in model.costly:
        base *= protection.total_cost
    if national(model, cell):
        base *= protection.national_cost
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

    def furthest(self, hidden: set[Cell], cell: Cell, direction: int, limit: float) -> Reach:
        """How far (up to `limit`, in whole counts) the cell can move in `direction`
        changing hidden cells only."""
        if cell not in self.group_of:
            return NOWHERE
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
            return NOWHERE
        # counts are whole numbers: an attacker rounds the bound inwards, so only the whole
        # part of the move protects (the support of the longer move serves the shorter one)
        amount = float(math.floor(res.x[i] + EXACT_TOLERANCE))
        return Reach(amount, self._witness(res.x, col, n)) if amount > 0 else NOWHERE

    def move(self, hidden: set[Cell], cell: Cell, change: float, published: bool) -> Witness | None:
        """The cheapest change moving `cell` by exactly `change` (hidden cells only, or
        published ones too); None when there is none."""
        if cell not in self.group_of:
            return Witness.of([(cell, change)])  # in no relation: free to move
        prog, col = self._programme(self.group_of[cell])
        n = len(col)
        direction = 1 if change > 0 else -1
        self._set(prog, col, hidden, published, cell, abs(change), abs(change), direction)
        prog.set_cost(self._costs(col, hidden))
        res = prog.solve()
        self.solves += 1
        if res.status != OPTIMAL:
            return None
        return self._witness(res.x, col, n)

    @staticmethod
    def _witness(x, col: dict[Cell, int], n: int) -> Witness:
        moved = x[:n] - x[n:]
        return Witness.of([(c, float(moved[i])) for c, i in col.items() if abs(moved[i]) > TINY])
