"""Feedback workbooks: the agency's own file with every finding marked on its cell.

The copy keeps the agency's data and formatting (.xlsx/.xlsm; an .xls or .ods original
becomes an .xlsx copy of its values), fills each offending cell by its worst severity,
puts one comment listing every finding of that cell on it, and adds a first sheet
listing all findings. Sheets are unprotected so the marked cells can be corrected.
Every text written is a text cell (`gbvstats.safe`): a sheet name, a label or a value
copied from an .xls/.ods such as `=HYPERLINK(...)` never becomes a formula; only the
formulas an .xlsx original itself had stay formulas.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from gbvstats.catalogue import Finding
from gbvstats.i18n import t

FILL = {"error": "FFC7CE", "warning": "FFEB9C", "info": "BDD7EE"}
RANK = {"error": 0, "warning": 1, "info": 2}
# params shown in the "values" column, in this order (a rule's left/right sides, a cell value)
VALUE_PARAMS = ("value", "left", "right", "imbalance", "tolerance", "previous", "current", "z")
COLUMNS = ("severity", "code", "sheet", "cell", "message", "values")
WIDTHS = (16, 11, 8, 22, 90, 30)


def feedback_paths(reports, target: Path) -> list[tuple[object, Path]]:
    """One output per report: `target` itself for one file, else files in directory `target`.
    Never one of the workbooks checked (PathProblem): the agency's own file stays as it is."""
    from gbvstats.paths import PathProblem, output_dir, output_file

    inputs = {Path(r.path).resolve() for r in reports}
    if len(reports) == 1 and target.suffix.lower() == ".xlsx" and not target.is_dir():
        if target.resolve() in inputs:
            raise PathProblem("is_input", path=target)
        return [(reports[0], output_file(target))]
    output_dir(target)
    stems = Counter(Path(r.path).stem for r in reports)
    # returns.xls and returns.ods each get their own: returns.xls.feedback.xlsx
    return [(r, target / f"{Path(r.path).stem if stems[Path(r.path).stem] == 1 else Path(r.path).name}"
                          ".feedback.xlsx") for r in reports]


def write_feedback(original: Path, findings: list[Finding], out: Path, lang: str) -> Path:
    from openpyxl import Workbook

    from gbvstats.safe import formula_cells, save_workbook

    original, out = Path(original), Path(out)
    note = None
    own: set[tuple[str, str]] = set()  # the agency's own formulas (an .xlsx original only)
    try:
        if original.suffix.lower() in (".xlsx", ".xlsm"):
            wb = _load_xlsx(original)
            own = formula_cells(wb)
        else:
            wb, note = _copy(original), t("feedback.note.copy", lang, suffix=original.suffix)
    except Exception:  # an unreadable original: the findings sheet alone still helps
        wb, note = Workbook(), t("feedback.note.unreadable", lang)
        wb.remove(wb.active)
    for (sheet, cell), items in cells_of(findings).items():
        _mark(wb, sheet, cell, items, lang)
    _findings_sheet(wb, findings, lang, note)
    for sheet in wb.worksheets:
        sheet.protection.sheet = False  # the agency must be able to correct the marked cells
    out.parent.mkdir(parents=True, exist_ok=True)
    save_workbook(wb, out, keep=own)
    return out


def _load_xlsx(path: Path):
    from openpyxl import load_workbook

    from gbvstats.collect.reader import check_container

    check_container(path)  # what the reader refused unread (entities, encryption, ...) is not opened

    # macros are dropped: the copy is an .xlsx, and the reader warns about them (GBV-F010)
    return load_workbook(path)


def cells_of(findings: list[Finding]) -> dict[tuple[str, str], list[Finding]]:
    """(sheet, cell) -> the findings that point at it: `cells` ("T1!C6") or sheet + cell."""
    by_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        refs = f.cells or ([f"{f.sheet}!{f.cell}"] if f.sheet and f.cell else [])
        for ref in dict.fromkeys(refs):
            sheet, _, cell = ref.rpartition("!")
            by_cell[(sheet or f.sheet or "", cell.replace("$", "").upper())].append(f)
    return by_cell


