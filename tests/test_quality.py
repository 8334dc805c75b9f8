"""great-expectations as the contract of published tables: each expectation kind of
pipelines/expectations/ on a small synthetic table (area x sex, counts and a rate), the
suites of the real pipelines on the fixture year, `gbvstats quality`, and what GX must not
do (network, files, Data Docs, being imported by --help)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from gate_helpers import YEAR, copy
from publish_helpers import OBLASTS, oblast_sex_table
from typer.testing import CliRunner

from gbvstats.cli import app
from gbvstats.publish.quality import load_suites, run_suites

ROOT = Path(__file__).resolve().parent.parent
POP = {"KG": 7_000_000, **{a: 600_000 + 50_000 * i for i, a in enumerate(OBLASTS)}}
CELLS = {(a, s): 20 + 7 * i + (5 if s == "F" else 0) for i, a in enumerate(OBLASTS) for s in ("F", "M")}
META = {"counts": ["victims"], "sums": {},
        "rates": {"victims_per_100k": {"numerator": "victims", "denominator": "population",
                                       "multiplier": 100000}},
        "sources": "MOI-FV, NSC-POP"}
SUITE = """table: ind99_test
expectations:
  - key_unique
  - codes
  - non_negative
  - whole_counts
  - rates_consistent
  - suppressed_small_counts
  - {type: territory_grid, territories: oblast}
  - {type: rate_bounds, bounds: {victims_per_100k: [0, 500]}}
  - {type: year_on_year, max_ratio: 3, min_base: 50}
