"""Intra-form rules on the real MOI-FV v2 schema: statuses, values, addresses, findings."""

from __future__ import annotations

import pytest
from rules_helpers import CLEAN_FV2, address, cells_frame, rule, with_rules

from gbvstats.check.rules import check_submission, check_submissions, summary
from gbvstats.periods import parse_period
from gbvstats.schema.rulelang import expand, rule_terms


@pytest.fixture(scope="module")
def fv2(registry):
    form = registry.for_period("MOI-FV", parse_period("2024-Q1"))
    assert form.version == 2
    return form


def _row(results, rule_id, **where):
    rows = results[results["rule_id"] == rule_id]
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_clean_return_passes_every_rule(fv2):
    results, findings = check_submission(fv2, cells_frame(fv2, CLEAN_FV2))
    assert findings == []
    assert set(results["status"]) == {"pass"}
    # every rule of the form produced at least one item: nothing skipped
    assert set(results["rule_id"]) == {r.id for r in fv2.rules}


def test_balance_failure_row_and_finding(fv2):
    values = {**CLEAN_FV2, ("T1", "01", 1): 25}
    results, findings = check_submission(fv2, cells_frame(fv2, values), "sub-7", file="f.xlsx")
    row = _row(results, "MOI-FV2-01")
    assert (row.status, row.left_value, row.right_value, row.imbalance) == ("fail", 25, 21, 4)
    assert row.scope_id == "sub-7"
    expected_cells = [address(fv2, "T1", f"0{n}", 1) for n in range(1, 7)]
    assert list(row.cells) == expected_cells
    (finding,) = [f for f in findings if f.rule_id == "MOI-FV2-01"]
    assert finding.code == "GBV-R001" and finding.severity == "error"
    assert (finding.file, finding.sheet, finding.cell) == ("f.xlsx", "T1", "C6")
    assert finding.cells == expected_cells
    assert finding.params["left"] == 25 and finding.params["right"] == 21
    assert finding.params["imbalance"] == 4 and finding.params["tolerance"] == 0
    assert finding.message("en") == ("MOI-FV2-01: Reports by form of violence (lines 02-06) "
                                     "add up to 21, but the total on line 01 is 25.")
    assert "равна 21, а итог в строке 01 равен 25" in finding.message("ru")
    assert "(02-06-саптар) 21" in finding.message("ky")


def test_bound_line_and_column_reach_the_message(fv2):
    values = {**CLEAN_FV2, ("T2", "03", 3): 3}  # line 03: 7 + 3 = 10 vs total 9
    results, findings = check_submission(fv2, cells_frame(fv2, values))
    row = _row(results, "MOI-FV2-02", status="fail")
    assert (row.item_label, row.bind_line, row.left_value, row.right_value) == ("line=03", "03", 9, 10)
    (finding,) = [f for f in findings if f.rule_id == "MOI-FV2-02"]
    assert finding.line == "03" and finding.params["line"] == "03"
    assert finding.message("en").startswith("MOI-FV2-02: Table 2, line 03: women and girls plus men and "
                                            "boys (columns 2-3) add up to 10, but the total in column 1 is 9.")
    # the column-3 inequality (line 03 <= line 01) still holds: 3 <= 5
    assert _row(results, "MOI-FV2-04", item_label="column=3").status == "pass"


def test_inequality_with_absolute_tolerance_edges(fv2):
    # MOI-FV2-09: T5/*/2 <= T5/*/1 with tolerance abs 2, a warning
    at_edge = {**CLEAN_FV2, ("T5", "03", 2): 4}  # 4 - 2 = 2: exactly the tolerance
    results, findings = check_submission(fv2, cells_frame(fv2, at_edge))
    row = _row(results, "MOI-FV2-09", item_label="line=03")
    assert (row.status, row.imbalance, row.tolerance) == ("pass", 2, 2)
    over = {**CLEAN_FV2, ("T5", "03", 2): 5}  # one over
    results, findings = check_submission(fv2, cells_frame(fv2, over))
    row = _row(results, "MOI-FV2-09", item_label="line=03")
    assert (row.status, row.imbalance) == ("fail", 3)
    (finding,) = [f for f in findings if f.rule_id == "MOI-FV2-09"]
    assert (finding.code, finding.severity, finding.cell) == ("GBV-R002", "warning", "D8")


