"""Feedback workbooks: the agency's own file with every finding marked on its cell."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from .catalogue import Finding
from .i18n import t

FILL = {"error": "FFC7CE", "warning": "FFEB9C", "info": "BDD7EE"}
RANK = {"error": 0, "warning": 1, "info": 2}


def feedback_paths(reports, target: Path) -> list[tuple[object, Path]]:
    """One output per report: `target` itself for one file, else files in directory `target`."""
    if len(reports) == 1 and target.suffix.lower() == ".xlsx":
        return [(reports[0], target)]
    target.mkdir(parents=True, exist_ok=True)
    return [(r, target / f"{Path(r.path).stem}.feedback.xlsx") for r in reports]


def write_feedback(original: Path, findings: list[Finding], out: Path, lang: str) -> Path:
    from openpyxl import Workbook, load_workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    original = Path(original)
    try:
        wb = load_workbook(original) if original.suffix.lower() in (".xlsx", ".xlsm") else _copy(original)
    except Exception:  # an unreadable original: the findings sheet alone still helps
        wb = Workbook()
    by_cell: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        for ref in f.cells or ([f"{f.sheet}!{f.cell}"] if f.sheet and f.cell else []):
            sheet, _, cell = ref.rpartition("!")
            by_cell[(sheet, cell)].append(f)
    for (sheet, cell), items in by_cell.items():
        if sheet not in wb.sheetnames:
            continue
        target = wb[sheet][cell]
        worst = min(items, key=lambda f: RANK[f.severity]).severity
        target.fill = PatternFill("solid", fgColor=FILL[worst])
        text = "\n".join(f"[{f.code}] {f.message(lang)}" for f in items)
        target.comment = Comment(text, "gbvstats", width=320, height=120)
    ws = wb.create_sheet(t("feedback.sheet", lang)[:31], 0)
    ws.append([t("feedback.col." + c, lang) for c in ("severity", "code", "sheet", "cell", "message")])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for f in sorted(findings, key=lambda f: (RANK[f.severity], f.sheet or "", f.cell or "")):
        ws.append([f.severity, f.code, f.sheet or "", f.cell or "", f.message(lang)])
        ws.cell(row=ws.max_row, column=1).fill = PatternFill("solid", fgColor=FILL[f.severity])
    for col, width in zip("ABCDE", (10, 11, 10, 8, 110), strict=True):
        ws.column_dimensions[col].width = width
    for sheet in wb.worksheets:
        sheet.protection.sheet = False  # the agency must be able to correct the marked cells
    wb.active = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def _copy(original: Path):
    """.xls and .ods: an .xlsx copy of the values (styles are not carried over)."""
    import python_calamine as pc
    from openpyxl import Workbook

    book = pc.load_workbook(original)
    wb = Workbook()
    wb.remove(wb.active)
    for name in book.sheet_names:
        ws = wb.create_sheet(name)
        for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False):
            ws.append(row)
    return wb
