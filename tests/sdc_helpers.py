"""An attacker with a linear-programming solver, written apart from gbvstats.publish.

It sees only what a reader sees: published tables (suppressed values blank, marked by
`<column>_OBS_STATUS == "C"`, or by a mask) and what any reader can know of their
structure: which columns are counts, rates and declared sums, the code lists' breakdowns
of each dimension, and which tables repeat which figures. From these it writes its own
equations (every cell a variable, published ones fixed by their bounds), and for each
target cell asks scipy's `linprog` for the least and greatest value.

Deliberately independent of `gbvstats.publish.relations` / `audit`: different variables,
different enumeration of relations (pandas group-bys; crossed totals over every subset of
dimensions, whether or not the margins imply them), different handling of rates (their
precision read from the published text).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOT_DIMS = {"year", "territory", "iccs"}
AREA_TOTAL = "KG"


@dataclass
class Seen:
    """One published table as a reader has it."""

    name: str
    frame: pd.DataFrame  # published values, NaN where blank
    hidden: pd.DataFrame  # True where suppressed (OBS_STATUS C), per count and rate column
    counts: list[str]
    rates: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # rate: (num, den, mult)
    sums: dict[str, list[str]] = field(default_factory=dict)
    breakdowns: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)  # dim: [(total, parts)]
    decimals: dict[str, int] = field(default_factory=dict)  # rate column: decimals shown

    def blank(self, col: str) -> list[bool]:
        """Per row: the figure is blank and not suppressed (nothing reported)."""
        cache = self.__dict__.setdefault("_blank", {})
        if col not in cache:
            cache[col] = (self.frame[col].isna() & ~self.hidden[col]).tolist()
        return cache[col]

    @property
    def dims(self) -> list[str]:
        """The classifying columns: text columns but the year, territory and labels."""
        return [c for c in self.frame.columns if c not in NOT_DIMS and not c.endswith("_OBS_STATUS")
                and not pd.api.types.is_numeric_dtype(self.frame[c])]


def read_csv(path: Path, name: str, meta: dict) -> Seen:
    """A published CSV as the attacker reads it, with what the pipeline header declares."""
    text = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = pd.read_csv(path, dtype={c: str for c in text.columns if not _numeric(text[c])})
    hidden = pd.DataFrame({c[: -len("_OBS_STATUS")]: text[c] == "C" for c in text.columns if c.endswith("_OBS_STATUS")})
    rates = {r: (d["numerator"], d["denominator"], float(d["multiplier"])) for r, d in meta["rates"].items()
             if r in frame.columns}
    decimals = {r: max([len(v.split(".")[1]) if "." in v else 0 for v in text[r] if v] or [0]) for r in rates}
    seen = Seen(name, frame, hidden, [c for c in meta["counts"] if c in frame.columns], rates,
                meta.get("sums", {}), {}, decimals)
    seen.breakdowns = {d: codelist_breakdowns(d, set(frame[d].dropna())) for d in seen.dims}
    return seen


def _numeric(col: pd.Series) -> bool:
    values = [v for v in col if v != ""]
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return True


def codelist_breakdowns(dim: str, present: set[str]) -> list[tuple[str, list[str]]]:
    """What a reader of the code list (schemas/codelists/<dim>.yaml) knows adds up: its
    `hierarchies`, else parent -> children links (and the total = the top codes), else
    the total = every other code in the table. `area`: KG = every other area."""
    total = AREA_TOTAL if dim == "area" else "_T"
    name = {"offence": "offence_group"}.get(dim, dim)
    path = ROOT / "schemas" / "codelists" / f"{name}.yaml"
    flat = [(total, sorted(present - {total}))]
    if dim == "area" or not path.exists():
        return flat
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data.get("hierarchies"):
        out = [(h["total"], [str(p) for p in h["parts"]]) for h in data["hierarchies"]]
    else:
        codes = [(str(c["code"]), c.get("parent")) for c in data["codes"]]
        if not any(p for _, p in codes):
            out = [(total, [c for c, _ in codes if c != total])]
        else:
            out = [(total, [c for c, p in codes if not p and c != total])]
            for parent in {p for _, p in codes if p}:
                out.append((parent, [c for c, p in codes if p == parent]))
    listed = {c for t, parts in out for c in (t, *parts)}
    extra = sorted(present - listed - {total})
    if extra:
        out += [(t, parts + extra) for t, parts in out if t == total]
    return out


@dataclass
class Same:
    """`a.column_a` (rows where a's extra dimensions are at their totals) is the same
    figure as `b.column_b` on the rows matching it on the dimensions both tables have."""

    a: str
    column_a: str
    b: str
    column_b: str


def attack(tables: list[Seen], targets: list[tuple[str, int, str]], links: list[Same] | None = None,
           ) -> dict[tuple[str, int, str], tuple[float, float]]:
    """Least and greatest value of each target cell (table, row, column)."""
    var: dict[tuple[str, int, str], int] = {}
    bounds = []
    for t in tables:
        columns = [*t.counts, *t.rates, *{c for num, den, _ in t.rates.values() for c in (num, den)}]
        for col in dict.fromkeys(columns):
            for i, v in enumerate(t.frame[col]):
                var[(t.name, i, col)] = len(bounds)
                if col in t.hidden.columns and t.hidden[col].iloc[i]:
                    bounds.append((0.0, None))
                else:
                    known = 0.0 if pd.isna(v) else float(v)  # a blank adds nothing to a total
                    bounds.append((known, known))
    eq: list[dict[int, float]] = []
    ub: list[dict[int, float]] = []
    for t in tables:
        complete, partial = _totals(t, var)
        eq += complete
        ub += partial
        eq += [{var[(t.name, i, total)]: 1.0, **{var[(t.name, i, p)]: -1.0 for p in parts}}
               for total, parts in t.sums.items() for i in range(len(t.frame))]
        ub += _rates(t, var)
    by_name = {t.name: t for t in tables}
    for link in links or []:
        eq += _same(link, by_name, var)

    # the equations fall apart into groups linked by suppressed cells: one programme each
    free = {j for j, (lo, hi) in enumerate(bounds) if lo != hi}
    parent = {j: j for j in free}

    def find(j):
        while parent[j] != j:
            parent[j] = parent[parent[j]]
            j = parent[j]
        return j

    rows = [(row, "eq") for row in eq] + [(row, "ub") for row in ub]
    for row, _ in rows:
        hidden = [j for j in row if j in free]
        for j in hidden[1:]:
            parent[find(j)] = find(hidden[0])
    by_group: dict[int, list] = {}
    for row, kind in rows:
        hidden = [j for j in row if j in free]
        if hidden:
            by_group.setdefault(find(hidden[0]), []).append((row, kind))
    out = {}
    wanted: dict[int, list] = {}
    for target in targets:
        j = var[target]
        if find(j) in by_group:
            wanted.setdefault(find(j), []).append((target, j))
        else:
            out[target] = (0.0, math.inf)
    for root, group in wanted.items():
        out.update(_bounds(group, by_group[root], bounds))
    return out


def _bounds(targets: list, rows: list, bounds: list) -> dict:
    """Least and greatest value of each target variable under `rows` (every variable
    they mention, the published ones fixed by their bounds)."""
    import numpy as np
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    used = sorted({j for row, _ in rows for j in row} | {j for _, j in targets})
    at = {j: n for n, j in enumerate(used)}

    def matrix(kind):
        chosen = [row for row, k in rows if k == kind]
        if not chosen:
            return None, None
        r, c, v = zip(*[(i, at[j], k) for i, row in enumerate(chosen) for j, k in row.items()], strict=True)
        rhs = np.zeros(len(chosen)) if kind == "eq" else np.full(len(chosen), 1e-7)  # float noise in rates
        return coo_matrix((v, (r, c)), shape=(len(chosen), len(used))).tocsr(), rhs

    (a_eq, b_eq), (a_ub, b_ub) = matrix("eq"), matrix("ub")
    limits = [bounds[j] for j in used]
    out = {}
    for target, j in targets:
        found = []
        for sign in (1.0, -1.0):
            c = np.zeros(len(used))
            c[at[j]] = sign
            res = linprog(c, A_eq=a_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub, bounds=limits, method="highs")
            if res.status == 3:
                found.append(math.inf)
            else:
                assert res.status == 0, (target, res.message)
                found.append(sign * res.fun)
        out[target] = (found[0], found[1])
    return out


def _totals(t: Seen, var) -> tuple[list[dict[int, float]], list[dict[int, float]]]:
    """total row = sum of part rows, along every dimension and every set of dimensions
    crossed, at every combination of the other dimensions; where some parts of the
    breakdown are not in the table, only total >= the parts shown (as `sum(parts) -
    total <= 0`). A blank total, or parts that are all blank (not suppressed), mean "not
    broken down": no equation."""
    dims = t.dims
    keyed = t.frame[dims].astype(str)
    out, partial = [], []
    for size in range(1, len(dims) + 1):
        for crossed in map(list, itertools.combinations(dims, size)):
            if not all(t.breakdowns.get(d) for d in crossed):
                continue
            rest = [d for d in dims if d not in crossed]
            for choice in itertools.product(*(t.breakdowns[d] for d in crossed)):
                top = keyed[(keyed[crossed] == [total for total, _ in choice]).all(axis=1)]
                inside = keyed[np.logical_and.reduce([keyed[d].isin(parts) for d, (_, parts)
                                                      in zip(crossed, choice, strict=True)])]
                if top.empty or inside.empty:
                    continue
                tops = {tuple(r): i for i, r in zip(top.index, top[rest].itertuples(index=False), strict=True)}
                by = rest[0] if len(rest) == 1 else rest
                parts_of = inside.groupby(by, sort=False).groups if rest else {(): inside.index}
                expected = math.prod(len(parts) for _, parts in choice)
                for key, rows in parts_of.items():
                    key = key if isinstance(key, tuple) else (key,)
                    if key not in tops:
                        continue
                    for col in t.counts:
                        if len(rows) == expected:
                            out += _equation(t, var, col, tops[key], list(rows))
                        else:
                            partial += [{j: -k for j, k in e.items()}
                                        for e in _equation(t, var, col, tops[key], list(rows))]
    return out, partial


def _equation(t: Seen, var, col: str, total: int, parts: list[int]) -> list[dict[int, float]]:
    blank = t.blank(col)
    if blank[total] or all(blank[i] for i in parts):
        return []
    return [{var[(t.name, total, col)]: 1.0, **{var[(t.name, i, col)]: -1.0 for i in parts}}]


def _rates(t: Seen, var) -> list[dict[int, float]]:
    """A published rate r (shown with k decimals) of num / den * m: m*num <= (r+h)*den and
    (r-h)*den <= m*num, h = half a unit of the k-th decimal."""
    out = []
    for rate, (num, den, mult) in t.rates.items():
        half = 0.5 * 10.0 ** -t.decimals[rate]
        for i, r in enumerate(t.frame[rate]):
            if pd.isna(r) or t.hidden[rate].iloc[i]:
                continue
            n, d = var[(t.name, i, num)], var[(t.name, i, den)]
            out.append({n: mult, d: -(r + half)})
            out.append({d: r - half, n: -mult})
    return out


def _same(link: Same, tables: dict[str, Seen], var) -> list[dict[int, float]]:
    """a.column_a = b.column_b on the rows they share (a's and b's other dimensions at total)."""
    a, b = tables[link.a], tables[link.b]
    common = [d for d in a.dims if d in b.dims]

    def rows(t: Seen) -> dict[tuple, int]:
        out = {}
        for i, r in t.frame.iterrows():
            if all(str(r[d]) in ("_T", AREA_TOTAL) for d in t.dims if d not in common):
                out[tuple(str(r[d]) for d in common)] = i
        return out

    ra, rb = rows(a), rows(b)
    return [{var[(a.name, ra[k], link.column_a)]: 1.0, var[(b.name, rb[k], link.column_b)]: -1.0}
            for k in ra.keys() & rb.keys()]


def widths_ok(found: dict, truth: dict, threshold: int = 4, percent: float = 50.0) -> list[str]:
    """The targets whose interval is exact or narrower than max(threshold, percent of value)."""
    bad = []
    for key, (lo, hi) in found.items():
        need = max(threshold, truth[key] * percent / 100)
        lo, hi = math.ceil(lo - 1e-6), hi if math.isinf(hi) else math.floor(hi + 1e-6)  # counts are whole
        if hi - lo < need - 1e-6:
            bad.append(f"{key}: value {truth[key]}, interval {lo:g}..{hi:g}")
    return bad


def seen(name: str, published: pd.DataFrame, mask: pd.DataFrame, counts: list[str],
         breakdowns: dict[str, list[tuple[str, list[str]]]] | None = None, **kw) -> Seen:
    """A protected frame (as `sdc.protect` returns it) as the attacker sees it; a dimension
    without breakdowns given: its total = every other code in the table."""
    frame = published.copy()
    for col in mask.columns:
        frame[col] = frame[col].astype("float64")
    out = Seen(name, frame, mask, counts, **kw)
    given = breakdowns or {}
    out.breakdowns = {d: given.get(d) or [(AREA_TOTAL if d == "area" else "_T",
                                           sorted(set(frame[d]) - {AREA_TOTAL if d == "area" else "_T"}))]
                      for d in out.dims}
    return out


NATIONAL_AREA = "KG"  # the country in the territory code list (docs/DOMAIN.md)


def subnational(frame: pd.DataFrame, national: bool = False) -> list[bool]:
    """Rows where small counts are confidential: below national level (an area other than
    the country; a table without an area column is national), every row if `national`."""
    if national:
        return [True] * len(frame)
    if "area" not in frame.columns:
        return [False] * len(frame)
    return [not (pd.isna(a) or str(a) == NATIONAL_AREA) for a in frame["area"]]


def targets_of(name: str, truth: pd.DataFrame, counts: list[str], threshold: int = 4,
               national: bool = False):
    """The confidential cells (1..threshold below national level, or on every row with
    `national`) of a table, and their true values."""
    rows = subnational(truth, national)
    found = {(name, i, c): float(v) for c in counts for i, v in enumerate(truth[c])
             if rows[i] and 1 <= v <= threshold}
    return list(found), found


# The GBV-crimes shape (ind07): oblast x offence x relationship, totals on every dimension.
# With these figures the former subtraction-only secondary suppression leaves the KG04 /
# O1 / R1 victim (1) computable exactly by a solver, and narrows eight more cells.
CRIMES = {
    "KG02": {"O0": [0, 1, 1], "O1": [2, 1, 13], "O2": [8, 2, 2]},
    "KG03": {"O0": [1, 8, 1], "O1": [1, 2, 2], "O2": [0, 8, 2]},
    "KG04": {"O0": [0, 0, 8], "O1": [5, 1, 1], "O2": [3, 2, 13]},
}


def crimes_table() -> pd.DataFrame:
    base = {(a, o, f"R{k}"): v for a, offs in CRIMES.items() for o, vs in offs.items() for k, v in enumerate(vs)}
    rows = []
    for a in [*CRIMES, "KG"]:
        for o in ["O0", "O1", "O2", "_T"]:
            for r in ["R0", "R1", "R2", "_T"]:
                rows.append({"year": 2024, "area": a, "offence": o, "relationship": r, "victims": sum(
                    v for (aa, oo, rr), v in base.items()
                    if a in (aa, "KG") and o in (oo, "_T") and r in (rr, "_T"))})
    return pd.DataFrame(rows)


# Two breakdowns of one total (age: 0-17 / 18+, and the NSC's bands 0-20 / 21+) per oblast.
# Unless both are declared, a solver pins four of these small counts.
AGES = {"KG02": {"Y0T17": 2, "Y18T20": 1, "Y21T30": 1, "Y31T999": 5},
        "KG03": {"Y0T17": 21, "Y18T20": 21, "Y21T30": 13, "Y31T999": 21},
        "KG04": {"Y0T17": 3, "Y18T20": 1, "Y21T30": 8, "Y31T999": 13}}
AGE_GROUPS = {"Y0T17": ["Y0T17"], "Y18T999": ["Y18T20", "Y21T30", "Y31T999"],
              "Y0T20": ["Y0T17", "Y18T20"], "Y21T999": ["Y21T30", "Y31T999"],
              "_T": ["Y0T17", "Y18T20", "Y21T30", "Y31T999"]}
AGE_BREAKDOWNS = [("_T", ["Y0T17", "Y18T999"]), ("_T", ["Y0T20", "Y21T999"])]


def ages_table() -> pd.DataFrame:
    rows = []
    for a in [*AGES, "KG"]:
        for code, parts in AGE_GROUPS.items():
            rows.append({"year": 2024, "area": a, "age": code, "victims": sum(
                AGES[o][p] for o in AGES if a in (o, "KG") for p in parts)})
    return pd.DataFrame(rows)


# Figures the indicator tables repeat, as a reader of their titles can tell.
LINKS = [Same("ind05_trafficking", "victims", "ind06_assistance", "tip_identified"),
         Same("ind01_family_violence", "reports", "ind02_protection_orders", "reports"),
         Same("ind01_family_violence", "victims", "ind06_assistance", "fv_victims_moi")]


def attack_published(out: Path, year: int, truth: dict[str, pd.DataFrame], metas: dict[str, dict],
                     threshold: int = 4, national: bool = False) -> tuple[int, list[str]]:
    """Read every published `<table>_<year>.csv` in `out`, attack all of them together
    (with LINKS), and return the number of confidential cells attacked and those an
    interval narrower than the protection (max(threshold, 50 % of the value)) exposes.
    `truth`: the tables as computed (the warehouse's), to know which cells are confidential
    (small counts below national level; on national rows too with `national`)."""
    seen, targets, values = [], [], {}
    for name, meta in metas.items():
        path = out / f"{name}_{year}.csv"
        if not path.exists():
            continue
        table = read_csv(path, name, meta)
        seen.append(table)
        dims = table.dims
        real = table.frame[dims].astype(str).merge(truth[name].astype({d: str for d in dims}), on=dims, how="left")
        assert len(real) == len(table.frame)
        rows = subnational(real, national)
        for col in table.counts:
            for i, v in enumerate(real[col]):
                if rows[i] and not pd.isna(v) and 1 <= v <= threshold:
                    assert table.hidden[col].iloc[i], (name, i, col, "a confidential count is published")
                    targets.append((name, i, col))
                    values[(name, i, col)] = float(v)
    names = {t.name for t in seen}
    links = [lk for lk in LINKS if lk.a in names and lk.b in names]
    return len(targets), widths_ok(attack(seen, targets, links), values, threshold)
