"""Disclosure control of a year's tables, as publication runs it and as `publish --audit`
reports it.

For each table: its declarations (the pipeline header's `counts`, `rates`, `sums`; the
breakdowns of its dimensions from the code lists), then `sdc.protect_table` (primary and
secondary suppression, then the LP audit). The result is a `Report`: data first (counts
per table, every confidential cell with the interval an attacker can narrow it to), then
findings (GBV-D001 exact, D002 under-protected, D003 not solved, D004 relations that do not
hold), then text. Publication refuses when the report is not safe; the manifest gets the
counts only, never a confidential value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.publish.audit import Protection, TableAudit
from gbvstats.publish.relations import Declarations, Hierarchy

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.publish.sdc import Protected


class CodeListError(ValueError):
    """A code list the breakdowns come from does not load."""


@cache
def _codelists(root: str) -> dict[str, Any]:
    from gbvstats.schema.model import SchemaLoadError, codelist_files, load_codelist

    out = {}
    for path in codelist_files(Path(root)):
        try:
            cl = load_codelist(path)
        except SchemaLoadError as exc:
            raise CodeListError(f"{exc.path}: {exc.key}: {exc.problem}") from None
        out[cl.id] = cl
    return out


def hierarchies(dims: list[str], schemas_root: Path | None = None) -> dict[str, list[Hierarchy]]:
    """Each dimension's breakdowns from the code lists under `schemas_root`."""
    from types import SimpleNamespace

    from gbvstats.paths import schemas_dir
    from gbvstats.publish.relations import registry_hierarchies

    lists = _codelists(str(schemas_root or schemas_dir()))
    return registry_hierarchies(dims, SimpleNamespace(codelists=lists))


def declarations(meta: dict[str, Any], frame: pd.DataFrame, schemas_root: Path | None = None) -> Declarations:
    """What the pipeline header and the code lists say about a table."""
    from gbvstats.publish.relations import dimensions

    counts = [c for c in meta.get("counts", []) if c in frame.columns]
    rates = {r: d for r, d in meta.get("rates", {}).items() if r in frame.columns}
    dims = dimensions(frame, [*counts, *rates])
    return Declarations(counts, rates, meta.get("sums", {}), hierarchies(dims, schemas_root))


@dataclass
class Report:
    """The disclosure audit of a year's tables."""

    year: int
    protection: Protection
    tables: dict[str, TableAudit] = field(default_factory=dict)

    @property
    def safe(self) -> bool:
        return all(not a.failures for a in self.tables.values())

    def summary(self) -> dict[str, Any]:
        """For the manifest: settings and counts, no confidential value."""
        return {"method": "LP audit (HiGHS): min and max of every suppressed confidential count",
                "threshold": self.protection.threshold,
                "required_width": {"threshold_multiple": self.protection.threshold_multiple,
                                   "value_percent": self.protection.value_percent},
                "least_width": self.protection.required(0),
                "safe": self.safe, "tables": {n: a.summary() for n, a in self.tables.items()}}

    def findings(self) -> list:
        from gbvstats.catalogue import Finding

        out = []
        for name, audit in self.tables.items():
            out += audit.findings()
            if audit.not_holding:
                out.append(Finding("GBV-D004", params={"table": name, "count": len(audit.not_holding),
                                                       "example": audit.not_holding[0]}))
        return out

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """Everything, for `publish --audit --json`: every confidential cell with its
        value and interval (for the NSC's eyes: this is not a publication)."""
        return {"year": self.year, **self.summary(),
                "cells": [a.to_dict() for t in self.tables.values() for a in t.audited],
                "findings": [f.to_dict(lang) for f in self.findings()]}

    def failures(self) -> int:
        return sum(len(a.failures) for a in self.tables.values())


