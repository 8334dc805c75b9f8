"""Validation of one submission: read, type, and run the form's intra-form rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding, has_errors
from gbvstats.collect.reader import ReadResult, read_workbook, type_results
from gbvstats.periods import parse_period
from gbvstats.schema.model import Registry, registry

if TYPE_CHECKING:
    import pandas as pd


# a cell's content was refused (text, decimal, negative, Excel error, formula without value,
# a number beyond any count, an ambiguous separator)
REFUSED_VALUES = {"GBV-V001", "GBV-V002", "GBV-V003", "GBV-V004", "GBV-V006", "GBV-V020", "GBV-V021"}
BISHKEK = timedelta(hours=6)  # Kyrgyz Republic time, UTC+6 all year: the day a return arrives


@dataclass
class ValidationReport(ReadResult):
    rule_results: pd.DataFrame | None = None

    @property
    def verdict(self) -> str:
        if self.cells is None or self.form is None:
            return "unreadable"
        if has_errors(self.findings):
            return "errors"
        if any(f.severity == "warning" for f in self.findings):
            return "warnings"
        return "ok"

    def counts(self) -> dict[str, int]:
        out = {"error": 0, "warning": 0, "info": 0}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "file": str(self.path), "sha256": self.sha256, "verdict": self.verdict,
            "form": self.form.form if self.form else None,
            "version": self.form.version if self.form else None,
            "unit": self.header.get("unit"), "period": self.header.get("period"),
            "counts": self.counts(),
            "findings": [f.to_dict(lang) for f in self.findings],
        }


def validate_file(path: Path, reg: Registry | None = None) -> ValidationReport:
    return validate_files([path], reg)[0]


def validate_files(paths: list[Path], reg: Registry | None = None,
                   progress: Callable[[list[Path]], Iterable[Path]] = iter) -> list[ValidationReport]:
    """Read every file, then check the rules of each form version once for all its files.
    `progress` wraps the reading loop (a progress bar in the CLI)."""
    from gbvstats.check.rules import check_groups

    reg = reg or registry()
    reports = [ValidationReport(**read_workbook(Path(p), reg, typed=False).__dict__)
               for p in progress(list(paths))]
    now = datetime.now(UTC).replace(tzinfo=None)
    for report in reports:
        period_open(report, now)
    type_results(reports)
    by_form: dict[str, list[int]] = {}
    for i, r in enumerate(reports):
        if r.form is not None and r.cells is not None and len(r.cells):
            by_form.setdefault(r.form.key, []).append(i)
    groups = [(reports[indexes[0]].form, [(str(i), reports[i].cells, reports[i].path.name)
                                          for i in indexes]) for indexes in by_form.values()]
    refused = {str(i): {f"{f.sheet}!{f.cell}" for f in r.findings if f.code in REFUSED_VALUES}
               for i, r in enumerate(reports)}
    for sid, (results, findings) in (check_groups(groups, refused) if groups else {}).items():
        reports[int(sid)].rule_results = results
        reports[int(sid)].findings.extend(findings)
    return reports


def period_open(report: ReadResult, received: datetime) -> bool:
    """Add GBV-F050 when the return's period had not ended on the day it was received
    (`received` in UTC, naive, as the warehouse records it; the day is Bishkek's).
    Checked when validating (today) and again by the warehouse for the time of receipt."""
    text = report.header.get("period")
    if not text or any(f.code == "GBV-F050" for f in report.findings):
        return False
    end, day = parse_period(text).end, _day(received)
    if day > end:
        return False
    sheet, cell = report.header_cells.get("period", ("Title", "C5"))
    report.findings.append(Finding("GBV-F050", file=report.path.name, sheet=sheet, cell=cell, params={
        "period": text, "end": end.isoformat(), "date": day.isoformat()}))
    return True


def _day(received: datetime) -> date:
    if received.tzinfo is not None:
        received = received.astimezone(UTC).replace(tzinfo=None)
    return (received + BISHKEK).date()


def exit_code(reports: list[ValidationReport]) -> int:
    if any(r.verdict == "unreadable" for r in reports):
        return 2
    if any(r.verdict == "errors" for r in reports):
        return 1
    return 0
