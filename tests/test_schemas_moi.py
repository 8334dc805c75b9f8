"""The MoI GBV-crime and trafficking form schemas: structure, code lists, rules, and a
filled template that passes every rule until one cell is broken."""

from __future__ import annotations

import string

import pytest
from schema_helpers import DIM_LIST, LANGS, PLACEHOLDERS, UNIT, labels_of

from gbvstats.check.validate import validate_file
from gbvstats.collect.templates import fill_template, layout, save
from gbvstats.schema.model import FormVersion, Registry
from gbvstats.schema.rulelang import expand, rule_terms

FORMS = ["MOI-GBV", "MOI-TIP"]


@pytest.mark.parametrize("code", FORMS)
def test_form_header(registry: Registry, code: str) -> None:
    form = registry.get(code, 1)
    assert (form.agency, form.periodicity, form.level, form.valid_from) == (
        "MOI", "quarter", "oblast", "2019-Q1")


@pytest.mark.parametrize("code", FORMS)
def test_labels_in_three_languages(registry: Registry, code: str) -> None:
    for where, labels in labels_of(registry.get(code, 1)):
        assert set(labels) == LANGS and all(v.strip() for v in labels.values()), where


@pytest.mark.parametrize("code", FORMS)
def test_dims_offences_and_elements(registry: Registry, code: str) -> None:
    form, lists = registry.get(code, 1), registry.codelists
    iccs = lists["iccs"].codes_set()
    for t in form.tables:
        numbers = {c.number for c in t.columns}
        codes = [ln.code for ln in t.lines]
        for item in [*t.columns, *t.lines]:
            for key, value in item.dims.items():
                assert value in lists[DIM_LIST.get(key, key)].codes_set(), (t.id, key, value)
        for ln in t.lines:
            assert set(ln.greyed) <= numbers and (ln.parent is None or ln.parent in codes)
            if ln.offence:
                group = lists["offence_group"].get(ln.offence)
                assert ln.iccs == group.iccs and ln.iccs in iccs, (t.id, ln.code)
    elements = [ln.element for t in form.tables for ln in t.lines]
    assert len(elements) == len(set(elements))


@pytest.mark.parametrize("code", FORMS)
def test_rules_expand_and_messages(registry: Registry, code: str) -> None:
    form = registry.get(code, 1)
    ids = [r.id for r in form.rules]
    assert len(ids) == len(set(ids)) and all(i.startswith(code + "-") for i in ids)
    for rule in form.rules:
        assert expand(form, rule_terms(rule)), rule.id
        for text in rule.message.values():
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert used <= PLACEHOLDERS, (rule.id, used - PLACEHOLDERS)


def _consistent_gbv() -> dict[tuple[str, str, int], int]:
    """Per offence line: crimes, victims women/men/girls/boys, relationship, suspects."""
    rows = {  # line: crimes, (women, men, girls, boys), (IP, FM, OK, UK, NK), (men, women)
        "02": (3, (2, 0, 1, 0), (2, 1, 0, 0, 0), (3, 0)),
        "03": (11, (8, 2, 1, 1), (6, 3, 2, 1, 0), (10, 1)),
        "04": (40, (30, 6, 3, 2), (25, 10, 4, 1, 1), (35, 4)),
        "05": (9, (6, 0, 4, 0), (1, 1, 4, 3, 1), (9, 0)),
        "06": (4, (1, 0, 2, 1), (0, 2, 2, 0, 0), (4, 0)),
        "07": (5, (3, 0, 2, 0), (1, 2, 2, 0, 0), (5, 0)),
        "08": (2, (0, 0, 2, 0), (2, 0, 0, 0, 0), (1, 1)),
        "09": (6, (6, 0, 0, 0), (4, 1, 1, 0, 0), (6, 0)),
    }
    v: dict[tuple[str, str, int], int] = {}
    for line, (crimes, sexes, rel, sus) in rows.items():
        v[("T1", line, 1)], v[("T1", line, 2)] = crimes, sum(sexes)
        v.update({("T1", line, 3 + i): n for i, n in enumerate(sexes)})
        v[("T2", line, 1)] = sum(rel)
        v.update({("T2", line, 2 + i): n for i, n in enumerate(rel)})
        v[("T3", line, 1)] = sum(sus)
        v.update({("T3", line, 2 + i): n for i, n in enumerate(sus)})
    return v


