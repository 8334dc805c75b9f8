"""Helpers for the template and feedback tests: filled workbooks, XML parts, LibreOffice."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

from gbvstats.collect.templates import fill_template, save
from gbvstats.schema.model import FormVersion

DISTRICT = "41711201000000"  # Leninsky district of Bishkek: reports MOI-FV
OBLAST = "41706000000000"  # Osh oblast: reports the oblast-level forms
XML_VOLATILE = ("docProps/core.xml",)  # timestamps only; pinned, but not content


def unit_for(form: FormVersion) -> str:
    return DISTRICT if form.level == "district" else OBLAST


def period_for(form: FormVersion) -> str:
    """A period inside the version's validity and of its periodicity."""
    year = int(form.valid_from[:4])
    return str(year) if form.periodicity == "year" else f"{year}-Q1"


def distinct_values(form: FormVersion) -> dict[tuple[str, str, int], int]:
    """A different value in every input cell, so a shifted cell cannot go unnoticed."""
    return {(c.table, c.line, c.column): 100 + i
            for i, c in enumerate(c for c in form.cells() if c.input)}


def filled_file(form: FormVersion, path: Path, values: dict | None = None, **kw) -> Path:
    kw.setdefault("contact", "Асанова Айгуль")
    kw.setdefault("phone", "+996 312 66 24 31")
    kw.setdefault("date", "2024-04-10")
    values = distinct_values(form) if values is None else values
    wb = fill_template(form, values, unit_for(form), period_for(form), **kw)
    return save(wb, path)


def xml_parts(path: Path) -> dict[str, bytes]:
    """The zip members of an .xlsx: what the workbook says, whatever the compression."""
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in sorted(z.namelist()) if n not in XML_VOLATILE}


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(path: Path, out_dir: Path) -> Path:
    return convert(path, out_dir, "pdf")


def convert(path: Path, out_dir: Path, fmt: str) -> Path:
    """Convert with LibreOffice in its own profile, so parallel runs do not collide."""
    profile = (out_dir / "lo-profile").resolve().as_uri()
    proc = subprocess.run(
        [soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
         "--outdir", str(out_dir), str(path)],
        capture_output=True, text=True, timeout=120, check=False)
    result = out_dir / f"{path.stem}.{fmt}"
    assert proc.returncode == 0 and result.exists(), proc.stderr + proc.stdout
    return result
