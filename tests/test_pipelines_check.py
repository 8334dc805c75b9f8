"""Lineage read off the pipelines' SQL, and the check of every declared rate against it.

The two rates that divided one population by another are kept as fixture copies of the
SQL they had (tests/fixtures/pipelines_known_bugs/): the check must keep refusing them.
"""

from __future__ import annotations

from pathlib import Path

from gbvstats.consolidate.lineage import NATIONAL, OBLAST, Source, lineage
from gbvstats.consolidate.run import Pipeline, pipelines
from gbvstats.consolidate.scopes import Scopes, age_interval, check_pipelines

ROOT = Path(__file__).resolve().parent.parent
KNOWN_BUGS = ROOT / "tests" / "fixtures" / "pipelines_known_bugs"

HEADER = """-- id: {id}
-- title.en: Test table
-- title.ru: Тестовая таблица
-- title.ky: Сыноо таблицасы
-- unit.en: number
-- sources: test
-- counts: {counts}
-- rates: {rates}
"""


def _pipeline(tmp_path: Path, name: str, counts: str, rates: str, sql: str) -> Path:
    root = tmp_path / "pipelines"
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.sql").write_text(HEADER.format(id=name[3:], counts=counts, rates=rates) + sql,
                                      encoding="utf-8")
    return root


def _codes(findings) -> list[tuple[str, str]]:
    return sorted((f.code, f.params.get("rate") or f.params.get("column") or "") for f in findings)


def test_the_project_pipelines_pass_the_check(registry):
    findings = check_pipelines(reg=registry)
    assert [f.message() for f in findings] == []


def test_both_known_bugs_are_caught(registry):
    """ind01 divided adult women victims by women of all ages (and its SDMX rows said
    AGE 18 and over); ind03 divided prosecutors' cases of all GBV and trafficking
    offences by MoI's family-violence cases."""
    findings = check_pipelines(KNOWN_BUGS, reg=registry, sdmx_path=KNOWN_BUGS / "sdmx.yaml")
    by = {(f.code, f.params.get("table"), f.params.get("rate") or f.params.get("column"),
           f.params.get("dimension")) for f in findings}
    assert ("GBV-P001", "ind01_family_violence", "women_victims_per_100k_women", "age") in by
    assert ("GBV-P007", "ind01_family_violence", "women_victims_per_100k_women", "AGE") in by
    assert ("GBV-P002", "ind03_justice_attrition", "to_court_per_opened", None) in by
    assert ("GBV-P001", "ind03_justice_attrition", "to_court_per_opened", "offence") in by
    age = next(f for f in findings if f.code == "GBV-P001" and f.params["dimension"] == "age")
    assert "Y18T999 in the numerator but _T in the denominator" in age.message("en")
    assert "age" in age.message("ky") and "алымда" in age.message("ky")


def test_parts_that_make_up_a_total_are_the_same_scope(tmp_path, registry):
    """Age bands summing to 18 and over (women: MOI-FV v2 table 2 column 4), F + M of
    all ages against both sexes: no finding."""
    root = _pipeline(tmp_path, "01_ind01_ok", "women, men, all_victims",
                     "w_rate = women / adult_women * 100000; t_rate = both_sexes / pop_t * 100000",
                     """SELECT getvariable('year') AS year, '41700000000000' AS territory, COALESCE(area, 'KG') AS area,
       sum(value) FILTER (WHERE element = 'fv_victims' AND col = 4) AS women,
       sum(value) FILTER (WHERE element = 'fv_victims' AND col = 5) AS men,
       sum(value) FILTER (WHERE element = 'fv_victims' AND col IN (2, 3)) AS both_sexes,
       sum(value) FILTER (WHERE element = 'fv_victims' AND col = 1) AS all_victims,
       sum(value) FILTER (WHERE form = 'NSC-POP' AND col = 2 AND line IN ('04', '05', '06', '07')) AS adult_women,
       sum(value) FILTER (WHERE form = 'NSC-POP' AND col IN (2, 3) AND line = '01') AS pop_t,
       round(1e5 * women / adult_women, 1) AS w_rate, round(1e5 * both_sexes / pop_t, 1) AS t_rate
FROM series_facts WHERE year = getvariable('year') GROUP BY GROUPING SETS ((area), ())""")
    findings = check_pipelines(root, reg=registry, sdmx_path=tmp_path / "none.yaml")
    assert [f for f in findings if f.code != "GBV-P016"] == []  # (this test's columns have no labels)


