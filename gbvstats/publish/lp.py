"""Linear programmes for disclosure control, solved by HiGHS (scipy's copy of it).

One `Programme` is built once (constraints and variable bounds) and solved again and
again with other costs or other bounds: the audit asks for the least and the greatest
value of every confidential cell of a group over the same constraints. HiGHS is driven
through the bindings scipy ships (`scipy.optimize._highspy`), so each new objective starts
from the last optimal basis; where those bindings are missing (another scipy), every solve
goes through the public `scipy.optimize.linprog(method="highs")`, same solver, same
answers, more set-up per solve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

OPTIMAL, UNBOUNDED, FAILED = "optimal", "unbounded", "failed"


@dataclass
class Result:
    status: str  # optimal | unbounded | failed
    value: float  # objective value (nan unless optimal)
    x: Any = None  # numpy array of the solution when optimal


def _bindings():
    try:
        from scipy.optimize._highspy import _core
    except ImportError:  # pragma: no cover - another scipy layout
        return None
    needed = ("_Highs", "HighsLp", "MatrixFormat", "HighsModelStatus", "kHighsInf")
    return _core if all(hasattr(_core, n) for n in needed) else None


class Programme:
    """min cost . x  subject to  row_lower <= A x <= row_upper,  lower <= x <= upper."""

    def __init__(self, n: int, rows: list[tuple[list[int], list[float], float, float]],
                 lower: list[float], upper: list[float], engine: str = "auto"):
        import numpy as np
        from scipy.sparse import csc_matrix

        self.n = n
        data, ri, ci = [], [], []
        for r, (cols, coefs, _, _) in enumerate(rows):
            data += coefs
            ri += [r] * len(cols)
            ci += cols
        self.matrix = csc_matrix((data, (ri, ci)), shape=(len(rows), n), dtype=float)
        self.matrix.sum_duplicates()
        self.row_lower = np.array([lo for *_, lo, _ in rows], dtype=float)
        self.row_upper = np.array([hi for *_, hi in rows], dtype=float)
        self.lower = np.array(lower, dtype=float)
        self.upper = np.array(upper, dtype=float)
        self.cost = np.zeros(n)
        self.solves = 0
        core = _bindings() if engine in ("auto", "highs") else None
        self._highs = self._load(core) if core is not None else None

    @property
    def engine(self) -> str:
        return "highs" if self._highs is not None else "linprog"

    def _load(self, core):
        import numpy as np

        inf = core.kHighsInf
        lp = core.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = self.matrix.shape[0]
        lp.a_matrix_.num_col_ = self.n
        lp.a_matrix_.num_row_ = self.matrix.shape[0]
        lp.a_matrix_.format_ = core.MatrixFormat.kColwise
        lp.col_cost_ = self.cost
        lp.col_lower_ = self.lower
        lp.col_upper_ = np.where(np.isinf(self.upper), inf, self.upper)
        lp.row_lower_ = np.where(np.isinf(self.row_lower), -inf, self.row_lower)
        lp.row_upper_ = np.where(np.isinf(self.row_upper), inf, self.row_upper)
        lp.a_matrix_.start_ = self.matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = self.matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = self.matrix.data.astype(float)
        highs = core._Highs()
        highs.setOptionValue("output_flag", False)
        if highs.passModel(lp) == core.HighsStatus.kError:
            return None
        self._core = core
        return highs

    def set_cost(self, cost) -> None:
        import numpy as np

        cost = np.asarray(cost, dtype=float)
        if self._highs is not None:
            idx = np.arange(self.n, dtype=np.int32)
            self._highs.changeColsCost(self.n, idx, cost)
        self.cost = cost.copy()

    def set_bounds(self, index: list[int], lower: list[float], upper: list[float]) -> None:
        """New bounds for the variables `index`; only those that change reach the solver
        (so the last basis stays as good a start as it can)."""
        import numpy as np

        changed = [(i, lo, hi) for i, lo, hi in zip(index, lower, upper, strict=True)
                   if self.lower[i] != lo or self.upper[i] != hi]
        index, lower, upper = [c[0] for c in changed], [c[1] for c in changed], [c[2] for c in changed]
        for i, lo, hi in changed:
            self.lower[i], self.upper[i] = lo, hi
        if self._highs is not None and index:
            inf = self._core.kHighsInf
            hi = np.array(upper, dtype=float)
            self._highs.changeColsBounds(len(index), np.array(index, dtype=np.int32),
                                         np.array(lower, dtype=float), np.where(np.isinf(hi), inf, hi))

    def solve(self) -> Result:
        self.solves += 1
        if self._highs is not None:
            return self._solve_highs()
        return self._solve_linprog()

    def _solve_highs(self) -> Result:
        import numpy as np

        core = self._core
        self._highs.run()
        status = self._highs.getModelStatus()
        if status == core.HighsModelStatus.kOptimal:
            x = np.array(self._highs.getSolution().col_value)
            return Result(OPTIMAL, float(self._highs.getInfo().objective_function_value), x)
        if status in (core.HighsModelStatus.kUnbounded, core.HighsModelStatus.kUnboundedOrInfeasible):
            return Result(UNBOUNDED, -math.inf)
        return Result(FAILED, math.nan)

    def _solve_linprog(self) -> Result:
        import numpy as np
        from scipy.optimize import linprog

        eq = self.row_lower == self.row_upper
        a = self.matrix.tocsr()
        kw: dict[str, Any] = {}
        if eq.any():
            kw["A_eq"], kw["b_eq"] = a[eq], self.row_upper[eq]
        ub_rows = [a[~eq & ~np.isinf(self.row_upper)], -a[~eq & ~np.isinf(self.row_lower)]]
        ub_rhs = [self.row_upper[~eq & ~np.isinf(self.row_upper)], -self.row_lower[~eq & ~np.isinf(self.row_lower)]]
        if sum(m.shape[0] for m in ub_rows):
            from scipy.sparse import vstack

            kw["A_ub"], kw["b_ub"] = vstack(ub_rows), np.concatenate(ub_rhs)
        bounds = [(lo, None if math.isinf(hi) else hi) for lo, hi in zip(self.lower, self.upper, strict=True)]
        res = linprog(self.cost, bounds=bounds, method="highs", **kw)
        if res.status == 0:
            return Result(OPTIMAL, float(res.fun), np.asarray(res.x))
        if res.status == 3:
            return Result(UNBOUNDED, -math.inf)
        return Result(FAILED, math.nan)
