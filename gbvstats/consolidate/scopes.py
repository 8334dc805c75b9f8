"""What a figure covers, derived from the cells it is computed from, and the pipelines
check (`gbvstats pipelines check`, run by `make test`).

The scope of a figure is read off its lineage (`lineage.py`): the cells it sums, each with
the dimension members the schema gives it (sex, age, offence group, form of exploitation,
...), the universe its form counts (schemas/universes.yaml: family violence, all GBV
offences, trafficking victims, the resident population) and the oblasts it reads. Members
are compared as what they cover, not as codes: an age code is an interval of years
(`Y18T29` + ... + `Y60T999` = `Y18T999`), a total (`_T`) is the union of the parts its
table carries (so GPO's "GBV and trafficking cases, total" is not MoI's "family-violence
cases, total"), a code list's `hierarchies` say which codes add up to which, an offence
line wider than its group (ICCS 0301 "rape and sexual assault") covers the groups under
it, and "not recorded" (`_U`) is part of a total but not a population of its own.

Checks: every declared rate computes as `numerator / denominator * multiplier` (GBV-P004)
over two figures of one scope (P001 breakdown, P002 universe, P003 territory); every
declared column exists (P005); every count reads some cell (P008); every SDMX breakdown of
pipelines/sdmx.yaml matches the cells (P007).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from gbvstats.catalogue import Finding
from gbvstats.consolidate.lineage import NATIONAL, OBLAST, Lineage, Source, lineage
from gbvstats.consolidate.run import Pipeline, pipelines
from gbvstats.paths import load_yaml, schemas_dir
from gbvstats.schema.model import Registry

TOTAL, UNKNOWN = "_T", "_U"
DIM_LIST = {"offence": "offence_group"}  # dimension -> code list id, where they differ
_AGE = re.compile(r"^Y(\d+)T(\d+)$|^Y_GE(\d+)$|^Y_LT(\d+)$")
OPEN = 999


def age_interval(code: str) -> tuple[int, int] | None:
    """Years covered by an age code: Y18T29 -> (18, 29), Y_GE60 and Y60T999 -> (60, 999)."""
    m = _AGE.match(code)
    if not m:
        return None
    if m[1] is not None:
        return int(m[1]), int(m[2])
    if m[3] is not None:
        return int(m[3]), OPEN
    return 0, int(m[4]) - 1


class Scopes:
    """Leaves (what a member covers) of every cell of the latest form versions."""

    def __init__(self, reg: Registry, universes: dict | None = None):
        self.reg = reg
        self.universes = universes if universes is not None else load_universes()
        self._table_parts: dict[tuple[str, str, str], frozenset] = {}
        ages = [iv for c in self._codes("age") if (iv := age_interval(c))]
        bounds = sorted({lo for lo, _ in ages} | {hi + 1 for _, hi in ages} | {0, OPEN + 1})
        self.segments = list(zip(bounds, bounds[1:], strict=False))  # [lo, hi)

    # --- code lists -------------------------------------------------------------------

    def codelist(self, dim: str):
        return self.reg.codelists.get(DIM_LIST.get(dim, dim))

    def _codes(self, dim: str) -> list[str]:
        cl = self.codelist(dim)
        return [c.code for c in cl.codes] if cl else []

    def classifying(self, dim: str) -> bool:
        """A dimension that breaks a population down has a total code; the others (stage,
        service, sanction) say what is counted, not of whom."""
        return TOTAL in self._codes(dim)

    def _hierarchies(self, dim: str) -> list[tuple[str, list[str]]]:
        cl = self.codelist(dim)
        out = []
        for h in getattr(cl, "hierarchies", None) or []:
            get = h.get if isinstance(h, dict) else (lambda k, h=h: getattr(h, k, None))
            out.append((str(get("total")), [str(p) for p in get("parts") or []]))
        return out

    # --- leaves -----------------------------------------------------------------------

    def code_leaves(self, dim: str, code: str, _seen: frozenset = frozenset()) -> frozenset:
        """What a code covers anywhere (a total: every part the code list knows)."""
        if code == UNKNOWN:
            return frozenset({UNKNOWN})
        if dim == "age" and (iv := age_interval(code)):
            return frozenset(s for s in self.segments if iv[0] <= s[0] and s[1] - 1 <= iv[1])
        if code in _seen:
            return frozenset({code})
        for total, parts in self._hierarchies(dim):
            if total == code and parts:
                return frozenset().union(*(self.code_leaves(dim, p, _seen | {code}) for p in parts))
        if code == TOTAL:
            if dim == "age":
                return frozenset(self.segments) | {UNKNOWN}
            others = [c for c in self._codes(dim) if c != TOTAL]
            return frozenset().union(*(self.code_leaves(dim, c, _seen | {code}) for c in others)) \
                if others else frozenset({TOTAL})
        return frozenset({code})

    def cell(self, source: Source):
        form = self.reg.get(source.form)
        table = form.table(source.tbl)
        line = table.line(source.line)
        column = table.column(source.col)
        return form, table, line, column

    def dims(self, source: Source) -> dict[str, str]:
        _, _, line, column = self.cell(source)
        return {k: str(v) for k, v in {**line.dims, **column.dims}.items()}

    def leaves(self, source: Source, dim: str) -> frozenset | None:
        """What the cell covers on `dim`; None when the cell does not carry it."""
        code = self.dims(source).get(dim)
        if code is None:
            return None
        if code == TOTAL:
            parts = self.table_parts(source.form, source.tbl, dim)
            return parts if parts else self.code_leaves(dim, TOTAL)
        if dim == "offence":
            return self._offence(source, code)
        return self.code_leaves(dim, code)

    def table_parts(self, form_code: str, tbl: str, dim: str) -> frozenset:
        """A total within a table is the union of the parts the table carries: what its
        balance rules make it add up to."""
        key = (form_code, tbl, dim)
        if key not in self._table_parts:
            table = self.reg.get(form_code).table(tbl)
            leaves: set = set()
            for line in table.lines:
                for column in table.columns:
                    code = {**line.dims, **column.dims}.get(dim)
                    if code is not None and str(code) != TOTAL:
                        src = Source(form_code, tbl, line.code, column.number)
                        leaves |= self._offence(src, str(code)) if dim == "offence" else \
                            self.code_leaves(dim, str(code))
            self._table_parts[key] = frozenset(leaves)
        return self._table_parts[key]

    def _offence(self, source: Source, code: str) -> frozenset:
        """An offence line whose ICCS code is wider than its group's covers every group
        under it (GPO's line 05, ICCS 0301: rape 03011 and sexual assault 03012)."""
        _, _, line, _ = self.cell(source)
        groups = self.codelist("offence")
        iccs_of = {c.code: str(getattr(c, "iccs", "") or "") for c in groups.codes} if groups else {}
        wide = str(line.iccs or "")
        if wide and iccs_of.get(code) and wide != iccs_of[code] and iccs_of[code].startswith(wide):
            return frozenset(g for g, i in iccs_of.items() if i and i.startswith(wide))
        return self.code_leaves("offence", code)

    def full(self, dim: str) -> frozenset:
        return self.code_leaves(dim, TOTAL)

    # --- universes --------------------------------------------------------------------

    def universe(self, source: Source) -> str | None:
        entry = self.universes.get("forms", {}).get(source.form)
        return entry.get(source.tbl) if isinstance(entry, dict) else entry

    def reference(self, universe: str | None) -> bool:
        return bool((self.universes.get("universes", {}).get(universe) or {}).get("reference"))

    def universe_label(self, universe: str | None, lang: str = "en") -> str:
        label = (self.universes.get("universes", {}).get(universe) or {}).get("label") or {}
        return label.get(lang) or label.get("en") or str(universe)

    # --- a side of a rate -------------------------------------------------------------

    def side(self, sources: dict[Source, int], dims: list[str]) -> set[tuple]:
        """The tuples of leaves (one per compared dimension) the positive sources cover.
        "Not recorded" (`_U`) is part of a total but no population of its own: tuples
        holding it are dropped where known ones remain (victims of every age, unrecorded
        included, go with the population of every age)."""
        out: set[tuple] = set()
        for s, coef in sources.items():
            if coef <= 0:
                continue
            axes = []
            for d in dims:
                leaves = self.leaves(s, d)
                if leaves is None:
                    leaves = self.table_parts(s.form, s.tbl, d) or self.full(d)
                axes.append(sorted(leaves, key=str))
            out |= set(_product(axes))
        known = {t for t in out if UNKNOWN not in t}
        return known or out

    def carried(self, sources: dict[Source, int]) -> list[str]:
        dims: set[str] = set()
        for s in sources:
            dims |= {d for d in self.dims(s) if self.classifying(d)}
        return sorted(dims)

    def members(self, sources: dict[Source, int], dim: str) -> str:
        """The codes a side reads on `dim`, for messages: `F`, `Y18T29+Y30T39`, and a
        total with what it adds up to in its table: `_T (HOM+MAS+OTH)`."""
        shown = set()
        for s, c in sources.items():
            code = self.dims(s).get(dim, TOTAL)
            if c <= 0:
                continue
            leaves = self.leaves(s, dim)
            if code == TOTAL and dim != "age" and leaves and all(isinstance(x, str) for x in leaves):
                code = f"{TOTAL} ({'+'.join(sorted(leaves))})"
            shown.add(code)
        return "+".join(sorted(shown)) or TOTAL


def _product(axes: list[list]) -> list[tuple]:
    out: list[tuple] = [()]
    for axis in axes:
        out = [t + (x,) for t in out for x in axis]
    return out


def load_universes(root: Path | None = None) -> dict[str, Any]:
    path = (root or schemas_dir()) / "universes.yaml"
    if not path.exists():
        return {"universes": {}, "forms": {}}
    return load_yaml(path.read_text(encoding="utf-8")) or {}


# --- the check ---------------------------------------------------------------------


def check_pipelines(root: Path | None = None, reg: Registry | None = None,
                    sdmx_path: Path | None = None) -> list[Finding]:
    """Every pipeline under `root` (default pipelines/): rates, declared columns, counts,
    and pipelines/sdmx.yaml's breakdowns, against the lineage of each figure."""
    from gbvstats.publish.tables import pipeline_meta
    from gbvstats.schema.model import registry

    reg = reg or registry()
    scopes = Scopes(reg)
    findings = check_universes(reg, scopes.universes)
    lineages: dict[str, Lineage] = {}
    metas: dict[str, dict] = {}
    for p in pipelines(root):
        lin = lineage(p, reg)
        lineages[p.id] = lin
        meta = metas[p.id] = pipeline_meta(p.path)
        if lin.error:
            findings.append(Finding(code="GBV-P006", file=_rel(p.path), params={
                "table": p.id, "path": _rel(p.path), "reason": lin.error}))
            continue
        findings += _check_columns(p, meta, lin)
        findings += _check_counts(p, meta, lin)
        findings += check_labels(p, meta, lin, reg)
        for rate, spec in meta["rates"].items():
            if {rate, spec["numerator"], spec["denominator"]} <= set(lin.columns):
                findings += check_rate(p.id, rate, spec, lin, scopes, _rel(p.path))
    findings += check_sdmx_breakdowns(lineages, metas, scopes, sdmx_path)
    return findings


def _rel(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return Path(path).resolve().relative_to(Path(path).resolve().parents[1]).as_posix()
    except ValueError:
        return str(path)


def check_universes(reg: Registry, universes: dict) -> list[Finding]:
    known = set(universes.get("universes") or {})
    forms = universes.get("forms") or {}
    out = []

    def bad(key: str, problem: str) -> None:
        out.append(Finding(code="GBV-P009", file="schemas/universes.yaml",
                           params={"key": key, "problem": problem}))

    for code in reg.form_codes():
        entry = forms.get(code)
        tables = [t.id for t in reg.get(code).tables]
        if entry is None:
            bad(f"forms.{code}", "the form's universe is not declared")
        elif isinstance(entry, dict):
            for t in tables:
                if t not in entry:
                    bad(f"forms.{code}.{t}", "the table's universe is not declared")
            for t, u in entry.items():
                if u not in known:
                    bad(f"forms.{code}.{t}", f"unknown universe {u!r}; known: {', '.join(sorted(known))}")
        elif entry not in known:
            bad(f"forms.{code}", f"unknown universe {entry!r}; known: {', '.join(sorted(known))}")
    return out


def _check_columns(p: Pipeline, meta: dict, lin: Lineage) -> list[Finding]:
    declared = [("counts", c) for c in meta["counts"]]
    for rate, spec in meta["rates"].items():
        declared += [("rates", rate), ("rates", spec["numerator"]), ("rates", spec["denominator"])]
    for total, parts in meta["sums"].items():
        declared += [("sums", total)] + [("sums", x) for x in parts]
    declared += [(f"col.{c}", c) for c in meta.get("labels", {})]
    return [Finding(code="GBV-P005", file=_rel(p.path), params={"table": p.id, "key": f"-- {key}:", "column": col})
            for key, col in dict.fromkeys(declared) if col not in lin.columns]


def check_labels(p: Pipeline, meta: dict, lin: Lineage, reg: Registry) -> list[Finding]:
    """Every published column labelled in every language, and every code of a dimension
    column without a code list (as the synthetic evaluation produced them)."""
    from gbvstats.i18n import LANGS
    from gbvstats.publish.labels import COMMON, Labels

    labels = Labels(reg)
    out = []
    for column in lin.columns:
        if column in COMMON or (column in lin.keys and labels.codelist(column) is not None):
            continue
        own = meta.get("labels", {}).get(column) or {}
        out += [Finding(code="GBV-P016", file=_rel(p.path), params={
            "table": p.id, "column": column, "lang": lg, "code": ""}) for lg in LANGS if not own.get(lg)]
        if column in lin.keys:
            codes = meta.get("codes", {}).get(column) or {}
            for value in sorted({str(r[column]) for r in lin.base if r.get(column) is not None}):
                out += [Finding(code="GBV-P016", file=_rel(p.path), params={
                    "table": p.id, "column": column, "lang": lg, "code": f" (code {value})"})
                    for lg in LANGS if not (codes.get(value) or {}).get(lg)]
    return out


def _check_counts(p: Pipeline, meta: dict, lin: Lineage) -> list[Finding]:
    out = []
    for col in meta["counts"]:
        figures = [f for f in lin.forms if f[2] == col]
        if col in lin.columns and figures and not any(lin.forms[f] for f in figures):
            out.append(Finding(code="GBV-P008", file=_rel(p.path), params={"table": p.id, "column": col}))
    return out


def _row_name(scope: str, key: tuple, keys: list[str]) -> str:
    where = "KG" if scope == NATIONAL else "an oblast"
    dims = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True) if v is not None)
    return f"{where}{', ' + dims if dims else ''}"


