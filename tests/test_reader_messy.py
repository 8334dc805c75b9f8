"""The messy-input corpus: each way agencies damage a real MOI-FV v2 return, generated
from the template, validated through `gbvstats validate --json`, with the exact finding
code, cell address and exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from messy_helpers import (
    OBLAST,
    add_zip_member,
    cached_formula,
    consistent_values,
    corrupt,
    edit,
    good_file,
    pdf_renamed,
    run_cli,
    setter,
    structural,
    to_xls,
    truncated,
    zip_bomb,
)
from templates_helpers import convert, soffice

from gbvstats.collect.reader import read_workbook
from gbvstats.schema.model import FormVersion, Registry


@pytest.fixture(scope="module")
def fv2(registry: Registry) -> FormVersion:
    return registry.get("MOI-FV", 2)


@pytest.fixture(scope="module")
def good(fv2: FormVersion, tmp_path_factory) -> Path:
    return good_file(fv2, tmp_path_factory.mktemp("good") / "good.xlsx")


def _insert_row(wb) -> None:
    wb["T2"].insert_rows(7)  # between lines 01 and 02; the line codes move with the data


def _hide_and_resize(wb) -> None:
    wb["T1"].row_dimensions[7].hidden = True
    wb["T1"].column_dimensions["C"].width = 3


def _reorder(wb) -> None:
    wb._sheets.reverse()  # noqa: SLF001 - openpyxl has no public reorder
    wb.active = 0


def _merge_header(wb) -> None:
    wb["T2"].merge_cells("C3:G4")


def _codes_as_numbers(wb) -> None:
    for row in range(6, 11):
        wb["T1"][f"B{row}"] = row - 5


def _drop_meta(wb) -> None:
    del wb["_meta"]


def _tamper_hash(wb) -> None:
    ws = wb["_meta"]
    for row in ws.iter_rows():
        if row[0].value == "schema_hash":
            row[1].value = "0" * 64


def _extra_sheet(wb) -> None:
    wb.create_sheet("Notes")["A1"] = "draft figures from the district office"


def _empty_extra_sheet(wb) -> None:
    wb.create_sheet("Лист1")


def _no_meta_no_title(wb) -> None:
    del wb["_meta"]
    wb["Title"]["A1"] = "Сводка"
    for ws in wb.worksheets:
        if ws.title.startswith("T"):
            ws.title = f"Sheet{ws.title}"


# (name, damage(good, tmp) -> path, expected reader findings, exit code)
Damage = Callable[[Path, Path], Path]
CASES: list[tuple[str, Damage, list[tuple[str, str | None, str | None]], int]] = [
    ("blank row inserted", lambda g, d: edit(g, d / "a.xlsx", _insert_row), [], 0),
    ("hidden row, narrow column", lambda g, d: edit(g, d / "a.xlsx", _hide_and_resize), [], 0),
    ("sheets re-ordered", lambda g, d: edit(g, d / "a.xlsx", _reorder), [], 0),
    ("merged header", lambda g, d: edit(g, d / "a.xlsx", _merge_header), [], 0),
    ("line codes as numbers", lambda g, d: edit(g, d / "a.xlsx", _codes_as_numbers), [], 0),
    ("numbers as text", lambda g, d: edit(g, d / "a.xlsx", setter("T1", C7="10", C6=" 68 ")), [], 0),
    ("thousands separators", lambda g, d: edit(g, d / "a.xlsx", setter(
        "T1", C6="1 292", C7="1,234")), [], 0),
    ("nbsp and narrow nbsp", lambda g, d: edit(g, d / "a.xlsx", setter(
        "T1", C6="1\u202f292", C7="1\u00a0234")), [], 0),
    ("whole float", lambda g, d: edit(g, d / "a.xlsx", setter("T3", C8=2.0)), [], 0),
    ("text in a count", lambda g, d: edit(g, d / "a.xlsx", setter("T3", C7="четыре")),
     [("GBV-V001", "T3", "C7")], 1),
    ("decimal", lambda g, d: edit(g, d / "a.xlsx", setter("T3", C7=4.5)), [("GBV-V002", "T3", "C7")], 1),
    ("decimal as text", lambda g, d: edit(g, d / "a.xlsx", setter("T3", C7="4,5")),
     [("GBV-V002", "T3", "C7")], 1),
    ("negative", lambda g, d: edit(g, d / "a.xlsx", setter("T3", C7=-4)), [("GBV-V003", "T3", "C7")], 1),
    ("#REF! error value", lambda g, d: edit(g, d / "a.xlsx", setter("T3", C7="#REF!")),
     [("GBV-V004", "T3", "C7")], 1),
    ("#DIV/0! error value", lambda g, d: edit(g, d / "a.xlsx", setter("T5", D8="#DIV/0!")),
     [("GBV-V004", "T5", "D8")], 1),
    ("formula without cached value", lambda g, d: edit(g, d / "a.xlsx", setter("T1", C6="=SUM(C7:C11)")),
     [("GBV-V006", "T1", "C6")], 1),
    ("value in a greyed cell", lambda g, d: edit(g, d / "a.xlsx", setter("T2", F7=5)),
     [("GBV-V005", "T2", "F7")], 1),
    ("line code deleted", lambda g, d: edit(g, d / "a.xlsx", setter("T3", B8=None)),
     [("GBV-F032", "T3", None), ("GBV-F034", "T3", "B8"), ("GBV-V011", "T3", None)], 1),
    ("line row copied", lambda g, d: edit(g, d / "a.xlsx", setter("T3", B9="03", C9=5)),
     [("GBV-F033", "T3", "B9")], 1),
    ("line added by the agency", lambda g, d: edit(g, d / "a.xlsx", setter("T3", A9="прочие", B9="04", C9=3)),
     [("GBV-F034", "T3", "B9")], 1),
    ("subtotal row without a code", lambda g, d: edit(g, d / "a.xlsx", setter("T4", A8="Итого", C8=16)),
     [("GBV-F034", "T4", "B8")], 1),
    ("column added by the agency", lambda g, d: edit(g, d / "a.xlsx", setter("T1", D5=2, D6=4)),
     [("GBV-F035", "T1", "D5")], 1),
    ("note below the table", lambda g, d: edit(g, d / "a.xlsx", setter("T1", A13="Примечание: данные уточнены")),
     [], 0),
    ("formula with its saved value", lambda g, d: cached_formula(
        g, d / "a.xlsx", "xl/worksheets/sheet2.xml", "C6", "SUM(C7:C11)"), [("GBV-V007", "T1", "C6")], 0),
    ("column numbers overwritten", lambda g, d: edit(g, d / "a.xlsx", setter("T4", C5="итого")),
     [("GBV-F031", "T4", None), ("GBV-V011", "T4", None), ("GBV-V011", "T4", None)], 1),
    ("missing period", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C5=None)),
     [("GBV-F020", "Title", "C5")], 1),
    ("missing unit", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C4=None)),
     [("GBV-F020", "Title", "C4")], 1),
    ("unknown unit", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C4="41799999999999 — Неизвестный")),
     [("GBV-F021", "Title", "C4")], 1),
    ("unit of the wrong level", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C4=f"{OBLAST} — Ошская")),
     [("GBV-F022", "Title", "C4")], 1),
    ("period before the version", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C5="2015-Q1")),
     [("GBV-F024", "Title", "C5")], 1),
    ("year for a quarterly form", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C5="2024")),
     [("GBV-F024", "Title", "C5")], 1),
    ("quarter written out in Russian", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C5="I квартал 2019 г.")),
     [], 0),
    ("quarter written out in Kyrgyz", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C5="1-чейрек 2019-ж.")),
     [], 0),
    ("period gibberish", lambda g, d: edit(g, d / "a.xlsx", setter("Title", C5="весна")),
     [("GBV-F023", "Title", "C5")], 1),
    ("_meta deleted", lambda g, d: edit(g, d / "a.xlsx", _drop_meta), [("GBV-F015", None, None)], 0),
    ("schema hash tampered", lambda g, d: edit(g, d / "a.xlsx", _tamper_hash), [("GBV-F013", "_meta", None)], 0),
    ("macro project", lambda g, d: add_zip_member(g, d / "a.xlsm", "xl/vbaProject.bin", b"\xd0\xcf\x11\xe0macro"),
     [("GBV-F010", None, None)], 1),
    ("external link", lambda g, d: add_zip_member(
        g, d / "a.xlsx", "xl/externalLinks/externalLink1.xml", b"<externalLink/>"),
     [("GBV-F011", None, None)], 0),
    ("extra sheet with data", lambda g, d: edit(g, d / "a.xlsx", _extra_sheet), [("GBV-F016", "Notes", None)], 0),
    ("empty extra sheet", lambda g, d: edit(g, d / "a.xlsx", _empty_extra_sheet), [], 0),
    ("no _meta and no title", lambda g, d: edit(g, d / "a.xlsx", _no_meta_no_title),
     [("GBV-F014", None, None)], 2),
    ("corrupt zip", lambda g, d: corrupt(g, d / "a.xlsx"), [("GBV-F005", None, None)], 2),
    ("truncated zip", lambda g, d: truncated(g, d / "a.xlsx"), [("GBV-F005", None, None)], 2),
    ("zip bomb", lambda g, d: zip_bomb(d / "a.xlsx"), [("GBV-F006", None, None)], 2),
    ("pdf renamed .xlsx", lambda g, d: pdf_renamed(d / "a.xlsx"), [("GBV-F004", None, None)], 2),
    ("csv", lambda g, d: (d / "a.csv").write_text("01;68\n") and d / "a.csv", [("GBV-F003", None, None)], 2),
    ("legacy .xls", lambda g, d: to_xls(g, d / "a.xls"), [], 0),
]


@pytest.mark.parametrize(("name", "damage", "expected", "code"), CASES, ids=[c[0] for c in CASES])
def test_messy_input(name: str, damage: Damage, expected: list, code: int, good: Path,
                     tmp_path: Path) -> None:
    path = damage(good, tmp_path)
    exit_code, reports = run_cli([str(path)])
    assert structural(reports[0]) == sorted(expected), reports[0]["findings"]
    assert exit_code == code


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


def test_quarter_written_out_is_read_as_the_quarter(good: Path, tmp_path: Path) -> None:
    _, reports = run_cli([str(edit(good, tmp_path / "a.xlsx", setter("Title", C5="2 кв. 2019")))])
    assert (reports[0]["period"], reports[0]["verdict"]) == ("2019-Q2", "ok")


def test_good_file_is_ok(good: Path) -> None:
    exit_code, reports = run_cli([str(good)])
    assert (exit_code, reports[0]["verdict"], reports[0]["findings"]) == (0, "ok", [])
    assert (reports[0]["form"], reports[0]["version"], reports[0]["unit"], reports[0]["period"]) == (
        "MOI-FV", 2, "41711201000000", "2019-Q1")


def _values(path: Path, registry: Registry) -> dict[tuple[str, str, int], int | None]:
    cells = read_workbook(path, registry).cells
    return {(r.tbl, r.line, int(r.col)): (None if pd.isna(r.value) else int(r.value))
            for r in cells.itertuples()}


@pytest.mark.parametrize("damage", [_insert_row, _hide_and_resize, _reorder, _merge_header,
                                    _codes_as_numbers, _drop_meta])
def test_layout_changes_do_not_shift_values(damage, good: Path, fv2: FormVersion, registry: Registry,
                                            tmp_path: Path) -> None:
    values = _values(edit(good, tmp_path / "a.xlsx", damage), registry)
    expected = {k: v for k, v in consistent_values(fv2).items()}
    assert values == expected


def test_inserted_row_reports_the_new_address(good: Path, registry: Registry, tmp_path: Path) -> None:
    cells = read_workbook(edit(good, tmp_path / "a.xlsx", _insert_row), registry).cells
    where = {(r.tbl, r.line, r.col): r.addr for r in cells.itertuples()}
    assert (where[("T2", "01", 1)], where[("T2", "02", 1)], where[("T2", "04", 5)]) == ("C6", "C8", "G10")


def _several(wb) -> None:
    setter("T1", C6="1\u202f292", C7="1,234", C8=" 20 ")(wb)
    setter("T4", C6=0, C7="–")(wb)
    setter("T3", C8=2.0)(wb)


def test_normalised_values(good: Path, registry: Registry, tmp_path: Path) -> None:
    values = _values(edit(good, tmp_path / "a.xlsx", _several), registry)
    assert (values[("T1", "01", 1)], values[("T1", "02", 1)], values[("T1", "03", 1)]) == (1292, 1234, 20)
    assert (values[("T4", "01", 1)], values[("T4", "02", 1)], values[("T3", "03", 1)]) == (0, None, 2)


def test_spaces_only_as_thousands_separators(good: Path, tmp_path: Path) -> None:
    path = edit(good, tmp_path / "a.xlsx", setter("T1", C6="12 34", C7="2 3", C8="-1 234"))
    exit_code, reports = run_cli([str(path)])
    found = {(f["code"], f["cell"]) for f in reports[0]["findings"] if f["code"].startswith("GBV-V")}
    assert exit_code == 1
    assert found == {("GBV-V001", "C6"), ("GBV-V001", "C7"), ("GBV-V003", "C8")}


def test_dash_and_blank_are_nothing_reported_zero_is_zero(good: Path, registry: Registry,
                                                          tmp_path: Path) -> None:
    path = edit(good, tmp_path / "a.xlsx", setter("T5", C7="—", D7=None, C8=0))
    values = _values(path, registry)
    assert (values[("T5", "02", 1)], values[("T5", "02", 2)], values[("T5", "03", 1)]) == (None, None, 0)


def test_oversized_file_refused_with_a_configurable_limit(good: Path) -> None:
    exit_code, reports = run_cli([str(good)], env={"GBVSTATS_MAX_FILE_MB": "0.001"})
    assert exit_code == 2
    assert structural(reports[0]) == [("GBV-F002", None, None)]
    assert reports[0]["verdict"] == "unreadable"


def test_every_input_cell_has_one_row(good: Path, fv2: FormVersion, registry: Registry) -> None:
    cells = read_workbook(good, registry).cells
    expected = {(c.table, c.line, c.column) for c in fv2.cells() if c.input}
    assert len(cells) == len(expected) == len(set(zip(cells.tbl, cells.line, cells.col, strict=True)))
    assert str(cells["value"].dtype) == "Int64"


def test_error_names_file_sheet_cell_and_value_in_three_languages(good: Path, tmp_path: Path) -> None:
    path = edit(good, tmp_path / "bad.xlsx", setter("T3", C7="четыре"))
    for lang, word in (("en", "четыре"), ("ru", "четыре"), ("ky", "четыре")):
        _, reports = run_cli([str(path), "--lang", lang])
        finding = next(f for f in reports[0]["findings"] if f["code"] == "GBV-V001")
        assert (finding["file"], finding["sheet"], finding["cell"]) == ("bad.xlsx", "T3", "C7")
        assert word in finding["message"]


def test_several_files_exit_with_the_worst(good: Path, tmp_path: Path) -> None:
    bad = edit(good, tmp_path / "bad.xlsx", setter("T3", C7=-1))
    broken = truncated(good, tmp_path / "broken.xlsx")
    assert run_cli([str(good), str(bad)])[0] == 1
    code, reports = run_cli([str(good), str(bad), str(broken)])
    assert code == 2
    assert [r["verdict"] for r in reports] == ["ok", "errors", "unreadable"]


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("fmt", ["xlsx", "ods", "xls"])
def test_libreoffice_round_trip_validates_the_same(fmt: str, good: Path, registry: Registry,
                                                   tmp_path: Path) -> None:
    bad = edit(good, tmp_path / "bad.xlsx", setter("T3", C7=4.5))
    out = tmp_path / "lo"
    out.mkdir()
    for original in (good, bad):
        converted = convert(original, out, fmt)
        code_a, (a,) = run_cli([str(original)])
        code_b, (b,) = run_cli([str(converted)])
        assert (code_b, structural(b), b["verdict"]) == (code_a, structural(a), a["verdict"])
        assert _values(converted, registry) == _values(original, registry)
