"""The NSC's own breakdowns on the MoI forms: the family-violence victims (SDG 5.2 national
series) by sex of all ages, age band, education and activity, and the trafficking victims
(SDG 16.2.2) by sex, age group and form of exploitation with "not recorded" categories;
the rules that keep every breakdown adding up to its total; the v1 concordance of women
and girls."""

from __future__ import annotations

import pytest
from rules_helpers import CLEAN_FV2, cells_frame

from gbvstats.check.rules import check_submission
from gbvstats.schema.model import FormVersion, Registry
from gbvstats.store.warehouse import DIM_COLUMNS, _concordance_rows


def carried(form: FormVersion, prefix: str) -> dict[str, set[str]]:
    """Every dimension value the form's cells of elements `prefix*` carry."""
    out: dict[str, set[str]] = {}
    for cell in form.cells():
        if cell.element.startswith(prefix) and cell.input:
            for dim, value in cell.dims.items():
                out.setdefault(dim, set()).add(value)
    return out


def hierarchy(registry: Registry, dim: str, hid: str):
    return next(h for h in registry.codelists[dim].hierarchies if h.id == hid)


@pytest.mark.parametrize(("form", "version", "prefix", "breakdowns"), [
    ("MOI-FV", 2, "fv_victims", [("sex", "SEX"), ("age", "CHILD_ADULT"), ("age", "NSC_FV_BANDS"),
                                 ("education", "EDUCATION"), ("activity", "ACTIVITY")]),
    ("MOI-TIP", 1, "tip_victims", [("sex", "SEX"), ("age", "CHILD_ADULT"), ("age", "TIP_BANDS"),
                                   ("exploitation", "EXPLOITATION")]),
])
def test_forms_carry_every_nsc_breakdown(registry, form, version, prefix, breakdowns):
    values = carried(registry.get(form, version), prefix)
    for dim, hid in breakdowns:
        h = hierarchy(registry, dim, hid)
        expected = set(h.parts) - ({"_U"} if (form, dim) == ("MOI-FV", "sex") else set())
        assert expected <= values[dim], (form, hid)  # the total is the table-2 line 01


def test_family_violence_victims_of_all_ages_by_sex(registry):
    """The NSC publishes women and girls, men and boys: one cell each, not a sum."""
    cells = {(c.dims.get("sex"), c.dims.get("age")): c.ref for c in registry.get("MOI-FV", 2).cells()
             if c.element == "fv_victims"}
    assert {("_T", "_T"), ("F", "_T"), ("M", "_T"), ("F", "Y18T999"), ("F", "Y0T17")} <= set(cells)
    assert cells[("F", "_T")] == "T2/01/2"


def test_every_dimension_of_the_forms_is_a_warehouse_column(registry):
    """A dims key the warehouse has no column for would be dropped from facts silently."""
    used = {dim for form in registry.versions() for cell in form.cells() for dim in cell.dims}
    assert used <= set(DIM_COLUMNS)


def test_v1_women_and_girls_map_to_v2_women_and_girls_of_all_ages(registry):
    rows = {(r["tbl"], r["line"], r["col"]): (r["latest_tbl"], r["latest_line"], r["latest_col"])
            for r in _concordance_rows(registry, registry.get("MOI-FV", 1))}
    assert rows[("T2", "01", 2)] == ("T2", "01", 2)  # victims: women and girls
    assert rows[("T2", "02", 2)] == ("T2", "04", 2)  # perpetrators: women and girls
    v2 = {c.ref: c.dims for c in registry.get("MOI-FV", 2).cells()}
    assert v2["T2/01/2"] == {"sex": "F", "age": "_T"}


# --- the rules keep each breakdown adding up; "not recorded" is a legal member ---------------

def failing(form: FormVersion, values: dict) -> set[tuple[str, str]]:
    results, findings = check_submission(form, cells_frame(form, values))
    assert all(f.severity == "error" for f in findings)
    return {(r.rule_id, r.item_label) for r in results.itertuples() if r.status == "fail"}


def moved(values: dict, changes: dict) -> dict:
    out = dict(values)
    for key, delta in changes.items():
        out[key] = out.get(key, 0) + delta
    return out


@pytest.fixture(scope="module")
def fv2(registry) -> FormVersion:
    return registry.get("MOI-FV", 2)


def test_clean_family_violence_return_passes(fv2):
    assert failing(fv2, CLEAN_FV2) == set()


def test_age_bands_that_do_not_add_up(fv2):
    # one more woman aged 31-40 than the victims: the band no longer adds up to table 2
    values = moved(CLEAN_FV2, {("T6", "03", 2): 1, ("T6", "03", 1): 1})
    assert failing(fv2, values) == {("MOI-FV2-16", "column=1"), ("MOI-FV2-16", "column=2")}
    # the line's own total left behind: table 6 is inconsistent in itself too
    assert ("MOI-FV2-19", "line=03") in failing(fv2, moved(CLEAN_FV2, {("T6", "03", 2): 1}))


def test_education_and_activity_that_do_not_add_up(fv2):
    assert failing(fv2, moved(CLEAN_FV2, {("T6", "09", 3): 1, ("T6", "09", 1): 1})) == {
        ("MOI-FV2-17", "column=1"), ("MOI-FV2-17", "column=3")}
    assert failing(fv2, moved(CLEAN_FV2, {("T6", "16", 2): 1, ("T6", "16", 1): 1})) == {
        ("MOI-FV2-18", "column=1"), ("MOI-FV2-18", "column=2")}
    # one victim moved from one category to another: still consistent
    assert failing(fv2, moved(CLEAN_FV2, {("T6", "13", 2): -1, ("T6", "13", 1): -1,
                                          ("T6", "16", 2): 1, ("T6", "16", 1): 1})) == set()


