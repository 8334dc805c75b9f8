"""Lineage of every indicator figure, derived from what the pipeline's SQL actually reads.

Nothing is declared: each pipeline is evaluated on a synthetic warehouse (in memory, the
real migrations and views) holding one return of every form (latest version) for two
oblasts, A and B (a district of each for district-level forms), and the outputs are
compared as the cells change:

1. presence: with random values everywhere, zero one form (then one table, one unit) at
   a time; the figures that change read it. Random values make a cancellation (a - a)
   practically impossible, so a figure that reads a form always changes.
2. coefficients: for the tables found, give the cells of oblast A distinct powers of 16
   (15 cells per evaluation, the others 0) and read each figure's digits in balanced
   base 16: the coefficient of every cell in the figure (1 for a sum; -1 for a
   difference). Exact for the linear pipelines we write; verified against the random
   evaluation, and a figure that is not linear in its cells (a ratio) has none.

A figure is (scope, key, column): scope `oblast` (the row of oblast A: an oblast row reads
its own units) or `national` (the KG row: all units); key the values of the row's
dimension columns (sex, age, offence, ...); column a measure. `trace` lists the real
cells of a figure's sources; `scopes` checks that a rate's numerator and denominator read
the same breakdown; `publish` flags figures whose forms lack returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gbvstats.consolidate.run import Pipeline, pipelines
from gbvstats.periods import periods_of_year
from gbvstats.schema.model import Registry

if TYPE_CHECKING:
    import pandas as pd

BASE, DIGITS = 16, 15  # 16**15 = 2**60: a sum of 15 balanced digits fits in BIGINT
NOT_KEYS = ("year", "territory", "area")
OBLAST, NATIONAL = "oblast", "national"


@dataclass(frozen=True, order=True)
class Source:
    """A class of cells: one cell of a form's latest version, in every unit and period."""

    form: str
    tbl: str
    line: str
    col: int

    def __str__(self) -> str:
        return f"{self.form}:{self.tbl}/{self.line}/{self.col}"


Figure = tuple[str, tuple, str]  # (scope, key, column)


@dataclass
class Lineage:
    table: str
    columns: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # dimension columns of a row
    forms: dict[Figure, frozenset[str]] = field(default_factory=dict)
    units: dict[Figure, frozenset[str]] = field(default_factory=dict)  # oblasts read: A, B, KG
    sources: dict[Figure, dict[Source, int]] = field(default_factory=dict)  # exact, counts only
    base: list[dict[str, Any]] = field(default_factory=list)  # the random evaluation's rows
    error: str | None = None

    def figures(self, scope: str | None = None) -> list[Figure]:
        return [f for f in self.forms if scope is None or f[0] == scope]

    def row_key(self, row: dict) -> tuple:
        return tuple(None if _na(row.get(k)) else row.get(k) for k in self.keys)

    def forms_of(self, scope: str, key: tuple, column: str) -> frozenset[str]:
        """The forms a figure reads; for a row the synthetic warehouse did not produce,
        every form the column reads in any row of that scope."""
        if (scope, key, column) in self.forms:
            return self.forms[(scope, key, column)]
        return frozenset().union(*(v for (s, _, c), v in self.forms.items()
                                   if s == scope and c == column))

    def sources_of(self, scope: str, key: tuple, column: str) -> dict[Source, int] | None:
        return self.sources.get((scope, key, column))


