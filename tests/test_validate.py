"""validate_file / validate_files and the `gbvstats validate` command: verdicts, rule
findings joined to reader findings, human and JSON output, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from messy_helpers import edit, good_file, run_cli, setter, truncated
from templates_helpers import distinct_values, filled_file, period_for, unit_for
from typer.testing import CliRunner

from gbvstats.check.validate import exit_code, validate_file, validate_files
from gbvstats.cli import app
from gbvstats.collect.reader import read_workbook
from gbvstats.schema.model import FormVersion, Registry


@pytest.fixture(scope="module")
def fv2(registry: Registry) -> FormVersion:
    return registry.get("MOI-FV", 2)


@pytest.fixture(scope="module")
def files(fv2: FormVersion, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("validate")
    good = good_file(fv2, d / "good.xlsx")
    return {
        "good": good,
        "rule": edit(good, d / "rule.xlsx", setter("T1", C6=70)),  # total 70, parts add to 68
        "warning": edit(good, d / "warning.xlsx", lambda wb: wb.create_sheet("Notes").cell(1, 1, "x")),
        "value": edit(good, d / "value.xlsx", setter("T5", D9=-2)),
        "broken": truncated(good, d / "broken.xlsx"),
    }


@pytest.mark.parametrize("form_key", ["MOI-FV@v1", "MOI-FV@v2", "MOI-GBV@v1", "MOI-TIP@v1",
                                      "GPO-CASES@v1", "JD-CASES@v1", "MLSP-SP@v1", "NSC-POP@v1"])
def test_every_form_reads_back_cell_for_cell(form_key: str, registry: Registry, tmp_path: Path) -> None:
    form = next(f for f in registry.versions() if f.key == form_key)
    values = distinct_values(form)
    result = read_workbook(filled_file(form, tmp_path / "f.xlsx", values), registry)
    assert [f.code for f in result.findings] == []
    assert (result.form.key, result.header["unit"], result.header["period"]) == (
        form_key, unit_for(form), period_for(form))
    got = {(r.tbl, r.line, int(r.col)): int(r.value) for r in result.cells.itertuples()}
    assert got == values


def test_verdicts(files: dict[str, Path], registry: Registry) -> None:
    verdicts = {name: validate_file(path, registry).verdict for name, path in files.items()}
    assert verdicts == {"good": "ok", "rule": "errors", "warning": "warnings", "value": "errors",
                        "broken": "unreadable"}


def test_rule_findings_follow_reader_findings(files: dict[str, Path], registry: Registry) -> None:
    report = validate_file(files["rule"], registry)
    assert [(f.code, f.sheet, f.cell, f.rule_id) for f in report.findings] == [
        ("GBV-R001", "T1", "C6", "MOI-FV2-01")]
    failed = report.rule_results[report.rule_results.status == "fail"]
    assert list(failed.rule_id) == ["MOI-FV2-01"]
    assert (int(failed.left_value.iloc[0]), int(failed.right_value.iloc[0])) == (70, 68)


def test_a_refused_value_is_read_as_nothing_reported(files: dict[str, Path], registry: Registry) -> None:
    report = validate_file(files["value"], registry)
    assert ("GBV-V003", "T5", "D9") in [(f.code, f.sheet, f.cell) for f in report.findings]
    cells = report.cells.set_index(["tbl", "line", "col"])
    assert pd.isna(cells.loc[("T5", "04", 2), "value"])


def test_rules_on_a_refused_cell_are_not_evaluable_not_false_failures(files: dict[str, Path],
                                                                       registry: Registry, tmp_path: Path) -> None:
    path = edit(files["good"], tmp_path / "text_total.xlsx", setter("T1", C6="sixty-eight"))
    report = validate_file(path, registry)
    codes = [(f.code, f.rule_id) for f in report.findings]
    assert ("GBV-V001", None) in codes and ("GBV-R090", "MOI-FV2-01") in codes
    assert not [c for c in codes if c[0] in ("GBV-R001", "GBV-R002", "GBV-R005")]
    row = report.rule_results.query("rule_id == 'MOI-FV2-01'").iloc[0]
    assert (row.status, row.reason) == ("not_evaluable", "refused cell T1!C6")
    finding = next(f for f in report.findings if f.rule_id == "MOI-FV2-01")
    assert finding.params["left"] is None and "?" in finding.message("en")
    assert "refused cell T1!C6" in finding.message("ru")
    # the same file with the figure written properly passes that rule
    fixed = validate_file(edit(files["good"], tmp_path / "fixed.xlsx", setter("T1", C6="68")), registry)
    assert fixed.verdict == "ok"


def test_batch_equals_one_by_one(files: dict[str, Path], registry: Registry) -> None:
    paths = list(files.values())
    batch = validate_files(paths, registry)
    single = [validate_file(p, registry) for p in paths]
    assert [r.to_dict() for r in batch] == [r.to_dict() for r in single]
    assert exit_code(batch) == 2 and exit_code(batch[:4]) == 1 and exit_code(batch[:1]) == 0
    assert exit_code([batch[0], batch[2]]) == 0


def test_cli_table_and_verdict_lines_in_russian(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["validate", "--lang", "ru", str(files["value"]), str(files["good"])],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 1
    out = result.stdout
    assert "GBV-V003" in out and "T5!D9" in out and "value=-2" in out and "ошибка" in out.lower()
    assert "value.xlsx: ошибок: " in out and "исправьте и проверьте снова" in out
    assert "good.xlsx: ошибок нет — MOI-FV@v2, 41711201000000, 2019-Q1" in out


def test_cli_json_is_pure_json_without_progress(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["validate", "--json", *map(str, files.values())])
    assert result.exit_code == 2
    reports = json.loads(result.stdout)
    assert [r["verdict"] for r in reports] == ["ok", "errors", "warnings", "errors", "unreadable"]
    assert reports[2]["counts"] == {"error": 0, "warning": 1, "info": 0}
    assert result.stderr == ""


def test_cli_warnings_only_exit_zero(files: dict[str, Path]) -> None:
    code, reports = run_cli([str(files["warning"])])
    assert (code, [f["code"] for f in reports[0]["findings"]]) == (0, ["GBV-F016"])


def test_cli_missing_file_and_bad_language(tmp_path: Path) -> None:
    code, reports = run_cli([str(tmp_path / "nowhere.xlsx")])
    assert (code, reports[0]["findings"][0]["code"]) == (2, "GBV-F001")
    result = CliRunner().invoke(app, ["validate", "--lang", "de", str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "error" in result.output and "Traceback" not in result.output


def test_cli_feedback_for_several_files_goes_to_a_directory(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "fb"
    result = CliRunner().invoke(app, ["validate", "--feedback", str(out), str(files["good"]), str(files["rule"])])
    assert result.exit_code == 1
    assert sorted(p.name for p in out.iterdir()) == ["good.feedback.xlsx", "rule.feedback.xlsx"]


def test_typing_of_many_files_blames_the_right_file(files: dict[str, Path], registry: Registry) -> None:
    from gbvstats.collect.reader import type_results

    results = [read_workbook(files["good"], registry, typed=False) for _ in range(3)]
    results[1].cells.loc[0, "value"] = -5  # what the reader itself never lets through
    results[2].cells = pd.concat([results[2].cells, results[2].cells.iloc[[3]]], ignore_index=True)
    results[2].cells = results[2].cells.drop(index=7).reset_index(drop=True)
    type_results(results)
    assert [f.code for f in results[0].findings] == []
    first = results[1].cells.iloc[0]
    assert [(f.code, f.sheet, f.cell, f.params["column"], f.params["value"]) for f in results[1].findings] == [
        ("GBV-V010", first.sheet, first.addr, "value", "-5")]
    copied, dropped = results[0].cells.iloc[3], results[0].cells.iloc[7]
    key = f"{copied.tbl}/{copied.line}/{copied.col}"
    assert sorted((f.code, f.cell, f.params.get("value")) for f in results[2].findings) == [
        ("GBV-V010", copied.addr, key), ("GBV-V010", copied.addr, key), ("GBV-V011", None, None)]
    assert (results[2].findings[-1].line, results[2].findings[-1].column) == (dropped.line, dropped.col)