"""


def table(year: int = 2024, cells=None):
    frame = oblast_sex_table(cells or CELLS, year)
    frame["population"] = frame["area"].map(POP).astype("float64")
    frame["victims_per_100k"] = (1e5 * frame["victims"] / frame["population"]).round(1)
    return frame


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipelines")
    (root / "expectations").mkdir()
    (root / "expectations" / "ind99_test.yaml").write_text(SUITE, encoding="utf-8")
    return root


def check(frame, registry, root, previous=None):
    report = run_suites({"ind99_test": (frame, META)}, 2024, registry, 4,
                        {"ind99_test": previous if previous is not None else table(2023)}, root)
    return report, {r.check.id: r for r in report.results}


def failed(report) -> dict[str, object]:
    return {r.check.id: r for r in report.failed}


def test_a_clean_table_meets_its_whole_contract(registry, root):
    report, results = check(table(), registry, root)
    assert report.success, [r.finding().message() for r in report.failed]
    assert {"key_unique", "codes:area", "codes:sex", "non_negative:victims", "whole_counts:victims",
            "rates_consistent:victims_per_100k", "suppressed_small_counts:victims",
            "territory_grid:areas", "territory_grid:rows", "rate_bounds:victims_per_100k",
            "year_on_year:victims"} <= set(results)
    assert results["key_unique"].check.kwargs["column_list"] == ["year", "area", "sex"]
    # derived, not copied: the codes of sex come from schemas/codelists/sex.yaml
    assert set(results["codes:sex"].check.kwargs["value_set"]) == registry.codelists["sex"].codes_set()
    assert report.suites["ind99_test"] and report.gx_version.startswith("1.")


def test_a_negative_count_fails_and_names_the_row(registry, root):
    frame = table()
    frame.loc[(frame.area == "KG07") & (frame.sex == "F"), "victims"] = -5
    report, _ = check(frame, registry, root)
    bad = failed(report)["non_negative:victims"]
    assert bad.unexpected_count == 1 and bad.sample[0]["area"] == "KG07" and bad.sample[0]["victims"] == -5
    finding = bad.finding()
    assert finding.code == "GBV-Q003" and finding.severity == "error"
    assert "ind99_test.victims: 1 negative value(s)" in finding.message("en")
    assert "отрицательных значений: 1" in finding.message("ru")


def test_a_duplicated_key_fails(registry, root):
    import pandas as pd

    frame = pd.concat([table(), table().iloc[[3]]], ignore_index=True)
    report, _ = check(frame, registry, root)
    bad = failed(report)["key_unique"]
    assert bad.finding().code == "GBV-Q001" and bad.unexpected_count == 2
    assert "year, area, sex" in bad.finding().message("en")


@pytest.mark.parametrize("plant,expectation,code", [
    (lambda f: f.__setitem__("sex", f["sex"].replace({"M": "X"})), "codes:sex", "GBV-Q002"),
    (lambda f: f.__setitem__("victims_per_100k", f["victims_per_100k"] + 0.2),
     "rates_consistent:victims_per_100k", "GBV-Q005"),
    (lambda f: f.__setitem__("victims", f["victims"].where(f.area != "KG04", 3)),
     "suppressed_small_counts:victims", "GBV-Q007"),
    (lambda f: f.__setitem__("victims", f["victims"] + 0.5),
     "whole_counts:victims", "GBV-Q009"),
    (lambda f: f.__setitem__("victims_per_100k", f["victims_per_100k"] * 100),
     "rate_bounds:victims_per_100k", "GBV-Q004"),
])
def test_each_expectation_kind_catches_its_problem(registry, root, plant, expectation, code):
    frame = table()
    plant(frame)
    report, _ = check(frame, registry, root)
    assert expectation in failed(report), [r.check.id for r in report.failed]
    assert failed(report)[expectation].finding().code == code


def test_a_missing_territory_breaks_the_grid(registry, root):
    frame = table()
    frame = frame[~((frame.area == "KG05") & (frame.sex == "M"))]
    report, _ = check(frame, registry, root)
    bad = failed(report)["territory_grid:rows"]
    assert bad.finding().code == "GBV-Q006" and bad.observed == 29
    assert "where the grid of 10 territories needs 30" in bad.finding().message("en")


def test_year_on_year_is_a_warning_for_the_nsc(registry, root):
    frame = table()
    frame.loc[frame.area == "KG11", "victims"] *= 5
    report, _ = check(frame, registry, root)
    bad = failed(report)["year_on_year:victims"]
    assert bad.severity == "warning" and bad.finding().code == "GBV-Q008"
    assert bad.sample[0]["area"] == "KG11" and "victims (previous year)" in bad.sample[0]
    first_year, _ = check(table(), registry, root, previous=table().iloc[0:0])
    noted = next(r for r in first_year.results if r.check.id == "year_on_year:victims")
    assert noted.success and noted.finding().code == "GBV-Q012"  # nothing to compare with


def test_suite_problems_name_file_and_key(registry, tmp_path):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "ind99_test.yaml").write_text(
        "table: ind99_test\nexpectations:\n  - key_unique\n  - {type: nonsense}\n", encoding="utf-8")
    (tmp_path / "expectations" / "ind98_other.yaml").write_text("table: [", encoding="utf-8")
    suites, problems = load_suites(tmp_path)
    assert not suites
    messages = sorted(p.message("en") for p in problems)
    assert "ind98_other.yaml: (file): cannot be read" in messages[0]
    assert "ind99_test.yaml: expectations[1]: unknown kind 'nonsense'" in messages[1]
    report = run_suites({"ind99_test": (table(), META)}, 2024, registry, 4, {}, tmp_path)
    assert not report.success and report.unchecked == ["ind99_test"]


def test_a_column_the_table_lacks_and_a_dimension_without_code_list(registry, tmp_path):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "ind99_test.yaml").write_text(
        "table: ind99_test\nexpectations:\n  - codes\n"
        "  - {type: rate_bounds, bounds: {no_such_rate: [0, 1]}}\n", encoding="utf-8")
    frame = table()
    frame["flavour"] = [f"v{i % 4}" for i in range(len(frame))]  # a dimension of its own
    report = run_suites({"ind99_test": (frame, META)}, 2024, registry, 4, {}, tmp_path)
    by_code = {r.finding().code: r for r in report.failed}
    assert set(by_code) == {"GBV-Q010", "GBV-Q013"}
    assert "no_such_rate" in by_code["GBV-Q010"].finding().message("en")
    assert "flavour" in by_code["GBV-Q013"].finding().message("en")


def test_great_expectations_sends_nothing_and_writes_nothing(registry, root, tmp_path, monkeypatch):
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network use is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.chdir(tmp_path)
    report, _ = check(table(), registry, root)
    assert report.success and calls == []
    assert list(tmp_path.iterdir()) == []  # no gx/ project, no Data Docs


def test_help_does_not_import_great_expectations():
    code = ("import sys; from gbvstats.cli import app; "
            "heavy = [m for m in ('great_expectations', 'pandas', 'duckdb') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_every_published_table_has_a_suite_that_loads():
    from gbvstats.publish.tables import metas

    suites, problems = load_suites()
    assert not problems and set(suites) == set(metas())


# --- the real suites, through the CLI ------------------------------------------------


@pytest.fixture(scope="module")
def base(gate_year):
    return gate_year


def quality(wh, *extra):
    result = CliRunner().invoke(app, ["quality", "--year", str(YEAR), "--json", "--warehouse",
                                      str(wh.path), *extra])
    return result.exit_code, json.loads(result.output)


def test_quality_fails_on_a_planted_negative_count_and_a_duplicated_key(base, tmp_path):
    import duckdb

    wh = copy(base, tmp_path / "wh")
    con = duckdb.connect(str(wh.path))
    con.execute("UPDATE ind01_family_violence SET reports = -5 WHERE area = 'KG07' AND year = ?", [YEAR])
    con.execute("INSERT INTO ind02_protection_orders SELECT * FROM ind02_protection_orders "
                "WHERE area = 'KG' AND year = ?", [YEAR])
    con.close()
    code, report = quality(wh)
    assert code == 1
    results = {(r["table"], r["expectation"]): r for r in report["results"]}
    negative = results[("ind01_family_violence", "non_negative:reports")]
    assert not negative["success"] and negative["code"] == "GBV-Q003"
    assert negative["sample"][0]["area"] == "KG07" and negative["sample"][0]["reports"] == -5
    duplicate = results[("ind02_protection_orders", "key_unique")]
    assert not duplicate["success"] and duplicate["code"] == "GBV-Q001"
    # the fixture has Talas only: the territory grid fails too, as a warning, and says so
    grid = results[("ind01_family_violence", "territory_grid:rows")]
    assert not grid["success"] and grid["severity"] == "warning"
    failing = [r for r in report["results"] if not r["success"]]
    assert {r["expectation"].split(":")[0] for r in failing} == {
        "non_negative", "key_unique", "territory_grid", "rates_consistent"}
    # (the planted -5 no longer matches reports_per_100k, computed from the true count)
    assert results[("ind01_family_violence", "rates_consistent:reports_per_100k")]["unexpected_count"] == 1
    # stored as one quality run: every expectation, with its suite hash
    stored = wh.query("SELECT count(*) AS n, count(DISTINCT suite_hash) AS suites FROM quality_runs "
                      "WHERE run_id = ?", [report["run_id"]]).iloc[0]
    assert stored.n == len(report["results"]) and stored.suites == len(report["tables"])
    # and the gate blocks on them: errors of the contract cannot be decided away
    gate = json.loads(CliRunner().invoke(app, ["gate", "--year", str(YEAR), "--json", "--warehouse",
                                               str(wh.path)]).output)
    contract = {i["params"]["expectation"] for i in gate["items"] if i["code"] == "GBV-G007"}
    assert contract == {"ind01_family_violence.non_negative:reports", "ind02_protection_orders.key_unique",
                        "ind01_family_violence.rates_consistent:reports_per_100k"}
    warned = [i for i in gate["items"] if i["code"] == "GBV-G008"]
    assert warned and all(f"gbvstats decide {YEAR} {i['item_key']}" in i["command"] for i in warned)


def test_a_dimension_labelled_by_its_pipeline_takes_the_codes_of_its_header(registry, tmp_path):
    """A column with no code list in the schemas (ind03's `chain`) is checked against the
    codes its pipeline header labels (`-- codes.<column>:`), not reported as unlisted."""
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "ind99_test.yaml").write_text(
        "table: ind99_test\nexpectations:\n  - codes\n", encoding="utf-8")
    frame = table()
    frame["flavour"] = [("SWEET", "SOUR")[i % 2] for i in range(len(frame))]
    meta = META | {"codes": {"flavour": {"SWEET": {"en": "Sweet"}, "SOUR": {"en": "Sour"}}}}
    report = run_suites({"ind99_test": (frame, meta)}, 2024, registry, 4, {}, tmp_path)
    assert not report.failed and any(r.check.id == "codes:flavour" for r in report.results)
    frame.loc[0, "flavour"] = "BITTER"
    report = run_suites({"ind99_test": (frame, meta)}, 2024, registry, 4, {}, tmp_path)
    assert [(r.check.id, r.finding().code) for r in report.failed] == [("codes:flavour", "GBV-Q002")]


def test_small_national_counts_may_be_published_unless_declared_confidential(registry, root):
    """schemas/disclosure.yaml `primary.national: false`: a national count of 1 to 4 is
    published (the NSC publishes its national series in full); below national level it
    must not be; `national=True` (the former policy) makes the national one a failure."""
    frame = table()
    assert (frame.area == "KG").any()
    frame.loc[(frame.area == "KG") & (frame.sex == "F"), "victims"] = 3
    report, _ = check(frame, registry, root)
    assert "suppressed_small_counts:victims" not in failed(report)
    strict = run_suites({"ind99_test": (frame, META)}, 2024, registry, 4,
                        {"ind99_test": table(2023)}, root, national=True)
    bad = failed(strict)["suppressed_small_counts:victims"]
    assert bad.unexpected_count == 1 and bad.sample[0]["area"] == "KG" and bad.sample[0]["victims"] == 3
    frame.loc[(frame.area == "KG05") & (frame.sex == "M"), "victims"] = 2
    bad = failed(check(frame, registry, root)[0])["suppressed_small_counts:victims"]
    assert bad.unexpected_count == 1 and bad.sample[0]["area"] == "KG05"