def test_mismatched_sex_territory_and_formula_are_refused(tmp_path, registry):
    root = _pipeline(tmp_path, "01_ind09_bad", "women", "by_sex = women / pop_total * 100000; "
                     "by_place = women / pop_women_kg * 100000; by_formula = women / pop_women * 1000",
                     """WITH f AS (SELECT * FROM series_facts WHERE year = getvariable('year')),
v AS (SELECT oblast, area, sum(value) FILTER (WHERE element = 'fv_victims' AND col = 4) AS women,
             sum(value) FILTER (WHERE form = 'NSC-POP' AND line = '01' AND col = 1) AS pop_total,
             sum(value) FILTER (WHERE form = 'NSC-POP' AND col = 2 AND line <> '01' AND line >= '04') AS pop_women
      FROM f GROUP BY GROUPING SETS ((oblast, area), ())),
kg AS (SELECT pop_women AS pop_women_kg FROM v WHERE oblast IS NULL)
SELECT getvariable('year') AS year, COALESCE(oblast, '41700000000000') AS territory, COALESCE(area, 'KG') AS area,
       women, pop_total, pop_women, pop_women_kg,
       round(1e5 * women / pop_total, 1) AS by_sex,
       round(1e5 * women / pop_women_kg, 1) AS by_place,
       round(1e5 * women / pop_women, 1) AS by_formula
FROM v, kg""")
    findings = check_pipelines(root, reg=registry, sdmx_path=tmp_path / "none.yaml")
    got = {(f.code, f.params["rate"], f.params.get("dimension")) for f in findings if "rate" in f.params}
    assert ("GBV-P001", "by_sex", "sex") in got  # women over both sexes
    assert ("GBV-P003", "by_place", None) in got  # an oblast's women over the country's
    assert ("GBV-P004", "by_formula", None) in got  # declared * 1000, computed * 100000
    assert not any(r == "by_formula" and c != "GBV-P004" for c, r, _ in got)


def test_declared_columns_must_exist_and_counts_read_cells(tmp_path, registry):
    root = _pipeline(tmp_path, "01_ind09_cols", "n, nothing, ghost", "r = n / missing_col",
                     """SELECT getvariable('year') AS year, '41700000000000' AS territory, 'KG' AS area,
       sum(value) FILTER (WHERE element = 'fv_reports') AS n, 0::BIGINT AS nothing, 1.0 AS r
FROM series_facts WHERE year = getvariable('year')""")
    findings = check_pipelines(root, reg=registry, sdmx_path=tmp_path / "none.yaml")
    assert ("GBV-P005", "ghost") in {(f.code, f.params.get("column")) for f in findings}
    assert ("GBV-P005", "missing_col") in {(f.code, f.params.get("column")) for f in findings}
    assert ("GBV-P008", "nothing") in {(f.code, f.params.get("column")) for f in findings}
    broken = _pipeline(tmp_path / "x", "01_ind09_broken", "n", "", "SELECT no_such_column FROM series_facts")
    assert [f.code for f in check_pipelines(broken, reg=registry, sdmx_path=tmp_path / "none.yaml")] == ["GBV-P006"]


def test_every_published_column_and_code_is_labelled_in_three_languages(tmp_path, registry):
    root = _pipeline(tmp_path, "01_ind09_labels", "n", "", """SELECT getvariable('year') AS year,
       '41700000000000' AS territory, 'KG' AS area, 'X' AS kind, sex,
       sum(value) FILTER (WHERE element = 'fv_victims') AS n
FROM series_facts WHERE year = getvariable('year') AND form = 'MOI-FV' AND tbl = 'T2' GROUP BY sex""")
    text = (root / "01_ind09_labels.sql").read_text(encoding="utf-8")
    text = text.replace("SELECT", '-- col.n: {en: "Victims", ru: "Пострадавшие"}\n'
                                  '-- col.kind: {en: "Kind", ru: "Вид", ky: "Түрү"}\n'
                                  '-- codes.kind: {X: {en: "x", ru: "х"}}\nSELECT', 1)
    (root / "01_ind09_labels.sql").write_text(text, encoding="utf-8")
    found = {(f.params["column"], f.params["lang"], f.params["code"])
             for f in check_pipelines(root, reg=registry, sdmx_path=tmp_path / "none.yaml") if f.code == "GBV-P016"}
    assert found == {("n", "ky", ""), ("kind", "ky", " (code X)")}  # sex: its code list labels it


