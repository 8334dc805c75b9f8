"""The report as a model: sections, indicators, tables, charts, footnotes, in one language.

Every figure is a cell of a published table (`sources.py`), shown as published: a
suppressed cell (OBS_STATUS C) is its mark ("x"), never a number; a provisional,
estimated or break figure carries its mark; a cell the publications do not hold is "–".
Nothing is added up or derived here, so disclosure control holds for the report too.
Each cell keeps where it came from (`Cell.ref`, written as `data-cell` in the HTML):
`table/year/dim=code;.../measure`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.i18n import pick, t
from gbvstats.report.spec import Breakdown, Chart, Indicator, Ref, ReportSpec, YearsTable

if TYPE_CHECKING:
    from gbvstats.report.sources import Library, TableYear
    from gbvstats.schema.model import Registry

AREA_TOTAL, TOTAL = "KG", "_T"
NOT_DIMENSIONS = ("year", "territory")
NA = "–"  # not available: not published for that year, or not collected
CONFIDENTIAL = "C"


def total_code(dim: str) -> str:
    return AREA_TOTAL if dim == "area" else TOTAL


# --- the model --------------------------------------------------------------------------


@dataclass
class Cell:
    text: str  # as printed: "1 234", "x", "–", "12,5"
    ref: str = ""  # table/year/dims/measure; empty where no published row exists
    status: str = ""  # OBS_STATUS as published; "" where there is no such cell
    value: float | None = None  # the published figure, None when hidden or absent
    marks: list[str] = field(default_factory=list)  # flag marks beside the figure
    hidden: bool = False  # withheld by the publication (suppressed): its mark, never a number


@dataclass
class Row:
    label: str
    cells: list[Cell]
    kind: str = "plain"  # plain | heading | total | part


@dataclass
class TableModel:
    number: int
    caption: str
    corner: str  # header of the label column
    columns: list[str]
    rows: list[Row]
    kind: str  # years | breakdown


@dataclass
class Series:
    label: str
    values: list[float | None]
    hidden: list[bool]  # suppressed (shown "x" in the tables): not plotted


@dataclass
class ChartModel:
    number: int
    kind: str
    caption: str
    categories: list[str]
    series: list[Series]
    salt: str  # SVG ids are unique per chart and stable between runs
    lang: str
    decimals: int = 0
    svg: str = ""


@dataclass
class IndicatorModel:
    anchor: str
    number: str
    table: str
    title: str
    about: str
    scope: str
    unit: str
    source: str
    notes: list[str]
    tables: list[TableModel]
    chart: ChartModel | None
    footnotes: list[str]


@dataclass
class SectionModel:
    id: str
    number: int
    title: str
    about: str
    indicators: list[IndicatorModel]


@dataclass
class PublicationUsed:
    year: int
    name: str
    manifest_sha256: str
    threshold: int | None
    provisional: bool
    tables: list[str]
    as_of: str | None = None  # the release's own timestamp (its manifest), when it has one


@dataclass
class ReportModel:
    lang: str
    year: int
    years: list[int]  # shown, oldest first
    missing_years: list[int]
    title: str
    publisher: str
    sections: list[SectionModel]
    publications: list[PublicationUsed]
    not_published: list[tuple[str, list[int]]]  # (table title, years) inside the span
    findings: list[Finding]


# --- numbers ------------------------------------------------------------------------------


def format_number(value: float, decimals: int, lang: str) -> str:
    """1,234.5 in English; 1 234,5 in Russian and Kyrgyz (no-break space)."""
    text = f"{value:,.{decimals}f}"
    if lang == "en":
        return text
    return text.replace(",", "\u00a0").replace(".", ",")


def decimals_of(values: list[float]) -> int:
    """Digits after the point the published figures carry (0 for counts), at most 3."""
    for digits in range(4):
        if all(abs(v * 10**digits - round(v * 10**digits)) < 1e-6 for v in values):
            return digits
    return 3


def lower_first(text: str) -> str:
    """"Territory" -> "territory" inside a sentence; "GBV offences" stays as it is."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


# --- labels ---------------------------------------------------------------------------