def test_relative_tolerance_edges(fv2):
    # |imbalance| <= max(abs, rel * max(|left|, |right|)): 10% of 40 = 4
    form = with_rules(fv2, [rule("T-REL", "balance", expr="T1/01/1 = T1/02..06/1",
                                 tolerance={"abs": 1, "rel": 0.1})])
    right = {("T1", "02", 1): 20, ("T1", "03", 1): 10, ("T1", "04", 1): 10, ("T1", "05", 1): 0,
             ("T1", "06", 1): 0}
    for total, status in ((40, "pass"), (36, "pass"), (35, "fail"), (44, "pass"), (45, "fail")):
        results, _ = check_submission(form, cells_frame(form, {**right, ("T1", "01", 1): total}))
        row = _row(results, "T-REL")
        assert row.status == status, (total, row.tolerance)
    # 36 vs 40: tolerance 4.0 = exactly the imbalance
    results, _ = check_submission(form, cells_frame(form, {**right, ("T1", "01", 1): 36}))
    assert _row(results, "T-REL").tolerance == 4.0
    # a rate that is not exact in binary: 0.29 * 100 = 29 exactly
    form29 = with_rules(fv2, [rule("T-REL", "balance", expr="T1/01/1 = T1/02/1",
                                   tolerance={"rel": 0.29})])
    for total, status in ((71, "pass"), (70, "fail")):
        results, _ = check_submission(form29, cells_frame(form29, {("T1", "01", 1): total,
                                                                   ("T1", "02", 1): 100}))
        assert _row(results, "T-REL").status == status, total
    # small numbers: the absolute tolerance of 1 wins over 10% of 3
    small = {("T1", "01", 1): 4, ("T1", "02", 1): 3}
    results, _ = check_submission(form, cells_frame(form, small))
    row = _row(results, "T-REL")
    assert (row.status, row.imbalance, row.tolerance) == ("pass", 1, 1.0)


def test_missing_zero_counts_blanks_as_zero(fv2):
    values = {k: v for k, v in CLEAN_FV2.items() if k != ("T1", "06", 1)}
    values[("T1", "01", 1)] = 19  # 10+5+3+1 + blank
    results, findings = check_submission(fv2, cells_frame(fv2, values))
    row = _row(results, "MOI-FV2-01")
    assert (row.status, row.right_value, row.right_missing) == ("pass", 19, 1)
    # every cell involved is listed, the blank one too
    assert list(row.cells) == [address(fv2, "T1", f"0{n}", 1) for n in range(1, 7)]


def test_missing_not_evaluable_gives_a_reason(fv2):
    form = with_rules(fv2, [rule("T-NE", "balance", expr="T1/01/1 = T1/02..06/1",
                                 missing="not_evaluable", severity="error")])
    values = {k: v for k, v in CLEAN_FV2.items() if k not in {("T1", "05", 1), ("T1", "06", 1)}}
    results, findings = check_submission(form, cells_frame(form, values))
    row = _row(results, "T-NE")
    assert (row.status, row.reason) == ("not_evaluable", "2 cell(s) blank")
    (finding,) = findings
    assert finding.code == "GBV-R090" and finding.severity == "warning"
    assert finding.message("en").startswith("T-NE: not evaluable (2 cell(s) blank)")
    # all filled: evaluated normally
    results, _ = check_submission(form, cells_frame(form, CLEAN_FV2))
    assert _row(results, "T-NE").status == "pass"


def test_completeness(fv2):
    values = {k: v for k, v in CLEAN_FV2.items() if k != ("T1", "01", 1)}
    results, findings = check_submission(fv2, cells_frame(fv2, values))
    row = _row(results, "MOI-FV2-11")
    assert (row.status, row.reason) == ("fail", "required cell is blank")
    (finding,) = [f for f in findings if f.rule_id == "MOI-FV2-11"]
    assert (finding.code, finding.severity) == ("GBV-R005", "error")
    # a zero is an answer
    results, _ = check_submission(fv2, cells_frame(fv2, {**values, ("T1", "01", 1): 0}))
    assert _row(results, "MOI-FV2-11").status == "pass"


@pytest.mark.parametrize("victims,reports,status", [(5, 0, "fail"), (5, None, "fail"),
                                                    (0, 0, "pass"), (None, 0, "pass"),
                                                    (5, 1, "pass")])
def test_compulsory(fv2, victims, reports, status):
    form = with_rules(fv2, [r for r in fv2.rules if r.id == "MOI-FV2-10"])
    values = {("T2", "01", 1): victims, ("T1", "01", 1): reports}
    results, findings = check_submission(form, cells_frame(form, values))
    row = _row(results, "MOI-FV2-10")
    assert row.status == status
    if status == "fail":
        (finding,) = findings
        assert (finding.code, finding.severity, finding.cell) == ("GBV-R003", "warning", "C6")
        assert finding.message("en") == ("MOI-FV2-10: Victims are reported (table 2, line 01: 5) "
                                         "but no family-violence report is registered (table 1, line 01).")


@pytest.mark.parametrize("a,b,status", [(3, 4, "fail"), (3, 0, "pass"), (0, 4, "pass"),
                                        (None, 4, "pass"), (0, 0, "pass")])