def test_not_recorded_is_a_legal_member(fv2):
    # a woman whose age was not recorded: not among the women (18+), in line 06 of table 6
    values = moved(CLEAN_FV2, {("T2", "01", 4): -1, ("T6", "02", 2): -1, ("T6", "02", 1): -1,
                               ("T6", "06", 2): 1, ("T6", "06", 1): 1,
                               # and her education and activity not recorded either
                               ("T6", "07", 2): -1, ("T6", "07", 1): -1, ("T6", "12", 2): 1,
                               ("T6", "12", 1): 1, ("T6", "14", 2): -1, ("T6", "14", 1): -1,
                               ("T6", "18", 2): 1, ("T6", "18", 1): 1})
    assert failing(fv2, values) == set()
    # counted among the unrecorded ages and still among the women: once too often
    assert failing(fv2, moved(values, {("T2", "01", 4): 1})) == {("MOI-FV2-14", "-")}


def test_breakdowns_agree_with_each_other(fv2):
    # two girls moved from the band 0-20 to 21-30: more women aged 21+ than women 18+
    values = moved(CLEAN_FV2, {("T6", "01", 2): -2, ("T6", "01", 1): -2,
                               ("T6", "02", 2): 2, ("T6", "02", 1): 2})
    assert failing(fv2, values) == {("MOI-FV2-20", "-")}


# --- trafficking ------------------------------------------------------------------------

def consistent_tip() -> dict[tuple[str, str, int], int]:
    """An oblast's quarter with every kind of "not recorded": a woman of unrecorded age, a
    victim of unrecorded sex, a form of exploitation not recorded."""
    v = {("T1", ln, c): 0 for ln in ("01", "02", "03", "04", "05") for c in (1, 2, 3, 4)}
    v.update({("T1", "01", 1): 2, ("T1", "02", 1): 1, ("T1", "03", 1): 1,
              ("T1", "01", 2): 3, ("T1", "02", 2): 2, ("T1", "03", 2): 1,
              ("T1", "01", 3): 2, ("T1", "02", 3): 1, ("T1", "03", 3): 1,
              ("T1", "01", 4): 1, ("T1", "02", 4): 1})
    lines = {  # women, men, girls, boys, F age n.r., M age n.r., sex n.r.
        "02": (3, 0, 1, 0, 0, 0, 0), "03": (1, 2, 0, 0, 0, 0, 1), "04": (0,) * 7,
        "05": (0,) * 7, "06": (0, 0, 0, 0, 1, 0, 0),
        "07": (4, 2, 1, 0, 1, 0, 1), "08": (0,) * 7, "09": (1, 2, 0, 0, 0, 0, 0),
        "10": (3, 0, 1, 0, 1, 0, 1), "11": (4, 2, 1, 0, 1, 0, 0),
    }
    lines["01"] = tuple(map(sum, zip(*(lines[x] for x in ("02", "03", "04", "05", "06")), strict=True)))
    for line, cols in lines.items():
        v[("T2", line, 1)] = sum(cols)
        v.update({("T2", line, c): n for c, n in enumerate(cols, start=2)})
    ages = {"01": (1, 0, 0), "02": (2, 1, 1), "03": (1, 1, 0), "04": (1, 0, 0), "05": (0, 0, 0),
            "06": (1, 0, 0)}  # female, male, sex n.r. by age group 0-17 .. 50+, not recorded
    for line, cols in ages.items():
        v[("T3", line, 1)] = sum(cols)
        v.update({("T3", line, c): n for c, n in enumerate(cols, start=2)})
    return v


@pytest.fixture(scope="module")
def tip(registry) -> FormVersion:
    return registry.get("MOI-TIP", 1)


def test_trafficking_with_not_recorded_categories_passes(tip):
    assert failing(tip, consistent_tip()) == set()


def test_trafficking_breakdowns_that_do_not_add_up(tip):
    clean = consistent_tip()
    # a victim aged 18-29 added to table 3 only
    assert failing(tip, moved(clean, {("T3", "02", 2): 1, ("T3", "02", 1): 1})) == {
        ("MOI-TIP-14", "-")}
    # the victim of unrecorded sex left out of the sexes on line 01
    assert failing(tip, moved(clean, {("T2", "01", 8): -1})) == {
        ("MOI-TIP-03", "column=8"), ("MOI-TIP-04", "column=8"), ("MOI-TIP-05", "column=8"),
        ("MOI-TIP-06", "line=01"), ("MOI-TIP-16", "-")}
    # a form of exploitation not recorded that is not in the total
    assert ("MOI-TIP-03", "column=1") in failing(tip, moved(clean, {("T2", "06", 1): 1, ("T2", "06", 6): 1}))
    # a woman counted as a girl in table 2 (every breakdown of it), not in table 3
    girl = {(ln, c): d for ln in ("01", "02", "07", "10", "11") for c, d in ((4, 1), (2, -1))}
    assert failing(tip, moved(clean, {("T2", *k): d for k, d in girl.items()})) == {
        ("MOI-TIP-17", "-")}
