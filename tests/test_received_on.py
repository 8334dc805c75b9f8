"""Back-filled years: `submit --received-on DATE` records the date a return was originally
received, audited as declared and kept by a rebuild; completeness judges lateness by it
and says which dates were declared."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from store_helpers import districts, write_return
from typer.testing import CliRunner

from gbvstats.cli import app
from gbvstats.consolidate.completeness import completeness
from gbvstats.store.warehouse import StoreError, Warehouse

PERIOD = "2019-Q1"  # due 2019-04-15


@pytest.fixture(scope="module")
def returns(tmp_path_factory, registry) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("backfill")
    units = districts(registry)
    return {"a": write_return(d / "a.xlsx", "MOI-FV", units[0], PERIOD),
            "b": write_return(d / "b.xlsx", "MOI-FV", units[1], PERIOD),
            "c": write_return(d / "c.xlsx", "MOI-FV", units[2], PERIOD)}


def _state(wh: Warehouse, unit: str) -> dict:
    with wh.reader() as con:
        detail, summary = completeness(con, wh.reg, 2019, "MOI")
    row = detail[(detail.unit == unit) & (detail.period == PERIOD) & (detail.form == "MOI-FV")].iloc[0]
    return {"late": bool(row.late), "declared": bool(row.received_declared),
            "first": row.first_received, "summary": summary.set_index("form").loc["MOI-FV"]}


def test_a_declared_date_decides_lateness_and_is_said_to_be_declared(tmp_path, registry, returns):
    wh = Warehouse(tmp_path / "w.duckdb", registry)
    units = districts(registry)
    # loaded today, without a date: years after the due date, so late
    wh.submit(returns["a"], "MOI", by="archive loader")
    # loaded today, declared received on 10 April 2019: on time
    wh.submit_many([(returns["b"], "MOI", "archive loader", None)], received_on=date(2019, 4, 10))
    # declared received after the due date: late all the same
    wh.submit_many([(returns["c"], "MOI", "archive loader", None)], received_on=date(2019, 5, 2))
    a, b, c = (_state(wh, u) for u in units[:3])
    assert (a["late"], a["declared"]) == (True, False)
    assert (b["late"], b["declared"]) == (False, True) and str(b["first"])[:10] == "2019-04-10"
    assert (c["late"], c["declared"]) == (True, True)
    assert b["summary"]["declared"] == 2
    # the audit log records the declared date with who declared it; received_at stays the load
    events = wh.query("SELECT actor, detail, received_at, received_on FROM audit_log "
                      "JOIN submissions USING (submission_id) ORDER BY event_id")
    assert [json.loads(d).get("received_on") for d in events.detail] == [None, "2019-04-10", "2019-05-02"]
    assert set(events.actor) == {"archive loader"}
    assert events.received_at.min().year >= 2025 and str(events.received_on.iloc[1])[:10] == "2019-04-10"


def test_the_declared_date_survives_a_rebuild(tmp_path, registry, returns):
    wh = Warehouse(tmp_path / "w.duckdb", registry)
    wh.submit_many([(returns["a"], "MOI", "loader", None)], received_on=date(2019, 4, 12))
    wh.submit(returns["b"], "MOI")
    wh.rebuild(tmp_path / "rebuilt.duckdb")
    rebuilt = Warehouse(tmp_path / "rebuilt.duckdb", registry)
    assert rebuilt.checksum() == wh.checksum()
    assert rebuilt.query("SELECT received_on FROM submissions ORDER BY submission_id").received_on.astype(
        str).str[:10].tolist()[0] == "2019-04-12"


def test_impossible_dates_are_refused_and_nothing_is_stored(tmp_path, registry, returns):
    wh = Warehouse(tmp_path / "w.duckdb", registry)
    with pytest.raises(StoreError) as early:  # on the period's last day: not yet over
        wh.submit_many([(returns["a"], "MOI", None, None)], received_on=date(2019, 3, 31))
    assert early.value.code == 2 and "a.xlsx" in early.value.message("en")
    with pytest.raises(StoreError) as future:
        wh.submit_many([(returns["a"], "MOI", None, None)], received_on=date(2999, 1, 1))
    assert future.value.code == 2
    assert not wh.path.exists() or wh.query("SELECT count(*) AS n FROM submissions").n.iloc[0] == 0


def test_cli_received_on(tmp_path, returns):
    db = tmp_path / "w.duckdb"
    ok = CliRunner().invoke(app, ["submit", str(returns["b"]), "--agency", "MOI", "--received-on", "2019-04-10",
                                  "--warehouse", str(db), "--json"])
    assert ok.exit_code == 0, ok.output
    history = CliRunner().invoke(app, ["sql", "SELECT received_on FROM submissions", "--csv", "--warehouse", str(db)])
    assert "2019-04-10" in history.stdout
    bad = CliRunner().invoke(app, ["submit", str(returns["a"]), "--agency", "MOI", "--received-on", "10.04.2019",
                                   "--warehouse", str(db), "--lang", "ru"])
    assert bad.exit_code == 2 and "не является датой" in bad.stderr and "Traceback" not in bad.output
    early = CliRunner().invoke(app, ["submit", str(returns["a"]), "--agency", "MOI", "--received-on", "2018-12-31",
                                     "--warehouse", str(db)])
    assert early.exit_code == 2 and "not after its period 2019-Q1 ended" in early.stderr
    detail = CliRunner().invoke(app, ["completeness", "--year", "2019", "--agency", "MOI", "--detail", "--csv",
                                      "--warehouse", str(db)])
    assert "received_declared" in detail.stdout.splitlines()[0]
