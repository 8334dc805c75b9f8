"""The demo generator: published anchors, determinism, consistency, planted defects."""

from __future__ import annotations

import hashlib
import json

import pytest

from gbvstats.check.rules import check_submission
from gbvstats.check.validate import validate_file
from gbvstats.demo.generate import Generator, generate
from gbvstats.periods import parse_period

NARYN, TALAS = "41704000000000", "41707000000000"


@pytest.mark.parametrize("year,reports,orders", [(2015, 3524, 3358), (2018, 7178, 7114)])
def test_national_totals_match_the_published_figures(registry, year, reports, orders):
    gen = Generator(registry, 2018)
    form = registry.for_period("MOI-FV", parse_period(f"{year}-Q1"))
    got_reports = got_orders = 0
    for unit in registry.units("district"):
        for q in range(1, 5):
            values = gen.values(form, unit.code, parse_period(f"{year}-Q{q}"))
            got_reports += values[("T1", "01", 1)]
            got_orders += values[("T1", "02", 1)]
    assert (got_reports, got_orders) == (reports, orders)


def test_every_form_passes_its_own_rules(registry):
    """Clean returns of every form satisfy every intra-form rule (no error findings)."""
    import pandas as pd

    gen = Generator(registry, 11)
    for form, unit, period in gen.returns([2019, 2024]):
        if registry.oblast_of(unit) != NARYN:
            continue
        values = gen.values(form, unit, period)
        cells = pd.DataFrame([{"tbl": t, "line": ln, "col": c, "value": v, "sheet": t, "addr": "A1"}
                              for (t, ln, c), v in values.items()])
        cells["value"] = cells["value"].astype("Int64")
        _, findings = check_submission(form, cells)
        errors = [f.message() for f in findings if f.severity == "error"]
        assert not errors, (form.key, unit, str(period), errors[:3])


def _digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.xlsx"))}


def test_same_seed_same_files(tmp_path, registry):
    a = generate([2019], tmp_path / "a", 5, registry, oblasts=[TALAS])
    b = generate([2019], tmp_path / "b", 5, registry, oblasts=[TALAS])
    assert [e.file for e in a] == [e.file for e in b]
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    generate([2019], tmp_path / "c", 6, registry, oblasts=[TALAS])
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_planted_defects_are_listed_and_detected(tmp_path, registry):
    entries = generate([2019], tmp_path, 3, registry, oblasts=[NARYN, TALAS])
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    defects = {e["defect"]: e for e in manifest["files"] if e["defect"]}
    assert {"arithmetic_slip", "wrong_unit", "numbers_as_text", "late", "correction"} <= set(defects)
    (gone,) = manifest["missing"]
    assert not any((e.form, e.unit, e.period) == (gone["form"], gone["unit"], gone["period"])
                   for e in entries)
    slip = validate_file(tmp_path / defects["arithmetic_slip"]["file"], registry)
    assert slip.verdict == "errors"
    assert any(f.code == "GBV-R001" for f in slip.findings)
    fixed = validate_file(tmp_path / defects["arithmetic_slip"]["file"].replace(".xlsx", "_rev2.xlsx"), registry)
    assert fixed.verdict in ("ok", "warnings")
    as_text = validate_file(tmp_path / defects["numbers_as_text"]["file"], registry)
    assert as_text.verdict in ("ok", "warnings")
    late = defects["late"]
    assert late["submitted_at"] > parse_period(late["period"]).due(15).isoformat()


# --- the latent world: anchors beyond reports and orders, and plausible relations ---------

def _national(gen, registry, form_code: str, year: int, key: tuple[str, int], level: str) -> int:
    total = 0
    for p in (parse_period(f"{year}-Q{q}") for q in range(1, 5)):
        form = registry.for_period(form_code, p)
        total += sum(gen.values(form, u.code, p).get(key, 0) for u in registry.units(level))
    return total


def test_victims_orders_extended_and_population_anchors(registry):
    gen = Generator(registry, 2018)
    victims = _national(gen, registry, "MOI-FV", 2018, ("T2", "01", 1), "district")
    female = _national(gen, registry, "MOI-FV", 2018, ("T2", "01", 2), "district")
    assert (victims, female, victims - female) == (7178, 6562, 616)  # the NSC's public series
    orders = _national(gen, registry, "MOI-FV", 2019, ("T3", "01", 1), "district")
    extended = _national(gen, registry, "MOI-FV", 2019, ("T3", "02", 1), "district")
    assert (orders, extended) == (3932, 295)
    pop = registry.get("NSC-POP")
    oblasts = registry.units("oblast")
    y2018 = [gen.values(pop, u.code, parse_period("2018")) for u in oblasts]
    assert (sum(v[("T1", "01", 1)] for v in y2018), sum(v[("T1", "01", 2)] for v in y2018)) == (
        6_516_831, 3_294_395)
    y2026 = {u.sdmx_code: gen.values(pop, u.code, parse_period("2026"))[("T1", "01", 1)] for u in oblasts}
    assert y2026 == {"KG11": 1_358_661, "KG21": 484_937, "KG08": 983_664, "KG06": 1_438_459,
                     "KG03": 1_379_916, "KG05": 605_283, "KG02": 554_296, "KG04": 316_182,
                     "KG07": 282_931}


