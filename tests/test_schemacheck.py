"""`gbvstats schemas check`: the project's schemas are clean, and every kind of problem
planted in a copy of them is reported with its own code and the YAML key path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from schemacheck_helpers import (
    copy_schemas,
    edit,
    line,
    located,
    new_findings,
    planted,
    rule,
    table,
)
from typer.testing import CliRunner

from gbvstats.catalogue import catalogue
from gbvstats.cli import app
from gbvstats.schema.check import check_schemas

FV1, FV2 = "moi/fv/v1.yaml", "moi/fv/v2.yaml"
F1, F2 = "schemas/moi/fv/v1.yaml", "schemas/moi/fv/v2.yaml"
SEX = "codelists/sex.yaml"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_schemas(tmp_path)


def test_project_schemas_are_clean() -> None:
    result = CliRunner().invoke(app, ["schemas", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(", 0 problems")


def test_every_code_is_catalogued_in_three_languages() -> None:
    codes = [c for c in catalogue() if c.startswith("GBV-S")]
    assert codes == [f"GBV-S{n:03d}" for n in range(1, 38)]
    for code in codes:
        kind = catalogue()[code]
        for texts in (kind.title, kind.description, kind.message):
            assert all(texts.get(lang, "").strip() for lang in ("en", "ru", "ky")), code


# --- files that do not load ------------------------------------------------------------

def test_unparseable_file_is_one_finding_and_the_rest_are_still_checked(root: Path) -> None:
    (root / FV1).write_text("form: MOI-FV\ntables: [\n", encoding="utf-8")
    edit(root, FV2, lambda d: table(d, "T1")["lines"][1].update(parent="99"))
    found = new_findings(root)
    s001 = [f for f in check_schemas(root) if f.code == "GBV-S001"]
    assert [(f.file, f.params["key"]) for f in s001] == [(F1, "line 3, column 1")]
    # nothing about v1's absence is blamed on v2 or on the rules that name MOI-FV
    assert found == {("GBV-S001", F1, "line 3, column 1"), ("GBV-S015", F2, "tables.T1.lines.02.parent")}


def test_file_not_matching_the_model(root: Path) -> None:
    assert planted(root, FV2, lambda d: d.pop("periodicity")) == {("GBV-S001", F2, "periodicity")}


def test_rules_file_not_matching_the_model(root: Path) -> None:
    message = {"en": "Check.", "ru": "Проверьте.", "ky": "Текшериңиз."}
    (root / "rules" / "extra.yaml").write_text(yaml.safe_dump({"rules": [
        {"id": "X-01", "kind": "sum", "expr": "MOI-FV:T1/01/1 = MOI-FV:T1/01/1", "message": message},
        {"id": "X-02", "kind": "history", "cells": "MOI-FV:T1/01/1", "message": message},
        {"id": "X-02", "kind": "history", "cells": "MOI-FV:T1/99/1", "message": message},
    ]}, allow_unicode=True), encoding="utf-8")
    (root / "rules" / "list.yaml").write_text("- id: X-09\n", encoding="utf-8")
    rel = "schemas/rules/extra.yaml"
    # the valid rules after the broken one are still checked, at their own positions
    assert new_findings(root) == {("GBV-S001", rel, "rules.0.kind"), ("GBV-S006", rel, "rules[2].id"),
                                  ("GBV-S018", rel, "rules.X-02.cells"),
                                  ("GBV-S001", "schemas/rules/list.yaml", "rules")}


def test_file_that_is_not_utf8(root: Path) -> None:
    (root / "codelists" / "place.yaml").write_bytes("id: place\ntitle: {ru: Место}\n".encode("cp1251"))
    # and no dims key `place` is blamed for the list that could not be read
    assert new_findings(root) == {("GBV-S001", "schemas/codelists/place.yaml", "(file)")}


# --- duplicates ------------------------------------------------------------------------

def test_duplicate_table_id(root: Path) -> None:
    def change(d: dict) -> None:
        d["tables"].append({**table(d, "T4"), "lines": [
            {**ln, "element": ln["element"] + "_x"} for ln in table(d, "T4")["lines"]]})
        d["concordance"]["new"] += ["art70_protocols_x", "art70_to_court_x"]

    assert planted(root, FV2, change) == {("GBV-S002", F2, "tables[6].id")}


def test_duplicate_line_code(root: Path) -> None:
    assert planted(root, FV2, lambda d: table(d, "T1")["lines"][2].update(code="02")) == {
        ("GBV-S003", F2, "tables.T1.lines[2].code")}


def test_duplicate_column_number(root: Path) -> None:
    def change(d: dict) -> None:
        first = table(d, "T1")["columns"][0]
        table(d, "T1")["columns"].append({**first, "id": "reports_again"})

    assert planted(root, FV2, change) == {("GBV-S004", F2, "tables.T1.columns[1].number")}


def test_duplicate_element(root: Path) -> None:
    assert planted(root, FV2, lambda d: line(d, "T2", "04").update(element="fv_victims")) == {
        ("GBV-S005", F2, "tables.T2.lines.04.element")}


def test_duplicate_rule_id_within_and_across_forms(root: Path) -> None:
    edit(root, FV2, lambda d: d["rules"][1].update(id="MOI-FV2-01"))
    edit(root, FV1, lambda d: d["rules"][0].update(id="MOI-FV2-05"))
    found = new_findings(root)
    assert found == {("GBV-S006", F2, "rules[1].id"), ("GBV-S006", F2, "rules[4].id")}
    problems = [f.message("en") for f in check_schemas(root) if f.code == "GBV-S006"]
    assert f"{F2}: rules[4].id: rule id MOI-FV2-05 is already used in {F1}" in problems


def test_duplicate_rule_id_in_a_rules_file(root: Path) -> None:
    (root / "rules" / "extra.yaml").write_text(yaml.safe_dump({"rules": [
        {"id": "MOI-FV2-03", "kind": "completeness", "cells": "MOI-FV:T1/01/1",
         "message": {"en": "Report it.", "ru": "Укажите.", "ky": "Көрсөтүңүз."}}]},
        allow_unicode=True), encoding="utf-8")
    assert new_findings(root) == {("GBV-S006", "schemas/rules/extra.yaml", "rules[0].id")}


def test_duplicate_code_in_a_code_list(root: Path) -> None:
    assert planted(root, SEX, lambda d: d["codes"].append(dict(d["codes"][0]))) == {
        ("GBV-S007", "schemas/codelists/sex.yaml", "codes[4].code")}


def test_same_form_version_in_two_files(root: Path) -> None:
    shutil.copy(root / FV2, root / "moi" / "fv" / "v3.yaml")
    found = new_findings(root)
    assert ("GBV-S008", "schemas/moi/fv/v3.yaml", "version") in found
    assert ("GBV-S025", "schemas/moi/fv/v3.yaml", "version") not in found  # not loaded twice


def test_same_code_list_in_two_files(root: Path) -> None:
    shutil.copy(root / SEX, root / "codelists" / "sex_copy.yaml")  # read after sex.yaml
    assert new_findings(root) == {("GBV-S009", "schemas/codelists/sex_copy.yaml", "id")}


# --- code-list members -----------------------------------------------------------------

def test_dims_key_that_is_no_code_list(root: Path) -> None:
    def change(d: dict) -> None:
        table(d, "T2")["columns"][1]["dims"] = {"gender": "F", "age": "Y18T999"}

    assert planted(root, FV2, change) == {("GBV-S010", F2, "tables.T2.columns.2.dims.gender")}


def test_dims_value_not_in_its_code_list(root: Path) -> None:
    assert planted(root, FV2, lambda d: line(d, "T1", "03").update(dims={"violence_form": "SPI"})) == {
        ("GBV-S011", F2, "tables.T1.lines.03.dims.violence_form")}


def test_offence_not_in_offence_group(root: Path) -> None:
    assert planted(root, FV2, lambda d: line(d, "T5", "02").update(offence="MURDER")) == {
        ("GBV-S012", F2, "tables.T5.lines.02.offence")}


def test_iccs_not_in_iccs_csv(root: Path) -> None:
    assert planted(root, FV2, lambda d: line(d, "T5", "03").update(iccs="9999")) == {
        ("GBV-S013", F2, "tables.T5.lines.03.iccs")}


def test_offence_group_iccs_not_in_iccs_csv(root: Path) -> None:
    rel = "codelists/offence_group.yaml"
    assert planted(root, rel, lambda d: d["codes"][0].update(iccs="0199")) == {
        ("GBV-S013", "schemas/" + rel, "codes.HOM.iccs")}


def test_territory_parent_not_existing(root: Path) -> None:
    path = root / "codelists" / "territories.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("41721000000000,KG21,oblast,41700000000000",
                                 "41721000000000,KG21,oblast,41799000000000"), encoding="utf-8")
    assert new_findings(root) == {
        ("GBV-S014", "schemas/codelists/territories.csv", "codes.41721000000000.parent")}


# --- hierarchies (which codes add up to which) -------------------------------------------

AGE, AGE_REL = "codelists/age.yaml", "schemas/codelists/age.yaml"


def hierarchy(data: dict, hid: str) -> dict:
    return next(h for h in data["hierarchies"] if h["id"] == hid)


def test_project_code_lists_declare_their_breakdowns(registry) -> None:
    age = registry.codelists["age"]
    bands = {h.id: (h.total, h.parts) for h in age.breakdowns()}
    assert bands["NSC_FV_BANDS"] == ("_T", ["Y0T20", "Y21T30", "Y31T40", "Y41T50", "Y_GE51", "_U"])
    assert bands["CHILD_ADULT"] == ("_T", ["Y0T17", "Y18T999", "_U"])
    assert {h.total for h in age.breakdowns()} == {"_T", "Y0T17", "Y18T999"}
    # a list without declarations: every other code is a part of its total
    (implied,) = registry.codelists["offence_group"].breakdowns()
    assert implied.total == "_T" and "_T" not in implied.parts and "HOM" in implied.parts
    assert registry.codelists["stage"].breakdowns() == []  # no total, no breakdown
    for dim in ("sex", "exploitation", "education", "activity"):
        assert "_U" in registry.codelists[dim].breakdowns()[0].parts, dim


def test_hierarchy_part_or_total_not_a_code(root: Path) -> None:
    def change(d: dict) -> None:
        hierarchy(d, "NSC_FV_BANDS")["parts"][4] = "Y51T999"
        hierarchy(d, "CHILDREN").update(total="Y0T18")

    assert planted(root, AGE, change) == {
        ("GBV-S031", AGE_REL, "hierarchies.NSC_FV_BANDS.parts[4]"),
        ("GBV-S031", AGE_REL, "hierarchies.CHILDREN.total")}


def test_code_twice_in_one_hierarchy(root: Path) -> None:
    def change(d: dict) -> None:
        hierarchy(d, "TIP_BANDS")["parts"].append("Y30T39")
        hierarchy(d, "CHILDREN")["parts"].append("Y0T17")

    assert planted(root, AGE, change) == {
        ("GBV-S032", AGE_REL, "hierarchies.TIP_BANDS.parts[6]"),
        ("GBV-S032", AGE_REL, "hierarchies.CHILDREN.parts[2]")}


def test_duplicate_hierarchy_id(root: Path) -> None:
    def change(d: dict) -> None:
        d["hierarchies"].append({"id": "CHILDREN", "total": "_T",
                                 "parts": ["Y0T17", "Y18T29", "Y30T39", "Y40T59", "Y60T999"]})

    assert planted(root, AGE, change) == {("GBV-S033", AGE_REL, "hierarchies[7].id")}


def test_hierarchy_with_one_part(root: Path) -> None:
    assert planted(root, SEX, lambda d: d["hierarchies"].append(
        {"id": "WOMEN", "total": "_T", "parts": ["F"]})) == {
        ("GBV-S034", "schemas/codelists/sex.yaml", "hierarchies.WOMEN.parts")}


def test_hierarchies_in_a_cycle(root: Path) -> None:
    def change(d: dict) -> None:
        d["hierarchies"].append({"id": "LOOP", "total": "Y0T14", "parts": ["Y0T17", "Y60T999"]})

    found = planted(root, AGE, change)
    assert found == {("GBV-S035", AGE_REL, "hierarchies")}
    [finding] = [f for f in check_schemas(root) if f.code == "GBV-S035"]
    assert "Y0T14" in finding.message("en")


def test_same_breakdown_declared_twice(root: Path) -> None:
    def change(d: dict) -> None:
        d["hierarchies"].append({"id": "KIDS", "total": "Y0T17", "parts": ["Y15T17", "Y0T14"]})

    assert planted(root, AGE, change) == {("GBV-S036", AGE_REL, "hierarchies.KIDS")}


def test_parent_disagrees_with_the_hierarchies(root: Path) -> None:
    def change(d: dict) -> None:
        d["codes"][2]["parent"] = "Y0T17"  # Y0T14: right
        d["codes"][4]["parent"] = "Y0T17"  # Y18T29: wrong

    assert planted(root, AGE, change) == {("GBV-S037", AGE_REL, "codes.Y18T29.parent")}


def test_hierarchy_label_in_three_languages(root: Path) -> None:
    assert planted(root, AGE, lambda d: hierarchy(d, "CHILD_ADULT")["label"].pop("ky")) == {
        ("GBV-S021", AGE_REL, "hierarchies.CHILD_ADULT.label.ky")}


# --- lines and columns -----------------------------------------------------------------

def test_line_parent_not_a_line_of_the_table(root: Path) -> None:
    # T3 has a line 04 nowhere; T2 has one, but a parent must be in the same table
    assert planted(root, FV2, lambda d: line(d, "T3", "02").update(parent="04")) == {
        ("GBV-S015", F2, "tables.T3.lines.02.parent")}


def test_greyed_column_that_does_not_exist(root: Path) -> None:
    assert planted(root, FV2, lambda d: line(d, "T2", "02").update(greyed=[4, 5, 9])) == {
        ("GBV-S016", F2, "tables.T2.lines.02.greyed")}


# --- rules -----------------------------------------------------------------------------

def test_rule_that_does_not_parse(root: Path) -> None:
    assert planted(root, FV2, lambda d: rule(d, "MOI-FV2-05").update(expr="T3/02/1 T3/01/1")) == {
        ("GBV-S017", F2, "rules.MOI-FV2-05.expr")}


def test_rule_referring_to_missing_cells(root: Path) -> None:
    def change(d: dict) -> None:
        rule(d, "MOI-FV2-01")["expr"] = "T1/01/1 = T1/02..07/1"
        rule(d, "MOI-FV2-10")["then"] = "T7/01/1"

    found = planted(root, FV2, change)
    assert found == {("GBV-S018", F2, "rules.MOI-FV2-01.expr"), ("GBV-S018", F2, "rules.MOI-FV2-10.then")}


def test_rule_that_expands_to_nothing(root: Path) -> None:
    # column 4 (women) of line 02 (minors who witnessed) is greyed: nothing is left to compare
    assert planted(root, FV2, lambda d: rule(d, "MOI-FV2-03").update(expr="T2/02/4 <= T2/01/4")) == {
        ("GBV-S019", F2, "rules.MOI-FV2-03.expr")}


def test_rule_lacking_what_its_kind_needs(root: Path) -> None:
    def change(d: dict) -> None:
        rule(d, "MOI-FV2-01").pop("expr")
        rule(d, "MOI-FV2-10").pop("then")
        rule(d, "MOI-FV2-11").update(cells=None, expr="T1/01/1 = T1/01/1")

    assert planted(root, FV2, change) == {
        ("GBV-S020", F2, "rules.MOI-FV2-01.expr"), ("GBV-S020", F2, "rules.MOI-FV2-10.then"),
        ("GBV-S020", F2, "rules.MOI-FV2-11.cells")}


def test_rules_file_addresses_must_name_a_known_form(root: Path) -> None:
    message = {"en": "Check.", "ru": "Проверьте.", "ky": "Текшериңиз."}
    (root / "rules" / "extra.yaml").write_text(yaml.safe_dump({"rules": [
        {"id": "X-01", "kind": "completeness", "cells": "T1/01/1", "message": message},
        {"id": "X-02", "kind": "history", "cells": "NOPE:T1/01/1", "message": message},
        {"id": "X-03", "kind": "history", "cells": "MOI-FV:T9/01/1", "message": message},
    ]}, allow_unicode=True), encoding="utf-8")
    rel = "schemas/rules/extra.yaml"
    assert new_findings(root) == {("GBV-S017", rel, "rules.X-01.cells"),
                                  ("GBV-S018", rel, "rules.X-02.cells"),
                                  ("GBV-S018", rel, "rules.X-03.cells")}


def test_rules_file_resolves_against_the_latest_version(root: Path) -> None:
    message = {"en": "Check.", "ru": "Проверьте.", "ky": "Текшериңиз."}
    # T5 exists only in MOI-FV v2; v1 has two tables
    (root / "rules" / "extra.yaml").write_text(yaml.safe_dump({"rules": [
        {"id": "X-01", "kind": "completeness", "cells": "MOI-FV:T5/01/1", "message": message},
    ]}, allow_unicode=True), encoding="utf-8")
    assert new_findings(root) == set()


# --- translations ----------------------------------------------------------------------

def test_missing_translations(root: Path) -> None:
    def form(d: dict) -> None:
        line(d, "T1", "01")["label"]["ky"] = ""
        rule(d, "MOI-FV2-02")["message"].pop("ru")
        table(d, "T3")["columns"][0]["label"]["en"] = "  "
        d["title"].pop("ky")

    found = planted(root, FV2, form)
    found |= planted(root, SEX, lambda d: d["codes"][1]["label"].pop("ky"))
    assert found == {
        ("GBV-S021", F2, "tables.T1.lines.01.label.ky"),
        ("GBV-S021", F2, "rules.MOI-FV2-02.message.ru"),
        ("GBV-S021", F2, "tables.T3.columns.1.label.en"),
        ("GBV-S021", F2, "title.ky"),
        ("GBV-S021", "schemas/codelists/sex.yaml", "codes.M.label.ky"),
    }


# --- validity --------------------------------------------------------------------------

def test_validity_not_a_period_of_the_form(root: Path) -> None:
    assert planted(root, FV1, lambda d: d.update(valid_from="2015", valid_to="2018-Q5")) == {
        ("GBV-S022", F1, "valid_from"), ("GBV-S022", F1, "valid_to")}


def test_validity_ending_before_it_starts(root: Path) -> None:
    assert planted(root, FV1, lambda d: d.update(valid_to="2014-Q4")) == {
        ("GBV-S023", F1, "valid_to")}


def test_versions_overlapping(root: Path) -> None:
    assert planted(root, FV2, lambda d: d.update(valid_from="2018-Q4")) == {
        ("GBV-S024", F2, "valid_from")}


def test_open_ended_versions_overlap(root: Path) -> None:
    assert planted(root, FV1, lambda d: d.pop("valid_to")) == {("GBV-S024", F2, "valid_from")}


def test_path_not_matching_content(root: Path) -> None:
    (root / FV2).rename(root / "moi" / "fv" / "v7.yaml")
    edit(root, FV1, lambda d: d.update(agency="GPO"))
    assert new_findings(root) == {("GBV-S025", F1, "agency"),
                                  ("GBV-S025", "schemas/moi/fv/v7.yaml", "version")}


# --- concordance -----------------------------------------------------------------------

def test_new_version_without_concordance(root: Path) -> None:
    assert planted(root, FV2, lambda d: d.pop("concordance")) == {("GBV-S026", F2, "concordance")}


def test_previous_version_not_existing(root: Path) -> None:
    assert planted(root, FV2, lambda d: d["concordance"].update(previous_version=5)) == {
        ("GBV-S027", F2, "concordance.previous_version")}


def test_concordance_addresses_that_do_not_exist(root: Path) -> None:
    def change(d: dict) -> None:
        d["concordance"]["map"] = [
            {"current": "T1/01/1", "previous": "T1/01/1"},
            {"current": "T3/01/1", "previous": "T1/09/1"},  # v1's T1 has lines 01-03
            {"current": "T2/01..02/1", "previous": "T2/01/1"},  # a range, not one cell
            {"current": "T2/02/4", "previous": "T2/01/1"},  # greyed in v2
            {"current": "T2/01/1", "previous": "T2/01/1"},
            {"current": "T2/04/1", "previous": "T3/01/1"},  # v1 has no T3
            {"current": "T5/01/1", "previous": "T1/03/1"},
        ]

    assert planted(root, FV2, change) == {
        ("GBV-S028", F2, "concordance.map[1].previous"),
        ("GBV-S028", F2, "concordance.map[2].current"),
        ("GBV-S028", F2, "concordance.map[3].current"),
        ("GBV-S028", F2, "concordance.map[5].previous"),
    }


def test_element_neither_mapped_nor_new(root: Path) -> None:
    found = planted(root, FV2, lambda d: d["concordance"]["new"].remove("tpo_violated"))
    assert found == {("GBV-S029", F2, "concordance.new")}
    [finding] = [f for f in check_schemas(root) if f.code == "GBV-S029"]
    assert "tpo_violated" in finding.message("ru")


def test_new_listing_an_unknown_element(root: Path) -> None:
    new = yaml.safe_load((root / FV2).read_text(encoding="utf-8"))["concordance"]["new"]
    assert planted(root, FV2, lambda d: d["concordance"]["new"].append("tpo_revoked")) == {
        ("GBV-S030", F2, f"concordance.new[{len(new)}]")}


# --- all at once, and through the command line ------------------------------------------

def test_every_problem_is_reported_not_just_the_first(root: Path) -> None:
    edit(root, FV2, lambda d: (table(d, "T1")["lines"][2].update(code="02"),
                               line(d, "T2", "02").update(greyed=[9])))
    edit(root, SEX, lambda d: d["codes"].append(dict(d["codes"][0])))
    edit(root, FV1, lambda d: d.update(valid_to="2014-Q4"))
    codes = sorted(code for code, _, _ in new_findings(root))
    assert codes == ["GBV-S003", "GBV-S007", "GBV-S016", "GBV-S023"]


def test_cli_on_a_broken_copy(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GBVSTATS_HOME", str(root.parent))
    edit(root, FV2, lambda d: line(d, "T2", "02").update(greyed=[4, 5, 9]))
    result = CliRunner().invoke(app, ["schemas", "check", "--lang", "ru"])
    assert result.exit_code == 1
    assert f"{F2}: tables.T2.lines.02.greyed: закрытой графы 9 нет в таблице T2" in result.output
    files = len([*root.glob("*/*/v*.yaml"), *root.glob("codelists/*"), *root.glob("rules/*.yaml")])
    problems = len(check_schemas(root))
    assert result.output.strip().splitlines()[-1] == f"файлов: {files}, проблем: {problems}"

    as_json = CliRunner().invoke(app, ["schemas", "check", "--json"])
    assert as_json.exit_code == 1
    rows = json.loads(as_json.output)
    assert {r["code"] for r in rows} == {"GBV-S016"}
    assert located(check_schemas(root)) == {(r["code"], r["file"], r["params"]["key"]) for r in rows}
