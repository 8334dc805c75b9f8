"""great-expectations as the contract of what is published (`gbvstats quality`, the gate).

Each indicator table has a suite in `pipelines/expectations/<table>.yaml` listing
expectation kinds (see the README there). A kind is compiled here into great-expectations
expectations whose parameters are derived from the pipeline header (counts, rates), the
code lists of the schemas, the territory list and the disclosure threshold, then run on
the table as it would be published (after disclosure control), through GX's pandas
datasource in an ephemeral context. Results are rows of `quality_runs` and findings
(GBV-Q); we render them ourselves (terminal, JSON, the publication manifest), never with
GX Data Docs.

GX is imported only by `run_suites`, with usage statistics off (`GX_ANALYTICS_ENABLED`
is set before the import) and progress bars silenced. Cross-table arithmetic is not
here: reconciliation and hierarchy controls are the rule engine's (`schemas/rules/`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.paths import load_yaml, pipelines_dir

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.schema.model import Registry

COUNTRY_AREA = "KG"
# kind -> (finding code, default severity)
KINDS = {
    "key_unique": ("GBV-Q001", "error"), "codes": ("GBV-Q002", "error"),
    "non_negative": ("GBV-Q003", "error"), "rate_bounds": ("GBV-Q004", "error"),
    "rates_consistent": ("GBV-Q005", "error"), "territory_grid": ("GBV-Q006", "warning"),
    "suppressed_small_counts": ("GBV-Q007", "error"), "year_on_year": ("GBV-Q008", "warning"),
    "whole_counts": ("GBV-Q009", "error"),
}
CODELIST_OF = {"offence": "offence_group", "territory": "territory"}  # column -> code list id
HELPER = "__"  # prefix of columns computed for an expectation (never published)
SAMPLE = 5


class SuiteError(Exception):
    """A suite file that cannot be used: GBV-Q011 with path and key."""

    def __init__(self, path: Path, key: str, problem: str):
        super().__init__(f"{path}: {key}: {problem}")
        self.finding = Finding(code="GBV-Q011", file=str(path),
                               params={"path": str(path), "key": key, "problem": problem})


@dataclass
class Check:
    """One great-expectations expectation compiled from a suite item."""

    id: str
    kind: str
    severity: str
    gx_type: str  # class name in great_expectations.expectations
    kwargs: dict[str, Any]
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)  # for the finding's message

    @property
    def code(self) -> str:
        return KINDS[self.kind][0]

    def spec(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "type": self.gx_type, "kwargs": self.kwargs}


@dataclass
class Result:
    table: str
    check: Check
    success: bool
    observed: Any = None
    unexpected_count: int | None = None
    sample: list[dict] = field(default_factory=list)
    reason: str | None = None  # decided without GX: why (a missing column, nothing to compare)
    code: str | None = None  # decided without GX: GBV-Q010, Q013 (errors) or Q012 (info)

    @property
    def severity(self) -> str:
        if self.code:
            return "info" if self.code == "GBV-Q012" else "error"
        return self.check.severity

    def finding(self) -> Finding:
        if self.code:
            return Finding(code=self.code, severity=self.severity,
                           params={"table": self.table, "expectation": self.check.id,
                                   "column": self.check.column, "reason": self.reason})
        params = {"table": self.table, "column": self.check.column, "count": self.unexpected_count,
                  "sample": _sample_text(self.sample), "expectation": self.check.id,
                  **self.check.params}
        if self.check.kind == "territory_grid":
            params.update(observed=self.observed)
        return Finding(code=self.check.code, severity=self.check.severity, params=params)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"table": self.table, "expectation": self.check.id, "kind": self.check.kind,
                "type": self.check.gx_type, "column": self.check.column,
                "severity": self.severity, "success": self.success,
                "observed": _jsonable(self.observed), "unexpected_count": self.unexpected_count,
                "sample": self.sample, "code": self.code or self.check.code,
                "message": None if self.success else self.finding().message(lang)}


@dataclass
class QualityReport:
    year: int
    results: list[Result] = field(default_factory=list)
    suites: dict[str, str] = field(default_factory=dict)  # table -> suite hash
    problems: list[Finding] = field(default_factory=list)  # suites that could not be used
    unchecked: list[str] = field(default_factory=list)  # tables without a suite
    run_id: int | None = None
    gx_version: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.success]

    @property
    def success(self) -> bool:
        return not self.failed and not self.problems and not self.unchecked

    def summary(self) -> dict[str, Any]:
        """Per table: expectations, failed (by severity), the suite hash (for the manifest)."""
        out: dict[str, Any] = {}
        for r in self.results:
            t = out.setdefault(r.table, {"suite_hash": self.suites.get(r.table), "expectations": 0,
                                         "failed": 0, "failed_errors": 0, "failed_warnings": 0})
            t["expectations"] += 1
            if not r.success:
                t["failed"] += 1
                t["failed_errors" if r.severity == "error" else "failed_warnings"] += 1
        return out

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {"year": self.year, "run_id": self.run_id, "success": self.success,
                "gx_version": self.gx_version, "seconds": self.seconds,
                "tables": self.summary(), "unchecked": self.unchecked,
                "problems": [p.to_dict(lang) for p in self.problems],
                "results": [r.to_dict(lang) for r in self.results]}


# --- suites -------------------------------------------------------------------------


def suites_dir(root: Path | None = None) -> Path:
    return (root or pipelines_dir()) / "expectations"


def load_suites(root: Path | None = None) -> tuple[dict[str, tuple[Path, list[dict]]], list[Finding]]:
    """{table: (path, [items])} of every suite file, and the problems of those that
    cannot be used (each a GBV-Q011 naming file and key)."""
    suites, problems = {}, []
    for path in sorted(suites_dir(root).glob("*.yaml")):
        try:
            table, items = _read_suite(path)
        except SuiteError as exc:
            problems.append(exc.finding)
            continue
        suites[table] = (path, items)
    return suites, problems


def _read_suite(path: Path) -> tuple[str, list[dict]]:
    import yaml

    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SuiteError(path, "(file)", f"cannot be read: {exc}".splitlines()[0]) from None
    if not isinstance(data, dict) or not isinstance(data.get("table"), str):
        raise SuiteError(path, "table", "missing: the indicator table the suite is for")
    if data["table"] != path.stem:
        raise SuiteError(path, "table", f"{data['table']!r} differs from the file name {path.stem!r}")
    raw = data.get("expectations")
    if not isinstance(raw, list) or not raw:
        raise SuiteError(path, "expectations", "missing or empty: a list of expectation kinds")
    items = []
    for i, item in enumerate(raw):
        spec = {"type": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or spec.get("type") not in KINDS:
            kind = spec.get("type") if isinstance(spec, dict) else spec
            raise SuiteError(path, f"expectations[{i}]",
                             f"unknown kind {kind!r}; known: {', '.join(KINDS)}")
        if spec.get("severity", KINDS[spec["type"]][1]) not in ("error", "warning"):
            raise SuiteError(path, f"expectations[{i}].severity", "must be error or warning")
        items.append(spec)
    return data["table"], items


def compile_suite(table: str, items: list[dict], frame: pd.DataFrame, meta: dict[str, Any],
                  reg: Registry, threshold: int, previous: pd.DataFrame | None = None,
                  path: Path | None = None, national: bool = False,
                  ) -> tuple[list[Check], pd.DataFrame, list[Result]]:
    """The checks of a suite for this table, the frame GX validates (the published table
    plus helper columns) and results decided without GX (a column the table lacks).
    `national`: small counts on national rows are confidential too (schemas/disclosure.yaml
    `primary.national`); by default they are published and only subnational rows checked."""
    from gbvstats.publish import sdc

    data = frame.reset_index(drop=True).copy()
    counts = [c for c in meta.get("counts", [])]
    rates = meta.get("rates", {})
    dims = sdc.dimensions(data, [*counts, *rates])
    key = ["year", *[d for d in ["area", *dims] if d in data.columns and d != "territory"]]
    key = list(dict.fromkeys(key))
    checks: list[Check] = []
    missing: list[Result] = []

    def add(kind, spec, cid, gx_type, kwargs, column=None, **params):
        """`column` is the published column checked (None: the whole table); helper
        columns computed from it are named in `kwargs` only."""
        check = Check(cid, kind, spec.get("severity", KINDS[kind][1]), gx_type, kwargs, column, params)
        if column and column not in data.columns:
            missing.append(Result(table, check, False, reason=f"no column {column}",
                                  code="GBV-Q010"))
            return
        checks.append(check)

    def lacking(kind, cid, column, reason, code="GBV-Q010"):
        """A result decided without GX: failed (Q010, Q013) or not evaluable (Q012)."""
        missing.append(Result(table, Check(cid, kind, "error", "-", {}, column),
                              code == "GBV-Q012", reason=reason, code=code))

    for spec in items:
        kind = spec["type"]
        if kind == "key_unique":
            add(kind, spec, "key_unique", "ExpectCompoundColumnsToBeUnique",
                {"column_list": key}, None, columns=", ".join(key))
        elif kind == "codes":
            for col in [c for c in ["area", "territory", *dims] if c in data.columns]:
                codes, listed = _codes(reg, col, meta)
                if codes is None:
                    lacking(kind, f"codes:{col}", col, f"no code list {listed!r} in schemas/codelists",
                            code="GBV-Q013")
                    continue
                add(kind, spec, f"codes:{col}", "ExpectColumnValuesToBeInSet",
                    {"column": col, "value_set": sorted(codes)}, col, codelist=listed)
        elif kind == "non_negative":
            for col in spec.get("columns", counts):
                add(kind, spec, f"{kind}:{col}", "ExpectColumnValuesToBeBetween",
                    {"column": col, "min_value": 0}, col)
        elif kind == "whole_counts":
            for col in spec.get("columns", counts):
                helper = f"{HELPER}frac_{col}"
                if col in data.columns:
                    values = data[col].astype("float64")
                    data[helper] = (values - values.round()).abs()
                add(kind, spec, f"{kind}:{col}", "ExpectColumnValuesToBeBetween",
                    {"column": helper, "min_value": 0, "max_value": 1e-9}, col)
        elif kind == "suppressed_small_counts":
            for col in spec.get("columns", counts):
                checked = col
                if not national and col in data.columns:
                    from gbvstats.publish.audit import national_area

                    checked = f"{HELPER}subnational_{col}"
                    if "area" in data.columns:
                        data[checked] = data[col].where(~data["area"].map(national_area).astype(bool))
                    else:  # a national table: nothing to check
                        data[checked] = data[col].where(data[col].isna())
                add(kind, spec, f"{kind}:{col}", "ExpectColumnValuesToNotBeInSet",
                    {"column": checked, "value_set": list(range(1, threshold + 1))}, col,
                    threshold=threshold)
        elif kind == "rates_consistent":
            for rate, d in rates.items():
                absent = [c for c in (rate, d["numerator"], d["denominator"]) if c not in data.columns]
                if absent:
                    lacking(kind, f"{kind}:{rate}", absent[0], f"no column {absent[0]}")
                    continue
                tolerance = _rounding(data[rate])
                num = data[d["numerator"]].astype("float64")
                den = data[d["denominator"]].astype("float64")
                helper = f"{HELPER}residual_{rate}"
                data[helper] = (data[rate].astype("float64")
                                - d["multiplier"] * num / den.where(den != 0)).abs()
                add(kind, spec, f"{kind}:{rate}", "ExpectColumnValuesToBeBetween",
                    {"column": helper, "min_value": 0, "max_value": tolerance}, rate,
                    numerator=d["numerator"], denominator=d["denominator"],
                    multiplier=d["multiplier"], tolerance=_num(round(tolerance, 6)))
        elif kind == "rate_bounds":
            for col, (lo, hi) in (spec.get("bounds") or {}).items():
                add(kind, spec, f"{kind}:{col}", "ExpectColumnValuesToBeBetween",
                    {"column": col, "min_value": lo, "max_value": hi}, col, min=lo, max=hi)
        elif kind == "territory_grid":
            if "area" not in data.columns:
                lacking(kind, f"{kind}:areas", "area", "no column area")
                continue
            areas = _areas(reg, spec.get("territories", "oblast"))
            others = [d for d in dims if d != "area" and d in data.columns]
            combos = len(data[others].drop_duplicates()) if others else 1
            grid = {"areas": len(areas), "expected": len(areas) * combos,
                    "present": ", ".join(sorted(map(str, data["area"].dropna().unique())))}
            add(kind, spec, f"{kind}:areas", "ExpectColumnDistinctValuesToContainSet",
                {"column": "area", "value_set": sorted(areas)}, "area", **grid)
            add(kind, spec, f"{kind}:rows", "ExpectTableRowCountToEqual",
                {"value": len(areas) * combos}, None, **grid)
        elif kind == "year_on_year":
            ratio, base = float(spec.get("max_ratio", 3)), float(spec.get("min_base", 50))
            last = int(data["year"].iloc[0]) - 1 if len(data) else None
            on = [k for k in key if k != "year"]
            prev = previous.reset_index(drop=True) if previous is not None else None
            for col in spec.get("columns", counts):
                if col not in data.columns:
                    lacking(kind, f"{kind}:{col}", col, f"no column {col}")
                    continue
                if prev is None or not len(prev) or col not in prev.columns:
                    lacking(kind, f"{kind}:{col}", col, f"no {col} for {last} to compare with",
                            code="GBV-Q012")
                    continue
                before = data[on].merge(prev[[*on, col]], on=on, how="left")[col].astype("float64")
                now = data[col].astype("float64")
                ratio_now = (now + 1) / (before + 1)
                helper = f"{HELPER}yoy_{col}"
                data[helper] = ratio_now.map(lambda x: math.log(x) if x == x and x > 0 else None)
                data[helper] = data[helper].astype("float64").where((now >= base) | (before >= base))
                data[f"{HELPER}prev_{col}"] = before.values
                add(kind, spec, f"{kind}:{col}", "ExpectColumnValuesToBeBetween",
                    {"column": helper, "min_value": -math.log(ratio), "max_value": math.log(ratio)},
                    col, max_ratio=_num(ratio), min_base=_num(base), previous_year=last)
    return checks, data, missing


def suite_hash(checks: list[Check]) -> str:
    text = json.dumps([c.spec() for c in checks], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _codes(reg: Registry, column: str, meta: dict[str, Any] | None = None
           ) -> tuple[set[str] | None, str]:
    """The codes a column may hold: the schemas' code list of its dimension, else the codes
    the pipeline's own header labels (`-- codes.<column>:`, e.g. ind03's chains)."""
    if column == "area":
        codes = {c.sdmx_code for c in reg.territories().codes if getattr(c, "sdmx_code", "")}
        return codes, "territories (SDMX)"
    listed = CODELIST_OF.get(column, column)
    if column == "agency" and listed not in reg.codelists:
        return {f.agency for f in reg.versions()}, "agencies of the forms"
    if listed in reg.codelists:
        return reg.codelists[listed].codes_set(), listed
    declared = ((meta or {}).get("codes") or {}).get(column)
    if declared:
        return {str(c) for c in declared}, f"-- codes.{column}: of the pipeline"
    return None, listed


def _areas(reg: Registry, territories: str) -> set[str]:
    """SDMX area codes of the country and (for `oblast`) every oblast-level unit."""
    levels = {"country": ("country",), "oblast": ("country", "oblast")}[territories]
    return {c.sdmx_code for c in reg.territories().codes
            if getattr(c, "level", "") in levels and getattr(c, "sdmx_code", "")}


def _rounding(values: pd.Series) -> float:
    """Half a unit of the last decimal the published values show (+ a hair for floats)."""
    present = values.dropna().astype("float64")
    decimals = 0
    for d in range(0, 7):
        decimals = d
        if bool(((present * 10 ** d).round() - present * 10 ** d).abs().max() < 1e-6) if len(present) else True:
            break
    return 0.5 * 10 ** -decimals + 1e-9


# --- running ------------------------------------------------------------------------


def gx_context():
    """great-expectations, imported here only: usage statistics off before the import and
    in the context's config, an ephemeral context with in-memory stores and no Data Docs
    site (nothing written to disk, nothing loaded from another host), no progress bars."""
    started = time.perf_counter()
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("TQDM_DISABLE", "1")
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    imported = time.perf_counter() - started
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False))
    context = gx.get_context(project_config=config, mode="ephemeral")
    return gx, context, imported


def run_suites(tables: dict[str, tuple[pd.DataFrame, dict[str, Any]]], year: int, reg: Registry,
               threshold: int, previous: dict[str, pd.DataFrame] | None = None,
               root: Path | None = None, national: bool = False) -> QualityReport:
    """Run each table's suite on the table as published (`tables`: name -> (protected
    frame, pipeline meta)); `previous` holds last year's tables for year_on_year;
    `national`: national small counts are confidential too (see `compile_suite`)."""
    report = QualityReport(year)
    suites, report.problems = load_suites(root)
    started = time.perf_counter()
    gx, context, report.seconds["import"] = gx_context()
    report.gx_version = gx.__version__
    import great_expectations.expectations as gxe

    source = context.data_sources.add_pandas("published")
    for name, (frame, meta) in tables.items():
        if name not in suites:
            report.unchecked.append(name)
            continue
        path, items = suites[name]
        checks, data, decided = compile_suite(name, items, frame, meta, reg, threshold,
                                              (previous or {}).get(name), path, national)
        report.suites[name] = suite_hash(checks)
        report.results += decided
        if not checks:
            continue
        suite = gx.ExpectationSuite(name=name)
        for c in checks:
            suite.add_expectation(getattr(gxe, c.gx_type)(**c.kwargs, meta={"check": c.id}))
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe(name)
        outcome = batch.get_batch(batch_parameters={"dataframe": data}).validate(
            suite, result_format="COMPLETE")
        by_id = {c.id: c for c in checks}
        for r in outcome.results:
            check = by_id[r.expectation_config.meta["check"]]
            report.results.append(_result(name, check, r, data))
    report.seconds["total"] = time.perf_counter() - started
    return report


def _result(table: str, check: Check, r, data: pd.DataFrame) -> Result:
    result = r.result or {}
    indexes = result.get("unexpected_index_list") or []
    shown = check.column
    sample = []
    for i in list(indexes)[:SAMPLE]:
        idx = i if not isinstance(i, dict) else i.get("index", next(iter(i.values())))
        if idx in data.index:
            row = data.loc[idx]
            keep = [c for c in ("year", "area", *_dims_of(data)) if c in data.columns]
            if shown and shown in data.columns:
                keep.append(shown)
            prev = f"{HELPER}prev_{shown}"
            item = {c: _jsonable(row[c]) for c in keep}
            if prev in data.columns:
                item[f"{shown} (previous year)"] = _jsonable(row[prev])
            sample.append(item)
    if not sample and result.get("partial_unexpected_list"):
        sample = [_jsonable(x) for x in result["partial_unexpected_list"][:SAMPLE]]
    observed = result.get("observed_value")
    count = result.get("unexpected_count")
    if check.gx_type == "ExpectTableRowCountToEqual":
        count = None if r.success else abs(int(observed or 0) - int(check.kwargs["value"]))
    if check.gx_type == "ExpectColumnDistinctValuesToContainSet" and not r.success:
        lacking = sorted(set(check.kwargs["value_set"]) - set(observed or []))
        count, sample = len(lacking), [{"missing": x} for x in lacking[:SAMPLE]]
    return Result(table, check, bool(r.success), observed, None if count is None else int(count), sample)


def _dims_of(data: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [c for c in data.columns if not c.startswith(HELPER) and c not in ("year", "territory", "area")
            and not pd.api.types.is_numeric_dtype(data[c])]


def _jsonable(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if value != value:
            return None
        return int(value) if value.is_integer() else round(value, 6)
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (str, int, bool)):
        return value
    return str(value)


def _sample_text(sample: list) -> str:
    return "; ".join(json.dumps(s, ensure_ascii=False, default=str) for s in sample[:3]) or "-"


def _num(x: float):
    return int(x) if float(x).is_integer() else x


# --- the warehouse ------------------------------------------------------------------


def store(con, report: QualityReport, consolidation_run: int | None,
          agencies: dict[str, str]) -> int:
    """Write the results as one quality run; returns its number."""
    import pandas as pd

    from gbvstats.consolidate.run import _now

    run_id = con.execute("SELECT COALESCE(max(run_id), 0) + 1 FROM quality_runs").fetchall()[0][0]
    when = _now()
    rows = [{
        "run_id": run_id, "year": report.year, "checked_at": when,
        "consolidation_run": consolidation_run, "table_name": r.table,
        "suite_hash": report.suites.get(r.table, ""), "expectation": f"{r.table}.{r.check.id}",
        "expectation_type": r.check.gx_type, "column_name": r.check.column,
        "severity": r.severity,
        "success": bool(r.success),
        "observed": json.dumps(_jsonable(r.observed), ensure_ascii=False, default=str)
        if r.observed is not None else (r.reason or None),
        "unexpected_count": r.unexpected_count,
        "unexpected_sample": json.dumps(r.sample, ensure_ascii=False, default=str),
        "kwargs": json.dumps(_jsonable(r.check.kwargs), ensure_ascii=False, default=str),
        "agencies": agencies.get(r.table, ""), "gx_version": report.gx_version,
    } for r in report.results]
    if rows:
        con.register("quality_rows", pd.DataFrame(rows))
        try:
            con.execute("INSERT INTO quality_runs BY NAME SELECT * FROM quality_rows")
        finally:
            con.unregister("quality_rows")
    report.run_id = run_id
    return run_id


def table_agencies(metas: dict[str, dict[str, Any]], reg: Registry) -> dict[str, str]:
    """Agencies whose forms each table is built from (the pipeline's `-- sources:`)."""
    import re

    codes = reg.form_codes()
    out = {}
    for name, meta in metas.items():
        found = {reg.get(c).agency for c in codes
                 if re.search(rf"(?<![A-Z-]){re.escape(c)}(?![A-Z-])", meta.get("sources", ""))}
        out[name] = ",".join(sorted(found))
    return out