class World:
    """The synthetic warehouse: every input cell of every latest form version, in oblasts
    A and B, for one year in which all of them are valid."""

    def __init__(self, reg: Registry):
        import duckdb
        import numpy as np
        import pandas as pd

        from gbvstats.store.warehouse import DIMENSION_TABLES, dimension_rows, migrations

        self.reg = reg
        latest = [reg.get(code) for code in reg.form_codes()]
        self.year = max(f.first_period.year for f in latest)
        oblasts = [c.code for c in reg.units("oblast")
                   if any(reg.oblast_of(d.code) == c.code for d in reg.units("district") if d.code != c.code)]
        self.a, self.b = oblasts[0], oblasts[1]
        areas = {c.code: getattr(c, "sdmx_code", "") for c in reg.territories().codes}
        self.area_a, self.area_b = areas[self.a], areas[self.b]
        con = duckdb.connect()
        con.execute("CREATE TABLE schema_migrations (version INTEGER, name VARCHAR, applied_at TIMESTAMP)")
        for _, _, sql in migrations():
            con.execute(sql)
        for table, rows in dimension_rows(reg).items():
            if table in DIMENSION_TABLES and rows:
                con.register("dim_rows", pd.DataFrame(rows))
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM dim_rows")  # fixed names
                con.unregister("dim_rows")
        submissions, cells = [], []
        for form in latest:
            period = next((p for p in periods_of_year(self.year, form.periodicity) if form.valid_for(p)), None)
            if period is None:
                continue
            for unit, oblast in self._units(form.level):
                sid = len(submissions) + 1
                submissions.append({
                    "submission_id": sid, "form": form.form, "version": form.version,
                    "agency": form.agency, "unit": unit, "period": str(period), "year": self.year,
                    "sha256": f"lineage-{sid}", "file_name": f"{form.form}-{unit}.xlsx",
                    "archive_path": "-", "received_at": pd.Timestamp(f"{self.year}-01-01"),
                    "submitted_by": "lineage", "status": "accepted", "revision": 1, "supersedes": None})
                cells += [{"submission_id": sid, "tbl": c.table, "line": c.line, "col": c.column,
                           "sheet": c.table, "addr": c.ref, "form": form.form, "unit_oblast": oblast}
                          for c in form.cells() if c.input]
        con.register("sub_rows", pd.DataFrame(submissions))
        con.execute("INSERT INTO submissions BY NAME SELECT * FROM sub_rows")
        con.unregister("sub_rows")
        self.cells = pd.DataFrame(cells)
        self.cells["value"] = np.zeros(len(self.cells), dtype="int64")
        con.register("lineage_cells", self.cells)
        con.execute("DROP TABLE cells")
        con.execute("CREATE VIEW cells AS SELECT submission_id, tbl, line, col, value, sheet, addr "
                    "FROM lineage_cells")
        # series_facts, which the pipelines read, computed once: only the values change
        # between evaluations (the view chain costs ~40 ms an evaluation otherwise)
        names = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() "
                                           "WHERE table_name = 'series_facts' ORDER BY column_index").fetchall()]
        con.execute("CREATE TABLE lineage_facts AS SELECT f.* EXCLUDE (value), c.rid FROM series_facts f "
                    "JOIN (SELECT row_number() OVER () - 1 AS rid, submission_id, tbl, line, col "
                    "      FROM lineage_cells) c USING (submission_id, tbl, line, col)")
        select = ", ".join("v.value" if n == "value" else f'f."{n}"' for n in names)  # catalog names
        con.register("lineage_values", pd.DataFrame({"rid": range(len(self.cells)), "value": self.cells["value"]}))
        con.execute("DROP VIEW series_facts")
        con.execute(f"CREATE VIEW series_facts AS SELECT {select} FROM lineage_facts f "
                    "JOIN lineage_values v USING (rid)")
        self.con = con
        self._rids = range(len(self.cells))
        self.sources = [Source(f, t, ln, int(c)) for f, t, ln, c in
                        self.cells[["form", "tbl", "line", "col"]].itertuples(index=False)]
        rng = np.random.default_rng(20240101)
        self.random = rng.integers(100_000, 1_000_000, size=len(self.cells), dtype="int64")
        # per source, the random values an oblast-A row and the national row sum
        self.random_sums: dict[str, dict[Source, int]] = {OBLAST: {}, NATIONAL: {}}
        for s, unit, v in zip(self.sources, self.cells["unit_oblast"], self.random.tolist(), strict=True):
            for scope in ((OBLAST, NATIONAL) if unit in ("A", "KG") else (NATIONAL,)):
                self.random_sums[scope][s] = self.random_sums[scope].get(s, 0) + v

    def _units(self, level: str) -> list[tuple[str, str]]:
        if level == "country":
            return [(c.code, "KG") for c in self.reg.units("country")]
        if level == "oblast":
            return [(self.a, "A"), (self.b, "B")]
        out = []
        for oblast, name in ((self.a, "A"), (self.b, "B")):
            district = next(d.code for d in self.reg.units("district")
                            if d.code != oblast and self.reg.oblast_of(d.code) == oblast)
            out.append((district, name))
        return out

    def run(self, p: Pipeline, values) -> tuple[list[str], list[str], list[tuple]]:
        """(columns, types, rows) of the pipeline over cells holding `values`."""
        import pandas as pd

        self.cells["value"] = values  # `cells` (for pipelines reading it) scans this frame
        self.con.register("lineage_values", pd.DataFrame({"rid": self._rids, "value": values}))
        self.con.execute("SET VARIABLE year = ?", [self.year])
        cur = self.con.execute(p.sql)
        desc = cur.description
        return [d[0] for d in desc], [str(d[1]) for d in desc], cur.fetchall()


