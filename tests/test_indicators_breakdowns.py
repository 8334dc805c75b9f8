"""ind01 (family violence) and ind05 (trafficking) after submit + consolidate of demo
returns: rates whose numerator and denominator have the same sex, age and territory,
every NSC breakdown a published cell that adds up to its total, and the series of women
and girls running through the change of form version (v1 2018, v2 2019).

A small world: Talas oblast, 2018 and 2019, every form; the values expected are summed
here from the generator, which wrote the workbooks."""

from __future__ import annotations

from datetime import datetime

import pytest

from gbvstats.consolidate.run import consolidate
from gbvstats.demo.generate import Generator, generate
from gbvstats.periods import parse_period
from gbvstats.store.warehouse import Warehouse

TALAS, AREA = "41707000000000", "KG07"
SEED = 5
YEARS = (2018, 2019)


@pytest.fixture(scope="module")
def world(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("breakdowns")
    entries = generate(list(YEARS), root / "demo", SEED, registry, oblasts=[TALAS], defects=False)
    wh = Warehouse(root / "w.duckdb", registry)
    receipts = wh.submit_many([(root / "demo" / e.file, e.agency, "test",
                                datetime.fromisoformat(e.submitted_at)) for e in entries])
    assert {r.outcome for r in receipts} == {"accepted"}
    for year in YEARS:
        consolidate(wh, year)
    return wh, Generator(registry, SEED)


def generated(gen, registry, form_code, year, element, col) -> int:
    """The sum over Talas's units and the year's periods of what the generator wrote."""
    total = 0
    for form in registry.versions():
        if form.form != form_code:
            continue
        units = [u.code for u in registry.units(form.level) if registry.oblast_of(u.code) == TALAS]
        for p in (parse_period(f"{year}-Q{q}") for q in range(1, 5)) if form.periodicity == "quarter" \
                else [parse_period(str(year))]:
            if form.valid_for(p):
                total += sum(gen.makers[form_code](form, u, p).get((element, col), 0) for u in units)
    return total


def table(wh, name: str, year: int, area: str = AREA):
    return wh.query(f"SELECT * FROM {name} WHERE year = ? AND area = ?", [year, area])


def test_women_and_girls_run_through_the_change_of_form(world, registry):
    wh, gen = world
    for year in YEARS:  # v1 column "of which women and girls", v2 column 2
        rows = table(wh, "ind01_family_violence", year).query(
            "age == '_T' and education == '_T' and activity == '_T'").set_index("sex")
        element = "dv_victims" if year == 2018 else "fv_victims"
        total, female = (generated(gen, registry, "MOI-FV", year, element, c) for c in (1, 2))
        assert (rows.victims["_T"], rows.victims["F"]) == (total, female), year
        assert rows.victims["M"] == total - female  # v1: the difference; v2: its own column
        assert rows.population["F"] == generated(gen, registry, "NSC-POP", year, "pop", 2)
    series = wh.query("SELECT year, source_version, sum(value) AS n FROM series_facts "
                      "WHERE element = 'fv_victims' AND sex = 'F' AND age = '_T' GROUP BY ALL ORDER BY year")
    assert series.source_version.tolist() == [1, 2]


def test_rates_divide_by_the_population_of_the_same_sex_and_age(world, registry):
    wh, gen = world
    year = 2019
    pop = {}
    for sex, col in (("_T", 1), ("F", 2), ("M", 3)):
        lines = {band: generated(gen, registry, "NSC-POP", year, f"pop_{band}", col)
                 for band in ("y0t14", "y15t17", "y18t29", "y30t39", "y40t59", "y60t999")}
        pop[(sex, "_T")] = generated(gen, registry, "NSC-POP", year, "pop", col)
        pop[(sex, "Y0T17")] = lines["y0t14"] + lines["y15t17"]
        pop[(sex, "Y18T999")] = sum(lines.values()) - pop[(sex, "Y0T17")]
    fv = table(wh, "ind01_family_violence", year)
    women = fv.query("sex == 'F' and age == 'Y18T999' and education == '_T' and activity == '_T'").iloc[0]
    adult_women_victims = generated(gen, registry, "MOI-FV", year, "fv_victims", 4)
    assert (women.victims, women.population) == (adult_women_victims, pop[("F", "Y18T999")])
    assert women.victims_per_100k == round(1e5 * adult_women_victims / pop[("F", "Y18T999")], 1)
    tip = table(wh, "ind05_trafficking", year)
    for name, frame, digits in (("ind01", fv, 1), ("ind05", tip, 2)):
        with_rate = frame[frame.population.notna()]
        assert len(with_rate) >= 9, name
        for row in with_rate.itertuples():
            assert row.population == pop[(row.sex, row.age)], (name, row.sex, row.age)
            assert row.victims_per_100k == round(1e5 * row.victims / row.population, digits)
        # a denominator wherever the population has that sex and age, none for "not recorded"
        same = frame.sex.isin(["_T", "F", "M"]) & frame.age.isin(["_T", "Y0T17", "Y18T999"])
        if name == "ind01":
            same &= (frame.education == "_T") & (frame.activity == "_T")
        assert frame[same].population.notna().all() and frame[~same].population.isna().all(), name


def test_every_breakdown_is_a_cell_that_adds_up_to_its_total(world, registry):
    """For every hierarchy the code lists declare that a table carries (all its parts but
    "not recorded", which counts 0 where absent), the published total equals the sum of the
    published parts, whatever the other dimensions."""
    wh, _ = world
    checked = 0
    for name, dims in (("ind01_family_violence", ["sex", "age", "education", "activity"]),
                       ("ind05_trafficking", ["exploitation", "sex", "age"])):
        frame = table(wh, name, 2019)
        for area in (AREA, "KG"):
            rows = frame[frame.area == area]
            cells = {tuple(r[d] for d in dims): r.victims for _, r in rows.iterrows()}
            for i, dim in enumerate(dims):
                others = {k[:i] + k[i + 1:] for k in cells}
                for h, rest in ((h, rest) for h in registry.codelists[dim].breakdowns() for rest in others):
                    at = {code: rest[:i] + (code,) + rest[i:] for code in (h.total, *h.parts)}
                    carried = all(at[p] in cells for p in h.parts if p != "_U")
                    if at[h.total] in cells and carried:
                        parts = sum(cells[at[p]] for p in h.parts if at[p] in cells)
                        assert cells[at[h.total]] == parts, (name, area, dim, h.id, rest)
                        checked += 1
    assert checked > 50


def test_headline_figures_are_single_cells(world):
    """Each figure the NSC publishes is one row: no reader sums."""
    wh, _ = world
    fv = table(wh, "ind01_family_violence", 2019, "KG")
    keys = set(zip(fv.sex, fv.age, fv.education, fv.activity, strict=True))
    for sex in ("_T", "F", "M"):
        assert (sex, "_T", "_T", "_T") in keys
        for band in ("Y0T17", "Y18T999", "Y0T20", "Y21T30", "Y31T40", "Y41T50", "Y_GE51", "_U"):
            assert (sex, band, "_T", "_T") in keys, (sex, band)
        for edu in ("ISCED11_3", "ISCED11_5", "ISCED11_6", "ISCED11_7", "_O", "_U"):
            assert (sex, "_T", edu, "_T") in keys
        for act in ("EMP", "NEMP", "STU", "RET", "_O", "_U"):
            assert (sex, "_T", "_T", act) in keys
    assert len(keys) == len(fv)  # one row per cell
    tip = table(wh, "ind05_trafficking", 2019, "KG")
    keys = set(zip(tip.exploitation, tip.sex, tip.age, strict=True))
    for expl in ("_T", "SX", "FL", "OG", "OP", "_U"):
        for sex, age in (("_T", "_T"), ("F", "_T"), ("M", "_T"), ("_U", "_T"), ("F", "Y0T17"),
                         ("M", "Y18T999"), ("F", "_U")):
            assert (expl, sex, age) in keys, (expl, sex, age)
    for age in ("Y0T17", "Y18T999", "Y18T29", "Y30T39", "Y40T49", "Y_GE50", "_U"):
        assert ("_T", "_T", age) in keys
    assert len(keys) == len(tip)