class Labeller:
    """Labels of measures (the report definition), dimensions and codes (code lists)."""

    def __init__(self, spec: ReportSpec, reg: Registry, lang: str):
        self.spec, self.reg, self.lang = spec, reg, lang
        self._areas = {getattr(c, "sdmx_code", None): c for c in reg.territories().codes}

    def measure(self, table: str, column: str) -> str:
        labels = self.spec.labels.get(table, {}).get(column)
        return pick(labels, self.lang) if labels else column

    def codelist(self, dim: str):
        cid = self.spec.codelists.get(dim, "territory" if dim == "area" else dim)
        return self.reg.codelists.get(cid)

    def dimension(self, dim: str) -> str:
        if dim == "area" and "area" not in self.spec.codelists:
            return t("report.area", self.lang)
        cl = self.codelist(dim)
        return pick(cl.title, self.lang) if cl and cl.title else dim

    def code(self, dim: str, code: str) -> str:
        if dim == "area":
            found = self._areas.get(code)
            label = found.label if found else {}
            return label.get(self.lang) or label.get("ru") or label.get("en") or code
        cl = self.codelist(dim)
        found = cl.get(code) if cl else None
        return pick(found.label, self.lang) if found and found.label else code

    def order(self, dim: str, codes: set[str]) -> list[str]:
        """Total first, then the code list's order, then unknown codes sorted."""
        if dim == "area":
            known = [c for c in self._areas if c]
        else:
            cl = self.codelist(dim)
            known = [c.code for c in cl.codes] if cl else []
        rank = {c: i for i, c in enumerate(known)}
        return sorted(codes, key=lambda c: (c != total_code(dim), rank.get(c, len(rank)), c))

    def ref(self, table: str, ref: Ref, base: dict[str, str]) -> str:
        """A ref's own label, else the measure's with the codes it fixes beyond the table's."""
        if ref.label:
            return pick(ref.label, self.lang)
        extra = [self.code(d, v) for d, v in ref.where.items() if base.get(d) != v and v != total_code(d)]
        return ", ".join([self.measure(table, ref.measure), *extra])


# --- reading cells --------------------------------------------------------------------


def dimensions(ty: TableYear) -> list[str]:
    import pandas as pd

    return [c for c in ty.frame.columns if c not in NOT_DIMENSIONS and c not in ty.status
            and not pd.api.types.is_numeric_dtype(ty.frame[c])]


def match(ty: TableYear, where: dict[str, str], free: str | None = None):
    """Boolean mask of the rows at `where`, every other dimension at its total (where the
    table has one); `free` is left open. None when a fixed dimension is not in the table
    and its code is not the total (the table has no such breakdown)."""
    frame = ty.frame
    mask = frame.index == frame.index  # all True
    for dim, code in where.items():
        if dim == free:
            continue
        if dim not in frame.columns:
            if code == total_code(dim):
                continue  # a table without the breakdown holds only totals
            return None
        mask &= frame[dim].astype(str) == code
    for dim in dimensions(ty):
        if dim in where or dim == free:
            continue
        present = set(frame.loc[mask, dim].astype(str))
        if len(present) > 1 and total_code(dim) in present:
            mask &= frame[dim].astype(str) == total_code(dim)
    return mask