def test_lineage_is_exact_and_linear(registry):
    by_id = {p.id: p for p in pipelines()}
    lin = lineage(by_id["ind01_family_violence"], registry)
    total = ("_T", "_T", "_T", "_T")  # sex, age, education, activity
    assert lin.keys == ["sex", "age", "education", "activity"]
    assert lin.sources_of(OBLAST, total, "reports") == {Source("MOI-FV", "T1", "01", 1): 1}
    assert lin.units[(OBLAST, total, "reports")] == frozenset({"A"})  # an oblast reads its own units
    assert lin.units[(NATIONAL, total, "reports")] == frozenset({"A", "B"})  # the country every unit
    assert lin.sources_of(OBLAST, total, "reports_per_100k") is None  # a ratio: not linear in cells
    assert lin.forms[(OBLAST, total, "reports_per_100k")] == frozenset({"MOI-FV", "NSC-POP"})
    # adult women victims over adult women: the age bands of the population add up to 18+
    adults = {s.line for s in lin.sources_of(OBLAST, ("F", "Y18T999", "_T", "_T"), "population")}
    assert adults == {"04", "05", "06", "07"}
    att = lineage(by_id["ind03_justice_attrition"], registry)
    other = att.sources_of(NATIONAL, ("GBV", "HOM"), "gpo_terminated_other")
    assert other == {Source("GPO-CASES", "T1", "02", 3): 1, Source("GPO-CASES", "T1", "02", 4): -1}
    assert ("national", ("FV", "_T"), "gpo_to_court") not in att.sources  # the FV chain has no GPO stage
    gbv = att.sources_of(NATIONAL, ("GBV", "_T"), "opened")
    assert {s.form for s in gbv} == {"MOI-GBV", "MOI-TIP"}
    assert Source("MOI-GBV", "T1", "09", 1) not in gbv  # harassment: no prosecutor or court line
    assert lineage(by_id["ind08_data_quality"], registry).sources == {}


def test_a_product_of_cells_has_no_coefficients(registry):
    p = Pipeline(path=None, meta={"id": "ind99_product"}, sql=(  # type: ignore[arg-type]
        "SELECT getvariable('year') AS year, 'KG' AS area, "
        "sum(value) FILTER (WHERE element = 'fv_reports') * sum(value) FILTER (WHERE element = 'tpo_issued') AS x "
        "FROM series_facts WHERE year = getvariable('year')"))
    lin = lineage(p, registry)
    assert lin.forms[(NATIONAL, (), "x")] == frozenset({"MOI-FV"})
    assert lin.sources_of(NATIONAL, (), "x") is None  # not linear: never a wrong list of cells


def test_scopes_of_members(registry):
    scopes = Scopes(registry)
    assert age_interval("Y18T999") == (18, 999) and age_interval("Y_GE51") == (51, 999)
    bands = [scopes.code_leaves("age", c) for c in ("Y18T29", "Y30T39", "Y40T59", "Y60T999")]
    assert frozenset().union(*bands) == scopes.code_leaves("age", "Y18T999")
    # GPO's line 05 (ICCS 0301) covers rape and sexual assault
    assert scopes.leaves(Source("GPO-CASES", "T1", "05", 2), "offence") == {"RAP", "SXA"}
    # a total is what its table adds up: MoI's family-violence cases are not GPO's cases
    fv = scopes.leaves(Source("MOI-FV", "T5", "01", 1), "offence")
    gpo = scopes.leaves(Source("GPO-CASES", "T1", "01", 2), "offence")
    assert "TIP" in gpo and "TIP" not in fv and fv < gpo
    assert scopes.universe(Source("MOI-TIP", "T2", "01", 1)) == "TIP"
    assert scopes.reference(scopes.universe(Source("NSC-POP", "T1", "01", 1)))


def test_every_form_declares_its_universe(tmp_path, registry):
    from gbvstats.consolidate.scopes import check_universes

    assert check_universes(registry, Scopes(registry).universes) == []
    problems = check_universes(registry, {"universes": {"FV": {}}, "forms": {"MOI-FV": "FV", "JD-CASES": {"T1": "XX"}}})
    keys = {f.params["key"] for f in problems}
    assert "forms.MOI-GBV" in keys and "forms.JD-CASES.T1" in keys and "forms.JD-CASES.T2" in keys


def test_cli_pipelines_check():
    from typer.testing import CliRunner

    from gbvstats.cli import app

    ok = CliRunner().invoke(app, ["pipelines", "check", "--lang", "ky"])
    assert ok.exit_code == 0, ok.output
    assert "конвейерлердеги көйгөйлөр: 0" in ok.stdout
