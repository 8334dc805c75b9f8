"""Validation of one submission: read, type, and run the form's intra-form rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalogue import has_errors
from .reader import ReadResult, read_workbook
from .schema import Registry, registry

if TYPE_CHECKING:
    import pandas as pd


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
    from .rules import check_submission

    reg = reg or registry()
    read = read_workbook(Path(path), reg)
    report = ValidationReport(**read.__dict__)
    if report.form is not None and report.cells is not None and len(report.cells):
        results, findings = check_submission(report.form, report.cells, file=report.path.name)
        report.rule_results = results
        report.findings.extend(findings)
    return report


def exit_code(reports: list[ValidationReport]) -> int:
    if any(r.verdict == "unreadable" for r in reports):
        return 2
    if any(r.verdict == "errors" for r in reports):
        return 1
    return 0