class Reader:
    """Cells of published tables, with the problems met recorded once each."""

    def __init__(self, lib: Library, spec: ReportSpec, lang: str):
        self.lib, self.spec, self.lang = lib, spec, lang
        self.findings: list[Finding] = []
        self._seen: set[tuple] = set()
        self.used_flags: dict[str, set[int]] = {}  # OBS_STATUS code -> years (for footnotes)
        self.thresholds: dict[int, int | None] = {}

    def _once(self, key: tuple, finding: Finding) -> None:
        if key not in self._seen:
            self._seen.add(key)
            self.findings.append(finding)

    def table_year(self, table: str, year: int) -> TableYear | None:
        ty = self.lib.get(table, year)
        if ty is not None:
            self.thresholds[year] = ty.threshold
        return ty

    def codes(self, table: str, years: list[int], where: dict[str, str], by: str) -> set[str]:
        found: set[str] = set()
        for year in years:
            ty = self.table_year(table, year)
            if ty is None or by not in ty.frame.columns:
                continue
            mask = match(ty, where, free=by)
            if mask is not None:
                found |= set(ty.frame.loc[mask, by].astype(str))
        return found

    def cell(self, table: str, year: int, measure: str, where: dict[str, str], key: str) -> Cell:
        ty = self.table_year(table, year)
        if ty is None:
            return Cell(NA)
        if measure not in ty.frame.columns:
            self._once(("col", table, measure, year), Finding("GBV-N004", file=ty.publication.name, params={
                "table": table, "column": measure, "year": year, "key": key}))
            return Cell(NA)
        mask = match(ty, where)
        rows = [] if mask is None else list(ty.frame.index[mask])
        if len(rows) > 1:
            self._once(("amb", table, year, key), Finding("GBV-N005", file=ty.publication.name, params={
                "table": table, "year": year, "key": key, "rows": len(rows),
                "where": _where_text(where)}))
            return Cell(NA)
        if not rows:
            return Cell(NA)
        i = rows[0]
        dims = {d: str(ty.frame.at[i, d]) for d in dimensions(ty)}
        ref = f"{table}/{year}/{';'.join(f'{d}={v}' for d, v in sorted(dims.items()))}/{measure}"
        status = str(ty.status[measure].get(i, "A")) if measure in ty.status else "A"
        raw = ty.frame.at[i, measure]
        value = None if _missing(raw) else float(raw)
        return self._shown(ref, status, value, table, year, key)

    def _shown(self, ref: str, status: str, value: float | None, table: str, year: int, key: str) -> Cell:
        flag = self.spec.flags.get(status)
        if status not in ("A", "") and flag is None:
            self._once(("flag", status), Finding("GBV-N011", params={"status": status, "table": table,
                                                                     "year": year, "key": key}))
        if status not in ("A", ""):
            self.used_flags.setdefault(status, set()).add(year)
        if status == CONFIDENTIAL or (flag is not None and flag.replaces):
            return Cell(flag.mark if flag else "x", ref, status, None, hidden=True)
        if value is None:
            return Cell(NA, ref, status, None)
        marks = [] if status in ("A", "") else [flag.mark if flag else status.lower()]
        return Cell("", ref, status, value, marks)


def _missing(value: Any) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def _where_text(where: dict[str, str]) -> str:
    return ", ".join(f"{d}={v}" for d, v in where.items()) or "-"


def _fill_numbers(cells: list[Cell], decimals: int, lang: str) -> None:
    for c in cells:
        if c.value is not None and not c.text:
            c.text = format_number(c.value, decimals, lang)


# --- building -------------------------------------------------------------------------


@dataclass
class Counter:
    tables: int = 0
    charts: int = 0


def build_report(spec: ReportSpec, lib: Library, year: int, lang: str, reg: Registry,
                 years_back: int | None = None, pipelines_root=None) -> ReportModel:
    """The report of `year` over the span `years_back` (the definition's, by default)."""
    from gbvstats.publish.tables import metas

    span = list(range(year - (years_back or spec.years_back) + 1, year + 1))
    published = lib.years()
    years = [y for y in span if y in published]
    missing = [y for y in span if y not in published]
    metas_ = metas(pipelines_root)
    labeller = Labeller(spec, reg, lang)
    reader = Reader(lib, spec, lang)
    counter = Counter()
    findings: list[Finding] = [Finding("GBV-N006", params={"year": y, "roots": ", ".join(
        r.name for r in lib.roots)}) for y in missing]
    sections, not_published = [], []
    for s_no, section in enumerate(spec.sections, start=1):
        indicators = []
        for i_no, ind in enumerate(section.indicators, start=1):
            meta = metas_.get(ind.table)
            if meta is None:
                findings.append(Finding("GBV-N002", params={
                    "table": ind.table, "key": f"sections.{s_no - 1}.indicators.{i_no - 1}.table"}))
                continue
            absent = [y for y in years if reader.table_year(ind.table, y) is None]
            if absent:
                not_published.append((_label(meta, "title", lang), absent))
                findings += [Finding("GBV-N003", params={"table": ind.table, "year": y}) for y in absent]
            indicators.append(_indicator(ind, meta, f"{s_no}.{i_no}", section.id, years, year,
                                         labeller, reader, reg, lang, counter))
        sections.append(SectionModel(section.id, s_no, pick(section.title, lang),
                                     pick(section.about, lang), indicators))
    used = {}
    for ty in lib.used():
        pub = ty.publication
        entry = used.setdefault((ty.year, pub.name), PublicationUsed(
            ty.year, pub.name, pub.manifest_sha256, pub.threshold,
            bool(pub.manifest.get("provisional")), [],
            (pub.manifest.get("release") or {}).get("timestamp")))
        entry.tables.append(ty.table)
    pubs = [used[k] for k in sorted(used)]
    for p in pubs:
        p.tables.sort()
    return ReportModel(lang, year, years, missing, pick(spec.title, lang), pick(spec.publisher, lang),
                       sections, pubs, not_published,
                       findings + lib.findings + reader.findings)


