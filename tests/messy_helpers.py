"""Helpers for the reader and validate tests: a consistent MOI-FV v2 return, and the ways
agencies mess it up (each a function that damages a copy of a real filled template)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook
from templates_helpers import filled_file

from gbvstats.schema.model import FormVersion

OBLAST = "41706000000000"  # an oblast: not a reporting unit of the district-level MOI-FV


def consistent_values(form: FormVersion) -> dict[tuple[str, str, int], int]:
    """A MOI-FV v2 return that passes every intra-form rule (totals add up)."""
    assert form.key == "MOI-FV@v2", form.key
    v: dict[tuple[str, str, int], int] = {}
    for code, n in zip(("02", "03", "04", "05", "06"), (10, 20, 30, 5, 3), strict=True):
        v[("T1", code, 1)] = n
    v[("T1", "01", 1)] = 68
    # table 2: women, men, girls, boys (columns 4-7); women and girls, men and boys (2-3)
    t2 = {"01": (40, 12, 9, 7), "02": (None, None, 3, 2), "03": (20, 5, 4, 3), "04": (11, 6, 2, 1)}
    for code, parts in t2.items():
        for col, n in enumerate(parts, start=4):
            if n is not None:
                v[("T2", code, col)] = n
        women, men, girls, boys = (n or 0 for n in parts)
        v.update({("T2", code, 1): sum(n or 0 for n in parts), ("T2", code, 2): women + girls,
                  ("T2", code, 3): men + boys})
    # table 6: the 49 women and girls and 19 men and boys by age band, education, activity
    t6 = ((11, 8), (15, 5), (12, 3), (7, 2), (4, 1), (0, 0), (20, 8), (8, 3), (6, 2), (3, 0),
          (10, 5), (2, 1), (15, 6), (18, 5), (9, 6), (4, 1), (2, 1), (1, 0))
    for line, (f, m) in enumerate(t6, start=1):
        v.update({("T6", f"{line:02d}", 1): f + m, ("T6", f"{line:02d}", 2): f,
                  ("T6", f"{line:02d}", 3): m})
    v.update({("T3", "01", 1): 15, ("T3", "02", 1): 4, ("T3", "03", 1): 2,
              ("T4", "01", 1): 9, ("T4", "02", 1): 7})
    for col, parts in ((1, (8, 6, 4, 2, 1)), (2, (5, 4, 3, 1, 0))):
        for code, n in zip(("02", "03", "04", "05", "06"), parts, strict=True):
            v[("T5", code, col)] = n
        v[("T5", "01", col)] = sum(parts)
    return v


def good_file(form: FormVersion, path: Path) -> Path:
    return filled_file(form, path, consistent_values(form))


def edit(src: Path, dst: Path, change: Callable) -> Path:
    """Open `src` with openpyxl, let `change(wb)` damage it, save as `dst`."""
    wb = load_workbook(src)
    change(wb)
    wb.save(dst)
    return dst


def setter(sheet: str, **cells) -> Callable:
    def change(wb) -> None:
        for addr, value in cells.items():
            wb[sheet][addr] = value
    return change


def add_zip_member(src: Path, dst: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename))
        zout.writestr(name, data)
    return dst


def cached_formula(src: Path, dst: Path, sheet_part: str, addr: str, formula: str) -> Path:
    """Turn a value cell into a formula keeping its value, as Excel saves a calculated sum."""
    parts = zip_of(src)
    xml = parts[sheet_part].decode()
    start = xml.index(f'<c r="{addr}"')
    value = xml.index("<v>", start)
    parts[sheet_part] = (xml[:value] + f"<f>{formula}</f>" + xml[value:]).encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return dst


def zip_bomb(path: Path, unpacked_mb: int = 8) -> Path:
    """A valid-looking .xlsx whose one sheet part inflates a thousandfold."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (unpacked_mb * 1024 * 1024))
    return path


def to_xls(src: Path, dst: Path) -> Path:
    """The values of every sheet written as a legacy .xls (as an old Excel would save it)."""
    import xlwt

    wb = load_workbook(src)
    book = xlwt.Workbook()
    for ws in wb.worksheets:
        out = book.add_sheet(ws.title)
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    out.write(cell.row - 1, cell.column - 1, cell.value)
    book.save(str(dst))
    return dst


def copy_bytes(src: Path, dst: Path, data: bytes | None = None) -> Path:
    if data is None:
        shutil.copyfile(src, dst)
    else:
        dst.write_bytes(data)
    return dst


def truncated(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    return copy_bytes(src, dst, data[: len(data) // 2])


def corrupt(src: Path, dst: Path) -> Path:
    """The zip signature, then garbage where the entries should be."""
    data = bytearray(src.read_bytes())
    data[30:2000] = bytes((i * 7) % 251 for i in range(1970))
    cut = data.rfind(b"PK\x05\x06")
    data[cut:] = b"\0" * (len(data) - cut)
    return copy_bytes(src, dst, bytes(data))


def pdf_renamed(dst: Path) -> Path:
    dst.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    return dst


def run_cli(args: list[str], env: dict | None = None) -> tuple[int, list[dict]]:
    """`gbvstats validate --json ...` in-process: (exit code, reports)."""
    from typer.testing import CliRunner

    from gbvstats.cli import app

    result = CliRunner().invoke(app, ["validate", "--json", *args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def structural(report: dict) -> list[tuple[str, str | None, str | None]]:
    """Reader findings (files and values), without the rule engine's: (code, sheet, cell)."""
    return sorted((f["code"], f["sheet"], f["cell"]) for f in report["findings"]
                  if f["code"].startswith(("GBV-F", "GBV-V")))


def zip_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
        return {n: z.read(n) for n in z.namelist()}

