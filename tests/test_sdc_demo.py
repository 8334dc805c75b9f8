"""The disclosure control on the demo: every table of a full demo year (and, slow, of every
year with breakdowns, 2019-2024) published, then attacked from the published CSV files by
the independent LP attacker (tests/sdc_helpers.py) and by the subtraction-only one."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
import sdc_helpers as H
from publish_helpers import attack as subtract

from gbvstats.publish import sdc
from gbvstats.publish.tables import metas, publish, read_tables

ROOT = Path(__file__).resolve().parent.parent
GBVSTATS = str(ROOT / ".venv" / "bin" / "gbvstats")


def demo(tmp: Path, years: list[int], registry) -> Path:
    """The whole demo (every oblast, every form) for `years`, submitted and consolidated."""
    from gbvstats.consolidate.run import consolidate
    from gbvstats.demo.generate import generate
    from gbvstats.store.warehouse import Warehouse

    entries = generate(years, tmp / "demo", 2018, registry)
    wh = Warehouse(tmp / "wh.duckdb", registry)
    wh.submit_many([(tmp / "demo" / e.file, e.agency, "test", datetime.fromisoformat(e.submitted_at))
                    for e in entries])
    for year in years:
        consolidate(wh, year)
    return wh.path


def attacked(warehouse: Path, year: int, out: Path) -> tuple[int, list[str], dict]:
    publish(warehouse, year, out, ("en",))
    truth = read_tables(warehouse, year)
    described = metas()
    count, bad = H.attack_published(out, year, truth, described)
    subtracted = {}
    for name, real in truth.items():
        flat = pd.read_csv(out / f"{name}_{year}.csv")
        dims = sdc.dimensions(real, [*described[name]["counts"], *described[name]["rates"]])
        for col in described[name]["counts"]:
            found = subtract(real, col, flat[f"{col}_OBS_STATUS"] == "C", dims)
            if found:
                subtracted[(name, col)] = found
    return count, bad, subtracted


@pytest.fixture(scope="module")
def year_2024(tmp_path_factory, registry):
    tmp = tmp_path_factory.mktemp("sdc_demo")
    return demo(tmp, [2024], registry), tmp


def test_a_full_demo_year_withstands_the_lp_attacker(year_2024):
    warehouse, tmp = year_2024
    count, bad, subtracted = attacked(warehouse, 2024, tmp / "published")
    assert count > 150  # ind05, ind06 and ind07 have many counts of 1 to 4 by oblast
    assert bad == []
    assert subtracted == {}
    manifest = json.loads((tmp / "published" / "manifest.json").read_text(encoding="utf-8"))
    disclosure = manifest["disclosure"]
    assert disclosure["safe"] and disclosure["threshold"] == 4
    assert all(t["exact"] == 0 and t["under_protected"] == 0 for t in disclosure["tables"].values())
    assert "cells" not in disclosure  # no confidential value in a published file
    assert disclosure["tables"]["ind05_trafficking"]["audited_with"] == [
        "ind01_family_violence", "ind02_protection_orders", "ind06_assistance"]


def test_publish_audit_reports_every_confidential_cell(year_2024):
    warehouse, _ = year_2024
    env = os.environ | {"GBVSTATS_LANG": "en"}
    run = subprocess.run([GBVSTATS, "publish", "--year", "2024", "--audit", "--json", "--warehouse", str(warehouse)],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["safe"] and report["findings"] == []
    cells = report["cells"]
    assert {c["table"] for c in cells} >= {"ind05_trafficking", "ind07_gbv_crimes"}
    assert all(c["status"] == "ok" and 1 <= c["value"] <= 4 and c["required_width"] == 4 for c in cells)
    assert all(c["upper"] is None or c["upper"] - c["lower"] >= 4 for c in cells)
    assert sum(t["confidential"] for t in report["tables"].values()) == len(cells)
    text = subprocess.run([GBVSTATS, "publish", "--year", "2024", "--audit", "--warehouse", str(warehouse),
                           "--lang", "ru"], capture_output=True, text=True, env=env, timeout=300, check=False)
    assert text.returncode == 0
    assert "ind07_gbv_crimes: скрыто конфиденциальных ячеек" in text.stdout
    assert text.stdout.rstrip().endswith("(не меньше 4) по опубликованным данным")


@pytest.mark.slow
def test_every_demo_year_with_breakdowns_withstands_the_lp_attacker(tmp_path, registry):
    years = list(range(2019, 2025))
    warehouse = demo(tmp_path, years, registry)
    for year in years:
        count, bad, subtracted = attacked(warehouse, year, tmp_path / str(year))
        assert count > 100 and bad == [] and subtracted == {}, year