def check_rate(table: str, rate: str, spec: dict, lin: Lineage, scopes: Scopes,
               file: str = "") -> list[Finding]:
    """One declared rate on every row of the synthetic evaluation; one finding per kind
    of problem (the first row that shows it), not one per row."""
    num, den, mult = spec["numerator"], spec["denominator"], spec["multiplier"]
    base = {"table": table, "rate": rate, "numerator": num, "denominator": den}
    found: dict[tuple, Finding] = {}

    def add(code: str, kind: tuple, **params) -> None:
        found.setdefault((code, *kind), Finding(code=code, file=file, params={**base, **params}))

    decimals = _decimals([r.get(rate) for r in lin.base])
    for row in lin.base:
        n, d, r = row.get(num), row.get(den), row.get(rate)
        if any(v is None for v in (n, d, r)) or not d:
            continue
        expected = mult * float(n) / float(d)
        if abs(float(r) - expected) > 0.5 * 10 ** -decimals + 1e-9 * abs(expected):
            add("GBV-P004", (), row=_row_name(*_scope_key(row, lin), lin.keys), value=r,
                expected=round(expected, decimals), multiplier=mult)
    for (scope, key, column) in lin.figures():
        if column != rate:
            continue
        row = _row_name(scope, key, lin.keys)
        n_units = lin.units.get((scope, key, num), frozenset())
        d_units = lin.units.get((scope, key, den), frozenset())
        if n_units and d_units and n_units != d_units:
            add("GBV-P003", (), row=row, left=_units(n_units), right=_units(d_units))
        n_src, d_src = lin.sources_of(scope, key, num), lin.sources_of(scope, key, den)
        if not n_src or not d_src:
            continue
        n_uni = {scopes.universe(s) for s, c in n_src.items() if c > 0}
        d_uni = {scopes.universe(s) for s, c in d_src.items() if c > 0}
        if not all(scopes.reference(u) for u in d_uni) and n_uni != d_uni:
            add("GBV-P002", (), row=row, left=" + ".join(scopes.universe_label(u) for u in sorted(n_uni, key=str)),
                right=" + ".join(scopes.universe_label(u) for u in sorted(d_uni, key=str)))
        dims = scopes.carried(d_src)
        if scopes.side(n_src, dims) != scopes.side(d_src, dims):
            differing = [x for x in dims if scopes.side(n_src, [x]) != scopes.side(d_src, [x])] \
                or [" x ".join(dims)]
            for dim in differing:
                add("GBV-P001", (dim,), row=row, dimension=dim,
                    left=scopes.members(n_src, dim) if dim in dims else "-",
                    right=scopes.members(d_src, dim) if dim in dims else "-")
    return list(found.values())


