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


# The national figures the NSC publishes (docs/DOMAIN.md): victims of family violence by sex
# and age band, of trafficking by form of exploitation and sex. Small counts are confidential
# below national level only (schemas/disclosure.yaml `primary.national: false`).
HEADLINE = {"ind01_family_violence": ({"education": "_T", "activity": "_T"}, ["victims"]),
            "ind05_trafficking": ({"age": "_T"}, ["victims"])}


def national_headline_hidden(year: int, out: Path) -> list[tuple[str, dict, str]]:
    """The national headline cells hidden in the published CSV files."""
    hidden = []
    for name, (fixed, cols) in HEADLINE.items():
        flat = pd.read_csv(out / f"{name}_{year}.csv", keep_default_na=False, dtype=str)
        rows = flat[(flat["area"] == "KG") & (flat[list(fixed)] == pd.Series(fixed)).all(axis=1)]
        assert len(rows) > 3, name
        for col in cols:
            for _, row in rows[rows[f"{col}_OBS_STATUS"] == "C"].iterrows():
                key = {d: row[d] for d in flat.columns if d in ("area", "sex", "age", "exploitation")}
                hidden.append((name, key, col))
    return hidden


def needed(warehouse: Path, year: int, cells: list[tuple[str, dict, str]]) -> list[str]:
    """The cells among `cells` that protection does not need: publishing one of them
    alone (the rest of the pattern kept) leaves every confidential cell protected."""
    from gbvstats.publish import relations
    from gbvstats.publish.audit import OK, audit_cells, load_protection
    from gbvstats.publish.disclosure import _linked_groups, declarations

    prot = load_protection()
    frames = {n: f.reset_index(drop=True) for n, f in read_tables(warehouse, year).items()}
    described = metas()
    decls = {n: declarations(described[n], f, None) for n, f in frames.items()}
    models = {n: relations.build(n, frames[n], decls[n]) for n in frames}
    found = relations.links(models)
    spare = []
    for group in _linked_groups(list(frames), found):
        model, offsets = (models[group[0]], {group[0]: 0}) if len(group) == 1 else relations.combine(
            [models[n] for n in group], [lk for lk in found if lk.a in group])
        hidden, _ = sdc.protect_model(model, prot)
        confidential = [c for c in model.cells if prot.confidential_cell(model, c)]
        for name, key, col in cells:
            if name not in group:
                continue
            (cell,) = [c for c in model.cells if c[1] == col and model.table_of(c) == name
                       and all(str(model.key(c).get(d)) == v for d, v in key.items())]
            assert cell in hidden and cell not in confidential
            trial = sdc.with_rates(model, hidden - {cell})
            if all(a.status == OK for a in audit_cells(model, trial, confidential, prot)):
                spare.append(f"{name} {key} {col}")
    return spare


def test_national_figures_are_published_unless_an_oblast_needs_them(year_2024):
    """Small national counts are published (the NSC publishes its national series in full);
    a national headline cell is hidden only where an oblast's count needs it (e.g. the
    only non-zero oblast of a national figure), never to spare cheaper oblast cells."""
    warehouse, tmp = year_2024
    out = tmp / "national"
    publish(warehouse, 2024, out, ("en",))
    truth = read_tables(warehouse, 2024)
    small = 0
    for name in HEADLINE:
        flat = pd.read_csv(out / f"{name}_2024.csv", keep_default_na=False, dtype=str)
        real = truth[name].reset_index(drop=True)
        national = flat["area"] == "KG"
        assert (flat.loc[national, "victims_OBS_STATUS"] != "C").sum() > 0
        values = pd.to_numeric(flat.loc[national, "victims"], errors="coerce")
        small += int(values.between(1, 4).sum())
        # below national level no count of 1 to 4 is published
        sub = pd.to_numeric(flat.loc[~national, "victims"], errors="coerce")
        assert not sub.between(1, 4).any(), name
        assert len(real) == len(flat)
    assert small > 0  # national counts of 1 to 4 are published
    assert needed(warehouse, 2024, national_headline_hidden(2024, out)) == []