def test_exclusive(fv2, a, b, status):
    form = with_rules(fv2, [rule("T-EX", "exclusive", when="T3/02/1", then="T3/03/1")])
    results, findings = check_submission(form, cells_frame(form, {("T3", "02", 1): a,
                                                                  ("T3", "03", 1): b}))
    row = _row(results, "T-EX")
    assert row.status == status
    assert [f.code for f in findings] == (["GBV-R004"] if status == "fail" else [])


def test_rule_that_does_not_compile_is_an_error_and_others_still_run(fv2):
    broken = rule("T-BAD", "balance", expr="T1/01/1 = T9/02/1")
    form = with_rules(fv2, [broken, *fv2.rules])
    values = {**CLEAN_FV2, ("T1", "01", 1): 25}
    results, findings = check_submission(form, cells_frame(form, values))
    row = _row(results, "T-BAD")
    assert row.status == "error" and "table 'T9' does not exist" in row.reason
    assert _row(results, "MOI-FV2-01").status == "fail"
    codes = {f.rule_id: f.code for f in findings}
    assert codes == {"T-BAD": "GBV-R099", "MOI-FV2-01": "GBV-R001"}
    (bad,) = [f for f in findings if f.rule_id == "T-BAD"]
    assert bad.severity == "error" and "could not run" in bad.message("en")


def test_rule_whose_evaluation_fails_is_an_error_and_others_still_run(fv2):
    # a difference of a value at the BIGINT limit overflows inside the SQL of that rule only
    minus = rule("T-OVF", "inequality", expr="T4/02/1 - T3/02/1 <= T4/01/1")
    form = with_rules(fv2, [minus, *[r for r in fv2.rules if r.id == "MOI-FV2-01"]])
    values = {**CLEAN_FV2, ("T3", "02", 1): -(2**63), ("T1", "01", 1): 22}
    results, findings = check_submission(form, cells_frame(form, values))
    row = _row(results, "T-OVF")
    assert row.status == "error" and row.reason.startswith("evaluation failed")
    assert _row(results, "MOI-FV2-01").status == "fail"
    assert sorted(f.code for f in findings) == ["GBV-R001", "GBV-R099"]


@pytest.mark.parametrize("op,left,right,status", [
    ("<", 3, 4, "pass"), ("<", 4, 4, "fail"), (">", 5, 4, "pass"), (">", 4, 4, "fail"),
    (">=", 4, 4, "pass"), (">=", 3, 4, "fail"), ("==", 4, 4, "pass"), ("==", 3, 4, "fail")])
def test_comparison_operators(fv2, op, left, right, status):
    form = with_rules(fv2, [rule("T-OP", "inequality", expr=f"T4/02/1 {op} T4/01/1")])
    results, _ = check_submission(form, cells_frame(form, {("T4", "02", 1): left,
                                                           ("T4", "01", 1): right}))
    row = _row(results, "T-OP")
    assert (row.status, row.left_value, row.right_value, row.imbalance) == (
        status, left, right, left - right)


def test_exact_integer_sums_beyond_float_precision(fv2):
    form = with_rules(fv2, [rule("T-BIG", "balance", expr="T1/01/1 = T1/02..06/1")])
    big = 2**53
    values = {("T1", "01", 1): 2 * big + 1, ("T1", "02", 1): big, ("T1", "03", 1): big}
    results, _ = check_submission(form, cells_frame(form, values))
    row = _row(results, "T-BIG")
    assert (row.status, row.imbalance, row.left_value) == ("fail", 1, 2 * big + 1)


def test_many_submissions_in_one_query_and_summary(fv2):
    bad = {**CLEAN_FV2, ("T3", "02", 1): 9}
    batch = [("a", cells_frame(fv2, CLEAN_FV2), "a.xlsx"), ("b", cells_frame(fv2, bad), "b.xlsx")]
    out = check_submissions(fv2, batch)
    assert out["a"][1] == []
    (finding,) = out["b"][1]
    assert (finding.rule_id, finding.file, finding.cell) == ("MOI-FV2-05", "b.xlsx", "C7")
    counts = summary(out["b"][0]).set_index("rule_id")
    assert counts.loc["MOI-FV2-05"].tolist() == [1, 0, 1, 0, 0]
    assert counts.loc["MOI-FV2-02"].tolist() == [4, 4, 0, 0, 0]
    assert counts["items"].sum() == len(out["b"][0])


def test_a_thousand_submissions_by_the_same_query(fv2):
    clean = cells_frame(fv2, CLEAN_FV2)
    bad = cells_frame(fv2, {**CLEAN_FV2, ("T4", "02", 1): 5})
    batch = [(f"s{i}", bad if i == 637 else clean, None) for i in range(1000)]
    out = check_submissions(fv2, batch)
    failing = {sid: [f.rule_id for f in findings] for sid, (_, findings) in out.items() if findings}
    assert failing == {"s637": ["MOI-FV2-07"]}
    items = sum(len(expand(fv2, rule_terms(r))) for r in fv2.rules)
    assert items == 69 and all(len(results) == items for results, _ in out.values())