_WORLDS: dict[str, World] = {}


def registry_key(reg: Registry) -> str:
    """What the synthetic warehouse is built from: every form version and code list."""
    import hashlib
    import json

    text = json.dumps([[f.schema_hash for f in reg.versions()],
                       {k: v.model_dump(mode="json") for k, v in sorted(reg.codelists.items())}],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _world(reg: Registry) -> World:
    """One synthetic warehouse per set of schemas and process (building it takes ~0.5 s)."""
    key = registry_key(reg)
    if key not in _WORLDS:
        _WORLDS[key] = World(reg)
    return _WORLDS[key]


def lineage(p: Pipeline, reg: Registry | None = None, exact: bool = True) -> Lineage:
    """The lineage of one pipeline's figures; `exact=False` stops after the presence
    passes (forms, tables and oblasts read, no coefficients)."""
    from gbvstats.schema.model import registry

    return _lineage(p.id, p.sql, reg or registry(), exact)


_CACHE: dict[tuple, Lineage] = {}


def _lineage(table: str, sql: str, reg: Registry, exact: bool) -> Lineage:
    schemas = registry_key(reg)
    key = (table, sql, schemas, exact)
    if key not in _CACHE:
        full = (table, sql, schemas, True)
        _CACHE[key] = _CACHE[full] if full in _CACHE else _derive(table, sql, reg, exact)
    return _CACHE[key]


def _derive(table: str, sql: str, reg: Registry, exact: bool) -> Lineage:
    import duckdb
    import numpy as np

    w = _world(reg)
    p = Pipeline(path=None, meta={"id": table}, sql=sql)  # type: ignore[arg-type]
    out = Lineage(table)
    try:
        columns, types, rows = w.run(p, w.random)
    except duckdb.Error as exc:
        out.error = str(exc).splitlines()[0]
        return out
    out.columns = list(columns)
    out.keys = [c for c, t in zip(columns, types, strict=True)
                if c not in NOT_KEYS and t == "VARCHAR"]
    base = _index(out, columns, rows, w)
    out.base = [dict(zip(columns, r, strict=True)) for r in rows]
    measures = [c for c in columns if c not in NOT_KEYS and c not in out.keys]
    figures = {(scope, key, c) for (scope, key) in base for c in measures}
    # 1. presence: forms, units (oblast A, B, the country), then tables of the forms read
    reads_form: dict[Figure, set[str]] = {f: set() for f in figures}
    for form in sorted(set(w.cells["form"])):
        for f in _changed(out, w, p, base, w.cells["form"] == form, figures):
            reads_form[f].add(form)
    reads_unit: dict[Figure, set[str]] = {f: set() for f in figures}
    for unit in sorted(set(w.cells["unit_oblast"])):
        for f in _changed(out, w, p, base, w.cells["unit_oblast"] == unit, figures):
            reads_unit[f].add(unit)
    out.forms = {f: frozenset(v) for f, v in reads_form.items()}
    out.units = {f: frozenset(v) for f, v in reads_unit.items()}
    if not exact:
        return out
    read_forms = set().union(*reads_form.values()) if reads_form else set()
    tables = []
    for form, tbl in sorted(set(map(tuple, w.cells[["form", "tbl"]].to_numpy().tolist()))):
        if form in read_forms:
            mask = (w.cells["form"] == form) & (w.cells["tbl"] == tbl)
            if _changed(out, w, p, base, mask, figures):
                tables.append((form, tbl))
    # 2. coefficients of oblast A's (and the country's) cells of those tables
    chosen = np.flatnonzero(
        w.cells.set_index(["form", "tbl"]).index.isin(tables)
        & w.cells["unit_oblast"].isin(["A", "KG"]).to_numpy())
    sources: dict[Figure, dict[Source, int]] = {f: {} for f in figures}
    exact_ok = {f: True for f in figures}
    for start in range(0, len(chosen), DIGITS):
        batch = chosen[start:start + DIGITS]
        values = np.zeros(len(w.cells), dtype="int64")
        values[batch] = [BASE ** k for k in range(len(batch))]
        got = _index(out, *w.run(p, values)[::2], w)
        for f in figures:
            scope, key, column = f
            v = got.get((scope, key), {}).get(column)
            if v is None or v == 0:
                continue
            if not isinstance(v, int):
                exact_ok[f] = False
                continue
            for k, digit in enumerate(_digits(v, len(batch))):
                if digit:
                    source = w.sources[batch[k]]
                    sources[f][source] = sources[f].get(source, 0) + digit
    out.sources = {f: s for f, s in sources.items() if exact_ok[f] and _verified(f, s, base, w)}
    return out


def _index(out: Lineage, columns, rows, w: World) -> dict[tuple[str, tuple], dict[str, Any]]:
    """Rows of oblast A and of the country by (scope, key), as {column: value}."""
    indexed = {}
    for r in rows:
        row = dict(zip(columns, r, strict=True))
        scope = {w.area_a: OBLAST, "KG": NATIONAL}.get(row.get("area"))
        if scope:
            indexed[(scope, out.row_key(row))] = row
    return indexed


def _changed(out: Lineage, w: World, p: Pipeline, base: dict, mask, figures) -> list[Figure]:
    import numpy as np

    values = np.where(mask.to_numpy(), 0, w.random)
    columns, _, rows = w.run(p, values)
    got = _index(out, columns, rows, w)
    return [f for f in figures
            if not _same(base.get(f[:2], {}).get(f[2]), got.get(f[:2], {}).get(f[2]))]


def _same(a, b) -> bool:
    if _na(a) or _na(b):
        return _na(a) and _na(b)
    return a == b


def _na(v) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _digits(value: int, n: int) -> list[int]:
    """Balanced base-16 digits (-7..8) of `value`, lowest first; the check that nothing
    is left over is done by `_verified`."""
    digits = []
    for _ in range(n):
        d = value % BASE
        if d > BASE // 2:
            d -= BASE
        digits.append(d)
        value = (value - d) // BASE
    return digits


def _verified(f: Figure, sources: dict[Source, int], base: dict, w: World) -> bool:
    """The coefficients reproduce the random evaluation exactly: the figure is linear in
    the cells found (oblast A's; for the national row, B's cells with the same ones)."""
    scope, key, column = f
    want = base.get((scope, key), {}).get(column)
    if not isinstance(want, int):
        return False
    sums = w.random_sums[scope]
    return sum(coef * sums.get(s, 0) for s, coef in sources.items()) == want


def all_lineages(reg: Registry | None = None, root=None, exact: bool = True) -> dict[str, Lineage]:
    return {p.id: lineage(p, reg, exact) for p in pipelines(root)}


def scope_of(area: str) -> str:
    return NATIONAL if area == "KG" else OBLAST


def sources_frame(lin: Lineage, scope: str, key: tuple, columns: list[str]) -> pd.DataFrame:
    """(column, form, tbl, line, col, coefficient) for the figures of one row."""
    import pandas as pd

    rows = []
    for column in columns:
        for s, coef in sorted((lin.sources_of(scope, key, column) or {}).items()):
            rows.append({"measure": column, "form": s.form, "tbl": s.tbl, "line": s.line,
                         "col": s.col, "coefficient": coef})
    return pd.DataFrame(rows, columns=["measure", "form", "tbl", "line", "col", "coefficient"])
