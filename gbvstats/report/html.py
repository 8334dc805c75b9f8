"""The report model as one self-contained HTML page: inline CSS and inline SVG charts,
no script, no address of another host, no date; every text escaped. Printable on A4
(a page break before each section, tables and charts never cut across pages)."""

from __future__ import annotations

from html import escape

from gbvstats import __version__
from gbvstats.i18n import t
from gbvstats.report.build import (
    Cell,
    ChartModel,
    IndicatorModel,
    ReportModel,
    SectionModel,
    TableModel,
)

CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
  @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; } }
html { font-family: "DejaVu Sans", "Liberation Sans", "Noto Sans", Arial, sans-serif;
  font-size: 10pt; color: #1a1a1a; line-height: 1.35; }
body { max-width: 182mm; margin: 0 auto; padding: 6mm 4mm; }
@media print { body { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; } }
.cover { min-height: 60mm; }
.cover h1 { font-size: 20pt; margin: 8mm 0 2mm; line-height: 1.2; }
.cover .years { font-size: 15pt; color: #0072B2; margin: 0 0 6mm; }
.cover .publisher { font-size: 11pt; margin: 0 0 8mm; }
nav.contents ol { list-style: none; padding-left: 0; }
nav.contents ol ol { padding-left: 6mm; }
nav.contents li { margin: 1mm 0; }
section.chapter, section.about-data { break-before: page; }
h2 { font-size: 15pt; border-bottom: 2px solid #0072B2; padding-bottom: 1mm; margin: 0 0 4mm; }
h3 { font-size: 12pt; margin: 6mm 0 2mm; break-after: avoid; }
h2, h3, h4 { break-after: avoid; }
.about { margin: 0 0 3mm; }
dl.definition { display: grid; grid-template-columns: max-content 1fr; gap: 0.6mm 3mm;
  margin: 0 0 4mm; font-size: 9pt; break-inside: avoid; }
dl.definition dt { font-weight: bold; color: #333; }
dl.definition dd { margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 5mm; font-size: 8.5pt;
  break-inside: avoid; page-break-inside: avoid; }
caption { caption-side: top; text-align: left; font-weight: bold; padding: 0 0 1.5mm; }
th, td { border-bottom: 1px solid #c8ccd2; padding: 1mm 1.6mm; vertical-align: top; }
thead th { background: #e8eef6; border-top: 1px solid #8a94a3; border-bottom: 1px solid #8a94a3;
  text-align: center; font-weight: bold; }
tbody th { text-align: left; font-weight: normal; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.na, td.x { color: #555; }
tr.heading th { font-style: italic; font-weight: bold; padding-top: 1.8mm; }
tr.part th { padding-left: 5mm; }
tr.total th, tr.total td { font-weight: bold; }
sup.flag { font-size: 70%; color: #7a4a00; margin-left: 0.3mm; }
figure { margin: 2mm 0 5mm; break-inside: avoid; page-break-inside: avoid; }
figure svg { width: 100%; height: auto; max-height: 120mm; }
figcaption { font-weight: bold; font-size: 9pt; margin-bottom: 1mm; }
.notes { font-size: 8.5pt; color: #333; break-inside: avoid; }
.notes h4 { font-size: 9pt; margin: 2mm 0 1mm; }
.notes ul { margin: 0 0 2mm; padding-left: 4mm; }
article.indicator { margin-bottom: 6mm; }
.about-data table { break-inside: auto; }
"""


def render(model: ReportModel) -> str:
    lang = model.lang
    span = f"{model.years[0]}–{model.years[-1]}" if len(model.years) > 1 else str(model.year)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="gbvstats {escape(__version__)}">',
        f"<title>{escape(model.title)}, {escape(str(model.year))}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        '<header class="cover">',
        f"<h1>{escape(model.title)}</h1>",
        f'<p class="years">{escape(span)}</p>',
        f'<p class="publisher">{escape(model.publisher)}</p>',
        f"<p>{escape(t('report.cover', lang, year=model.year))}</p>",
        _contents(model),
        "</header>",
    ]
    parts += [_section(s, lang) for s in model.sections]
    parts += [_about_data(model), "</body>", "</html>", ""]
    return "\n".join(parts)


def _contents(model: ReportModel) -> str:
    lang = model.lang
    items = []
    for s in model.sections:
        sub = "".join(f'<li><a href="#{escape(i.anchor)}">{escape(i.number)} {escape(i.title)}</a></li>'
                      for i in s.indicators)
        items.append(f'<li><a href="#{escape(s.id)}">{s.number}. {escape(s.title)}</a><ol>{sub}</ol></li>')
    items.append(f'<li><a href="#about-data">{escape(t("report.about_data", lang))}</a></li>')
    return (f'<nav class="contents"><h2>{escape(t("report.contents", lang))}</h2>'
            f'<ol>{"".join(items)}</ol></nav>')


def _section(s: SectionModel, lang: str) -> str:
    out = [f'<section class="chapter" id="{escape(s.id)}">',
           f"<h2>{s.number}. {escape(s.title)}</h2>"]
    if s.about:
        out.append(f'<p class="about">{escape(s.about)}</p>')
    out += [_indicator(i, lang) for i in s.indicators]
    out.append("</section>")
    return "\n".join(out)


def _indicator(ind: IndicatorModel, lang: str) -> str:
    out = [f'<article class="indicator" id="{escape(ind.anchor)}">',
           f"<h3>{escape(ind.number)} {escape(ind.title)}</h3>"]
    if ind.about:
        out.append(f'<p class="about">{escape(ind.about)}</p>')
    rows = [("report.unit", ind.unit), ("report.scope", ind.scope), ("report.source", ind.source)]
    out.append('<dl class="definition">' + "".join(
        f"<dt>{escape(t(k, lang))}</dt><dd>{escape(v)}</dd>" for k, v in rows if v) + "</dl>")
    out += [_table(tbl, lang) for tbl in ind.tables]
    if ind.chart is not None:
        out.append(_figure(ind.chart, lang))
    notes = []
    if ind.notes:
        notes.append(f"<h4>{escape(t('report.methods', lang))}</h4><ul>"
                     + "".join(f"<li>{escape(n)}</li>" for n in ind.notes) + "</ul>")
    if ind.footnotes:
        notes.append(f"<h4>{escape(t('report.symbols', lang))}</h4><ul>"
                     + "".join(f"<li>{escape(n)}</li>" for n in ind.footnotes) + "</ul>")
    if notes:
        out.append('<div class="notes">' + "".join(notes) + "</div>")
    out.append("</article>")
    return "\n".join(out)


def _table(tbl: TableModel, lang: str) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in tbl.columns)
    body = []
    for row in tbl.rows:
        cls = f' class="{row.kind}"' if row.kind != "plain" else ""
        if row.kind == "heading":
            body.append(f'<tr{cls}><th scope="rowgroup" colspan="{len(tbl.columns) + 1}">'
                        f"{escape(row.label)}</th></tr>")
            continue
        body.append(f'<tr{cls}><th scope="row">{escape(row.label)}</th>'
                    + "".join(_cell(c) for c in row.cells) + "</tr>")
    caption = t("report.table", lang, n=tbl.number, caption=tbl.caption)
    return (f'<table class="{tbl.kind}"><caption>{escape(caption)}</caption>'
            f'<thead><tr><th scope="col">{escape(tbl.corner)}</th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _cell(c: Cell) -> str:
    cls = "num" + (" x" if c.hidden else "") + (" na" if not c.hidden and c.value is None else "")
    ref = f' data-cell="{escape(c.ref, quote=True)}"' if c.ref else ""
    marks = "".join(f'<sup class="flag">{escape(m)}</sup>' for m in c.marks)
    return f'<td class="{cls}"{ref}>{escape(c.text)}{marks}</td>'


def _figure(chart: ChartModel, lang: str) -> str:
    caption = t("report.figure", lang, n=chart.number, caption=chart.caption)
    hidden = any(h for s in chart.series for h in s.hidden)
    note = f'<p class="notes">{escape(t("report.chart_hidden", lang))}</p>' if hidden else ""
    return f"<figure><figcaption>{escape(caption)}</figcaption>{chart.svg}{note}</figure>"


def _about_data(model: ReportModel) -> str:
    lang = model.lang
    out = ['<section class="about-data" id="about-data">',
           f"<h2>{escape(t('report.about_data', lang))}</h2>",
           f"<p>{escape(t('report.about_text', lang))}</p>"]
    if model.missing_years:
        out.append(f"<p>{escape(t('report.missing_years', lang, years=', '.join(map(str, model.missing_years))))}</p>")
    for title, years in model.not_published:
        out.append(f"<p>{escape(t('report.not_published', lang, table=title, years=', '.join(map(str, years))))}</p>")
    rows = []
    for p in model.publications:
        status = t("report.provisional", lang) if p.provisional else ""
        rows.append(f"<tr><td>{p.year}</td><td>{escape(p.name)}</td>"
                    f'<td class="num">{"" if p.threshold is None else p.threshold}</td>'
                    f"<td>{escape(status)}</td><td><code>{escape(p.manifest_sha256[:16])}</code></td>"
                    f"<td>{escape(', '.join(p.tables))}</td></tr>")
    heads = [t(k, lang) for k in ("report.col.year", "report.col.folder", "report.col.threshold",
                                  "report.col.status", "report.col.manifest", "report.col.tables")]
    out.append(f'<table><caption>{escape(t("report.publications", lang))}</caption><thead><tr>'
               + "".join(f'<th scope="col">{escape(h)}</th>' for h in heads)
               + f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')
    out.append("</section>")
    return "\n".join(out)
