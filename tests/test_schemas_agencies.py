"""The GPO, JD, NSC and MLSP form schemas: structure, code lists, rules, and a filled
template of each that passes every rule until one cell is broken."""

from __future__ import annotations

import string

import pytest
from schema_helpers import DIM_LIST, LANGS, PLACEHOLDERS, UNIT, labels_of

from gbvstats.check.validate import validate_file
from gbvstats.collect.templates import fill_template, layout, save
from gbvstats.schema.model import Registry
from gbvstats.schema.rulelang import expand, rule_terms

HEADERS = {  # form: (agency, periodicity, level, valid_from, rule id prefix)
    "GPO-CASES": ("GPO", "quarter", "oblast", "2019-Q1", "GPO-"),
    "JD-CASES": ("JD", "quarter", "oblast", "2019-Q1", "JD-"),
    "NSC-POP": ("NSC", "year", "oblast", "2015", "NSC-POP-"),
    "MLSP-SP": ("MLSP", "quarter", "oblast", "2019-Q1", "MLSP-"),
}
OFFENCE_LINES = ["02", "03", "04", "05", "06", "07", "08", "09"]


@pytest.mark.parametrize("code", HEADERS)
def test_header_andlabels_of(registry: Registry, code: str) -> None:
    form = registry.get(code, 1)
    assert (form.agency, form.periodicity, form.level, form.valid_from) == HEADERS[code][:4]
    for where, labels in labels_of(form):
        assert set(labels) == LANGS and all(v.strip() for v in labels.values()), where


@pytest.mark.parametrize("code", HEADERS)
def test_dims_offences_and_elements(registry: Registry, code: str) -> None:
    form, lists = registry.get(code, 1), registry.codelists
    for t in form.tables:
        numbers, codes = {c.number for c in t.columns}, [ln.code for ln in t.lines]
        assert codes == [f"{i:02d}" for i in range(1, len(codes) + 1)], t.id
        for item in [*t.columns, *t.lines]:
            for key, value in item.dims.items():
                assert value in lists[DIM_LIST.get(key, key)].codes_set(), (t.id, key, value)
        for ln in t.lines:
            assert set(ln.greyed) <= numbers and (ln.parent is None or ln.parent in codes)
            if ln.offence:
                assert ln.dims["offence"] == ln.offence, (t.id, ln.code)
                if ln.iccs:  # "rape and sexual assault" takes the parent ICCS 0301
                    assert ln.iccs in lists["iccs"].codes_set(), (t.id, ln.code)
    elements = [ln.element for t in form.tables for ln in t.lines]
    assert len(elements) == len(set(elements))


def test_gpo_and_jd_share_offence_lines(registry: Registry) -> None:
    """The NSC reconciles prosecutors and courts line by line."""
    def offences(code: str, table: str) -> list[tuple[str, str | None]]:
        return [(ln.code, ln.dims.get("offence")) for ln in registry.get(code, 1).table(table).lines]

    gpo = offences("GPO-CASES", "T1")
    assert gpo[0] == ("01", "_T") and [o for _, o in gpo[1:]] == [
        "HOM", "SAS", "MAS", "RAP", "FMA", "EMA", "TIP", "OTH"]
    assert offences("GPO-CASES", "T2") == gpo
    assert offences("JD-CASES", "T1") == gpo == offences("JD-CASES", "T2")


@pytest.mark.parametrize("code", HEADERS)
def test_rules_expand_and_messages(registry: Registry, code: str) -> None:
    form = registry.get(code, 1)
    ids = [r.id for r in form.rules]
    assert len(ids) == len(set(ids)) and all(i.startswith(HEADERS[code][4]) for i in ids)
    for rule in form.rules:
        assert expand(form, rule_terms(rule)), rule.id
        for text in rule.message.values():
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            assert used <= PLACEHOLDERS, (rule.id, used - PLACEHOLDERS)


Values = dict[tuple[str, str, int], int]


def _put(v: Values, table: str, line: str, row: tuple[int, ...], first: int = 1) -> None:
    v.update({(table, line, first + i): n for i, n in enumerate(row)})


def _sum_lines(v: Values, table: str, total: str, parts: list[str], columns: int) -> None:
    for c in range(1, columns + 1):
        v[(table, total, c)] = sum(v[(table, p, c)] for p in parts)


def _gpo() -> Values:
    v: Values = {}
    cases = [(4, 3, 1, 0, 0), (12, 8, 2, 1, 1), (40, 22, 14, 11, 2), (9, 6, 1, 0, 1),
             (5, 2, 3, 2, 0), (3, 1, 2, 2, 0), (2, 2, 0, 0, 0), (7, 3, 3, 1, 0)]
    charged = [(3, 0), (8, 1), (21, 2), (6, 0), (2, 0), (1, 0), (2, 1), (3, 0)]
    for line, row, (men, women) in zip(OFFENCE_LINES, cases, charged, strict=True):
        _put(v, "T1", line, row)
        _put(v, "T2", line, (men + women, men, women))
    _sum_lines(v, "T1", "01", OFFENCE_LINES, 5)
    _sum_lines(v, "T2", "01", OFFENCE_LINES, 3)
    return v