def _label(meta: dict, key: str, lang: str) -> str:
    return meta.get(f"{key}.{lang}") or meta.get(f"{key}.en") or meta.get(key, "")


def _indicator(ind: Indicator, meta: dict, number: str, section_id: str, years: list[int],
               year: int, labeller: Labeller, reader: Reader, reg: Registry, lang: str,
               counter: Counter) -> IndicatorModel:
    title = pick(ind.title, lang) if ind.title else _label(meta, "title", lang)
    reader.used_flags = {}
    tables = []
    if ind.years is not None and years:
        tables.append(_years_table(ind.table, ind.years, title, years, labeller, reader, lang, counter))
    for bd in ind.breakdowns:
        tables.append(_breakdown(ind.table, bd, title, year, labeller, reader, lang, counter))
    chart = None
    if ind.chart is not None and years:
        chart = _chart(ind.table, ind.chart, title, years, year, labeller, reader, lang, counter,
                       f"{section_id}-{ind.table}")
    notes = [n for n in [_label(meta, "notes", lang)] if n] + [pick(n, lang) for n in ind.notes]
    return IndicatorModel(
        anchor=f"{section_id}-{ind.table}", number=number, table=ind.table, title=title,
        about=pick(ind.about, lang), scope=pick(ind.scope, lang), unit=_label(meta, "unit", lang),
        source=pick(ind.source, lang) if ind.source else source_text(meta.get("sources", ""), reg, lang),
        notes=notes, tables=tables, chart=chart,
        footnotes=_footnotes(reader, tables, lang))


def source_text(sources: str, reg: Registry, lang: str) -> str:
    """The agencies behind a pipeline's `-- sources` forms: "Ministry of ... (MOI-FV)"."""
    import re

    forms = [f for f in dict.fromkeys(re.findall(r"\b[A-Z]+-[A-Z]+\b", sources)) if f in reg.form_codes()]
    if not forms:
        return sources
    agencies: dict[str, list[str]] = {}
    for form in forms:
        agencies.setdefault(reg.get(form).agency, []).append(form)
    names = reg.codelists.get("agency")
    out = []
    for agency, codes in agencies.items():
        found = names.get(agency) if names else None
        name = pick(found.label, lang) if found and found.label else agency
        out.append(f"{name} ({', '.join(codes)})")
    return "; ".join(out)


def _years_table(table: str, spec: YearsTable, title: str, years: list[int], labeller: Labeller,
                 reader: Reader, lang: str, counter: Counter) -> TableModel:
    rows: list[Row] = []
    by_measure: dict[str, list[Cell]] = {}
    for ref in spec.rows:
        where = {**spec.where, **ref.where}
        if ref.by is None:
            cells = [reader.cell(table, y, ref.measure, where, _key(ref)) for y in years]
            rows.append(Row(labeller.ref(table, ref, spec.where), cells))
            by_measure.setdefault(ref.measure, []).extend(cells)
            continue
        heading = pick(ref.heading, lang) if ref.heading else \
            f"{labeller.measure(table, ref.measure)}: {lower_first(labeller.dimension(ref.by))}"
        rows.append(Row(heading, [Cell("") for _ in years], "heading"))
        for code in labeller.order(ref.by, reader.codes(table, years, where, ref.by)):
            cells = [reader.cell(table, y, ref.measure, {**where, ref.by: code}, _key(ref)) for y in years]
            kind = "total" if code == total_code(ref.by) else "part"
            rows.append(Row(labeller.code(ref.by, code), cells, kind))
            by_measure.setdefault(ref.measure, []).extend(cells)
    for cells in by_measure.values():
        _fill_numbers(cells, decimals_of([c.value for c in cells if c.value is not None]), lang)
    counter.tables += 1
    caption = pick(spec.caption, lang) if spec.caption else title
    return TableModel(counter.tables, t("report.caption.years", lang, caption=caption, first=years[0],
                                        last=years[-1]),
                      t("report.indicator", lang), [str(y) for y in years], rows, "years")


