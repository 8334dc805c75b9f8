"""A consolidated fixture year for the gate, decision and quality tests: Talas oblast,
2019, every form of every agency from the demo generator (clean), with problems planted by
hand: a JD return and a district's MOI-FV return typed in the wrong unit (x10), a missing
MLSP return."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from gbvstats.collect.templates import fill_template, save
from gbvstats.consolidate.run import consolidate
from gbvstats.demo.generate import Generator, generate
from gbvstats.periods import parse_period
from gbvstats.store.warehouse import Warehouse

TALAS = "41707000000000"
TALAS_CITY = "41707400000010"
YEAR = 2019
SEED = 7
WRONG = {("JD-CASES", TALAS, "2019-Q2"), ("MOI-FV", TALAS_CITY, "2019-Q3")}
MISSING = ("MLSP-SP", TALAS, "2019-Q4")


def corrected_return(registry, root: Path, form_code: str, unit: str, period: str,
                     factor: int = 1) -> Path:
    """The generator's true return (times `factor`) as a workbook."""
    form = registry.get(form_code)
    values = Generator(registry, SEED).values(form, unit, parse_period(period))
    path = root / f"{form_code}_{unit}_{period}_x{factor}.xlsx"
    save(fill_template(form, {k: v * factor for k, v in values.items()}, unit, period), path)
    return path


def build(root: Path, registry) -> Warehouse:
    entries = generate([YEAR], root / "demo", SEED, registry, oblasts=[TALAS], defects=False)
    items = []
    for e in entries:
        key = (e.form, e.unit, e.period)
        if key == MISSING:
            continue
        path = root / "demo" / e.file
        if key in WRONG:
            path = corrected_return(registry, root, e.form, e.unit, e.period, factor=10)
        items.append((path, e.agency, "test", datetime.fromisoformat(e.submitted_at)))
    wh = Warehouse(root / "wh" / "w.duckdb", registry)
    receipts = wh.submit_many(items)
    assert {r.outcome for r in receipts} <= {"accepted", "accepted_with_warnings"}
    consolidate(wh, YEAR)
    return wh


def copy(wh: Warehouse, target: Path) -> Warehouse:
    """A private copy of a fixture warehouse (file and archive) for a test that writes."""
    shutil.copytree(wh.path.parent, target)
    return Warehouse(target / wh.path.name, wh.reg)


def submission(wh: Warehouse, form: str, unit: str, period: str) -> int:
    return int(wh.query("SELECT submission_id FROM current_submissions WHERE form = ? AND unit = ? "
                        "AND period = ?", [form, unit, period]).iloc[0, 0])
