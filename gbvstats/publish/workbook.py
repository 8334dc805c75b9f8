"""The published workbooks: one per year (a sheet per table, as the table is), and one for
several years (each table's figures by year in columns, as the NSC's five-year tables).

Each sheet: the title, year, unit, sources and notes in every chosen language; one header
row per language, then the machine names (those of the CSV and Parquet files); area names
beside the area codes, dimension codes as their labels in the first language; figures
with thousands separators, marked `x` (confidential, no value), `p` (provisional) or `b`
(break in series) and explained by the footnotes under the table in every language;
printable (landscape, fit to width, header rows repeated, panes frozen).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.i18n import t
from gbvstats.publish.flags import CONFIDENTIAL, MARK, ORDER
from gbvstats.publish.tables import label

if TYPE_CHECKING:
    from gbvstats.publish.flags import Published
    from gbvstats.publish.labels import Labels

HEADER_FILL = "DDE4EE"


def write_year(path: Path, year: int, tables: dict[str, Published], langs: tuple[str, ...],
               labels: Labels) -> dict[str, Any]:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    rows = 0
    for name, pub in tables.items():
        rows += _year_sheet(wb.create_sheet(name[:31]), pub, langs, labels)
    save(wb, path)
    return {"file": path.name, "kind": "xlsx", "year": year, "sheets": list(tables), "rows": rows}


def write_years(path: Path, published: dict[int, dict[str, Published]], langs: tuple[str, ...],
                labels: Labels) -> dict[str, Any]:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    names = list(dict.fromkeys(n for tables in published.values() for n in tables))
    rows = 0
    for name in names:
        by_year = {y: tables[name] for y, tables in sorted(published.items()) if name in tables}
        rows += _years_sheet(wb.create_sheet(name[:31]), by_year, langs, labels)
    save(wb, path)
    return {"file": path.name, "kind": "xlsx", "years": sorted(published), "sheets": names, "rows": rows}


def save(wb, path: Path) -> None:
    """The one place published workbooks are saved: no cell the tool wrote is a formula."""
    from gbvstats.safe import save_workbook

    save_workbook(wb, path)


def put(ws, row: int, column: int, value):
    """The one place a value is written into a published sheet: text stays text."""
    cell = ws.cell(row, column)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


# --- one year ------------------------------------------------------------------------


def _columns(pub: Published, labels: Labels) -> list[tuple[str, str]]:
    """(kind, column) in sheet order: the table's columns, an area name after `area`."""
    out = []
    for c in pub.frame.columns:
        out.append(("measure" if c in pub.measures else "dimension", c))
        if c == "area":
            out.append(("area_name", "area_name"))
    return out


def _year_sheet(ws, pub: Published, langs: tuple[str, ...], labels: Labels) -> int:
    from openpyxl.styles import Alignment, Font

    meta = pub.meta
    head = _title_block(ws, meta, langs, t("publish.year", langs[0], year=pub.year) if len(langs) == 1
                        else "; ".join(t("publish.year", lg, year=pub.year) for lg in langs))
    columns = _columns(pub, labels)
    head = _header_rows(ws, head, ([labels.column(meta, c, lg) for _, c in columns] for lg in langs))
    _machine_row(ws, head, [c for _, c in columns])
    formats = _formats(pub)
    for i, row in enumerate(pub.frame.to_dict("records")):
        r = head + 1 + i
        for j, (kind, column) in enumerate(columns, start=1):
            if kind == "area_name":
                put(ws, r, j, labels.code(meta, "area", row.get("area"), langs[0]))
            elif kind == "dimension":
                value = row.get(column)
                shown = labels.code(meta, column, value, langs[0]) if _by_label(labels, meta, column) \
                    else value
                if not _missing(shown):
                    put(ws, r, j, _plain(shown))
            else:
                _figure(ws, r, j, row.get(column), pub.flags[column][i], formats.get(column, "#,##0"))
    foot = head + len(pub.frame) + 2
    last = _footnotes(ws, foot, pub.notes.values(), langs, prefix="")
    first_measure = next((j for j, (kind, _) in enumerate(columns, 1) if kind == "measure"), 1)
    _print_setup(ws, head, first_measure, len(columns), last, len(langs))
    ws.cell(head, 1).font = Font(size=8, color="808080")
    ws.cell(head, 1).alignment = Alignment()
    return len(pub.frame)


def _formats(pub: Published) -> dict[str, str]:
    rates = set(pub.meta.get("rates", {}))
    return {c: ("#,##0.0#" if c in rates or _fractional(pub, c) else "#,##0") for c in pub.measures}


def _fractional(pub: Published, column: str) -> bool:
    values = pub.frame[column].dropna()
    return bool(len(values)) and values.dtype.kind == "f" and bool((values != values.round()).any())


def _figure(ws, r: int, c: int, value, flags: str, number_format: str) -> None:
    from openpyxl.styles import Alignment

    if CONFIDENTIAL in flags:
        put(ws, r, c, "x").alignment = Alignment(horizontal="right")
        return
    if _missing(value):
        return
    cell = put(ws, r, c, _plain(value))
    marks = "".join(MARK[f] for f in ORDER if f in flags)
    cell.number_format = f'{number_format}" {marks}"' if marks else number_format


# --- several years --------------------------------------------------------------------


