"""Consolidation on a small fixture year: Talas oblast, 2019, every form of every agency.

The returns come from the demo generator (clean), then problems are planted by hand: a
JD return in the wrong unit (x10), a late MOI-TIP return, a missing MLSP return. Expected
indicator values are computed here from the values written into the workbooks.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from gbvstats.collect.templates import fill_template, save
from gbvstats.consolidate.run import consolidate, pipelines
from gbvstats.consolidate.trace import trace
from gbvstats.demo.generate import Generator, generate
from gbvstats.periods import parse_period
from gbvstats.store.warehouse import Warehouse

TALAS = "41707000000000"
YEAR = 2019
SEED = 7


@pytest.fixture(scope="module")
def fixture_year(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("consolidation")
    entries = generate([YEAR], root / "demo", SEED, registry, oblasts=[TALAS], defects=False)
    gen = Generator(registry, SEED)
    jd_form = registry.get("JD-CASES")
    wrong = root / "JD_wrong_unit.xlsx"
    values = {k: v * 10 for k, v in gen.values(jd_form, TALAS, parse_period("2019-Q2")).items()}
    save(fill_template(jd_form, values, TALAS, "2019-Q2"), wrong)

    wh = Warehouse(root / "wh" / "w.duckdb", registry)
    items = []
    for e in entries:
        if e.form == "MLSP-SP" and e.period == "2019-Q4":
            continue  # the planted missing return
        path = root / "demo" / e.file
        if e.form == "JD-CASES" and e.period == "2019-Q2":
            path = wrong  # sent instead of the right one
        sent = datetime.fromisoformat(e.submitted_at)
        if e.form == "MOI-TIP" and e.period == "2019-Q3":
            sent = datetime(2019, 11, 30)  # due 15 October
        items.append((path, e.agency, "test", sent))
    receipts = wh.submit_many(items)
    assert {r.outcome for r in receipts} <= {"accepted", "accepted_with_warnings"}
    report = consolidate(wh, YEAR)
    return wh, gen, report


def _sum(gen, registry, form_code, element, col, units, periods):
    form = registry.get(form_code)
    total = 0
    for unit in units:
        for p in periods:
            values = gen.makers[form_code](form, unit, parse_period(p))
            total += values.get((element, col), 0)
    return total


def test_family_violence_indicator_matches_hand_computation(fixture_year, registry):
    wh, gen, _ = fixture_year
    districts = [u.code for u in registry.units("district") if registry.oblast_of(u.code) == TALAS]
    quarters = [f"{YEAR}-Q{q}" for q in range(1, 5)]
    reports = _sum(gen, registry, "MOI-FV", "fv_reports", 1, districts, quarters)
    female = _sum(gen, registry, "MOI-FV", "fv_victims", 2, districts, quarters)  # all ages
    women = _sum(gen, registry, "MOI-FV", "fv_victims", 4, districts, quarters)  # 18 and over
    pop = _sum(gen, registry, "NSC-POP", "pop", 1, [TALAS], [str(YEAR)])
    pop_female = _sum(gen, registry, "NSC-POP", "pop", 2, [TALAS], [str(YEAR)])
    pop_women = sum(_sum(gen, registry, "NSC-POP", f"pop_{band}", 2, [TALAS], [str(YEAR)])
                    for band in ("y18t29", "y30t39", "y40t59", "y60t999"))
    table = wh.query("SELECT * FROM ind01_family_violence WHERE year = ? AND area = 'KG07' "
                     "AND education = '_T' AND activity = '_T'", [YEAR]).set_index(["sex", "age"])
    row = table.loc[("_T", "_T")]
    assert row.reports == reports
    assert row.reports_per_100k == round(1e5 * reports / pop, 1)
    f_all, f_adult = table.loc[("F", "_T")], table.loc[("F", "Y18T999")]
    assert (f_all.victims, f_all.population) == (female, pop_female)
    assert f_all.victims_per_100k == round(1e5 * female / pop_female, 1)
    assert (f_adult.victims, f_adult.population) == (women, pop_women)
    assert f_adult.victims_per_100k == round(1e5 * women / pop_women, 1)
    national = wh.query("SELECT reports FROM ind01_family_violence WHERE year = ? AND area = 'KG' "
                        "AND reports IS NOT NULL", [YEAR])
    assert national.reports.iloc[0] == reports  # only Talas reported in this fixture


def test_protection_orders_and_attrition_by_hand(fixture_year, registry):
    wh, gen, _ = fixture_year
    districts = [u.code for u in registry.units("district") if registry.oblast_of(u.code) == TALAS]
    quarters = [f"{YEAR}-Q{q}" for q in range(1, 5)]
    issued = _sum(gen, registry, "MOI-FV", "tpo_issued", 1, districts, quarters)
    extended = _sum(gen, registry, "MOI-FV", "tpo_extended", 1, districts, quarters)
    row = wh.query("SELECT * FROM ind02_protection_orders WHERE year = ? AND area = 'KG07'", [YEAR]).iloc[0]
    assert (row.orders_issued, row.orders_extended) == (issued, extended)
    assert row.extension_rate_pct == round(100 * extended / issued, 1)
    # the all-GBV chain counts the offence groups every agency reports, at every stage
    groups = ("hom", "sas", "mas", "rap", "fma", "ema", "tip")
    to_court = sum(_sum(gen, registry, "GPO-CASES", f"gpo_cases_{g}", 2, [TALAS], quarters) for g in groups)
    reconc = sum(_sum(gen, registry, "GPO-CASES", f"gpo_cases_{g}", 4, [TALAS], quarters) for g in groups)
    terminated = sum(_sum(gen, registry, "GPO-CASES", f"gpo_cases_{g}", 3, [TALAS], quarters) for g in groups)
    opened = sum(_sum(gen, registry, "MOI-GBV", f"gbv_crimes_{g}", 1, [TALAS], quarters)
                 for g in ("hom", "sas", "mas", "rap", "sxa", "fma", "ema"))
    opened += _sum(gen, registry, "MOI-TIP", "tip_cases", 1, [TALAS], quarters)
    att = wh.query("SELECT * FROM ind03_justice_attrition WHERE year = ? AND area = 'KG07' "
                   "AND chain = 'GBV' AND offence = '_T'", [YEAR]).iloc[0]
    assert (att.gpo_to_court, att.opened) == (to_court, opened)
    assert att.to_court_per_opened == round(to_court / opened, 2)
    assert att.reconciliation_share_pct == round(100 * reconc / terminated, 1)
    # the family-violence chain: MoI's own cases, no stage of another agency mixed in
    fv_opened = _sum(gen, registry, "MOI-FV", "fv_cases", 1, districts, quarters)
    fv = wh.query("SELECT * FROM ind03_justice_attrition WHERE year = ? AND area = 'KG07' "
                  "AND chain = 'FV' AND offence = '_T'", [YEAR]).iloc[0]
    assert fv.opened == fv_opened and fv.to_court_per_opened is None or fv.to_court_per_opened != fv.to_court_per_opened


def test_wrong_unit_return_is_found_by_reconciliation(fixture_year):
    wh, _, report = fixture_year
    failed = report.discrepancies
    assert {"REC-03", "REC-04", "REC-05"} <= set(failed.rule_id)
    rec03 = failed[failed.rule_id == "REC-03"].iloc[0]
    assert rec03.territory == TALAS and rec03.left_value > 2 * rec03.right_value
    stored = wh.query("SELECT status, count(*) n FROM rule_results GROUP BY status")
    assert set(stored.status) >= {"pass", "fail"}


def test_clean_rules_pass(fixture_year):
    wh, _, report = fixture_year
    results = wh.query("SELECT rule_id, status FROM rule_results WHERE run_id = ?", [report.run_id])
    for rule in ("REC-01", "REC-02", "REC-07", "HIER-01"):
        assert set(results[results.rule_id == rule].status) == {"pass"}, rule


def test_completeness_finds_missing_and_late(fixture_year):
    wh, _, report = fixture_year
    rows = wh.query("SELECT * FROM completeness_results WHERE year = ? AND unit = ?", [YEAR, TALAS])
    state = {(r.form, r.period): (r.state, r.late) for r in rows.itertuples()}
    assert state[("MLSP-SP", "2019-Q4")] == ("missing", False)
    assert state[("MOI-TIP", "2019-Q3")][1] is True
    assert state[("GPO-CASES", "2019-Q1")] == ("accepted", False)
    summary = report.completeness.set_index("form")
    assert summary.loc["MLSP-SP", "missing"] >= 1
    # the other oblasts did not report at all
    assert summary.loc["GPO-CASES", "expected"] == 36 and summary.loc["GPO-CASES", "accepted"] == 4


def test_every_pipeline_declares_its_metadata():
    for p in pipelines():
        for key in ("title.en", "title.ru", "title.ky", "unit.en", "sources"):
            assert p.meta.get(key), (p.path.name, key)


def test_trace_lists_the_cells_behind_a_figure(fixture_year):
    wh, _, _ = fixture_year
    cells = trace(wh, "ind01_family_violence", YEAR, "area = 'KG07'", ["reports"])
    figure = wh.query("SELECT reports FROM ind01_family_violence WHERE year = ? AND area = 'KG07' "
                      "AND reports IS NOT NULL", [YEAR])
    assert set(cells.element) == {"fv_reports"} and set(cells.coefficient) == {1}
    assert cells.value.sum() == figure.reports.iloc[0]
    assert cells.file_name.str.startswith("MOI-FV_v2_").all()
    assert cells.submission_id.nunique() == 20  # 5 district units x 4 quarters


def test_traced_cells_re_add_to_every_figure_of_every_table(fixture_year):
    """Lineage read off the SQL: for every table, the cells trace lists, times their
    coefficients, add up to each figure (the oblast's row and the country's)."""
    from gbvstats.consolidate.trace import TraceError, sums

    wh, _, _ = fixture_year
    checked = 0
    for p in pipelines():
        try:
            traced = trace(wh, p.id, YEAR)
        except TraceError:
            assert p.id == "ind08_data_quality"  # made of consolidation results, not cells
            continue
        totals = sums(traced)
        assert len(totals) and totals.agrees.all(), (p.id, totals[~totals.agrees].head())
        checked += len(totals)
    assert checked > 400


def test_trace_of_a_difference_has_a_negative_coefficient(fixture_year):
    wh, _, _ = fixture_year
    cells = trace(wh, "ind03_justice_attrition", YEAR, "area = 'KG07' AND chain = 'GBV' AND offence = 'HOM'",
                  ["gpo_terminated_other"])
    assert set(zip(cells.col, cells.coefficient, strict=True)) == {(3, 1), (4, -1)}  # minus reconciled


def test_indicator_counts_are_integers(fixture_year):
    wh, _, _ = fixture_year
    row = wh.query("SELECT reports, victims FROM ind01_family_violence WHERE year = ? AND area = 'KG'", [YEAR])
    assert str(row.reports.dtype) == "Int64"
    with wh.reader() as con:  # what an analyst's pandas sees too: BIGINT, not HUGEINT
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'ind01_family_violence'").fetchall())
        assert types["reports"] == "BIGINT" and types["victims"] == "BIGINT"
        assert con.execute("SELECT reports FROM ind01_family_violence WHERE area = 'KG' "
                           "AND reports IS NOT NULL").df().reports.dtype.kind == "i"


def test_checksum_after_consolidate_equals_the_rebuilt_warehouse(fixture_year, tmp_path):
    """The indicator tables (ind01_...) and the other consolidation results are left out
    of the checksum: a rebuild from archive and audit log gives the same sums."""
    wh, _, _ = fixture_year
    sums_before = wh.checksum()
    assert not any(t.startswith("ind") for t in sums_before)
    assert "submissions" in sums_before and "cells" in sums_before
    wh.rebuild(tmp_path / "rebuilt.duckdb")
    rebuilt = Warehouse(tmp_path / "rebuilt.duckdb", wh.reg)
    assert rebuilt.checksum() == sums_before


def test_consolidating_a_year_without_returns_is_refused(fixture_year):
    from gbvstats.consolidate.run import ConsolidateError

    wh, _, _ = fixture_year
    before = wh.query("SELECT count(*) AS n FROM consolidation_runs").n.iloc[0]
    with pytest.raises(ConsolidateError) as err:
        consolidate(wh, 2031)
    assert err.value.code == 2 and "2031" in err.value.message("ru")
    from typer.testing import CliRunner

    from gbvstats.cli import app

    cli = CliRunner().invoke(app, ["consolidate", "--year", "2031", "--warehouse", str(wh.path)],
                             env={"GBVSTATS_LANG": "ky"})
    assert cli.exit_code == 2 and "2031-жылдын кабыл алынган отчеттору жок" in cli.stderr
    assert wh.query("SELECT count(*) AS n FROM consolidation_runs").n.iloc[0] == before


def test_consolidation_is_repeatable(fixture_year):
    wh, _, report = fixture_year
    before = wh.query("SELECT * FROM ind01_family_violence ORDER BY area")
    again = consolidate(wh, YEAR)
    assert again.run_id == report.run_id + 1
    after = wh.query("SELECT * FROM ind01_family_violence ORDER BY area")
    assert before.equals(after)


def test_figures_built_without_a_return_are_provisional_and_say_which(fixture_year, tmp_path):
    """Talas's MLSP return of 2019-Q4 is missing: Talas's figures read from MLSP-SP are
    provisional (P) with a footnote naming the unit and period; its figures read from other
    forms are not. Every SDMX row passes the DSD check."""
    import json

    import pandas as pd

    from gbvstats.publish.sdmx import check_file, load_dsd
    from gbvstats.publish.tables import publish

    wh, _, _ = fixture_year
    publish(wh.path, YEAR, tmp_path, ("en", "ru"))
    assist = pd.read_csv(tmp_path / f"ind06_assistance_{YEAR}.csv").set_index("area")
    talas = assist.loc["KG07"]
    assert talas["fv_clients_OBS_STATUS"] == "P" and talas["tip_assisted_OBS_STATUS"] in ("P", "C")
    assert talas["fv_victims_moi_OBS_STATUS"] == "A"  # read from MOI-FV, all returns in
    fv = pd.read_csv(tmp_path / f"ind01_family_violence_{YEAR}.csv", keep_default_na=False, na_values=[""])
    fv = fv[(fv.sex == "_T") & (fv.age == "_T") & (fv.education == "_T") & (fv.activity == "_T")].set_index("area")
    assert fv.loc["KG07", "reports_OBS_STATUS"] == "A"
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    notes = {n["flag"]: n for n in manifest["tables"]["ind06_assistance"]["notes"] if "MLSP-SP" in n["en"]}
    assert f"Talas oblast ({TALAS}) {YEAR}-Q4" in notes["P"]["en"]
    assert "Таласская область" in notes["P"]["ru"]
    dsd = load_dsd()
    for path in tmp_path.glob("sdmx_*.csv"):
        assert check_file(path, dsd) == [], path