def _consistent_tip() -> dict[tuple[str, str, int], int]:
    v: dict[tuple[str, str, int], int] = {}
    cases = {"02": (4, 3, 1, 2), "03": (3, 4, 3, 1), "04": (0, 0, 0, 0), "05": (1, 1, 0, 1)}
    for line, (n, total, men, women) in cases.items():
        assert total == men + women
        v.update({("T1", line, 1): n, ("T1", line, 2): total, ("T1", line, 3): men,
                  ("T1", line, 4): women})
    victims = {  # women, men, girls, boys, F and M of unrecorded age, sex not recorded, per
        # line; 02-06 (form of exploitation), 07-08 and 09-10 split the same total
        "02": (6, 0, 2, 0, 1, 0, 0), "03": (3, 5, 0, 1, 0, 1, 1), "04": (0, 0, 0, 0, 0, 0, 0),
        "05": (1, 0, 1, 0, 0, 0, 0), "06": (0, 0, 0, 0, 1, 0, 0),
        "07": (9, 5, 3, 1, 2, 1, 1), "08": (1, 0, 0, 0, 0, 0, 0),
        "09": (2, 1, 1, 0, 0, 0, 0), "10": (8, 4, 2, 1, 2, 1, 1),
        "11": (9, 3, 3, 1, 1, 0, 1),
    }
    for line, sexes in victims.items():
        v[("T2", line, 1)] = sum(sexes)
        v.update({("T2", line, 2 + i): n for i, n in enumerate(sexes)})
    # table 3 by age group (female, male, sex not recorded): 0-17 are the girls and boys,
    # "not recorded" the F and M of unrecorded age; line 01 of table 2 is 10, 5, 3, 1, 2, 1, 1
    ages = {"01": (3, 1, 0), "02": (6, 3, 1), "03": (2, 1, 0), "04": (1, 1, 0), "05": (1, 0, 0),
            "06": (2, 1, 0)}
    for line, sexes in ages.items():
        v[("T3", line, 1)] = sum(sexes)
        v.update({("T3", line, 2 + i): n for i, n in enumerate(sexes)})
    return v


def _with_totals(form: FormVersion, values: dict) -> dict:
    """Line 01 of every table = sum of the lines that name it as parent, except
    lines that are a second breakdown or a subset (TIP T2 lines 07-11)."""
    where = layout(form)
    out = {key: n for key, n in values.items() if where[key][2]}  # greyed cells stay empty
    for t in form.tables:
        parts = [ln.code for ln in t.lines if ln.parent == "01"]
        if form.form == "MOI-TIP" and t.id == "T2":
            parts = ["02", "03", "04", "05", "06"]
        if form.form == "MOI-TIP" and t.id == "T3":
            continue  # no total line: its lines add up to table 2, line 01
        for c in t.columns:
            out[(t.id, "01", c.number)] = sum(out.get((t.id, p, c.number), 0) for p in parts)
    return out


@pytest.mark.parametrize(("code", "data", "broken", "rule_id", "finding"), [
    ("MOI-GBV", _consistent_gbv, ("T1", "04", 3), "MOI-GBV-01", "GBV-R001"),
    ("MOI-TIP", _consistent_tip, ("T2", "08", 2), "MOI-TIP-04", "GBV-R001"),
])
def test_filled_template_passes_then_fails(registry, tmp_path, code, data, broken, rule_id,
                                           finding) -> None:
    form = registry.get(code, 1)
    values = _with_totals(form, data())
    good = save(fill_template(form, values, UNIT, "2024-Q2", reg=registry), tmp_path / "ok.xlsx")
    report = validate_file(good, registry)
    assert [(f.code, f.rule_id) for f in report.findings] == []
    assert report.verdict == "ok"
    assert len(report.rule_results) == sum(len(expand(form, rule_terms(r))) for r in form.rules)

    values[broken] += 1
    bad = save(fill_template(form, values, UNIT, "2024-Q2", reg=registry), tmp_path / "bad.xlsx")
    report = validate_file(bad, registry)
    sheet, addr, _ = layout(form)[broken]
    failed = {(f.code, f.rule_id) for f in report.findings}
    assert (finding, rule_id) in failed and report.verdict == "errors"
    hit = next(f for f in report.findings if f.rule_id == rule_id)
    assert f"{sheet}!{addr}" in hit.cells
