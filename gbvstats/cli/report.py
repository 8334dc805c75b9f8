"""The annual report: `report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import JsonOpt, app, lang_of, print_json, t_


@app.command("report")
def report_cmd(
    year: Annotated[int, typer.Option("--year", help="Year of the report.")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="HTML file to write (default: report_<year>_<lang>.html).")] = None,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="Language of the report and messages: ru, ky or en (default: env GBVSTATS_LANG, else the locale).")] = None,
    years_back: Annotated[int | None, typer.Option(
        "--years-back", min=1, max=30,
        help="Years in the tables over time, ending with --year (default: 5, from pipelines/report.yaml).")] = None,
    published: Annotated[list[Path] | None, typer.Option(
        "--published", help="Folder of published tables (what `publish --out` wrote), searched two levels "
                            "down; repeat for several (default: data/published).")] = None,
    pdf: Annotated[Path | None, typer.Option(
        "--pdf", help="Also print the report to this PDF with a headless Chromium (env GBVSTATS_CHROMIUM, else on the PATH).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The annual report from published (protected) tables: one self-contained HTML page, and a PDF."""
    from gbvstats.report import ReportError, make_report

    chosen = lang_of(lang)
    out = out or Path(f"report_{year}_{chosen}.html")
    try:
        result = make_report(year, out, chosen, years_back, published, pdf)
    except ReportError as exc:
        if as_json:
            print_json({"error": exc.message(chosen), "exit_code": exc.code,
                        "findings": [f.to_dict(chosen) for f in exc.findings]})
            raise typer.Exit(exc.code) from None
        for f in exc.findings:
            typer.echo(f"{f.severity} {f.code} {f.message(chosen)}", err=True)
        typer.echo(f"error: {exc.message(chosen)}", err=True)
        raise typer.Exit(exc.code) from None
    except OSError as exc:
        typer.echo("error: " + t_("report.error.write", chosen, path=exc.filename or out,
                                  problem=exc.strerror or exc), err=True)
        raise typer.Exit(2) from None
    model = result.model
    years = f"{model.years[0]}-{model.years[-1]}" if model.years else str(year)
    if as_json:
        print_json({"html": str(result.html), "pdf": str(result.pdf) if result.pdf else None,
                    "pdf_error": result.pdf_error, "year": year, "years": model.years,
                    "missing_years": model.missing_years, "sections": [s.id for s in model.sections],
                    "publications": [{"year": p.year, "folder": p.name, "manifest_sha256": p.manifest_sha256,
                                      "tables": p.tables} for p in model.publications],
                    "findings": [f.to_dict(chosen) for f in result.findings],
                    "exit_code": result.exit_code})
        raise typer.Exit(result.exit_code)
    for f in result.findings:
        typer.echo(f"{f.severity} {f.code} {f.message(chosen)}", err=True)
    typer.echo(t_("report.wrote", chosen, path=result.html, sections=len(model.sections), years=years))
    if result.pdf is not None:
        typer.echo(t_("report.wrote_pdf", chosen, path=result.pdf))
    if result.pdf_error:
        typer.echo(f"error: {result.pdf_error}", err=True)
    raise typer.Exit(result.exit_code)