def _scope_key(row: dict, lin: Lineage) -> tuple[str, tuple]:
    return (NATIONAL if row.get("area") == "KG" else OBLAST), lin.row_key(row)


def _units(units: frozenset[str]) -> str:
    names = {"A": "its own oblast", "B": "another oblast", "KG": "the country's own return"}
    return " + ".join(names.get(u, u) for u in sorted(units))


def _decimals(values: list) -> int:
    """Digits after the point the rate is rounded to (10 for an unrounded float)."""
    best = 0
    for v in values:
        if isinstance(v, float) and math.isfinite(v):
            text = repr(v)
            if "e" in text:
                return 10
            best = max(best, len(text.split(".")[1].rstrip("0")) if "." in text else 0)
    return min(best, 10)


def check_sdmx_breakdowns(lineages: dict[str, Lineage], all_metas: dict[str, dict], scopes: Scopes,
                          sdmx_path: Path | None = None) -> list[Finding]:
    """Each SDMX observation's SEX, AGE, ... (fixed, or a column's code) must be what the
    column's cells cover; for a rate, both its numerator and its denominator."""
    from gbvstats.publish import sdmx

    try:
        cfg = sdmx.config(sdmx_path)
    except OSError:
        return []
    out: dict[tuple, Finding] = {}
    for f in cfg["files"]:
        for obs in f["observations"]:
            lin = lineages.get(obs["table"])
            if lin is None or lin.error:
                continue
            column = obs["column"]
            if column not in lin.columns:
                out.setdefault(("P005", obs["table"], column), Finding(code="GBV-P005", file="pipelines/sdmx.yaml", params={
                    "table": obs["table"], "key": f"files.{f['id']}", "column": column}))
                continue
            rate = all_metas.get(obs["table"], {}).get("rates", {}).get(column)
            parts = [rate["numerator"], rate["denominator"]] if rate else [column]
            wanted = {d.lower(): ("fixed", c) for d, c in (obs.get("fixed") or {}).items()}
            wanted |= {d.lower(): ("column", c) for d, c in (obs.get("dimensions") or {}).items()}
            for (scope, key, col) in lin.figures():
                if col != column:
                    continue
                for dim, (how, what) in wanted.items():
                    if not scopes.classifying(dim):
                        continue
                    code = what if how == "fixed" else dict(zip(lin.keys, key, strict=True)).get(what)
                    if code is None:
                        continue
                    claim = scopes.code_leaves(dim, str(code))
                    claim = (claim - {UNKNOWN}) or claim
                    for part in parts:
                        src = lin.sources_of(scope, key, part)
                        if not src:
                            continue
                        actual = {t[0] for t in scopes.side(src, [dim])}
                        if actual != set(claim):
                            out.setdefault(("P007", obs["table"], column, dim), Finding(
                                code="GBV-P007", file="pipelines/sdmx.yaml", params={
                                    "file": f["file"], "table": obs["table"], "column": column,
                                    "dimension": dim.upper(), "value": code,
                                    "actual": f"{scopes.members(src, dim)} ({part})"}))
    return list(out.values())
