"""The NSC's annual report (`gbvstats report`): one self-contained HTML page (and its PDF)
built from published, protected tables only.

    spec.py     what the report shows, as data (pipelines/report.yaml)
    sources.py  the published folders: manifests, tables, OBS_STATUS
    build.py    the report as a model in one language: sections, tables, charts, footnotes
    charts.py   matplotlib -> inline SVG (imported by this command only)
    html.py     the model -> one HTML page
    pdf.py      the page -> PDF with a headless Chromium
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gbvstats.catalogue import Finding

if TYPE_CHECKING:
    from gbvstats.report.build import ReportModel
    from gbvstats.schema.model import Registry


class ReportError(Exception):
    """The report cannot be made: a message key of messages/report.yaml, the findings that
    explain it, and the CLI exit code."""

    def __init__(self, key: str, code: int = 2, findings: list[Finding] | None = None, **params: object):
        self.key, self.code, self.params, self.findings = key, code, params, findings or []
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gbvstats.i18n import t

        return t(f"report.error.{self.key}", lang, **self.params)


@dataclass
class ReportResult:
    html: Path
    model: ReportModel
    pdf: Path | None = None
    pdf_error: str | None = None  # why the PDF was not written (message in the report's language)
    findings: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 2 if self.pdf_error else 0


def default_published() -> Path:
    from gbvstats.paths import home

    return home() / "data" / "published"


def prepare(year: int, lang: str = "ru", years_back: int | None = None,
            published: list[Path] | None = None, spec_path: Path | None = None,
            reg: Registry | None = None, pipelines_root: Path | None = None) -> ReportModel:
    """The report of `year` as a model (charts not drawn yet), from the publications under
    `published`. Raises `ReportError` when it cannot be made."""
    from gbvstats.report.build import build_report
    from gbvstats.report.sources import find_publications
    from gbvstats.report.spec import SpecError, load_spec
    from gbvstats.schema.model import registry

    try:
        spec = load_spec(spec_path)
    except SpecError as exc:
        finding = Finding("GBV-N001", file=str(exc.path), cell=exc.key,
                          params={"file": str(exc.path), "key": exc.key, "problem": exc.problem})
        raise ReportError("spec", 2, [finding], file=exc.path) from None
    roots = [Path(p) for p in (published or [default_published()])]
    lib = find_publications(roots)
    if year not in lib.years():
        finding = Finding("GBV-N007", params={"year": year, "roots": ", ".join(str(r) for r in roots)})
        raise ReportError("no_year", 2, [*lib.findings, finding], year=year,
                          roots=", ".join(str(r) for r in roots))
    model = build_report(spec, lib, year, lang, reg or registry(), years_back, pipelines_root)
    bad = [f for f in model.findings if f.code == "GBV-N002"]
    if bad:
        raise ReportError("spec_tables", 2, bad, file=spec_path or "pipelines/report.yaml")
    return model


def draw(model: ReportModel) -> ReportModel:
    """Every chart of the model drawn to its inline SVG (matplotlib)."""
    from gbvstats.report.charts import render_svg

    for section in model.sections:
        for ind in section.indicators:
            if ind.chart is not None:
                ind.chart.svg = render_svg(ind.chart)
    return model


def make_report(year: int, out: Path | str, lang: str = "ru", years_back: int | None = None,
                published: list[Path] | None = None, pdf: Path | str | None = None,
                spec_path: Path | None = None, reg: Registry | None = None,
                pipelines_root: Path | None = None) -> ReportResult:
    """Build the report of `year` from the publications under `published` (default
    `data/published`) and write it to `out` (HTML), and to `pdf` when asked. Raises
    `ReportError` when it cannot be made; nothing is written then."""
    from gbvstats.i18n import t
    from gbvstats.report.html import render
    from gbvstats.report.pdf import PdfError, print_pdf

    out = Path(out)
    for target in (out, pdf):
        if target is not None and Path(target).is_dir():
            raise ReportError("out_dir", 2, path=target)
    model = draw(prepare(year, lang, years_back, published, spec_path, reg, pipelines_root))
    _write(out, render(model))
    result = ReportResult(out, model, findings=model.findings)
    if pdf is not None:
        try:
            result.pdf = print_pdf(out, Path(pdf), when=_timestamp(model))
        except PdfError as exc:
            result.pdf_error = t(f"report.pdf.{exc.key}", lang, **exc.params)
    return result


def _timestamp(model):
    """The report's own time: the latest timestamp of the releases it shows (never the
    clock), so the same publications give the same PDF."""
    from datetime import datetime

    stamps = [p.as_of for p in model.publications if p.as_of]
    return datetime.fromisoformat(max(stamps)) if stamps else None


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a temporary file beside it, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.parent / f".{path.name}.{os.getpid()}.part"
    try:
        part.write_text(text, encoding="utf-8", newline="\n")
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)