def _breakdown(table: str, spec: Breakdown, title: str, year: int, labeller: Labeller, reader: Reader,
               lang: str, counter: Counter) -> TableModel:
    codes = set()
    for ref in spec.columns:
        codes |= reader.codes(table, [year], {**spec.where, **ref.where}, spec.by)
    rows = []
    columns: list[list[Cell]] = [[] for _ in spec.columns]
    for code in labeller.order(spec.by, codes):
        cells = []
        for j, ref in enumerate(spec.columns):
            cell = reader.cell(table, year, ref.measure, {**spec.where, **ref.where, spec.by: code}, _key(ref))
            cells.append(cell)
            columns[j].append(cell)
        rows.append(Row(labeller.code(spec.by, code), cells,
                        "total" if code == total_code(spec.by) else "plain"))
    for cells in columns:
        _fill_numbers(cells, decimals_of([c.value for c in cells if c.value is not None]), lang)
    counter.tables += 1
    caption = pick(spec.caption, lang) if spec.caption else title
    return TableModel(counter.tables, t("report.caption.by", lang, caption=caption,
                                        dimension=lower_first(labeller.dimension(spec.by)), year=year),
                      labeller.dimension(spec.by), [labeller.ref(table, r, spec.where) for r in spec.columns],
                      rows, "breakdown")


def _chart(table: str, spec: Chart, title: str, years: list[int], year: int, labeller: Labeller,
           reader: Reader, lang: str, counter: Counter, salt: str) -> ChartModel:
    series: list[Series] = []
    cells: list[Cell] = []
    if spec.kind == "line":
        categories = [str(y) for y in years]
        for ref in spec.series:
            where = {**spec.where, **ref.where}
            codes = labeller.order(ref.by, reader.codes(table, years, where, ref.by)) if ref.by else [None]
            for code in codes:
                at = where if code is None else {**where, ref.by: code}
                row = [reader.cell(table, y, ref.measure, at, _key(ref)) for y in years]
                label = labeller.ref(table, ref, spec.where) if code is None else \
                    f"{labeller.measure(table, ref.measure)}: {labeller.code(ref.by, code)}"
                series.append(_series(label, row))
                cells += row
    else:
        by = next((r.by for r in spec.series if r.by), None)
        if by is None:  # one bar per series
            row = [reader.cell(table, year, r.measure, {**spec.where, **r.where}, _key(r)) for r in spec.series]
            categories = [labeller.ref(table, r, spec.where) for r in spec.series]
            series.append(_series(str(year), row))
            cells += row
        else:
            codes: set[str] = set()
            for ref in spec.series:
                codes |= reader.codes(table, [year], {**spec.where, **ref.where}, by)
            order = [c for c in labeller.order(by, codes) if c != total_code(by)]
            categories = [labeller.code(by, c) for c in order]
            for ref in spec.series:
                row = [reader.cell(table, year, ref.measure, {**spec.where, **ref.where, by: c}, _key(ref))
                       for c in order]
                series.append(_series(labeller.ref(table, ref, spec.where), row))
                cells += row
    counter.charts += 1
    caption = pick(spec.caption, lang) if spec.caption else title
    caption = t("report.caption.years", lang, caption=caption, first=years[0], last=years[-1]) \
        if spec.kind == "line" else t("report.caption.year", lang, caption=caption, year=year)
    return ChartModel(counter.charts, spec.kind, caption, categories, series, salt, lang,
                      decimals_of([c.value for c in cells if c.value is not None]))


def _series(label: str, cells: list[Cell]) -> Series:
    return Series(label, [c.value for c in cells], [c.hidden for c in cells])


def _key(ref: Ref) -> str:
    return ref.measure + (f" [{_where_text(ref.where)}]" if ref.where else "") + (f" by {ref.by}" if ref.by else "")


def _footnotes(reader: Reader, tables: list[TableModel], lang: str) -> list[str]:
    """The symbols used in this indicator's tables, explained."""
    out = []
    texts = {c.text for tbl in tables for row in tbl.rows for c in row.cells}
    marks = {m for tbl in tables for row in tbl.rows for c in row.cells for m in c.marks}
    for status in sorted(reader.used_flags):
        flag = reader.spec.flags.get(status)
        if status == CONFIDENTIAL:
            thresholds = sorted({reader.thresholds.get(y) for y in reader.used_flags[status]} - {None})
            shown = ", ".join(str(x) for x in thresholds) or "?"
            out.append(t("publish.footnote", lang, threshold=shown))
        elif flag is not None and (flag.mark in texts or flag.mark in marks):
            out.append(f"{flag.mark} — {pick(flag.label, lang)}")
        elif flag is None:
            out.append(t("report.unknown_flag", lang, mark=status.lower(), status=status))
    if NA in texts:
        out.append(t("report.na", lang))
    return out
