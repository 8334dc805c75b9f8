"""The publication gate: what must hold before a year's tables are published.

`gbvstats publish --year Y` runs it first and refuses (exit 1) while any item blocks;
`gbvstats gate --year Y` runs it alone. It blocks while:
- the year is not consolidated, or returns arrived after its last consolidation (G009, G010);
- a current return carries an error, or a control of error severity fails or cannot run
  (G001, G002, G003);
- a warning (consolidation control: reconciliation, hierarchy, outlier; or a rule of a
  form on a return) is neither explained by the agency nor closed by an NSC decision
  (G004, G005); `control_items` (migration 012) is the one definition of open, shared
  with ind08;
- expected returns of a table's source forms are missing beyond the table's limit in
  `pipelines/gate.yaml` (G006);
- a table fails its expectation suite (G007, G008), or has none (G011): the suites are run
  here, on the tables as they would be published, and stored (`quality_runs`).
Every item says how it is resolved. Items of severity error block; the rest are listed.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.paths import load_yaml, pipelines_dir, sql_dir

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.publish.quality import QualityReport
    from gbvstats.store.warehouse import Warehouse

WG = "gbvstats"  # the command users type


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "gate" / name).read_text(encoding="utf-8")


@dataclass
class GateReport:
    year: int
    items: list[Finding] = field(default_factory=list)
    quality: QualityReport | None = None
    consolidation_run: int | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.items if f.severity == "error"]

    @property
    def blocked(self) -> bool:
        return bool(self.blocking)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        counts: dict[str, int] = {}
        for f in self.items:
            counts[f.code] = counts.get(f.code, 0) + 1
        return {"year": self.year, "blocked": self.blocked, "blocking": len(self.blocking),
                "consolidation_run": self.consolidation_run, "counts": counts,
                "items": [_item_dict(f, lang) for f in self.items],
                "quality": self.quality.to_dict(lang) if self.quality else None,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}

    def manifest(self, lang: str = "en") -> dict[str, Any]:
        """What the publication manifest says of the gate. The manifest is published, so
        it names each item (code, rule, territory, period, element, table) but carries no
        value: the controls compare raw counts of returns, which disclosure control has not
        seen (a count of 2 in a reconciliation would be published otherwise)."""
        keep = ("item_key", "unit", "unit_name", "period", "item", "table", "expectation", "forms")
        return {"blocked": self.blocked, "blocking": len(self.blocking),
                "consolidation_run": self.consolidation_run,
                "items": [{"code": f.code, "severity": f.severity, "rule_id": f.rule_id,
                           "title": f.title.get(lang) or f.title["en"],
                           **{k: f.params[k] for k in keep if f.params.get(k) not in (None, "")}}
                          for f in self.items],
                "quality": {"run_id": self.quality.run_id, "gx_version": self.quality.gx_version,
                            "tables": self.quality.summary()} if self.quality else None}


def _item_dict(f: Finding, lang: str) -> dict[str, Any]:
    return {"code": f.code, "severity": f.severity, "blocking": f.severity == "error",
            "rule_id": f.rule_id, "item_key": f.params.get("item_key"),
            "title": f.title.get(lang) or f.title["en"], "message": f.message(lang),
            "command": f.params.get("command"), "params": f.params}


def limits(root: Path | None = None) -> dict[str, Any]:
    """pipelines/gate.yaml: the share of missing returns each table tolerates."""
    path = (root or pipelines_dir()) / "gate.yaml"
    data = load_yaml(path.read_text(encoding="utf-8")) if path.exists() else {}
    missing = (data or {}).get("missing_returns") or {}
    return {"default": float(missing.get("default", 0)),
            "tables": {k: float(v) for k, v in (missing.get("tables") or {}).items()}}


def run_gate(wh: Warehouse, year: int, threshold: int,
             protected: dict[str, tuple[pd.DataFrame, dict[str, Any]]] | None = None,
             quality: bool = True, lang: str = "en") -> GateReport:
    """Every check of the gate for `year`. `protected` are the tables as they will be
    published (name -> (frame, pipeline meta)); read and protected here when not given.
    Runs the expectation suites, stores them and refreshes ind08, then lists the items."""
    report = GateReport(year)
    started = time.perf_counter()
    run = wh.read(lambda con: _last_run(con, year))  # run again if it gave way to a writer
    if run is None:
        report.items.append(Finding(code="GBV-G009", params={
            "year": year, "command": f"{WG} consolidate --year {year}"}))
        return report
    report.consolidation_run = run["run_id"]
    if quality:
        report.quality = check_quality(wh, year, threshold, protected, run["run_id"])
    report.seconds["quality"] = time.perf_counter() - started

    def read(con):
        return (_stale(con, year, run), con.execute(_sql("items.sql"), [year]).df(),
                con.execute(_sql("explain_targets.sql"), [year]).df(),
                con.execute(_sql("not_evaluable.sql"), [year]).df(),
                con.execute(_sql("missing.sql"), [year]).df())

    stale, items, targets, evaluable, completeness = wh.read(read)
    if stale:
        report.items.append(Finding(code="GBV-G010", params={
            "year": year, "events": stale, "run_id": run["run_id"],
            "finished_at": str(run["finished_at"])[:19],
            "command": f"{WG} consolidate --year {year}"}))
    explain = {}
    for row in targets.itertuples():
        explain.setdefault(row.item_key, []).append((row.agency, int(row.submission_id)))
    report.items += _control_items(items, explain, year)
    report.items += _missing_items(items, completeness, year, wh.reg)
    report.items += _quality_items(items, report.quality, year)
    report.items += [Finding(code="GBV-G022", rule_id=r.rule_id, params={
        "rule_id": r.rule_id, "count": int(r.items), "reason": r.reason}) for r in evaluable.itertuples()]
    order = {"error": 0, "warning": 1, "info": 2}
    report.items.sort(key=lambda f: (order[f.severity], f.code, f.rule_id or "", str(f.params.get("unit", ""))))
    report.seconds["total"] = time.perf_counter() - started
    return report


def check_quality(wh: Warehouse, year: int, threshold: int, protected=None,
                  consolidation_run: int | None = None) -> QualityReport:
    """Run the expectation suites on the tables as published, store the results as a
    quality run and refresh ind08 (which summarises them) for the year."""
    from gbvstats.consolidate.run import pipelines, run_pipeline
    from gbvstats.publish import disclosure, quality, tables

    described = tables.metas()
    if protected is None:
        protected = protect_tables(wh.path, year, threshold)
    previous = tables.read_tables(wh.path, year - 1)
    national = disclosure.settings(threshold).primary_national
    report = quality.run_suites(protected, year, wh.reg, threshold, previous, national=national)
    with wh.writer(create=False) as con:
        con.execute("BEGIN")
        try:
            quality.store(con, report, consolidation_run, quality.table_agencies(described, wh.reg))
            for p in pipelines():
                if p.id.startswith("ind08_"):
                    run_pipeline(con, p, year)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return report


def protect_tables(warehouse_path: Path, year: int, threshold: int
                   ) -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    """Every indicator table of the year as publish would write it (disclosure control as
    publish applies it, publish/disclosure.py): name -> (protected frame, pipeline meta)."""
    from gbvstats.publish import disclosure, tables

    described = tables.metas()
    chosen = {n: f for n, f in tables.read_tables(Path(warehouse_path), year).items()
              if n in described and len(f)}
    done, _ = disclosure.protect_tables(chosen, described, disclosure.settings(threshold), year)
    return {n: (p.frame, described[n]) for n, p in done.items()}


def _last_run(con, year: int) -> dict[str, Any] | None:
    import duckdb

    try:
        con.execute("SELECT 1 FROM consolidation_runs LIMIT 0")
    except duckdb.CatalogException:  # tables made elsewhere, never consolidated here
        return None
    rows = con.execute(
        "SELECT run_id, started_at, finished_at, detail FROM consolidation_runs "
        "WHERE year = ? AND coalesce(command, 'consolidate') = 'consolidate' "
        "ORDER BY run_id DESC LIMIT 1", [year]).fetchall()
    if not rows:
        return None
    run_id, started, finished, detail = rows[0]
    return {"run_id": run_id, "started_at": started, "finished_at": finished,
            "detail": json.loads(detail) if detail else {}}


def _stale(con, year: int, run: dict[str, Any]) -> str:
    """What was recorded after the run that changes the year's tables: returns of the year
    or of the year before (year-on-year controls), refused attempts (completeness)."""
    last = run["detail"].get("last_event")
    if last is None:  # a run recorded before runs kept it: compare times instead
        last = con.execute("SELECT coalesce(max(event_id), 0) FROM audit_log WHERE event_at <= ?",
                           [run["started_at"]]).fetchall()[0][0]
    rows = con.execute(_sql("stale.sql"), [year, last]).fetchall()
    return ", ".join(f"{n} {event}" for event, n in rows)


def _values(row) -> str:
    return row.item_values or "-"


def _control_items(items: pd.DataFrame, explain: dict, year: int) -> list[Finding]:
    from gbvstats.check.rules import FAIL_CODE
    from gbvstats.consolidate.reconcile import load_rules

    messages = {r.id: r.message for r in load_rules()}
    out = []
    for r in items[items["source"].isin(["control", "finding"])].itertuples():
        params = _params(r, year)
        if r.decision_lapsed and r.state == "open":
            out.append(Finding(code="GBV-G020", rule_id=r.rule_id, params={
                **params, "decision": r.decision, "decided_by": r.decided_by,
                "decided_on": str(r.decided_at)[:10], "decided_values": _decided_values(r),
                "item_values": _values(r)}))
        if r.state != "open":
            continue
        if r.source == "finding":
            code = "GBV-G001" if r.severity == "error" else "GBV-G005"
            command = (f"{WG} submit CORRECTED.xlsx --agency {r.submission_agency}" if r.severity == "error"
                       else f"{WG} explain {int(r.submission_id)} {r.rule_id} --text \"...\" --by NAME | "
                            + _decide_command(year, r.item_key))
            out.append(Finding(code=code, rule_id=r.rule_id, sheet=_sheet(r.item), cell=_cell(r.item),
                               params={**params, "command": command}))
            continue
        kind_code = FAIL_CODE.get(r.kind, "GBV-R007")
        inner = Finding(code=kind_code, rule_id=r.rule_id, params={
            **params, "rule_message": messages.get(r.rule_id) or r.reason or "",
            "reason": r.reason or ""})
        finding_text = {lang: _inner_text(inner, r, lang) for lang in ("en", "ru", "ky")}
        if r.status == "error":
            out.append(Finding(code="GBV-G003", rule_id=r.rule_id, params={
                **params, "command": f"{WG} schemas check"}))
        elif r.severity == "error":
            out.append(Finding(code="GBV-G002", rule_id=r.rule_id, params={
                **params, "finding": finding_text, "cause": kind_code,
                "command": f"{WG} history --form FORM --unit {r.unit} --period {r.period}; "
                           f"{WG} submit CORRECTED.xlsx --agency {r.agencies.split(',')[0]}"}))
        else:
            via = explain.get(r.item_key, [])
            explains = " | ".join(f"{WG} explain {sid} {r.rule_id} --text \"...\" --by NAME ({agency})"
                                  for agency, sid in via)
            command = " | ".join(x for x in (explains, _decide_command(year, r.item_key)) if x)
            out.append(Finding(code="GBV-G004", rule_id=r.rule_id, params={
                **params, "finding": finding_text, "cause": kind_code, "command": command}))
    return out


def _inner_text(inner: Finding, r, lang: str) -> str:
    """A control's own message: the rule kind's catalogue text with the values, else the
    stored reason (a kind whose template needs params the item lacks)."""
    text = inner.message(lang)
    text = text if "{" not in text else f"{r.rule_id} {r.unit_name} {r.period}: {r.reason}"
    return text.rstrip(". ")


def _params(r, year: int) -> dict[str, Any]:
    return {"year": year, "item_key": r.item_key, "rule_id": r.rule_id, "source": r.source,
            "kind": r.kind, "unit": r.unit, "unit_name": r.unit_name or r.unit or "",
            "period": r.period or "", "item": r.item, "left": _int(r.left_value),
            "right": _int(r.right_value), "z": "?" if r.score != r.score or r.score is None
            else f"{r.score:.1f}", "reason": r.reason or "", "agencies": r.agencies,
            "submission_id": _int(r.submission_id), "form": r.form if isinstance(r.form, str) else "",
            "cell": r.item, "scope_id": r.scope_id, "explanation": r.explanation,
            "decision": r.decision}


def _decide_command(year: int, key: str) -> str:
    return f"{WG} decide {year} {key} --decision accepted --note \"...\" --by NAME"


def _decided_values(r) -> str:
    return r.decided_values or "-"


def _missing_items(items: pd.DataFrame, completeness: pd.DataFrame, year: int, reg) -> list[Finding]:
    """Per table, per source form: the share of the form's expected returns that are
    missing and not decided, against the table's limit (pipelines/gate.yaml). A table over
    its limit blocks (G006); missing returns within every limit are listed once per form
    (G021)."""
    from gbvstats.publish import tables

    codes = reg.form_codes()
    limit = limits()
    open_missing = items[(items["source"] == "missing") & (items["state"] == "open")]
    if not len(open_missing):
        return []
    expected = {f: int(n) for f, n in zip(completeness["form"], completeness["expected"], strict=True)}
    lost = {f: open_missing[open_missing["rule_id"] == f] for f in open_missing["rule_id"].unique()}
    out, within = [], {}
    for name, meta in tables.metas().items():
        forms = [c for c in codes if c in lost and re.search(
            rf"(?<![A-Z-]){re.escape(c)}(?![A-Z-])", meta.get("sources", ""))]
        allowed = limit["tables"].get(name, limit["default"])
        for form in forms:
            pct = 100.0 * len(lost[form]) / max(expected.get(form, 0), 1)
            params = {"year": year, "table": name, "missing": len(lost[form]),
                      "expected": expected.get(form, 0), "forms": form, "pct": f"{pct:.1f}",
                      "limit": f"{allowed:g}", "units": _units(lost[form]),
                      "item_keys": lost[form]["item_key"].tolist()}
            if pct > allowed:
                out.append(Finding(code="GBV-G006", rule_id=form, params={
                    **params, "command": f"{WG} completeness --year {year} --agency "
                                         f"{lost[form]['agencies'].iloc[0]} --detail; {WG} submit ... | "
                                         f"{WG} decide {year} --rule {form} --decision accepted "
                                         f"--note \"...\" --by NAME"}))
            else:
                within.setdefault(form, (params, []))[1].append(f"{name} ({allowed:g}%)")
    for form, (params, names) in within.items():
        out.append(Finding(code="GBV-G021", rule_id=form, params={**params, "table": ", ".join(names)}))
    return out


def _units(lost: pd.DataFrame) -> str:
    units = ", ".join(f"{r.unit_name} {r.period} [{r.item_key}]" for r in lost.head(8).itertuples())
    return units + (f", ... ({len(lost) - 8} more)" if len(lost) > 8 else "")


def _quality_items(items: pd.DataFrame, quality: QualityReport | None, year: int) -> list[Finding]:
    out = []
    if quality is None:
        return out
    for problem in quality.problems:
        out.append(problem)
    for table in quality.unchecked:
        out.append(Finding(code="GBV-G011", params={
            "table": table, "command": f"add pipelines/expectations/{table}.yaml"}))
    keys = {}
    for r in items[items["source"] == "quality"].itertuples():
        keys[r.rule_id] = r
    for result in quality.failed:
        expectation = f"{result.table}.{result.check.id}"
        row = keys.get(expectation)
        inner = result.finding()
        text = {lang: inner.message(lang).rstrip(". ") for lang in ("en", "ru", "ky")}
        if result.severity == "error":
            out.append(Finding(code="GBV-G007", params={
                "table": result.table, "expectation": expectation, "finding": text,
                "cause": inner.code, "command": f"{WG} quality --year {year}"}))
        elif row is not None and row.state == "open":
            out.append(Finding(code="GBV-G008", params={
                "table": result.table, "expectation": expectation, "finding": text,
                "cause": inner.code, "item_key": row.item_key,
                "command": f"{WG} quality --year {year} | " + _decide_command(year, row.item_key)}))
    return out


def _sheet(item: str) -> str | None:
    return item.split("!")[0] if "!" in (item or "") else None


def _cell(item: str) -> str | None:
    return item.split("!")[1] if "!" in (item or "") else None


def _int(v):
    try:
        return None if v is None or v != v else int(v)
    except (TypeError, ValueError):
        return None


def now() -> datetime:
    from gbvstats.consolidate.run import _now

    return _now()