def protect_tables(tables: dict[str, pd.DataFrame], described: dict[str, dict[str, Any]],
                   protection: Protection, year: int, schemas_root: Path | None = None,
                   engine: str = "auto") -> tuple[dict[str, Protected], Report]:
    """Protect every table; the protected tables and the audit report. Tables that
    publish the same figures (`relations.links`) are protected and audited as one: a
    figure is hidden in all of them or in none, and the attacker may use all of them."""
    import time

    from gbvstats.publish import relations, sdc

    frames = {n: f.reset_index(drop=True) for n, f in tables.items()}
    decls = {n: declarations(described[n], f, schemas_root) for n, f in frames.items()}
    models = {n: relations.build(n, frames[n], decls[n]) for n in frames}
    found = relations.links(models)
    done: dict[str, Protected] = {}
    report = Report(year, protection)
    for group in _linked_groups(list(frames), found):
        start = time.perf_counter()
        if len(group) == 1:
            model, offsets = models[group[0]], {group[0]: 0}
        else:
            model, offsets = relations.combine([models[n] for n in group],
                                               [lk for lk in found if lk.a in group])
        hidden, audit = sdc.protect_model(model, protection, None, engine)
        seconds = time.perf_counter() - start
        for name in group:
            first, size = offsets[name], len(models[name].rows)
            mine = {(r - first, c) for r, c in hidden if first <= r < first + size}
            table = sdc.table_audit(name, model, hidden, audit, seconds, [g for g in group if g != name])
            frame, mask = sdc.masked(frames[name], models[name].counts, list(decls[name].rates), mine)
            done[name] = sdc.Protected(frame, mask, mine, table)
    for name in frames:  # in the tables' order
        report.tables[name] = done[name].audit
    return {n: done[n] for n in frames}, report


def _linked_groups(names: list[str], found) -> list[list[str]]:
    """The tables, grouped where links join them (each group in the tables' order)."""
    group = {n: {n} for n in names}
    for link in found:
        merged = group[link.a] | group[link.b]
        for n in merged:
            group[n] = merged
    out, seen = [], set()
    for n in names:
        if n not in seen:
            members = [m for m in names if m in group[n]]
            seen |= set(members)
            out.append(members)
    return out


def audit_year(warehouse_path: Path, year: int, protection: Protection,
               pipelines_root: Path | None = None) -> Report:
    """What `publish` would suppress for `year`, audited; nothing is written."""
    from gbvstats.publish.tables import metas, read_tables

    described = metas(pipelines_root)
    tables = {n: f for n, f in read_tables(Path(warehouse_path), year).items() if n in described and len(f)}
    return protect_tables(tables, described, protection, year)[1]



# --- for `publish`: errors as PublishError (exit 2 bad settings, 1 unsafe) ---------------


def settings(threshold: int | None, lang: str = "en") -> Protection:
    """schemas/disclosure.yaml, with `threshold` (the command line's) in place of its own."""
    from gbvstats.catalogue import Finding
    from gbvstats.i18n import t
    from gbvstats.publish.audit import DisclosureSettingsError, load_protection
    from gbvstats.publish.tables import PublishError

    if threshold is not None and threshold < 0:
        raise PublishError(t("publish.bad_threshold", lang, threshold=threshold), 2)
    try:
        return load_protection(threshold=threshold)
    except DisclosureSettingsError as exc:
        finding = Finding("GBV-D005", file=str(exc.path),
                          params={"file": exc.path, "key": exc.key, "problem": exc.problem})
        raise PublishError(f"{finding.code} {finding.message(lang)}", 2) from None


def protect_for_publication(tables: dict[str, pd.DataFrame], described: dict[str, dict[str, Any]],
                            protection: Protection, year: int, lang: str = "en",
                            ) -> tuple[dict[str, Protected], Report]:
    """`protect_tables`, refusing (PublishError, exit 1) when the audit fails and (exit 2)
    when the code lists do not load."""
    from gbvstats.i18n import t
    from gbvstats.publish.tables import PublishError

    try:
        done, report = protect_tables(tables, described, protection, year)
    except CodeListError as exc:
        raise PublishError(t("publish.codelists", lang, problem=str(exc)), 2) from None
    if not report.safe:
        raise PublishError(report_text(report, lang), 1)
    return done, report


def report_text(report: Report, lang: str = "en") -> str:
    """The audit's failures, one line each, after a line saying what they mean."""
    from gbvstats.i18n import t

    lines = [f"{f.severity} {f.code} {f.message(lang)}" for f in report.findings() if f.severity == "error"]
    return "\n".join([t("publish.unsafe", lang, year=report.year, cells=report.failures()), *lines])
