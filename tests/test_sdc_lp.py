"""Disclosure control against a linear-programming attacker: the relations model, the LP
audit, secondary suppression that passes it, checked by an attacker written apart
(tests/sdc_helpers.py) on fixtures where the former subtraction-only suppression fails."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
import sdc_helpers as H
from publish_helpers import attack as subtract

from gbvstats.publish import relations, sdc, secondary
from gbvstats.publish.audit import (
    EXACT,
    UNDER,
    DisclosureSettingsError,
    Protection,
    Solver,
    audit_cells,
    load_protection,
)
from gbvstats.publish.disclosure import protect_tables
from gbvstats.publish.relations import Declarations, Hierarchy

PROTECTION = Protection(threshold=4, threshold_multiple=1, value_percent=50)
CRIME_DIMS = ["area", "offence", "relationship"]


def protect(frame, decl, **kw):
    return sdc.protect_table("t", frame, decl, PROTECTION, **kw)


def lp_attack(frame, done, counts, **kw):
    """The independent attacker on a protected frame: the cells it narrows too far."""
    targets, truth = H.targets_of("t", frame, counts)
    found = H.attack([H.seen("t", done.frame, done.mask, counts, **kw)], targets)
    return H.widths_ok(found, truth), found


def at(frame, **where):
    return int(frame.index[(frame[list(where)] == pd.Series(where)).all(axis=1)][0])


# --- the former suppression fails, the new one holds ----------------------------------


def test_subtraction_only_suppression_fails_the_lp_audit():
    frame = H.crimes_table()
    old = protect(frame, Declarations(["victims"]), method="lines")
    # safe against subtraction along single lines ...
    assert subtract(frame, "victims", old.mask["victims"], CRIME_DIMS) == {}
    # ... but the audit pins one victim and narrows eight more
    summary = old.audit.summary()
    assert summary["exact"] == 1 and summary["under_protected"] == 8
    exact = next(a for a in old.audit.audited if a.status == EXACT)
    assert exact.cell == {"area": "KG04", "offence": "O1", "relationship": "R1", "column": "victims"}
    assert exact.value == exact.lower == exact.upper == 1
    # and the independent attacker agrees, cell by cell
    bad, found = lp_attack(frame, old, ["victims"])
    assert found[("t", at(frame, area="KG04", offence="O1", relationship="R1"), "victims")] == (1.0, 1.0)
    assert len(bad) == 9
    assert {(a.where[0], a.lower, a.upper) for a in old.audit.failures} == {
        (k[1], lo, hi) for k, (lo, hi) in found.items() if hi - lo < 4}


def test_lp_secondary_suppression_passes_both_attackers():
    frame = H.crimes_table()
    new = protect(frame, Declarations(["victims"]))
    assert new.audit.failures == []
    assert lp_attack(frame, new, ["victims"])[0] == []
    assert subtract(frame, "victims", new.mask["victims"], CRIME_DIMS) == {}
    hidden = new.mask["victims"]
    assert hidden[frame["victims"].between(1, 4)].all()
    assert not hidden[frame["victims"] == 0].any()  # zeros stay published
    assert new.frame.loc[~hidden, "victims"].eq(frame.loc[~hidden, "victims"]).all()
    # every audited interval is at least the protection width and holds the true value
    for a in new.audit.audited:
        assert a.upper - a.lower >= 4 and a.lower <= a.value <= a.upper


@pytest.mark.parametrize("fixture", [H.crimes_table, H.ages_table])
def test_no_more_suppression_than_the_audit_needs(fixture):
    """Each complementary cell is needed: published again, some confidential cell would
    fail the audit. Zeros, blanks and (here) the grand total stay published."""
    frame = fixture()
    decl = Declarations(["victims"], hierarchies={"age": [Hierarchy("A", "_T", ("Y0T17", "Y18T999")),
                                                          Hierarchy("B", "_T", ("Y0T20", "Y21T999"))]})
    done = protect(frame, decl)
    model = relations.build("t", frame, decl)
    confidential = [a.where for a in done.audit.audited]
    complementary = done.hidden - set(confidential)
    assert complementary
    for cell in complementary:
        fewer = done.hidden - {cell}
        assert any(a.status != "ok" for a in audit_cells(model, fewer, confidential, PROTECTION)), cell
    unpruned = sdc.protect_model(model, PROTECTION, secondary.secondary_lp(
        model, confidential, PROTECTION, prune=False))[0]
    assert len(unpruned) >= len(done.hidden)
    grand = frame["area"].eq("KG") & frame.drop(columns=["year", "area", "victims"]).eq("_T").all(axis=1)
    assert grand.sum() == 1 and not done.mask.loc[grand, "victims"].any()
    assert not done.mask.loc[frame["victims"] == 0, "victims"].any()


# --- what the relations model must know ------------------------------------------------


def test_overlapping_breakdowns_of_one_total_are_both_used():
    frame = H.ages_table()
    both = {"age": [Hierarchy("CHILD_ADULT", "_T", ("Y0T17", "Y18T999")),
                    Hierarchy("NSC_BANDS", "_T", ("Y0T20", "Y21T999"))]}
    knows = {"age": H.AGE_BREAKDOWNS, "area": [("KG", ["KG02", "KG03", "KG04"])]}
    # without the declaration, "_T = every other code" does not hold, so it is not used ...
    blind = protect(frame, Declarations(["victims"]))
    assert len(blind.audit.not_holding) == 4
    bad, found = lp_attack(frame, blind, ["victims"], breakdowns=knows)
    assert found[("t", at(frame, area="KG02", age="Y0T17"), "victims")] == (2.0, 2.0)
    assert len(bad) == 4
    # ... with both breakdowns declared the audit sees what the attacker sees
    done = protect(frame, Declarations(["victims"], hierarchies=both))
    assert done.audit.failures == [] and done.audit.not_holding == []
    assert lp_attack(frame, done, ["victims"], breakdowns=knows)[0] == []


def test_sex_not_recorded_is_a_part_of_the_total():
    rows = []
    for area, (f, m, u) in {"KG02": (30, 25, 2), "KG03": (41, 3, 0), "KG04": (12, 18, 1)}.items():
        rows += [{"area": area, "sex": s, "victims": v} for s, v in (("F", f), ("M", m), ("_U", u), ("_T", f + m + u))]
    frame = pd.DataFrame(rows)
    kg = frame.groupby("sex", as_index=False)["victims"].sum().assign(area="KG")
    frame = pd.concat([frame, kg], ignore_index=True)
    sex = relations.codelist_hierarchies(SimpleNamespace(codes=[
        {"code": "F"}, {"code": "M"}, {"code": "_U"}, {"code": "_T"}]))
    assert sex == [Hierarchy("_T", "_T", ("F", "M", "_U"))]
    done = protect(frame, Declarations(["victims"], hierarchies={"sex": sex}))
    assert done.audit.failures == []
    assert lp_attack(frame, done, ["victims"])[0] == []
    assert done.mask.loc[at(frame, area="KG02", sex="_U"), "victims"]


def test_declared_column_sums_are_relations():
    """ind04: sanctioned = community service + arrest + fine on every row."""
    parts = {"KG02": (40, 3, 12), "KG03": (55, 20, 2), "KG04": (30, 11, 9), "KG05": (8, 9, 7)}
    frame = pd.DataFrame([{"area": a, "community_service": c, "arrest": r, "fine": f, "sanctioned": c + r + f}
                          for a, (c, r, f) in parts.items()])
    frame = pd.concat([frame, frame.drop(columns="area").sum().to_frame().T.assign(area="KG")], ignore_index=True)
    counts = ["sanctioned", "community_service", "arrest", "fine"]
    sums = {"sanctioned": ["community_service", "arrest", "fine"]}
    blind = protect(frame, Declarations(counts))
    bad, _ = lp_attack(frame, blind, counts, sums=sums)
    assert bad  # the row sums pin what the area totals alone do not
    done = protect(frame, Declarations(counts, sums=sums))
    assert done.audit.failures == []
    assert lp_attack(frame, done, counts, sums=sums)[0] == []
    assert any(r.kind == "sum" for r in relations.build("t", frame, Declarations(counts, sums=sums)).relations)


def test_a_published_rate_bounds_its_hidden_numerator():
    frame = pd.DataFrame({"area": ["KG02", "KG03", "KG"], "victims": [3, 250, 253],
                          "population": [250_000, 1_100_000, 1_350_000]})
    frame["victims_per_100k"] = (frame["victims"] * 1e5 / frame["population"]).round(1)
    rates = {"victims_per_100k": {"numerator": "victims", "denominator": "population", "multiplier": 100000}}
    model = relations.build("t", frame, Declarations(["victims"], rates))
    assert relations.decimals(frame["victims_per_100k"]) == 1
    cell = (0, "victims")
    hidden = {cell, (1, "victims")}  # the rate left published: 1.2 per 100,000 of 250,000
    shown = audit_cells(model, hidden, [cell], PROTECTION)[0]
    assert shown.status in (EXACT, UNDER) and shown.lower >= 2.875 - 1e-6 and shown.upper <= 3.125 + 1e-6
    done = protect(frame, Declarations(["victims"], rates))
    assert done.mask.loc[0, "victims_per_100k"] and done.audit.failures == []


def test_a_published_rate_reveals_its_hidden_denominator():
    frame = pd.DataFrame({"area": ["KG02", "KG03", "KG"], "opened": [3, 41, 44], "to_court": [7, 30, 37]})
    frame["to_court_per_opened"] = (frame["to_court"] / frame["opened"]).round(2)
    rates = {"to_court_per_opened": {"numerator": "to_court", "denominator": "opened", "multiplier": 1}}
    model = relations.build("t", frame, Declarations(["opened", "to_court"], rates))
    hidden = {(0, "opened"), (1, "opened")}
    shown = audit_cells(model, hidden, [(0, "opened")], PROTECTION)[0]
    assert shown.status == EXACT and 2.99 < shown.lower <= 3 <= shown.upper < 3.02  # 7 / 2.33
    rated_out = audit_cells(model, hidden | {(0, "to_court_per_opened"), (1, "to_court_per_opened")},
                            [(0, "opened")], PROTECTION)[0]
    assert rated_out.status != EXACT


def test_a_total_that_is_not_the_sum_of_its_parts_is_reported_not_used():
    frame = pd.DataFrame({"area": ["KG02", "KG02", "KG02", "KG03", "KG03", "KG03"],
                          "sex": ["F", "M", "_T"] * 2, "victims": [10, 3, 14, 20, 30, 50]})
    model = relations.build("t", frame, Declarations(["victims"]))
    assert [r.label for r in model.not_holding] == ["victims: sex _T = F + M (area=KG02)"]
    done = protect(frame, Declarations(["victims"]))
    assert done.audit.failures == []  # solvable: the broken line is left out
    from gbvstats.publish.disclosure import Report

    report = Report(2024, PROTECTION, {"t": done.audit})
    d004 = [f for f in report.findings() if f.code == "GBV-D004"]
    assert len(d004) == 1 and "sex _T = F + M (area=KG02)" in d004[0].message("en")


def test_crossed_totals_without_margins():
    """Only the grand total per oblast (sex _T x age _T) with the sex x age parts."""
    rows = []
    for area, cells in {"KG02": [3, 10, 0, 12], "KG03": [15, 30, 6, 7], "KG04": [9, 14, 22, 1]}.items():
        parts = [("F", "Y0T17"), ("F", "Y18T999"), ("M", "Y0T17"), ("M", "Y18T999")]
        rows += [{"area": area, "sex": s, "age": a, "victims": v} for (s, a), v in zip(parts, cells, strict=True)]
        rows.append({"area": area, "sex": "_T", "age": "_T", "victims": sum(cells)})
    frame = pd.DataFrame(rows)
    model = relations.build("t", frame, Declarations(["victims"]))
    assert sum(r.kind == "crossed" for r in model.relations) == 3  # one per oblast
    done = protect(frame, Declarations(["victims"]))
    assert done.audit.failures == []
    assert lp_attack(frame, done, ["victims"])[0] == []


def test_relations_with_their_margins_are_not_repeated():
    frame = H.crimes_table()
    model = relations.build("t", frame, Declarations(["victims"]))
    assert {r.kind for r in model.relations} == {"hierarchy"}  # every margin is published
    assert len(model.relations) == 3 * 16  # along each dimension, at each cell of the other two


# --- tables that publish the same figures --------------------------------------------------


def linked_tables():
    """ind06-like (victims identified per oblast) and ind05-like (oblast x sex, whose
    sex _T rows are the same figures)."""
    cells = {"KG02": (13, 5), "KG03": (13, 0), "KG04": (3, 13), "KG05": (2, 0)}
    by_sex = pd.DataFrame([{"area": a, "sex": s, "victims": v}
                           for a, (f, m) in cells.items() for s, v in (("F", f), ("M", m), ("_T", f + m))])
    by_sex = pd.concat([by_sex, by_sex.groupby("sex", as_index=False)["victims"].sum().assign(area="KG")],
                       ignore_index=True)
    per_oblast = by_sex[by_sex["sex"] == "_T"][["area", "victims"]].rename(columns={"victims": "identified"})
    per_oblast["assisted"] = per_oblast["identified"]
    return by_sex, per_oblast.reset_index(drop=True)


def test_tables_repeating_a_figure_are_protected_together():
    by_sex, per_oblast = linked_tables()
    metas = {"ind05_x": {"counts": ["victims"], "rates": {}, "sums": {}},
             "ind06_x": {"counts": ["identified", "assisted"], "rates": {}, "sums": {}}}
    alone = {"ind05_x": protect(by_sex, Declarations(["victims"])),
             "ind06_x": protect(per_oblast, Declarations(["identified", "assisted"]))}
    link = [H.Same("ind05_x", "victims", "ind06_x", "identified"),
            H.Same("ind05_x", "victims", "ind06_x", "assisted")]

    def attacked(done):
        seen = [H.seen(n, d.frame, d.mask, m["counts"]) for n, d, m in
                ((n, done[n], metas[n]) for n in metas)]
        frames = {"ind05_x": by_sex, "ind06_x": per_oblast}
        targets, truth = [], {}
        for n, m in metas.items():
            t, v = H.targets_of(n, frames[n], m["counts"])
            targets += t
            truth |= v
        return H.widths_ok(H.attack(seen, targets, link), truth)

    assert all(not d.audit.failures for d in alone.values())  # each table alone passes ...
    leaks = attacked(alone)  # ... but read together they leak: KG05 (2) through ind05's totals
    assert "('ind06_x', 3, 'identified'): value 2.0, interval 2..2" in leaks
    together, report = protect_tables({"ind05_x": by_sex, "ind06_x": per_oblast}, metas, PROTECTION, 2024)
    assert report.safe and report.tables["ind05_x"].linked == ["ind06_x"]
    assert attacked(together) == []
    found = relations.links({n: relations.build(n, f, Declarations(metas[n]["counts"]))
                             for n, f in (("ind05_x", by_sex), ("ind06_x", per_oblast))})
    assert {(lk.column_a, lk.column_b) for lk in found} == {("victims", "identified"), ("victims", "assisted")}


# --- code lists, settings, engines ----------------------------------------------------


def test_breakdowns_come_from_the_code_lists(registry):
    age = relations.codelist_hierarchies(registry.codelists["age"])  # declared: several share _T
    assert Hierarchy("CHILD_ADULT", "_T", ("Y0T17", "Y18T999", "_U")) in age
    assert Hierarchy("NSC_FV_BANDS", "_T", ("Y0T20", "Y21T30", "Y31T40", "Y41T50", "Y_GE51", "_U")) in age
    assert sum(h.total == "_T" for h in age) >= 3
    parents = SimpleNamespace(codes=[{"code": "Y0T17"}, {"code": "Y18T999"}, {"code": "_T"},
                                     {"code": "Y0T14", "parent": "Y0T17"}, {"code": "Y15T17", "parent": "Y0T17"}])
    assert relations.codelist_hierarchies(parents) == [Hierarchy("_T", "_T", ("Y0T17", "Y18T999")),
                                                       Hierarchy("Y0T17", "Y0T17", ("Y0T14", "Y15T17"))]
    flat = relations.codelist_hierarchies(registry.codelists["relationship"])
    assert [h.total for h in flat] == ["_T"] and "NK" in flat[0].parts
    area = relations.area_hierarchies(registry.codelists["territory"])
    kg = next(h for h in area if h.total == "KG")
    assert set(kg.parts) == {"KG02", "KG03", "KG04", "KG05", "KG06", "KG07", "KG08", "KG11", "KG21"}
    found = relations.registry_hierarchies(["area", "offence", "sex", "weekday"], registry)
    assert set(found) == {"area", "offence", "sex"}  # weekday: no code list, its total is the fallback


def test_protection_is_declared_as_data(tmp_path):
    default = load_protection()
    assert default.threshold == 4 and default.required(2) == 4 and default.required(20) == 10
    assert load_protection(threshold=9).required(3) == 9
    assert load_protection(tmp_path / "absent.yaml") == Protection() == default  # no weaker without the file
    bad = tmp_path / "disclosure.yaml"
    bad.write_text("threshold: 4\nprotection: {value_percent: -5}\n", encoding="utf-8")
    with pytest.raises(DisclosureSettingsError) as err:
        load_protection(bad)
    assert err.value.key == "protection.value_percent" and "-5" in err.value.problem
    bad.write_text("threshold: four\n", encoding="utf-8")
    with pytest.raises(DisclosureSettingsError, match="threshold"):
        load_protection(bad)
    bad.write_text("threshold: [\n", encoding="utf-8")
    with pytest.raises(DisclosureSettingsError, match="YAML"):
        load_protection(bad)


def test_a_wider_protection_suppresses_more():
    frame = H.crimes_table()
    narrow = protect(frame, Declarations(["victims"]))
    wide = sdc.protect_table("t", frame, Declarations(["victims"]), Protection(threshold=4, threshold_multiple=2))
    assert wide.audit.failures == []
    assert all(a.upper - a.lower >= 8 for a in wide.audit.audited)
    assert wide.mask["victims"].sum() > narrow.mask["victims"].sum()


def test_both_engines_give_the_same_intervals():
    frame = H.crimes_table()
    model = relations.build("t", frame, Declarations(["victims"]))
    old = protect(frame, Declarations(["victims"]), method="lines")
    confidential = [a.where for a in old.audit.audited]
    fast, slow = Solver("auto"), Solver("linprog")
    a = audit_cells(model, old.hidden, confidential, PROTECTION, fast)
    b = audit_cells(model, old.hidden, confidential, PROTECTION, slow)
    assert [(x.lower, x.upper) for x in a] == [(x.lower, x.upper) for x in b]
    assert fast.solves == slow.solves == 2 * len(confidential)


def test_unbounded_and_isolated_cells():
    frame = pd.DataFrame({"area": ["KG02", "KG03"], "victims": [3, 40]})  # no total: no relation
    done = protect(frame, Declarations(["victims"]))
    (only,) = done.audit.audited
    assert only.lower == 0 and math.isinf(only.upper) and only.status == "ok"
    assert done.audit.summary()["secondary"] == 0
    assert only.to_dict()["upper"] is None


def test_a_row_repeated_is_the_same_figure():
    """A table that repeats its rows (it should not: the expectation suites check keys)
    must not show in one copy what the protection relies on hiding in the other."""
    frame = H.crimes_table()
    n = len(frame)
    twice = pd.concat([frame, frame], ignore_index=True)
    done = protect(twice, Declarations(["victims"]))
    assert done.audit.failures == []
    model = relations.build("t", twice, Declarations(["victims"]))
    assert sum(r.kind == "duplicate" for r in model.relations) == n
    # a reader sees a figure if either copy shows it
    hidden = pd.DataFrame({"victims": done.mask["victims"].iloc[:n].to_numpy() & done.mask["victims"].iloc[n:].to_numpy()})
    seen = done.frame.iloc[:n].reset_index(drop=True).copy()
    seen["victims"] = frame["victims"].where(~hidden["victims"]).astype("Float64")
    targets, truth = H.targets_of("t", frame, ["victims"])
    assert H.widths_ok(H.attack([H.seen("t", seen, hidden, ["victims"])], targets), truth) == []