@pytest.mark.parametrize("year", [2016, 2018, 2021, 2024])
def test_victims_are_not_reports(registry, year):
    """Several victims in one report, none identified in another: in most districts and
    quarters the counts differ, though the national 2018 totals coincide (7,178)."""
    gen = Generator(registry, 2018)
    differ = total = 0
    for q in range(1, 5):
        p = parse_period(f"{year}-Q{q}")
        form = registry.for_period("MOI-FV", p)
        for u in registry.units("district"):
            v = gen.values(form, u.code, p)
            total += 1
            differ += v[("T1", "01", 1)] != v[("T2", "01", 1)]
    assert differ > 0.8 * total


def test_justice_chain_has_attrition(registry):
    """Opened > sent to the prosecutor > sent to court; persons charged > convicted; and
    for trafficking, prosecutions (cases to court) are not the convictions (persons)."""
    gen = Generator(registry, 2018)
    fv, gpo, jd = (registry.get(f) for f in ("MOI-FV", "GPO-CASES", "JD-CASES"))
    oblast_years, unequal = 0, 0
    for year in (2019, 2021, 2024):
        chain = dict.fromkeys(("opened", "to_prosecutor", "to_court", "charged", "convicted"), 0)
        tip = {"to_court": 0, "convicted": 0}
        for u in registry.units("oblast"):
            per_oblast = {"to_court": 0, "convicted": 0}
            for q in range(1, 5):
                p = parse_period(f"{year}-Q{q}")
                g, j = gen.values(gpo, u.code, p), gen.values(jd, u.code, p)
                chain["to_court"] += g[("T1", "01", 2)]
                chain["charged"] += g[("T2", "01", 1)]
                chain["convicted"] += j[("T2", "01", 1)]
                per_oblast["to_court"] += g[("T1", "08", 2)]  # trafficking
                per_oblast["convicted"] += j[("T2", "08", 1)]
            oblast_years += 1
            unequal += per_oblast["to_court"] != per_oblast["convicted"]
            tip = {k: tip[k] + per_oblast[k] for k in tip}
        for q in range(1, 5):
            p = parse_period(f"{year}-Q{q}")
            for u in registry.units("district"):
                v = gen.values(fv, u.code, p)
                chain["opened"] += v[("T5", "01", 1)]
                chain["to_prosecutor"] += v[("T5", "01", 2)]
        assert chain["opened"] > chain["to_prosecutor"] > chain["to_court"], (year, chain)
        assert chain["charged"] > chain["convicted"], (year, chain)
        assert tip["to_court"] != tip["convicted"], (year, tip)
    assert unequal > oblast_years / 2


@pytest.mark.slow
def test_anchors_are_published_cells(tmp_path, registry):
    """The whole country's MoI and NSC returns of 2018 and 2019, submitted, consolidated and
    published: each published figure is one cell of the published CSV, exactly."""
    import csv
    from datetime import datetime

    from gbvstats.consolidate.run import consolidate
    from gbvstats.publish.tables import publish
    from gbvstats.store.warehouse import Warehouse

    entries = generate([2018, 2019], tmp_path / "demo", 2018, registry, forms=["MOI-FV", "NSC-POP"],
                       defects=False)
    wh = Warehouse(tmp_path / "w.duckdb", registry)
    wh.submit_many([(tmp_path / "demo" / e.file, e.agency, "test", datetime.fromisoformat(e.submitted_at))
                    for e in entries])

    def cells(year: int, table: str) -> list[dict]:
        consolidate(wh, year)
        out = tmp_path / f"published_{year}"
        publish(wh.path, year, out)
        with (out / f"{table}_{year}.csv").open(encoding="utf-8") as fh:
            return [r for r in csv.DictReader(fh) if r["area"] == "KG"]

    fv = {(r["sex"], r["age"]): r for r in cells(2018, "ind01_family_violence")
          if r["education"] == "_T" and r["activity"] == "_T"}
    assert fv[("_T", "_T")]["reports"] == "7178"
    assert [fv[(s, "_T")]["victims"] for s in ("_T", "F", "M")] == ["7178", "6562", "616"]
    assert (float(fv[("_T", "_T")]["population"]), float(fv[("F", "_T")]["population"])) == (
        6_516_831, 3_294_395)
    (orders,) = [r for r in cells(2018, "ind02_protection_orders")]
    assert orders["orders_issued"] == "7114"
    (orders,) = [r for r in cells(2019, "ind02_protection_orders")]
    assert (orders["orders_issued"], orders["orders_extended"]) == ("3932", "295")


def test_years_outside_the_world_are_refused(tmp_path, registry):
    from typer.testing import CliRunner

    from gbvstats.cli import app

    result = CliRunner().invoke(app, ["demo", "generate", "--years", "2025-2027", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "2015-2026" in result.output
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="not for 2014"):
        generate([2014], tmp_path, 1, registry)