def _jd() -> Values:
    v: Values = {}
    cases = [(3, 3, 0), (10, 9, 1), (30, 28, 9), (7, 6, 0), (2, 2, 1), (1, 1, 0), (2, 1, 0),
             (4, 4, 1)]
    persons = [(3, 0, 0, 0), (7, 1, 1, 0), (17, 1, 2, 0), (5, 0, 1, 0), (2, 0, 0, 0),
               (1, 0, 0, 0), (1, 1, 0, 0), (3, 0, 0, 0)]
    for line, row, (cm, cw, am, aw) in zip(OFFENCE_LINES, cases, persons, strict=True):
        _put(v, "T1", line, row)
        _put(v, "T2", line, (cm + cw, cm, cw, am + aw, am, aw))
    _sum_lines(v, "T1", "01", OFFENCE_LINES, 3)
    _sum_lines(v, "T2", "01", OFFENCE_LINES, 6)
    convicted = v[("T2", "01", 1)]  # 42: one main sentence each
    for line, n in zip(["01", "02", "03", "04", "05"], [convicted, 20, 12, 6, 4], strict=True):
        v[("T3", line, 1)] = n
    for line, n in zip(["01", "02", "03", "04", "05"], [25, 21, 9, 4, 8], strict=True):
        v[("T4", line, 1)] = n
    v[("T5", "01", 1)], v[("T5", "02", 1)] = 6, 2
    return v


def _nsc() -> Values:
    v: Values = {}
    ages = {"02": (196000, 99000), "03": (33000, 16400), "04": (121000, 60200),
            "05": (91000, 45800), "06": (115000, 58900), "07": (48000, 27800)}
    for line, (total, women) in ages.items():
        _put(v, "T1", line, (total, women, total - women))
    _sum_lines(v, "T1", "01", list(ages), 3)
    return v


def _by_sex_age(v: Values, table: str, line: str, parts: tuple[int, ...]) -> None:
    _put(v, table, line, (sum(parts), *parts))


def _mlsp() -> Values:
    v: Values = {}
    for line, parts in {"01": (40, 3, 6, 4), "02": (25, 1, 3, 2), "03": (30, 2, 5, 3)}.items():
        _by_sex_age(v, "T1", line, parts)
    for line, parts in {"01": (28, 2, 4, 3), "02": (16, 1, 0, 0), "03": (5, 0, 2, 1),
                        "04": (6, 1, 1, 1)}.items():
        _by_sex_age(v, "T2", line, parts)
    for line, (men, women) in {"01": (14, 1), "02": (11, 1), "03": (9, 0)}.items():
        _put(v, "T3", line, (men + women, men, women))
    tip = {"02": (3, 0, 1, 0), "03": (1, 4, 0, 1), "04": (0, 0, 0, 0), "05": (1, 0, 0, 0),
           "06": (3, 4, 0, 1), "07": (4, 1, 1, 0), "08": (2, 2, 0, 0)}
    for line, parts in tip.items():
        _by_sex_age(v, "T4", line, parts)
    _sum_lines(v, "T4", "01", ["02", "03", "04", "05"], 5)
    return v


@pytest.mark.parametrize(("code", "period", "data", "broken", "rule_id", "finding"), [
    ("GPO-CASES", "2024-Q2", _gpo, ("T1", "08", 4), "GPO-02", "GBV-R002"),
    ("JD-CASES", "2024-Q2", _jd, ("T3", "03", 1), "JD-06", "GBV-R001"),
    ("NSC-POP", "2024", _nsc, ("T1", "04", 3), "NSC-POP-02", "GBV-R001"),
    ("MLSP-SP", "2024-Q2", _mlsp, ("T4", "07", 4), "MLSP-11", "GBV-R002"),
])
def test_filled_template_passes_then_fails(registry, tmp_path, code, period, data, broken,
                                           rule_id, finding) -> None:
    form = registry.get(code, 1)
    values = data()
    good = save(fill_template(form, values, UNIT, period, reg=registry), tmp_path / "ok.xlsx")
    report = validate_file(good, registry)
    assert [(f.code, f.rule_id) for f in report.findings] == []
    assert report.verdict == "ok"
    assert len(report.rule_results) == sum(len(expand(form, rule_terms(r))) for r in form.rules)

    values[broken] += 1
    bad = save(fill_template(form, values, UNIT, period, reg=registry), tmp_path / "bad.xlsx")
    report = validate_file(bad, registry)
    sheet, addr, _ = layout(form)[broken]
    assert (finding, rule_id) in {(f.code, f.rule_id) for f in report.findings}
    assert report.verdict == "errors"
    hit = next(f for f in report.findings if f.rule_id == rule_id)
    assert f"{sheet}!{addr}" in hit.cells and hit.severity == "error"
