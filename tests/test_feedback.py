"""Feedback workbooks: the agency's own file with findings marked on their cells and a
first sheet listing them, in the agency's language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.comments import Comment
from templates_helpers import convert, distinct_values, filled_file, soffice, to_pdf

from gbvstats.catalogue import Finding
from gbvstats.check.validate import validate_file
from gbvstats.collect.feedback import FILL, write_feedback
from gbvstats.schema.model import FormVersion, Registry

RED, AMBER, BLUE = FILL["error"], FILL["warning"], FILL["info"]


@pytest.fixture(scope="module")
def fv2(registry: Registry) -> FormVersion:
    return registry.get("MOI-FV", 2)


def zeros(form: FormVersion) -> dict:
    """All zeros pass every rule of MOI-FV v2, so only the planted defects are found."""
    return {k: 0 for k in distinct_values(form)}


@pytest.fixture
def defective(fv2: FormVersion, tmp_path: Path) -> Path:
    values = zeros(fv2)
    values[("T1", "02", 1)] = 5  # physical violence without a total: balance MOI-FV2-01
    values[("T3", "01", 1)] = -2  # negative count
    values[("T4", "01", 1)] = "много"  # text in a count
    return filled_file(fv2, tmp_path / "bishkek_leninsky_2019Q1.xlsx", values)


def rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def fill(cell) -> str:
    return cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type == "solid" else ""


def test_feedback_of_a_validated_workbook(defective: Path, registry: Registry,
                                          tmp_path: Path) -> None:
    report = validate_file(defective, registry)
    assert sorted(f.code for f in report.findings) == ["GBV-R001", "GBV-V001", "GBV-V003"]
    out = write_feedback(defective, report.findings, tmp_path / "fb.xlsx", "ru")
    wb = load_workbook(out)
    original = load_workbook(defective).sheetnames
    assert wb.sheetnames == ["Замечания", *original]
    listed = rows(wb["Замечания"])
    assert listed[0] == ("Уровень", "Код", "Лист", "Ячейка", "Сообщение", "Значения")
    by_code = {r[1]: r for r in listed[1:]}
    assert by_code["GBV-V003"] == ("ошибка", "GBV-V003", "T3", "C6", "-2 — отрицательное число",
                                   "value=-2")
    assert by_code["GBV-V001"][2:5] == ("T4", "C6", "'много' не является числом")
    r001 = by_code["GBV-R001"]
    assert r001[2:4] == ("T1", "C6, C7, C8, C9, C10, C11")
    assert r001[4].startswith("MOI-FV2-01: Сумма сообщений по видам насилия (строки 02-06) равна 5")
    assert r001[5] == "left=0; right=5; imbalance=-5; tolerance=0"
    for sheet, addr, code in (("T3", "C6", "GBV-V003"), ("T4", "C6", "GBV-V001"),
                              ("T1", "C6", "GBV-R001"), ("T1", "C11", "GBV-R001")):
        cell = wb[sheet][addr]
        assert fill(cell) == RED, (sheet, addr)
        assert code in cell.comment.text and cell.comment.author == "gbvstats"
    assert "отрицательное число" in wb["T3"]["C6"].comment.text
    untouched = wb["T2"]["C6"]
    assert untouched.comment is None and fill(untouched) != RED
    assert (wb["T1"]["C7"].value, wb["T3"]["C6"].value, wb["T4"]["C6"].value) == (5, -2, "много")
    assert rows(wb["_meta"]) == rows(load_workbook(defective)["_meta"])
    assert not any(ws.protection.sheet for ws in wb.worksheets)


def test_one_comment_per_cell_and_the_worst_colour(defective: Path, tmp_path: Path) -> None:
    findings = [
        Finding("GBV-R006", cells=["T1!C7", "T1!C6"],
                params={"rule_id": "MOI-FV2-09", "item": "line=02",
                        "rule_message": {"en": "Unusual share", "ru": "Необычная доля",
                                         "ky": "Адаттан тыш үлүш"}}),
        Finding("GBV-V002", sheet="T1", cell="C6", params={"value": 2.5}),
        Finding("GBV-R090", severity="info", cells=["T2!C6"],
                params={"rule_id": "MOI-FV2-10", "reason": "missing", "rule_message": "x"}),
        Finding("GBV-F011", params={"count": 2}),  # a file-level finding: listed, not marked
    ]
    own = load_workbook(defective)
    own["T1"]["C7"].comment = Comment("checked with the duty log", "Asanova")
    own.save(defective)
    wb = load_workbook(write_feedback(defective, findings, tmp_path / "fb.xlsx", "en"))
    assert wb.sheetnames[0] == "Findings" and wb.active.title == "Findings"
    assert wb["T1"]["C7"].comment.text.endswith("\n---\nchecked with the duty log")
    c6 = wb["T1"]["C6"]
    assert fill(c6) == RED and fill(wb["T1"]["C7"]) == AMBER and fill(wb["T2"]["C6"]) == BLUE
    assert c6.comment.text.splitlines() == [
        "warning GBV-R006: MOI-FV2-09 (line=02): Unusual share",
        "error GBV-V002: 2.5 is not a whole number"]
    assert [r[:2] for r in rows(wb["Findings"])[1:]] == [
        ("error", "GBV-V002"), ("warning", "GBV-F011"), ("warning", "GBV-R006"),
        ("info", "GBV-R090")]


def test_header_findings_are_marked_on_the_title_sheet(fv2: FormVersion, registry: Registry,
                                                       tmp_path: Path) -> None:
    from gbvstats.collect.templates import fill_template, save

    wb = fill_template(fv2, zeros(fv2), "41711201000000", "2024-Q7")
    wb["Title"]["C4"] = None
    original = save(wb, tmp_path / "header.xlsx")
    report = validate_file(original, registry)
    assert [(f.code, f.sheet, f.cell) for f in report.findings] == [
        ("GBV-F020", "Title", "C4"), ("GBV-F023", "Title", "C5")]
    back = load_workbook(write_feedback(original, report.findings, tmp_path / "fb.xlsx", "ru"))
    assert fill(back["Title"]["C4"]) == RED and "GBV-F020" in back["Title"]["C4"].comment.text
    assert "'2024-Q7'" in back["Title"]["C5"].comment.text


def test_findings_in_kyrgyz_and_no_findings(defective: Path, tmp_path: Path) -> None:
    wb = load_workbook(write_feedback(defective, [], tmp_path / "fb.xlsx", "ky"))
    assert wb.sheetnames[0] == "Эскертүүлөр"
    assert rows(wb["Эскертүүлөр"])[1][4] == "Эскертүүлөр жок. Форманы тапшырууга болот."


def test_xls_original_becomes_an_xlsx_copy(tmp_path: Path) -> None:
    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("Title").write(3, 2, "41711201000000 — Ленинский район")
    sheet = book.add_sheet("T1")
    for col, value in enumerate(["А", "Б", 1, 2]):
        sheet.write(4, col, value)
    for col, value in enumerate(["Всего", "01", 12, -1]):
        sheet.write(5, col, value)
    original = tmp_path / "old.xls"
    book.save(str(original))
    finding = Finding("GBV-V003", sheet="T1", cell="D6", params={"value": -1})
    wb = load_workbook(write_feedback(original, [finding], tmp_path / "old.feedback.xlsx", "ru"))
    assert wb.sheetnames == ["Замечания", "Title", "T1"]
    assert wb["T1"]["C6"].value == 12 and wb["T1"]["D6"].value == -1
    assert wb["Title"]["C4"].value.startswith("41711201000000")
    assert fill(wb["T1"]["D6"]) == RED and "GBV-V003" in wb["T1"]["D6"].comment.text
    note = rows(wb["Замечания"])[-1]
    assert note[0] == "Примечание" and note[4].startswith("Ваш файл .xls скопирован")


def test_unreadable_original_still_gets_the_list(tmp_path: Path) -> None:
    original = tmp_path / "broken.xlsx"
    original.write_bytes(b"PK\x03\x04 not really a zip")
    finding = Finding("GBV-F005", params={"detail": "bad zip"})
    wb = load_workbook(write_feedback(original, [finding], tmp_path / "fb.xlsx", "en"))
    assert wb.sheetnames == ["Findings"]
    listed = rows(wb["Findings"])
    assert listed[1][:2] == ("error", "GBV-F005")
    assert listed[-1][4] == "Your file could not be opened, so only the list of findings is given here."


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_a_feedback_workbook(defective: Path, registry: Registry,
                                               tmp_path: Path) -> None:
    report = validate_file(defective, registry)
    out = write_feedback(defective, report.findings, tmp_path / "fb.xlsx", "ru")
    assert to_pdf(out, tmp_path).read_bytes().startswith(b"%PDF")


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_ods_original_becomes_an_xlsx_copy(defective: Path, tmp_path: Path) -> None:
    ods = convert(defective, tmp_path, "ods")
    finding = Finding("GBV-V003", sheet="T3", cell="C6", params={"value": -2})
    wb = load_workbook(write_feedback(ods, [finding], tmp_path / "fb.xlsx", "en"))
    assert wb.sheetnames[:3] == ["Findings", "Title", "T1"]
    assert wb["T3"]["C6"].value == -2 and wb["T1"]["C7"].value == 5
    assert fill(wb["T3"]["C6"]) == RED
    assert rows(wb["Findings"])[-1][4].startswith("Your .ods file was copied as values")


def test_cli_validate_writes_feedback(defective: Path, tmp_path: Path) -> None:
    out = tmp_path / "fb.xlsx"
    proc = subprocess.run([sys.executable, "-m", "gbvstats.cli", "validate", str(defective),
                           "--feedback", str(out), "--lang", "en"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    wb = load_workbook(out)
    assert wb.sheetnames[0] == "Findings" and len(rows(wb["Findings"])) == 4


def test_cli_validate_several_files_writes_one_feedback_each(defective: Path, fv2: FormVersion,
                                                            tmp_path: Path) -> None:
    clean = filled_file(fv2, tmp_path / "clean.xlsx", zeros(fv2))
    out = tmp_path / "feedback"
    proc = subprocess.run([sys.executable, "-m", "gbvstats.cli", "validate", str(defective),
                           str(clean), "--feedback", str(out), "--lang", "ru"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "bishkek_leninsky_2019Q1.feedback.xlsx", "clean.feedback.xlsx"]
    clean_list = rows(load_workbook(out / "clean.feedback.xlsx")["Замечания"])
    assert clean_list[1][4] == "Замечаний нет. Форму можно сдавать."
