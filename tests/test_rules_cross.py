"""Cross-unit rules over warehouse-shaped cells: cross_form, reconciliation, hierarchy,
temporal; levels, periods, tolerance edges, missing values, errors."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from rules_helpers import rule, warehouse_cells

from gbvstats.check.rules import evaluate_cross, evaluate_rules, summary

TALAS = "41707000000000"
D1, D2 = "41707215000000", "41707220000000"  # two districts of Talas oblast
QUARTERS = [f"2024-Q{q}" for q in range(1, 5)]


@pytest.fixture()
def con():
    with duckdb.connect() as c:
        yield c


def _only(results, **where):
    rows = results
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, results
    return rows.iloc[0]


def _fv(unit, period, reports, orders):
    return [("MOI-FV", unit, period, "T1", "01", 1, reports),
            ("MOI-FV", unit, period, "T3", "01", 1, orders)]


def test_cross_form_sums_districts_and_quarters(con, registry):
    rows = []
    for q in QUARTERS:
        rows += _fv(D1, q, 10, 4) + _fv(D2, q, 5, 3)
    cells = warehouse_cells(rows)
    ok = rule("X-1", "cross_form", expr="MOI-FV:T3/01/1 <= MOI-FV:T1/01/1", level="oblast",
              period="year")
    row = _only(evaluate_cross(con, [ok], registry, cells))
    assert (row.scope_id, row.status, row.left_value, row.right_value) == (
        f"{TALAS}|2024", "pass", 28, 60)
    # per quarter, at district level: one item per district and quarter
    per_q = rule("X-2", "cross_form", expr="MOI-FV:T3/01/1 <= MOI-FV:T1/01/1", level="district",
                 period="quarter")
    results = evaluate_cross(con, [per_q], registry, cells)
    assert len(results) == 8 and set(results["status"]) == {"pass"}
    assert _only(results, scope_id=f"{D2}|2024-Q3").right_value == 5


def _reconciliation_cells(moi_sent: int, gpo_received: int):
    # MoI reports per district and quarter, the prosecutor per oblast and quarter
    rows = []
    for i, q in enumerate(QUARTERS):
        share = moi_sent // 4 + (moi_sent % 4 if i == 0 else 0)
        rows += [("MOI-FV", D1, q, "T5", "02", 2, share - share // 2),
                 ("MOI-FV", D2, q, "T5", "02", 2, share // 2),
                 ("GPO-CASES", TALAS, q, "T1", "02", 1,
                  gpo_received // 4 + (gpo_received % 4 if i == 0 else 0))]
    return warehouse_cells(rows)


@pytest.mark.parametrize("gpo,status", [(40, "pass"), (43, "pass"), (44, "fail"),
                                        (37, "pass"), (36, "fail")])
def test_reconciliation_absolute_tolerance_edges(con, registry, gpo, status):
    rec = rule("X-REC", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
               level="oblast", period="year", tolerance={"abs": 3})
    row = _only(evaluate_cross(con, [rec], registry, _reconciliation_cells(40, gpo)))
    assert (row.status, row.left_value, row.right_value, row.imbalance) == (
        status, gpo, 40, gpo - 40)
    assert row.tolerance == 3


@pytest.mark.parametrize("gpo,status,tolerance", [(220, "pass", 22.0), (245, "fail", 24.5),
                                                  (180, "pass", 20.0), (178, "fail", 20.0)])
def test_reconciliation_relative_tolerance(con, registry, gpo, status, tolerance):
    # tolerance = 10% of the larger side
    rec = rule("X-REL", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
               level="oblast", period="year", tolerance={"rel": 0.1})
    row = _only(evaluate_cross(con, [rec], registry, _reconciliation_cells(200, gpo)))
    assert (row.status, row.tolerance, row.imbalance) == (status, tolerance, gpo - 200)


def test_reconciliation_relative_tolerance_exact_edge(con, registry):
    rec = rule("X-REL", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
               level="oblast", period="year", tolerance={"rel": 0.25})
    # |100 - 75| = 25 = 0.25 * 100: passes; 74 is one over
    assert _only(evaluate_cross(con, [rec], registry, _reconciliation_cells(100, 75))).status == "pass"
    assert _only(evaluate_cross(con, [rec], registry, _reconciliation_cells(100, 74))).status == "fail"


def test_cross_missing_modes(con, registry):
    cells = _reconciliation_cells(40, 40)
    cells = cells[~((cells["form"] == "MOI-FV") & (cells["unit"] == D2)
                    & (cells["period"] == "2024-Q2"))].copy()
    # D2 in Q2 sent nothing: the row is absent, but D1 reported, so the oblast has a value
    zero = rule("X-Z", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
                level="oblast", period="year")
    row = _only(evaluate_cross(con, [zero], registry, cells))
    assert (row.status, row.right_value) == ("fail", 35)
    # a blank reported cell makes the rule not evaluable in that mode
    blank = _reconciliation_cells(40, 40)
    blank.loc[blank["form"] == "GPO-CASES", "value"] = None
    ne = rule("X-NE", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
              level="oblast", period="quarter", missing="not_evaluable")
    results = evaluate_cross(con, [ne], registry, blank)
    assert set(results["status"]) == {"not_evaluable"} and len(results) == 4
    assert set(results["reason"]) == {"1 cell(s) blank"}


def test_hierarchy_lower_units_against_the_upper_unit(con, registry):
    rows = _fv(D1, "2024-Q1", 10, 0) + _fv(D2, "2024-Q1", 5, 0)
    rows += _fv(TALAS, "2024-Q1", 15, 0)  # the oblast's own total return
    rows += _fv(D1, "2024-Q2", 10, 0) + _fv(D2, "2024-Q2", 5, 0) + _fv(TALAS, "2024-Q2", 17, 0)
    rows += _fv(D1, "2024-Q3", 1, 0)  # no upper return in Q3: not evaluable, and said why
    hier = rule("X-H", "hierarchy", cells="MOI-FV:T1/01/1", level="oblast", period="quarter")
    results = evaluate_cross(con, [hier], registry, warehouse_cells(rows))
    assert len(results) == 3
    q3 = _only(results, scope_id=f"{TALAS}|2024-Q3")
    assert q3.status == "not_evaluable" and pd.isna(q3.left_value)
    assert q3.reason == f"no return of MOI-FV (the upper unit's own) for {TALAS} in 2024-Q3"
    q1 = _only(results, scope_id=f"{TALAS}|2024-Q1")
    assert (q1.status, q1.left_value, q1.right_value) == ("pass", 15, 15)
    q2 = _only(results, scope_id=f"{TALAS}|2024-Q2")
    assert (q2.status, q2.left_value, q2.right_value, q2.imbalance) == ("fail", 15, 17, -2)


def test_hierarchy_at_country_level_sums_oblasts_not_districts(con, registry):
    country = "41700000000000"
    rows = _fv(D1, "2024-Q1", 10, 0) + _fv(D2, "2024-Q1", 5, 0) + _fv(TALAS, "2024-Q1", 15, 0)
    rows += _fv("41704000000000", "2024-Q1", 7, 0) + _fv(country, "2024-Q1", 22, 0)
    hier = rule("X-HC", "hierarchy", cells="MOI-FV:T1/01/1", level="country")
    row = _only(evaluate_cross(con, [hier], registry, warehouse_cells(rows)))
    assert (row.status, row.left_value, row.right_value) == ("pass", 22, 22)


def test_temporal_quarters_against_the_annual_return(con, registry):
    rows = []
    for q, n in zip(QUARTERS, (3, 4, 5, 6), strict=True):
        rows += _fv(D1, q, n, 0) + _fv(D2, q, n, 0)
    rows += _fv(D1, "2024", 18, 0) + _fv(D2, "2024", 20, 0)
    temporal = rule("X-T", "temporal", cells="MOI-FV:T1/01/1", tolerance={"abs": 1})
    results = evaluate_cross(con, [temporal], registry, warehouse_cells(rows))
    d1 = _only(results, scope_id=f"{D1}|2024")
    assert (d1.status, d1.left_value, d1.right_value) == ("pass", 18, 18)
    d2 = _only(results, scope_id=f"{D2}|2024")
    assert (d2.status, d2.imbalance) == ("fail", -2)
    # at tolerance: 19 vs 18 passes
    rows[-1] = ("MOI-FV", D2, "2024", "T3", "01", 1, 0)
    rows[-2] = ("MOI-FV", D2, "2024", "T1", "01", 1, 19)
    d2 = _only(evaluate_cross(con, [temporal], registry, warehouse_cells(rows)), scope_id=f"{D2}|2024")
    assert (d2.status, d2.imbalance) == ("pass", -1)


def test_broken_rule_is_an_error_and_the_others_run(con, registry):
    cells = _reconciliation_cells(40, 40)
    broken = rule("X-BAD", "reconciliation", expr="NO-SUCH:T1/01/1 = MOI-FV:T5/02/2",
                  level="oblast", period="year")
    good = rule("X-OK", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
                level="oblast", period="year")
    results = evaluate_cross(con, [broken, good], registry, cells)
    bad = _only(results, rule_id="X-BAD")
    assert bad.status == "error" and "NO-SUCH" in bad.reason
    assert _only(results, rule_id="X-OK").status == "pass"
    counts = summary(results).set_index("rule_id")
    assert counts.loc["X-BAD", "error"] == 1 and counts.loc["X-OK", "pass"] == 1


def test_evaluate_rules_over_a_view_and_one_year(con, registry):
    cells = _reconciliation_cells(40, 44)
    later = cells.assign(period=cells["period"].str.replace("2024", "2025"))
    later.loc[later["form"] == "GPO-CASES", "value"] = 10
    con.register("both_years", pd.concat([cells, later], ignore_index=True))
    con.execute("CREATE VIEW series AS SELECT * FROM both_years")
    rec = rule("X-REC", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
               level="oblast", period="year", tolerance={"abs": 3})
    row = _only(evaluate_rules(con, [rec], registry, "series", year=2024))
    assert (row.scope_id, row.status, row.left_value) == (f"{TALAS}|2024", "fail", 44)
    assert len(evaluate_rules(con, [rec], registry, "series")) == 2


def test_hierarchy_across_two_forms_reported_at_different_levels(con, registry):
    # MOI-FV comes from districts, MOI-GBV from the oblast: compared summed to the oblast
    rows = _fv(D1, "2024-Q1", 0, 0) + _fv(D2, "2024-Q1", 0, 0)
    rows += [("MOI-FV", D1, "2024-Q1", "T5", "02", 1, 4), ("MOI-FV", D2, "2024-Q1", "T5", "02", 1, 3),
             ("MOI-GBV", TALAS, "2024-Q1", "T1", "02", 1, 6)]
    hier = rule("X-H2", "hierarchy", expr="MOI-FV:T5/02/1 <= MOI-GBV:T1/02/1", level="oblast",
                period="year")
    row = _only(evaluate_cross(con, [hier], registry, warehouse_cells(rows)))
    assert (row.status, row.left_value, row.right_value, row.imbalance) == ("fail", 7, 6, 1)


def test_cross_form_rule_where_one_form_is_absent_is_not_evaluable(con, registry):
    """A territory where one agency's return is missing is reported as not evaluable,
    naming the form and the territory, never skipped in silence; a territory where no
    form of the rule reported is not one the rule concerns."""
    from gbvstats.check.rules import findings_from_results

    naryn = "41704000000000"
    cells = _reconciliation_cells(40, 40)
    gpo_only = warehouse_cells([("GPO-CASES", naryn, q, "T1", "02", 1, 9) for q in QUARTERS])
    both = pd.concat([cells, gpo_only], ignore_index=True)
    rec = rule("X-R", "reconciliation", expr="GPO-CASES:T1/02/1 = MOI-FV:T5/02/2",
               level="oblast", period="year")
    results = evaluate_cross(con, [rec], registry, both)
    assert set(results["scope_id"]) == {f"{TALAS}|2024", f"{naryn}|2024"}
    talas = _only(results, scope_id=f"{TALAS}|2024")
    assert talas.status == "pass"
    absent = _only(results, scope_id=f"{naryn}|2024")
    assert absent.status == "not_evaluable"
    assert absent.reason == f"no return of MOI-FV for {naryn} in 2024"
    finding = findings_from_results(results, {"X-R": rec}, None)
    assert [f.code for f in finding] == ["GBV-R090"]
    assert finding[0].params["reason"] == absent.reason and finding[0].params["left"] is None


def test_hier01_compares_like_with_like(con, registry):
    """HIER-01 compared family-violence homicides of victims of any sex with GBV
    homicides of women and girls only: men killed in the family made it fail. It now
    compares the groups both forms count for every victim."""
    from gbvstats.consolidate.reconcile import load_rules

    hier01 = next(r for r in load_rules() if r.id == "HIER-01")
    # family violence, per district: homicides 5 each (most of the victims men)
    rows = [("MOI-FV", d, "2024-Q1", "T5", line, 1, n) for d in (D1, D2)
            for line, n in (("02", 5), ("03", 3), ("04", 4), ("05", 1), ("06", 0))]
    # GBV crimes of the oblast: homicides of women 2; the other groups as many as above
    rows += [("MOI-GBV", TALAS, "2024-Q1", "T1", line, 1, n)
             for line, n in (("02", 2), ("03", 6), ("04", 8), ("05", 1), ("06", 1))]
    row = _only(evaluate_cross(con, [hier01], registry, warehouse_cells(rows)))
    assert (row.status, row.left_value, row.right_value) == ("pass", 16, 16)
    # a real excess of the family-violence cases in the groups compared still fails
    rows += [("MOI-FV", D1, "2024-Q2", "T5", "03", 1, 20)]
    row = _only(evaluate_cross(con, [hier01], registry, warehouse_cells(rows)))
    assert (row.status, row.left_value) == ("fail", 36)
