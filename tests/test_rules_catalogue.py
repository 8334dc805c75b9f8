"""The GBV-R catalogue, `gbvstats findings list` and docs/findings.md."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gbvstats.catalogue import catalogue, catalogue_markdown
from gbvstats.check.rules import ERROR_CODE, FAIL_CODE, NOT_EVALUABLE_CODE
from gbvstats.cli import app

DOC = Path(__file__).resolve().parent.parent / "docs" / "findings.md"


def test_docs_findings_md_is_current():
    assert DOC.read_text(encoding="utf-8") == catalogue_markdown(), (
        "docs/findings.md is stale: regenerate it with "
        "python -c 'from gbvstats.catalogue import catalogue_markdown as m; "
        "open(\"docs/findings.md\", \"w\").write(m())'")


def test_every_rule_code_is_catalogued_in_three_languages():
    codes = {*FAIL_CODE.values(), NOT_EVALUABLE_CODE, ERROR_CODE}
    types = catalogue()
    for code in codes:
        entry = types[code]
        for texts in (entry.title, entry.description, entry.message):
            assert set(texts) == {"en", "ru", "ky"} and all(texts.values()), code
        assert "rule_id" in entry.placeholders(), code


def test_findings_list_prints_every_range():
    result = CliRunner().invoke(app, ["findings", "list", "--lang", "en"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(catalogue())
    assert "GBV-R001  error    Balance control failed" in lines
    ranges = {line[:5] for line in lines}
    assert {"GBV-S", "GBV-F", "GBV-V", "GBV-R"} <= ranges


def test_findings_list_json_in_russian():
    result = CliRunner().invoke(app, ["findings", "list", "--json", "--lang", "ru"])
    assert result.exit_code == 0
    rows = {r["code"]: r for r in json.loads(result.output)}
    assert set(rows) == set(catalogue())
    assert rows["GBV-R005"]["title"] == "Не заполнена обязательная ячейка"
    assert rows["GBV-R090"]["severity"] == "warning"


def test_findings_list_unknown_language_is_a_usage_error():
    result = CliRunner().invoke(app, ["findings", "list", "--lang", "de"])
    assert result.exit_code == 2
    assert "error: unknown language 'de'" in result.output
