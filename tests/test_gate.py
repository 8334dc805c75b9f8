"""The publication gate, NSC decisions and ind08, on a consolidated fixture year (Talas
2019, see gate_helpers): a JD return and a district's MOI-FV return typed x10, a missing
MLSP return, and every other oblast missing."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from gate_helpers import (
    TALAS,
    TALAS_CITY,
    YEAR,
    copy,
    corrected_return,
    submission,
)
from typer.testing import CliRunner

from gbvstats.cli import app
from gbvstats.consolidate.decisions import DecisionError, decide
from gbvstats.consolidate.run import consolidate
from gbvstats.publish.gate import run_gate


@pytest.fixture(scope="module")
def base(gate_year):
    return gate_year


@pytest.fixture
def wh(base, tmp_path):
    return copy(base, tmp_path / "wh")


def cli(wh, *args: str):
    return CliRunner().invoke(app, [*args, "--warehouse", str(wh.path)])


def items(wh, **where) -> pd.DataFrame:
    frame = wh.query("SELECT * FROM control_items WHERE year = ?", [YEAR])
    for column, value in where.items():
        frame = frame[frame[column] == value]
    return frame


def codes(report) -> list[str]:
    return [f.code for f in report.items]


# --- runs and ind08 (issue 10) -------------------------------------------------------


def test_reconcile_then_consolidate_are_distinct_runs_and_ind08_counts_each_item_once(wh):
    assert cli(wh, "reconcile", "--year", str(YEAR)).exit_code == 0
    assert cli(wh, "consolidate", "--year", str(YEAR)).exit_code == 0
    runs = wh.query("SELECT run_id, command FROM consolidation_runs WHERE year = ? ORDER BY run_id", [YEAR])
    assert runs["command"].tolist() == ["consolidate", "reconcile", "consolidate"]
    assert runs["run_id"].is_unique
    stored = wh.query("SELECT run_id, count(*) AS n, count(DISTINCT (rule_id, scope_id, item_label)) AS d "
                      "FROM rule_results WHERE year = ? GROUP BY run_id", [YEAR])
    assert (stored["n"] == stored["d"]).all()  # each run stores each result once
    latest = wh.query("SELECT agencies FROM rule_results WHERE year = ? AND status = 'fail' AND run_id = "
                      "(SELECT max(run_id) FROM rule_results WHERE year = ?)", [YEAR, YEAR])
    jd = int(latest["agencies"].str.split(",").map(lambda a: "JD" in a).sum())
    ind08 = wh.query("SELECT * FROM ind08_data_quality WHERE year = ?", [YEAR]).set_index("agency")
    assert jd > 0 and ind08.loc["JD", "open_discrepancies"] == jd


def test_an_explained_district_outlier_is_no_longer_open(wh):
    outliers = items(wh, rule_id="OUT-11")
    assert set(outliers["unit"]) == {TALAS_CITY} and set(outliers["state"]) == {"open"}
    before = wh.query("SELECT * FROM ind08_data_quality WHERE agency = 'MOI'").iloc[0]
    sid = submission(wh, "MOI-FV", TALAS_CITY, "2019-Q3")
    result = cli(wh, "explain", str(sid), "OUT-11", "--text", "Figures typed in tens; corrected "
                 "return follows", "--by", "Talas city police")
    assert result.exit_code == 0, result.output
    consolidate(wh, YEAR)
    assert set(items(wh, rule_id="OUT-11")["state"]) == {"explained"}
    after = wh.query("SELECT * FROM ind08_data_quality WHERE agency = 'MOI'").iloc[0]
    assert after.explained == before.explained + len(outliers)
    assert after.open_discrepancies == before.open_discrepancies - len(outliers)
    report = run_gate(wh, YEAR, 4, quality=False)
    assert not [f for f in report.items if f.rule_id == "OUT-11"]


# --- the gate -------------------------------------------------------------------------


def test_gate_lists_the_wrong_unit_return_with_rule_unit_values_and_command(base):
    result = cli(base, "gate", "--year", str(YEAR), "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["blocked"]
    jd = [i for i in report["items"] if i["rule_id"] == "OUT-13"]
    assert {i["code"] for i in jd} == {"GBV-G004"} and len(jd) == 2
    item = next(i for i in jd if i["params"]["item"].startswith("jd_cases"))
    assert item["params"]["unit"] == TALAS and item["params"]["period"] == "2019-Q2"
    assert item["params"]["left"] > 5 * item["params"]["right"]  # x10 against its usual level
    sid = submission(base, "JD-CASES", TALAS, "2019-Q2")
    assert f"gbvstats explain {sid} OUT-13" in item["command"]
    assert f"gbvstats decide {YEAR} {item['item_key']}" in item["command"]
    assert "Talas oblast" in item["message"] and "2019-Q2" in item["message"]
    missing = [i for i in report["items"] if i["code"] == "GBV-G006"]
    assert any(i["params"]["forms"] == "MLSP-SP" for i in missing)
    # the suites ran on the tables as published and were stored; ind08 summarises them
    assert report["quality"]["run_id"] is not None and report["quality"]["results"]
    ind08 = base.query("SELECT sum(expectations) AS n FROM ind08_data_quality WHERE year = ?", [YEAR])
    assert ind08["n"].iloc[0] > 0


def test_gate_speaks_russian_and_kyrgyz(base):
    report = run_gate(base, YEAR, 4, quality=False)
    item = next(f for f in report.items if f.rule_id == "OUT-13")
    assert "Чечүү:" in item.message("ky") and "Решение:" in item.message("ru")
    assert item.title["ky"] == "Түшүндүрмөсү да, чечими да жок эскертүү"
    assert "Таласская" not in item.message("en")


def test_publish_refuses_then_publishes_provisionally_with_flags(wh, tmp_path):
    out = tmp_path / "pub"
    refused = cli(wh, "publish", "--year", str(YEAR), "--out", str(out), "--lang", "en")
    assert refused.exit_code == 1
    assert "OUT-13" in refused.output and "publication of 2019 refused" in refused.output
    assert not out.exists() and not list(tmp_path.glob(".pub*"))  # nothing written, no staging left
    done = cli(wh, "publish", "--year", str(YEAR), "--out", str(out), "--lang", "en", "--provisional")
    assert done.exit_code == 0, done.output
    assert "published provisionally" in done.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["provisional"] and manifest["gate"]["blocked"]
    jd = [i for i in manifest["gate"]["items"] if i["rule_id"] == "OUT-13"]
    assert jd and jd[0]["period"] == "2019-Q2" and jd[0]["unit_name"] == "Talas oblast"
    # published: the items are named, their raw values (counts of returns) are not
    text = json.dumps(manifest["gate"])
    assert '"left"' not in text and '"right"' not in text and "against" not in text
    assert manifest["gate"]["quality"]["tables"]
    flat = pd.read_csv(out / f"ind01_family_violence_{YEAR}.csv")
    measures = [c[: -len("_OBS_STATUS")] for c in flat.columns if c.endswith("_OBS_STATUS")]
    shown = {s for m in measures for s in flat.loc[flat[m].notna(), f"{m}_OBS_STATUS"]}
    assert shown == {"P"} or shown == {"P", "C"}  # every published figure provisional
    assert "p — provisional publication" in json.dumps(manifest["tables"], ensure_ascii=False)
    assert any("gate blocked 2019" in str(r) for r in manifest["provisional"]["reasons"])
    sdmx = pd.concat(pd.read_csv(p) for p in out.glob("sdmx_*.csv"))
    assert set(sdmx["OBS_STATUS"]) <= {"P", "O"}  # O: suppressed, in the SDG DSD


def test_a_return_after_consolidation_makes_it_stale(wh, registry, tmp_path):
    path = corrected_return(registry, tmp_path, "JD-CASES", TALAS, "2019-Q2")
    assert wh.submit(path, "JD", "Talas court").outcome == "accepted"
    report = run_gate(wh, YEAR, 4, quality=False)
    assert "GBV-G010" in codes(report)
    consolidate(wh, YEAR)  # the corrected return replaces the x10 one
    report = run_gate(wh, YEAR, 4, quality=False)
    assert "GBV-G010" not in codes(report)
    assert not [f for f in report.items if f.rule_id == "OUT-13"]


def test_a_year_never_consolidated_is_blocked(wh):
    report = run_gate(wh, 2030, 4, quality=False)
    assert codes(report) == ["GBV-G009"] and report.blocked
    assert "gbvstats consolidate --year 2030" in report.items[0].message("en")


# --- decisions ------------------------------------------------------------------------


def test_accepted_closes_corrected_does_not_and_both_are_audited(wh):
    jd = items(wh, rule_id="OUT-13").sort_values("item")
    first, second = jd["item_key"].tolist()
    result = cli(wh, "decide", str(YEAR), first, "--decision", "accepted", "--note",
                 "Checked with the court: true figures", "--by", "NSC: A. Name")
    assert result.exit_code == 0, result.output
    assert f"[{first}]" in result.output
    decide(wh, YEAR, [second], "corrected", "The court re-sends the return", "NSC: A. Name")
    states = items(wh, rule_id="OUT-13").set_index("item_key")["state"]
    assert (states[first], states[second]) == ("decided", "open")
    log = wh.query("SELECT actor, agency, detail FROM audit_log WHERE event = 'decision' ORDER BY event_id")
    assert log["actor"].tolist() == ["NSC: A. Name"] * 2 and set(log["agency"]) == {"NSC"}
    assert json.loads(log["detail"].iloc[0])["item_key"] == first
    ind08 = wh.query("SELECT decided FROM ind08_data_quality WHERE agency = 'JD'")
    consolidate(wh, YEAR)
    assert wh.query("SELECT decided FROM ind08_data_quality WHERE agency = 'JD'")["decided"].iloc[0] \
        == ind08["decided"].iloc[0] + 1
    report = run_gate(wh, YEAR, 4, quality=False)
    blocking = {f.params.get("item_key") for f in report.blocking}
    assert first not in blocking and second in blocking


def test_a_decision_lapses_when_the_values_change(wh, registry, tmp_path):
    key = items(wh, rule_id="OUT-13").sort_values("item")["item_key"].iloc[0]
    decide(wh, YEAR, [key], "accepted", "true figures", "NSC")
    # the court re-sends the return, still wrong but with other figures
    path = corrected_return(registry, tmp_path, "JD-CASES", TALAS, "2019-Q2", factor=11)
    wh.submit(path, "JD", "Talas court")
    consolidate(wh, YEAR)
    row = items(wh, item_key=key).iloc[0]
    assert row.state == "open" and row.decision_lapsed
    report = run_gate(wh, YEAR, 4, quality=False)
    assert sorted(f.code for f in report.items if f.params.get("item_key") == key) == ["GBV-G004", "GBV-G020"]


def test_missing_returns_decided_no_longer_count(wh):
    report = run_gate(wh, YEAR, 4, quality=False)
    assert any(f.code == "GBV-G006" and f.params["forms"] == "MLSP-SP" for f in report.items)
    done = decide(wh, YEAR, [], "accepted", "Published without these returns", "NSC", rule="MLSP-SP")
    assert len(done) == 33 and {d.rule_id for d in done} == {"MLSP-SP"}  # 8 oblasts x 4 + Talas Q4
    report = run_gate(wh, YEAR, 4, quality=False)
    assert not any(f.params.get("forms") == "MLSP-SP" for f in report.items)


def test_decisions_refuse_what_cannot_be_decided(wh):
    with pytest.raises(DecisionError) as unknown:
        decide(wh, YEAR, ["0000000000"], "accepted", "x", "y")
    assert unknown.value.code == 2 and "gbvstats gate --year 2019" in unknown.value.message()
    result = cli(wh, "decide", str(YEAR), "0000000000", "--note", "x", "--by", "y", "--lang", "ru")
    assert result.exit_code == 2 and "пункта 0000000000" in result.output
    key = items(wh, rule_id="OUT-13")["item_key"].iloc[0]
    assert cli(wh, "decide", str(YEAR), key, "--decision", "maybe", "--note", "x", "--by", "y").exit_code == 2
    assert cli(wh, "decide", str(YEAR), key).exit_code == 2  # no note, no author
    # a failed expectation of error severity is corrected, not decided
    import duckdb

    con = duckdb.connect(str(wh.path))
    con.execute("INSERT INTO quality_runs (run_id, year, checked_at, table_name, suite_hash, expectation, "
                "expectation_type, severity, success) VALUES (99, 2019, now(), 'ind01_family_violence', "
                "'h', 'ind01_family_violence.non_negative:reports', 'ExpectColumnValuesToBeBetween', "
                "'error', false)")
    con.close()
    error_key = items(wh, source="quality")["item_key"].iloc[0]
    with pytest.raises(DecisionError) as refused:
        decide(wh, YEAR, [error_key], "accepted", "x", "y")
    assert refused.value.code == 1 and "corrected by the agency" in refused.value.message()
    assert wh.query("SELECT count(*) AS n FROM decisions")["n"].iloc[0] == 0  # all or nothing


def test_rebuild_replays_decisions(wh, tmp_path):
    key = items(wh, rule_id="OUT-13")["item_key"].iloc[0]
    decide(wh, YEAR, [key], "accepted", "true figures", "NSC: A. Name")
    rebuilt_path = tmp_path / "rebuilt.duckdb"
    wh.rebuild(rebuilt_path)
    from gbvstats.store.warehouse import Warehouse

    rebuilt = Warehouse(rebuilt_path, wh.reg)
    for table in ("decisions", "audit_log", "explanations", "submissions"):
        assert rebuilt.checksum()[table] == wh.checksum()[table]
    assert "quality_runs" not in wh.checksum()  # derived: recomputed by the gate
    consolidate(rebuilt, YEAR)
    assert items(rebuilt, item_key=key)["state"].iloc[0] == "decided"


@pytest.mark.slow
def test_one_year_demo_the_wrong_unit_return_is_flagged_and_blocks_publication(tmp_path):
    """Issue 11's first claim, as a new user would run it: `demo generate --years 2018`,
    submit everything, consolidate: the planted x10 return is listed by the outlier
    controls; publish refuses and names it; --provisional publishes with flags."""
    runner = CliRunner()
    demo = tmp_path / "D"
    assert runner.invoke(app, ["demo", "generate", "--years", "2018", "--out", str(demo)]).exit_code == 0
    manifest = json.loads((demo / "manifest.json").read_text(encoding="utf-8"))
    wrong = next(e for e in manifest["files"] if e["defect"] == "wrong_unit")
    db = ["--warehouse", str(tmp_path / "wh" / "w.duckdb")]
    for agency in ("MOI", "GPO", "JD", "NSC", "MLSP"):
        files = sorted(str(p) for p in (demo / "2018" / agency).glob("*.xlsx"))
        if files:
            runner.invoke(app, ["submit", *files, "--agency", agency, "--json", *db])
    assert runner.invoke(app, ["consolidate", "--year", "2018", *db]).exit_code == 0
    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(tmp_path / "wh" / "w.duckdb")
    flagged = wh.query("SELECT rule_id, kind FROM rule_results WHERE status = 'fail' AND scope_id = ?",
                       [f"{wrong['unit']}|{wrong['period']}"])
    assert "within_year" in set(flagged["kind"]), flagged
    refused = runner.invoke(app, ["publish", "--year", "2018", "--out", str(tmp_path / "P"), "--lang",
                                  "en", *db])
    assert refused.exit_code == 1 and wrong["period"] in refused.output
    assert not (tmp_path / "P").exists()
    done = runner.invoke(app, ["publish", "--year", "2018", "--out", str(tmp_path / "P"), "--lang",
                               "en", "--provisional", *db])
    assert done.exit_code == 0, done.output
    manifest = json.loads((tmp_path / "P" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["provisional"] and any(i.get("period") == wrong["period"] and i.get("unit") == wrong["unit"]
                                           for i in manifest["gate"]["items"])


@pytest.mark.parametrize("command", ["gate", "quality"])
def test_gate_and_quality_take_the_threshold_publish_takes(command, tmp_path, monkeypatch):
    """Without --threshold they use schemas/disclosure.yaml, as publish does: an invalid
    file stops them (GBV-D005, exit 2) before the warehouse is opened."""
    import shutil

    from gbvstats.paths import home

    copy = tmp_path / "home"
    shutil.copytree(home() / "schemas", copy / "schemas")
    (copy / "schemas" / "disclosure.yaml").write_text("threshold: many\n", encoding="utf-8")
    monkeypatch.setenv("GBVSTATS_HOME", str(copy))
    run = CliRunner().invoke(app, [command, "--year", "2024", "--warehouse", str(tmp_path / "none.duckdb")])
    assert run.exit_code == 2 and "GBV-D005" in run.stderr, run.stderr
    from gbvstats.cli.gate import _threshold

    (copy / "schemas" / "disclosure.yaml").write_text("threshold: 3\n", encoding="utf-8")
    assert _threshold(None, "en") == 3 and _threshold(5, "en") == 5
