"""Excel templates: layout, round trip through openpyxl, calamine and the reader, protection
and validation, byte-stable forms/, the CLI, and LibreOffice opening a template."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from templates_helpers import (
    DISTRICT,
    convert,
    distinct_values,
    filled_file,
    period_for,
    soffice,
    to_pdf,
    unit_for,
    xml_parts,
)

from gbvstats import __version__, paths
from gbvstats.collect.reader import read_workbook
from gbvstats.collect.templates import (
    GREY,
    NUMBER_ROW,
    build_all,
    build_template,
    fill_by_element,
    header_layout,
    layout,
    save,
    template_name,
)
from gbvstats.i18n import pick
from gbvstats.schema.model import FormVersion, Registry

HEADER = {"unit": "C4", "period": "C5", "contact": "C6", "phone": "C7", "date": "C8"}


def versions(registry: Registry) -> list[FormVersion]:
    return registry.versions()


def gbvstats(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gbvstats.cli", *args],
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def fv2(registry: Registry) -> FormVersion:
    return registry.get("MOI-FV", 2)


@pytest.fixture(scope="module")
def gbv(registry: Registry) -> FormVersion:
    return registry.get("MOI-GBV", 1)  # the form with the most greyed cells


def test_layout_covers_every_cell_and_matches_printed_codes(registry: Registry) -> None:
    for form in registry.versions():
        where = layout(form)
        assert {(c.table, c.line, c.column): c.input for c in form.cells()} == {
            k: v[2] for k, v in where.items()}, form.key
        assert len({(s, a) for s, a, _ in where.values()}) == len(where), form.key
        wb = build_template(form, reg=registry)
        for (tbl, line, col), (sheet, addr, _) in where.items():
            ws = wb[sheet]
            assert sheet == tbl
            assert ws[f"B{ws[addr].row}"].value == line, (form.key, addr)
            assert ws.cell(row=NUMBER_ROW, column=ws[addr].column).value == col, (form.key, addr)
        for table in form.tables:
            assert (wb[table.id]["A5"].value, wb[table.id]["B5"].value) == ("А", "Б")


def test_every_version_builds_with_the_contract_sheets(registry: Registry) -> None:
    for form in registry.versions():
        wb = build_template(form, reg=registry)
        tables = [t.id for t in form.tables]
        assert wb.sheetnames == ["Title", *tables, "_lists", "_labels", "_meta"], form.key
        assert {ws.title: ws.sheet_state for ws in wb.worksheets if ws.sheet_state != "visible"} \
            == {"_lists": "hidden", "_labels": "hidden", "_meta": "hidden"}
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (form.key, ws.title, cell.coordinate)
                    assert not str(cell.value or "").startswith("="), (ws.title, cell.coordinate)


def test_round_trip_by_element(fv2: FormVersion, registry: Registry, tmp_path: Path) -> None:
    values = {("fv_reports", 1): 412, ("fv_victims", 2): 301, ("tpo_issued", 1): 0}
    wb = fill_by_element(fv2, values, DISTRICT, "2024-Q1", contact="Асанова Айгуль",
                         phone="0312 662431", date="2024-04-10")
    path = save(wb, tmp_path / "fv.xlsx")
    back = load_workbook(path)
    meta = {r[0]: r[1] for r in back["_meta"].iter_rows(values_only=True)}
    assert meta == {"form": "MOI-FV", "version": 2, "schema_hash": fv2.schema_hash,
                    "lang": "ru", "generator": f"gbvstats {__version__}"}
    title = back["Title"]
    assert title["C4"].value == f"{DISTRICT} — Ленинский район"
    assert [title[HEADER[k]].value for k in ("period", "contact", "phone", "date")] == [
        "2024-Q1", "Асанова Айгуль", "0312 662431", "2024-04-10"]
    assert header_layout() == {k: ("Title", a) for k, a in HEADER.items()}
    for field, addr in HEADER.items():
        assert back.defined_names[f"gbv_{field}"].attr_text == f"Title!${addr[0]}${addr[1:]}"
    where = {(ln.element, col.number): layout(fv2)[(t.id, ln.code, col.number)]
             for t in fv2.tables for ln in t.lines for col in t.columns}
    for key, value in values.items():
        sheet, addr, _ = where[key]
        assert back[sheet][addr].value == value
    filled = {(s, a) for k, (s, a, _) in where.items() if k in values}
    for sheet, addr, _ in where.values():
        if (sheet, addr) not in filled:
            assert back[sheet][addr].value is None


def test_fill_rejects_unknown_element(fv2: FormVersion) -> None:
    with pytest.raises(KeyError, match="no element 'nope' column 1"):
        fill_by_element(fv2, {("nope", 1): 3}, DISTRICT, "2024-Q1")


def test_reader_reads_every_filled_template(registry: Registry, tmp_path: Path) -> None:
    for form in registry.versions():
        values = distinct_values(form)
        result = read_workbook(filled_file(form, tmp_path / template_name(form)), registry)
        assert result.form is not None and result.form.key == form.key
        assert [f.code for f in result.findings if f.severity == "error"] == [], form.key
        assert result.header["unit"] == unit_for(form)
        assert result.header["period"] == period_for(form)
        got = {(r.tbl, r.line, int(r.col)): (int(r.value), r.sheet, r.addr)
               for r in result.cells.itertuples()}
        where = layout(form)
        assert got == {k: (v, *where[k][:2]) for k, v in values.items()}, form.key


def test_protection_validation_and_greyed_cells(gbv: FormVersion, registry: Registry,
                                                 tmp_path: Path) -> None:
    back = load_workbook(save(build_template(gbv, reg=registry), tmp_path / "gbv.xlsx"))
    greyed = 0
    for table in gbv.tables:
        ws = back[table.id]
        assert ws.protection.sheet and not ws.protection.password
        whole = [dv for dv in ws.data_validations.dataValidation if dv.type == "whole"]
        assert len(whole) == 1
        dv = whole[0]
        assert (dv.operator, dv.formula1, dv.allow_blank) == ("greaterThanOrEqual", "0", True)
        assert dv.showErrorMessage and dv.errorStyle == "stop" and dv.error
        for (tbl, _, _), (_, addr, is_input) in layout(gbv).items():
            if tbl != table.id:
                continue
            cell = ws[addr]
            if is_input:
                assert not cell.protection.locked and addr in dv.sqref, addr
            else:
                greyed += 1
                assert cell.protection.locked and addr not in dv.sqref, addr
                assert cell.fill.fgColor.rgb.endswith(GREY), addr
        assert ws.freeze_panes == "C6"
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert greyed == sum(len(ln.greyed) for t in gbv.tables for ln in t.lines) > 0
    title = back["Title"]
    assert title.protection.sheet
    assert not any(title[a].protection.locked for a in HEADER.values())


def test_unit_dropdown_lists_the_units_of_the_level(registry: Registry) -> None:
    for level, form in (("district", registry.get("MOI-FV", 2)),
                        ("oblast", registry.get("MOI-GBV", 1))):
        wb = build_template(form, reg=registry)
        units = registry.units(level)
        listed = [r[0] for r in wb["_lists"].iter_rows(values_only=True)]
        assert [x.split(" — ")[0] for x in listed] == [u.code for u in units]
        dv = next(d for d in wb["Title"].data_validations.dataValidation if d.type == "list")
        assert dv.formula1 == f"_lists!$A$1:$A${len(units)}" and "C4" in dv.sqref
        assert dv.showErrorMessage and dv.errorStyle == "stop"


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
def test_labels_in_the_chosen_language(fv2: FormVersion, registry: Registry, lang: str) -> None:
    wb = build_template(fv2, lang=lang, reg=registry)
    assert wb["Title"]["A1"].value == pick(fv2.title, lang)
    table = fv2.tables[0]
    ws = wb[table.id]
    assert ws["A1"].value == pick(table.title, lang)
    assert ws.cell(row=NUMBER_ROW - 1, column=3).value == pick(table.columns[0].label, lang)
    assert ws["A6"].value == pick(table.lines[0].label, lang)
    labels = list(wb["_labels"].iter_rows(values_only=True))
    assert labels[0] == ("table", "line", "column", "en", "ru", "ky")
    first = next(r for r in labels if r[1] == table.lines[0].code and r[0] == table.id)
    assert first[3:] == tuple(table.lines[0].label[x] for x in ("en", "ru", "ky"))


def test_templates_are_byte_stable(fv2: FormVersion, registry: Registry, tmp_path: Path) -> None:
    a = save(build_template(fv2, reg=registry), tmp_path / "a.xlsx").read_bytes()
    b = save(build_template(fv2, reg=registry), tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_forms_directory_is_current(registry: Registry, tmp_path: Path) -> None:
    built = build_all(tmp_path)
    committed = sorted(p.name for p in paths.forms_dir().glob("*.xlsx"))
    assert committed == sorted(p.name for p in built), "run `make forms` and commit forms/"
    for path in built:
        for name, data in xml_parts(path).items():  # every part well-formed XML
            if name.endswith((".xml", ".rels", ".vml")):
                ElementTree.fromstring(data)
        assert xml_parts(path) == xml_parts(paths.forms_dir() / path.name), (
            f"forms/{path.name} is stale: run `make forms` and commit forms/")


def test_a_changed_schema_makes_forms_stale(fv2: FormVersion, registry: Registry,
                                            tmp_path: Path) -> None:
    changed = fv2.model_copy(update={"title": {**fv2.title, "ru": fv2.title["ru"] + " (изм.)"}})
    path = save(build_template(changed, reg=registry), tmp_path / template_name(fv2))
    assert xml_parts(path) != xml_parts(paths.forms_dir() / template_name(fv2))


def test_calamine_reads_a_template(gbv: FormVersion, tmp_path: Path) -> None:
    import python_calamine as pc

    path = filled_file(gbv, tmp_path / "gbv.xlsx")
    book = pc.load_workbook(path)
    assert book.sheet_names[:2] == ["Title", gbv.tables[0].id]
    rows = book.get_sheet_by_name(gbv.tables[0].id).to_python(skip_empty_area=False)
    number_row = rows[NUMBER_ROW - 1]
    assert number_row[:3] == ["А", "Б", 1.0] or number_row[:3] == ["А", "Б", 1]
    first_input = next((c.line, c.column) for c in gbv.cells()
                       if c.input and c.table == gbv.tables[0].id)
    line = next(r for r in rows[NUMBER_ROW:] if r[1] == first_input[0])
    assert line[1 + first_input[1]] == distinct_values(gbv)[(gbv.tables[0].id, *first_input)]


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_prints_a_template(fv2: FormVersion, tmp_path: Path) -> None:
    pdf = to_pdf(filled_file(fv2, tmp_path / "fv.xlsx"), tmp_path)
    data = pdf.read_bytes()
    pages = re.findall(rb"/Type\s*/Page\b(?!s)", data)
    assert data.startswith(b"%PDF") and len(pages) >= 1 + len(fv2.tables)


def test_reader_reads_a_kyrgyz_template(gbv: FormVersion, registry: Registry,
                                        tmp_path: Path) -> None:
    result = read_workbook(filled_file(gbv, tmp_path / "ky.xlsx", lang="ky"), registry)
    assert result.findings == [] and result.header["unit"] == unit_for(gbv)
    got = {(r.tbl, r.line, int(r.col)): int(r.value) for r in result.cells.itertuples()}
    assert got == distinct_values(gbv)


@pytest.mark.libreoffice
@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_a_template_saved_by_libreoffice_keeps_its_layout(fv2: FormVersion, registry: Registry,
                                                          tmp_path: Path) -> None:
    """Agencies fill templates in LibreOffice too: protection, validation, greyed cells,
    defined names and the values must survive its .xlsx and .ods."""
    original = filled_file(fv2, tmp_path / "fv.xlsx")
    saved = convert(original, tmp_path / "lo", "xlsx")
    wb = load_workbook(saved)
    assert [ws.sheet_state for ws in wb.worksheets][-3:] == ["hidden"] * 3
    ws = wb["T2"]
    assert ws.protection.sheet and not ws["C6"].protection.locked
    assert ws["F7"].protection.locked and ws["F7"].fill.fgColor.rgb.endswith(GREY)  # women: line 02 is minors
    dv = next(d for d in ws.data_validations.dataValidation if d.type == "whole")
    assert (dv.operator, dv.formula1) == ("greaterThanOrEqual", "0") and "C6" in dv.sqref
    assert dv.showErrorMessage
    unit_dv = next(d for d in wb["Title"].data_validations.dataValidation if d.type == "list")
    units = len(registry.units(fv2.level))
    assert unit_dv.formula1 == f"_lists!$A$1:$A${units}" and unit_dv.showErrorMessage
    assert set(wb.defined_names) == {f"gbv_{f}" for f in HEADER}
    for path in (saved, convert(original, tmp_path / "ods", "ods")):
        result = read_workbook(path, registry)
        assert result.findings == [] and result.form.key == fv2.key, path.name
        got = {(r.tbl, r.line, int(r.col)): int(r.value) for r in result.cells.itertuples()}
        assert got == distinct_values(fv2), path.name


def test_cli_template_fills_the_header(tmp_path: Path) -> None:
    out = tmp_path / "fv.xlsx"
    proc = gbvstats("template", "MOI-FV", "--period", "2016-Q3", "--unit", DISTRICT,
                    "-o", str(out), "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    wb = load_workbook(out)
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(values_only=True)}
    assert (meta["form"], meta["version"], meta["lang"]) == ("MOI-FV", 1, "en")
    assert wb["Title"]["C4"].value == f"{DISTRICT} — Leninsky district"
    assert wb["Title"]["C5"].value == "2016-Q3"


@pytest.mark.parametrize(("args", "expected"), [
    (["NOPE", "--period", "2024-Q1", "--unit", DISTRICT], "no form NOPE; known forms: GPO-CASES"),
    (["MOI-FV@1", "--period", "2024-Q1", "--unit", DISTRICT],
     "MOI-FV@v1 is not valid for 2024-Q1: MOI-FV@v1: 2015-Q1 .. 2018-Q4 (quarter)"),
    (["MOI-FV@9", "--period", "2024-Q1", "--unit", DISTRICT], "form MOI-FV has no version 9"),
    (["MOI-GBV", "--period", "2024", "--unit", "41706000000000"],
     "no version of MOI-GBV is valid for 2024"),
    (["MOI-FV", "--period", "2024-Q5", "--unit", DISTRICT], "period '2024-Q5' is not like"),
    (["MOI-FV", "--period", "2024-Q1", "--unit", "41706000000000"],
     "unit 41706000000000 does not report MOI-FV@v2: the form is filled by units of level "
     "district, 41706000000000 is oblast"),
])
def test_cli_template_errors(tmp_path: Path, args: list[str], expected: str) -> None:
    out = tmp_path / "x.xlsx"
    proc = gbvstats("template", *args, "-o", str(out), "--lang", "en")
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {expected}"), proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_cli_template_error_in_russian(tmp_path: Path) -> None:
    proc = gbvstats("template", "NOPE", "--period", "2024-Q1", "--unit", DISTRICT,
                    "-o", str(tmp_path / "x.xlsx"), "--lang", "ru")
    assert proc.returncode == 2 and proc.stderr.startswith("error: формы NOPE нет")


def test_cli_forms_show_json(fv2: FormVersion) -> None:
    proc = gbvstats("forms", "show", "MOI-FV@2", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert (data["form"], data["version"], data["schema_hash"]) == (
        "MOI-FV", 2, fv2.schema_hash)
    where = layout(fv2)
    cells = {(t["id"], c["line"], c["column"]): (c["sheet"], c["cell"], c["input"])
             for t in data["tables"] for c in t["cells"]}
    assert cells == where
    line = data["tables"][0]["lines"][0]
    assert {"code", "element", "label", "parent", "iccs", "offence", "dims"} <= set(line)
    assert {"number", "dims", "label"} <= set(data["tables"][0]["columns"][0])
    assert [r["id"] for r in data["rules"]] == [r.id for r in fv2.rules]
    assert all({"id", "kind", "severity", "expr"} == set(r) for r in data["rules"])


def test_cli_forms_show_text_and_unknown() -> None:
    proc = gbvstats("forms", "show", "MOI-FV", "--lang", "en")
    assert proc.returncode == 0 and "MOI-FV v2" in proc.stdout
    bad = gbvstats("forms", "show", "MOI-XX")
    assert bad.returncode == 2 and bad.stderr.startswith("error: no form 'MOI-XX'")


def test_cli_forms_build(registry: Registry, tmp_path: Path) -> None:
    proc = gbvstats("forms", "build", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    names = sorted(Path(p).name for p in proc.stdout.split())
    assert names == sorted(template_name(f) for f in registry.versions())


def test_wrapped_labels_get_room(registry: Registry) -> None:
    from gbvstats.collect.templates import _lines

    assert [_lines("", 10), _lines("один два три", 8), _lines("один два три", 13)] == [1, 2, 1]
    form = registry.get("JD-CASES", 1)  # long column labels
    ws = build_template(form, reg=registry)[form.tables[0].id]
    header = ws.row_dimensions[NUMBER_ROW - 1].height
    for j, col in enumerate(form.tables[0].columns):
        width = ws.column_dimensions[ws.cell(row=1, column=3 + j).column_letter].width
        assert 13 <= width <= 22 and header >= 15 * _lines(col.label["ru"], int(width) - 2)
