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