def _mark(wb, sheet: str, cell: str, items: list[Finding], lang: str) -> None:
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    from openpyxl.utils.cell import coordinate_from_string

    if sheet not in wb.sheetnames:
        return
    ws = wb[sheet]
    try:
        coordinate_from_string(cell)
        target = ws[cell]
    except ValueError:  # not a cell of a sheet's grid (e.g. beyond row 1048576)
        return
    if isinstance(target, MergedCell):  # a merged area shows its top-left cell
        area = next(r for r in ws.merged_cells.ranges if cell in r)
        target = ws.cell(row=area.min_row, column=area.min_col)
    worst = min(items, key=lambda f: RANK[f.severity]).severity
    target.fill = PatternFill("solid", fgColor=FILL[worst])
    text = "\n".join(f"{_severity(f.severity, lang)} {f.code}: {f.message(lang)}" for f in items)
    if target.comment is not None and target.comment.author != "gbvstats":
        text += "\n---\n" + target.comment.text  # the agency's own note stays
    target.comment = Comment(text, "gbvstats", width=360, height=60 + 40 * len(items))


def _findings_sheet(wb, findings: list[Finding], lang: str, note: str | None) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    ws = wb.create_sheet(t("feedback.sheet", lang)[:31], 0)
    ws.append([t("feedback.col." + c, lang) for c in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ordered = sorted(findings, key=lambda f: (RANK[f.severity], f.sheet or "", _cell_key(f.cell),
                                              f.code))
    for f in ordered:
        ws.append([_severity(f.severity, lang), f.code, f.sheet or "",
                   ", ".join(c.rpartition("!")[2] for c in f.cells) or f.cell or "",
                   f.message(lang), values_text(f)])
        ws.cell(row=ws.max_row, column=1).fill = PatternFill("solid", fgColor=FILL[f.severity])
        lines = 1
        for col in range(1, len(COLUMNS) + 1):
            cell = ws.cell(row=ws.max_row, column=col)
            cell.alignment = Alignment(wrap_text=col >= 4, vertical="top")
            lines = max(lines, -(-len(str(cell.value or "")) // WIDTHS[col - 1]))
        # spreadsheet programs do not grow rows of wrapped text written by openpyxl
        ws.row_dimensions[ws.max_row].height = 15 * lines
    if not findings:
        ws.append(["", "", "", "", t("feedback.none", lang)])
    if note:
        ws.append([])
        ws.append([t("feedback.note", lang), "", "", "", note])
    for i, width in enumerate(WIDTHS):
        ws.column_dimensions["ABCDEF"[i]].width = width
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.auto_filter.ref = f"A1:F{1 + len(findings)}"
    wb.active = 0
    for sheet in wb.worksheets:
        sheet.sheet_view.tabSelected = sheet is ws


def values_text(f: Finding) -> str:
    """The numbers behind a finding, e.g. `left=12; right=10; imbalance=2`."""
    shown = [(k, f.params[k]) for k in VALUE_PARAMS if f.params.get(k) not in (None, "")]
    return "; ".join(f"{k}={v}" for k, v in shown)


def _severity(severity: str, lang: str) -> str:
    return t(f"feedback.severity.{severity}", lang)


def _cell_key(cell: str | None) -> tuple[int, str]:
    """Sort C10 after C9: by row, then column letters."""
    if not cell:
        return (0, "")
    letters = cell.rstrip("0123456789")
    digits = cell[len(letters):]
    return (int(digits) if digits else 0, letters)


def _copy(original: Path):
    """.xls and .ods: an .xlsx copy of the values (styles are not carried over), as the
    reader reads them: bounded, values far outside the form left out."""
    from openpyxl import Workbook

    from gbvstats.collect.reader import sheet_rows

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheet_rows(original).items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":  # empty cells are not written
                    ws.cell(row=r, column=c, value=value)
    return wb