def _years_sheet(ws, by_year: dict[int, Published], langs: tuple[str, ...], labels: Labels) -> int:
    from openpyxl.styles import Font

    years = sorted(by_year)
    last = by_year[years[-1]]
    meta = last.meta
    span = f"{years[0]}-{years[-1]}"
    head = _title_block(ws, meta, langs, span)
    dims = [c for c in last.frame.columns if c not in last.measures and c not in ("year", "territory")]
    keys: dict[tuple, None] = {}
    values: dict[tuple, tuple[Any, str]] = {}
    measures = list(dict.fromkeys(m for p in by_year.values() for m in p.measures))
    for y, pub in by_year.items():
        for i, row in enumerate(pub.frame.to_dict("records")):
            key = tuple(None if _missing(row.get(d)) else row.get(d) for d in dims)
            for m in pub.measures:
                keys[(*key, m)] = None
                values[(*key, m, y)] = (row.get(m), pub.flags[m][i])
    cols = [*dims, "area_name", "measure"]
    order = [c for c in ("area", "area_name") if c in cols] + [c for c in cols if c not in ("area", "area_name")]
    head = _header_rows(ws, head, ([*[_multi_label(meta, c, lg, labels) for c in order], *map(str, years)]
                                   for lg in langs))
    _machine_row(ws, head, [*order, *map(str, years)])
    formats = {}
    for pub in by_year.values():
        formats.update(_formats(pub))
    rank = {m: i for i, m in enumerate(measures)}
    ordered = sorted(keys, key=lambda k: (k[0] != "KG" if dims and dims[0] == "area" else 0,
                                          tuple(str(x) for x in k[:-1]), rank[k[-1]]))
    for n, key in enumerate(ordered):
        r = head + 1 + n
        row = dict(zip(dims, key[:-1], strict=True))
        measure = key[-1]
        for j, column in enumerate(order, start=1):
            if column == "area_name":
                put(ws, r, j, labels.code(meta, "area", row.get("area"), langs[0]))
            elif column == "measure":
                put(ws, r, j, labels.column(meta, measure, langs[0]))
            else:
                shown = labels.code(meta, column, row.get(column), langs[0]) \
                    if _by_label(labels, meta, column) else row.get(column)
                if not _missing(shown):
                    put(ws, r, j, _plain(shown))
        for k, y in enumerate(years, start=len(order) + 1):
            value, flags = values.get((*key, y), (None, ""))
            _figure(ws, r, k, value, flags, formats.get(measure, "#,##0"))
    foot = head + len(ordered) + 2
    last_row = foot
    for y in years:
        notes = list(by_year[y].notes.values())
        if notes:
            last_row = _footnotes(ws, last_row, notes, langs, prefix=f"{y}: ")
    _print_setup(ws, head, len(order) + 1, len(order) + len(years), last_row, len(langs))
    ws.cell(head, 1).font = Font(size=8, color="808080")
    return len(ordered)


def _by_label(labels: Labels, meta: dict, column: str) -> bool:
    """Dimension codes are shown as their labels; area codes stay codes (their names are
    in the column beside them)."""
    return column not in ("area", "territory") and labels.labelled(meta, column)


def _multi_label(meta: dict, column: str, lang: str, labels: Labels) -> str:
    if column == "measure":
        return t("publish.col.measure", lang)
    return labels.column(meta, column, lang)


# --- shared parts ------------------------------------------------------------------------


def _title_block(ws, meta: dict, langs: tuple[str, ...], period: str) -> int:
    """Title, period, unit, sources and notes; returns the row after them (+1 blank)."""
    from openpyxl.styles import Font

    lines = [(label(meta, "title", lg), Font(bold=True, size=12)) for lg in langs]
    lines.append((period, Font(bold=True)))
    lines += [(f"{t('publish.unit', lg)}: {label(meta, 'unit', lg)}", Font(italic=True)) for lg in langs]
    lines.append((f"{t('publish.sources', langs[0])}: {meta.get('sources', '')}", Font(italic=True)))
    lines += [(f"{t('publish.notes', lg)}: {label(meta, 'notes', lg)}", Font(size=9))
              for lg in langs if label(meta, "notes", lg)]
    for r, (text, font) in enumerate(lines, start=1):
        put(ws, r, 1, text).font = font
    return len(lines) + 2


def _header_rows(ws, first: int, rows) -> int:
    """One header row per language (the first bold); returns the machine-name row."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    thin = Side(style="thin", color="808080")
    r = first
    for n, texts in enumerate(rows):
        for c, text in enumerate(texts, start=1):
            cell = put(ws, r, c, text)
            cell.font = Font(bold=n == 0, italic=n > 0, size=10 if n == 0 else 9)
            cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
            cell.border = Border(top=thin) if n == 0 else Border()
            width = ws.column_dimensions[get_column_letter(c)].width or 0
            ws.column_dimensions[get_column_letter(c)].width = max(width, 10, min(28, len(str(text)) + 2))
        r += 1
    return r


def _machine_row(ws, r: int, names: list[str]) -> None:
    from openpyxl.styles import Border, Font, PatternFill, Side

    thin = Side(style="thin", color="808080")
    for c, name in enumerate(names, start=1):
        cell = put(ws, r, c, name)
        cell.font = Font(size=8, color="808080")
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.border = Border(bottom=thin)


def _footnotes(ws, r: int, notes, langs: tuple[str, ...], prefix: str) -> int:
    from openpyxl.styles import Font

    for note in notes:
        for lg in langs:
            put(ws, r, 1, prefix + note.text.get(lg, note.text.get("en", ""))).font = Font(size=9)
            r += 1
    return r


def _print_setup(ws, head: int, first_measure: int, width: int, last: int, langs: int) -> None:
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = ws.cell(head + 1, first_measure)
    ws.print_title_rows = f"{head - langs}:{head}"
    ws.print_area = f"A1:{get_column_letter(max(width, 1))}{max(last, head + 1)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "&P / &N"


def _missing(value) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _plain(value):
    """A numpy scalar as a plain Python value openpyxl can write."""
    return value.item() if hasattr(value, "item") else value
