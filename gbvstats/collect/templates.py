"""Blank Excel templates generated from the form schemas (layout: docs/CONTRACT.md).

A template has a `Title` sheet with the header block, one sheet per table with printed
line codes and column numbers, input cells unlocked with whole-number validation, greyed
cells locked, a hidden `_meta` sheet that identifies the form version, and a hidden
`_lists` sheet feeding the unit dropdown. No formulas.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gbvstats import __version__, paths
from gbvstats.i18n import LANGS, pick, t
from gbvstats.schema.model import FormVersion, Registry, registry

if TYPE_CHECKING:
    from openpyxl import Workbook

HEADER_FIELDS = ("unit", "period", "contact", "phone", "date")
FIRST_LINE_ROW = 6  # row of the first line on a table sheet
NUMBER_ROW = FIRST_LINE_ROW - 1  # the printed column numbers: А, Б, 1..N
FIRST_DATA_COL = 3  # column C
GREY = "D9D9D9"
FIXED_TIME = datetime(2018, 4, 1)  # workbook timestamps: templates are byte-stable


def _col_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


def layout(form: FormVersion) -> dict[tuple[str, str, int], tuple[str, str, bool]]:
    """(table, line, column) -> (sheet, cell address, is_input) for every cell of the form."""
    cells = {}
    for table in form.tables:
        for i, line in enumerate(table.lines):
            row = FIRST_LINE_ROW + i
            for j, col in enumerate(table.columns):
                addr = f"{_col_letter(FIRST_DATA_COL + j)}{row}"
                cells[(table.id, line.code, col.number)] = (
                    table.id, addr, col.number not in line.greyed)
    return cells


def header_cell(field: str) -> str:
    return f"C{4 + HEADER_FIELDS.index(field)}"


def header_layout() -> dict[str, tuple[str, str]]:
    """Header field -> (sheet, cell address) of its value."""
    return {field: ("Title", header_cell(field)) for field in HEADER_FIELDS}


def unit_choice(reg: Registry, soate: str, lang: str = "ru") -> str:
    """"SOATE — name": the reader takes the leading code, people read the name."""
    code = reg.territories().get(soate)
    labels = code.label if code else {}
    name = labels.get(lang) or labels.get("ru") or labels.get("en") or ""
    return f"{soate} — {name}"


def build_template(form: FormVersion, lang: str = "ru", unit: str | None = None,
                   period: str | None = None, reg: Registry | None = None) -> Workbook:
    from openpyxl import Workbook

    reg = reg or registry()
    wb = Workbook()
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = f"gbvstats {__version__}"
    _title_sheet(wb.active, form, lang, reg, unit, period)
    for table in form.tables:
        _table_sheet(wb.create_sheet(table.id), form, table, lang)
    _lists_sheet(wb, form, reg, lang)
    _labels_sheet(wb, form)
    _meta_sheet(wb, form, lang)
    _defined_names(wb)
    return wb


def _styles():
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

    thin = Side(style="thin", color="808080")
    return {
        "border": Border(left=thin, right=thin, top=thin, bottom=thin),
        "bold": Font(bold=True),
        "title": Font(bold=True, size=12),
        "small": Font(size=8, italic=True),
        "wrap": Alignment(wrap_text=True, vertical="center"),
        "wrap_indent": Alignment(wrap_text=True, vertical="center", indent=2),
        "center": Alignment(horizontal="center", vertical="center", wrap_text=True),
        "grey": PatternFill("solid", fgColor=GREY),
        "input": PatternFill("solid", fgColor="FFFFF2"),
        "unlocked": Protection(locked=False),
    }


def _title_sheet(ws, form: FormVersion, lang: str, reg: Registry, unit, period) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    s = _styles()
    ws.title = "Title"
    ws["A1"] = pick(form.title, lang)
    ws["A1"].font = s["title"]
    ws["A2"] = t("tpl.form_code", lang, form=form.form, version=form.version,
                 agency=form.agency, periodicity=t(f"tpl.periodicity.{form.periodicity}", lang))
    ws["A2"].font = s["small"]
    for i, field in enumerate(HEADER_FIELDS):
        row = 4 + i
        ws.cell(row=row, column=1, value=t(f"tpl.header.{field}", lang)).font = s["bold"]
        cell = ws.cell(row=row, column=3)
        cell.protection = s["unlocked"]
        cell.border = s["border"]
        cell.fill = s["input"]
    if unit:
        ws[header_cell("unit")] = unit_choice(reg, unit, lang)
    if period:
        ws[header_cell("period")] = period
    units = reg.units(form.level)
    if units:
        # OOXML formulas carry no leading "=" (Excel repairs files that have one)
        dv = DataValidation(type="list", formula1=f"_lists!$A$1:$A${len(units)}",
                            allow_blank=True, showErrorMessage=True, errorStyle="stop")
        dv.error = t("tpl.unit_invalid", lang)
        dv.errorTitle = "gbvstats"
        ws.add_data_validation(dv)
        dv.add(header_cell("unit"))
    ws["A10"] = t("tpl.instructions", lang)
    ws["A10"].alignment = s["wrap"]
    ws.merge_cells("A10:F14")
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 2
    ws.column_dimensions["C"].width = 48
    ws.protection.sheet = True
    _print_setup(ws)


def _print_setup(ws) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _table_sheet(ws, form: FormVersion, table, lang: str) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    s = _styles()
    ncols = len(table.columns)
    last = _col_letter(FIRST_DATA_COL + ncols - 1)
    ws["A1"] = pick(table.title, lang)
    ws["A1"].font = s["title"]
    ws["A2"] = t("tpl.form_code", lang, form=form.form, version=form.version,
                 agency=form.agency, periodicity=t(f"tpl.periodicity.{form.periodicity}", lang))
    ws["A2"].font = s["small"]
    head = NUMBER_ROW - 1
    ws.cell(row=head, column=1, value=t("tpl.col.label", lang))
    ws.cell(row=head, column=2, value=t("tpl.col.code", lang))
    for j, col in enumerate(table.columns):
        ws.cell(row=head, column=FIRST_DATA_COL + j, value=pick(col.label, lang))
    ws.cell(row=NUMBER_ROW, column=1, value="А")
    ws.cell(row=NUMBER_ROW, column=2, value="Б")
    for j, col in enumerate(table.columns):
        ws.cell(row=NUMBER_ROW, column=FIRST_DATA_COL + j, value=col.number)
    for row in (head, NUMBER_ROW):
        for c in range(1, FIRST_DATA_COL + ncols):
            cell = ws.cell(row=row, column=c)
            cell.font, cell.alignment, cell.border = s["bold"], s["center"], s["border"]
    dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0",
                        allow_blank=True, showErrorMessage=True, errorStyle="stop")
    dv.error = t("tpl.count_invalid", lang)
    dv.errorTitle = "gbvstats"
    ws.add_data_validation(dv)
    for i, line in enumerate(table.lines):
        row = FIRST_LINE_ROW + i
        label = ws.cell(row=row, column=1, value=pick(line.label, lang))
        label.alignment, label.border = s["wrap"], s["border"]
        if line.parent:
            label.alignment = s["wrap_indent"]
        code = ws.cell(row=row, column=2, value=line.code)
        code.number_format, code.alignment, code.border = "@", s["center"], s["border"]
        for j, col in enumerate(table.columns):
            cell = ws.cell(row=row, column=FIRST_DATA_COL + j)
            cell.border = s["border"]
            if col.number in line.greyed:
                cell.fill = s["grey"]
            else:
                cell.protection = s["unlocked"]
                cell.number_format = "#,##0"
                dv.add(cell.coordinate)
    _size(ws, table, lang, head)
    ws.freeze_panes = f"C{FIRST_LINE_ROW}"
    ws.protection.sheet = True
    _print_setup(ws)
    ws.print_title_rows = f"{head}:{NUMBER_ROW}"
    ws.print_area = f"A1:{last}{FIRST_LINE_ROW + len(table.lines) - 1}"


LABEL_WIDTH = 58


def _size(ws, table, lang: str, head: int) -> None:
    """Column widths and row heights for wrapped labels: spreadsheet programs do not grow
    rows of wrapped text written by openpyxl, and a cut label is a misread label."""
    ws.column_dimensions["A"].width = LABEL_WIDTH
    ws.column_dimensions["B"].width = 8
    header_lines = 2
    for j, col in enumerate(table.columns):
        label = pick(col.label, lang)
        longest_word = max((len(w) for w in label.split()), default=0)
        width = min(22, max(13, longest_word + 3))
        ws.column_dimensions[_col_letter(FIRST_DATA_COL + j)].width = width
        header_lines = max(header_lines, _lines(label, width - 2))
    ws.row_dimensions[head].height = 15 * header_lines
    for i, line in enumerate(table.lines):
        lines = _lines(pick(line.label, lang), int(LABEL_WIDTH * 1.1) - (6 if line.parent else 2))
        if lines > 1:
            ws.row_dimensions[FIRST_LINE_ROW + i].height = 15 * lines


def _lines(text: str, width: int) -> int:
    """How many lines `text` takes when word-wrapped at `width` characters."""
    lines, used = 1, 0
    for word in text.split():
        if used and used + 1 + len(word) > width:
            lines, used = lines + 1, len(word)
        else:
            used += len(word) + (1 if used else 0)
    return lines


def _lists_sheet(wb, form: FormVersion, reg: Registry, lang: str) -> None:
    ws = wb.create_sheet("_lists")
    for i, code in enumerate(reg.units(form.level), start=1):
        ws.cell(row=i, column=1, value=unit_choice(reg, code.code, lang))
    ws.sheet_state = "hidden"


def _labels_sheet(wb, form: FormVersion) -> None:
    """Every label in every language, so a reader of one language can see the others."""
    ws = wb.create_sheet("_labels")
    ws.append(["table", "line", "column", *LANGS])
    for table in form.tables:
        ws.append([table.id, "", "", *(table.title.get(x, "") for x in LANGS)])
        for col in table.columns:
            ws.append([table.id, "", col.number, *(col.label.get(x, "") for x in LANGS)])
        for line in table.lines:
            ws.append([table.id, line.code, "", *(line.label.get(x, "") for x in LANGS)])
    ws.sheet_state = "hidden"


def _meta_sheet(wb, form: FormVersion, lang: str) -> None:
    ws = wb.create_sheet("_meta")
    for key, value in (("form", form.form), ("version", form.version),
                       ("schema_hash", form.schema_hash), ("lang", lang),
                       ("generator", f"gbvstats {__version__}")):
        ws.append([key, value])
    ws.sheet_state = "hidden"


def _defined_names(wb) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    for field in HEADER_FIELDS:
        cell = header_cell(field).replace("C", "$C$")
        wb.defined_names[f"gbv_{field}"] = DefinedName(f"gbv_{field}", attr_text=f"Title!{cell}")


def fill_template(form: FormVersion, values: dict[tuple[str, str, int], object], unit: str,
                  period: str, lang: str = "ru", contact: str = "", phone: str = "",
                  date: str = "", reg: Registry | None = None) -> Workbook:
    """A filled copy of the template: `values` keyed by (table, line, column)."""
    wb = build_template(form, lang=lang, unit=unit, period=period, reg=reg)
    title = wb["Title"]
    for field, value in (("contact", contact), ("phone", phone), ("date", date)):
        if value:
            title[header_cell(field)] = value
    where = layout(form)
    for key, value in values.items():
        try:
            sheet, addr, _ = where[key]
        except KeyError:
            raise KeyError(f"{form.key} has no cell {key}") from None
        wb[sheet][addr] = value
    return wb


def values_by_element(form: FormVersion, values: dict[tuple[str, int], object]
                      ) -> dict[tuple[str, str, int], object]:
    """Translate {(element id, column number): value} into (table, line, column) keys."""
    where = {(ln.element, c.number): (tb.id, ln.code, c.number)
             for tb in form.tables for ln in tb.lines for c in tb.columns}
    out = {}
    for key, value in values.items():
        if key not in where:
            raise KeyError(f"{form.key} has no element {key[0]!r} column {key[1]}")
        out[where[key]] = value
    return out


def fill_by_element(form: FormVersion, values: dict[tuple[str, int], object], unit: str,
                    period: str, **kw) -> Workbook:
    """`fill_template` with values keyed by (element id, column number)."""
    return fill_template(form, values_by_element(form, values), unit, period, **kw)


def save(wb: Workbook, path: Path) -> Path:
    """Write byte-stably; header text such as a contact name stays text (`gbvstats.safe`)."""
    from gbvstats.safe import save_workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    save_workbook(wb, path)
    _normalise_zip(path)
    return path


def _normalise_zip(path: Path) -> None:
    """Rewrite the zip with fixed entry timestamps so identical content gives identical bytes."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = [(name, re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
                if name == "docProps/core.xml" else data) for name, data in entries]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2018, 4, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)


def template_name(form: FormVersion) -> str:
    return f"{form.form}_v{form.version}.xlsx"


def build_all(out_dir: Path | None = None, lang: str = "ru") -> list[Path]:
    out_dir = out_dir or paths.forms_dir()
    return [save(build_template(f, lang=lang), out_dir / template_name(f))
            for f in registry().versions()]
