"""`gbvstats fsck`: every invariant of the warehouse and its archive, each broken on purpose
in a copy of a sound warehouse; `--repair` removes leftovers and nothing else."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from store_helpers import PYTHON, districts, submit_process, write_return
from test_store_concurrency import returns  # noqa: F401 (the session pool of returns)
from typer.testing import CliRunner

from gbvstats.cli import app
from gbvstats.store import holders
from gbvstats.store.fsck import fsck
from gbvstats.store.warehouse import StoreError, Warehouse


@pytest.fixture(scope="module")
def sound(tmp_path_factory, registry) -> Path:
    """A warehouse with revisions, warnings, refusals and an explanation."""
    root = tmp_path_factory.mktemp("fsck")
    unit, other = districts(registry)[:2]
    wh = Warehouse(root / "base" / "w.duckdb", registry)
    files = [write_return(root / "in" / f"fv_{u}_{q}.xlsx", "MOI-FV", u, q)
             for u in (unit, other) for q in ("2024-Q1", "2024-Q2")]
    wh.submit_many([(f, "MOI", "Асанова", None) for f in files])
    wh.submit(write_return(root / "in" / "fix.xlsx", "MOI-FV", unit, "2024-Q1", seed=9), "MOI", "Исаков")
    wh.submit(files[0], "JD")  # refused: another agency's form
    wh.explain(2, "MOI-FV2-09", "cases of 2023", "Исаков")
    assert fsck(wh).findings == []
    return wh.path


@pytest.fixture
def copy(sound, tmp_path, registry) -> Warehouse:
    shutil.copytree(sound.parent, tmp_path / "wh")
    return Warehouse(tmp_path / "wh" / sound.name, registry)


def sql(wh: Warehouse, *statements: str) -> None:
    with wh.writer() as con:
        for s in statements:
            con.execute(s)


def archived(wh: Warehouse, sid: int) -> Path:
    rel = wh.query("SELECT archive_path FROM submissions WHERE submission_id = ?", [sid])["archive_path"][0]
    return wh.archive / rel


def state(wh: Warehouse) -> tuple:
    return wh.checksum(), sorted((p.relative_to(wh.archive).as_posix(), p.read_bytes())
                                 for p in wh.archive.rglob("*") if p.is_file())


def stale_record(wh: Warehouse) -> None:
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    folder = holders.folder(wh.path)
    folder.mkdir(exist_ok=True)
    (folder / f"{dead}-1.json").write_text(json.dumps({"pid": int(dead), "role": "reader"}))


# each: how to break a sound warehouse, and the finding that must name it
BREAKS = {
    "GBV-W010": lambda wh: archived(wh, 3).unlink(),
    "GBV-W011": lambda wh: archived(wh, 3).write_bytes(b"PK altered"),
    "GBV-W012": lambda wh: sql(wh, "DELETE FROM cells WHERE submission_id = 2 AND tbl = 'T1'"),
    "GBV-W013": lambda wh: sql(wh, "INSERT INTO cells VALUES (2, 'T9', '99', 1, 5, 'T9', 'C9')"),
    "GBV-W014": lambda wh: sql(wh, "INSERT INTO findings (submission_id, code, severity) "
                                   "VALUES (77, 'GBV-R002', 'warning')"),
    "GBV-W015": lambda wh: sql(wh, "UPDATE submissions SET status = 'accepted_with_warnings' "
                                   "WHERE submission_id = (SELECT min(submission_id) FROM submissions s "
                                   "WHERE NOT EXISTS (SELECT 1 FROM findings f "
                                   "WHERE f.submission_id = s.submission_id AND severity = 'warning'))"),
    "GBV-W016": lambda wh: sql(wh, "DELETE FROM audit_log WHERE submission_id = 4 AND event LIKE 'accepted%'"),
    "GBV-W017": lambda wh: sql(wh, "UPDATE audit_log SET file_name = 'other.xlsx' WHERE submission_id = 4"),
    "GBV-W018": lambda wh: sql(wh, "DELETE FROM cells WHERE submission_id = 5",
                               "DELETE FROM findings WHERE submission_id = 5",
                               "DELETE FROM submissions WHERE submission_id = 5"),
    "GBV-W019": lambda wh: sql(wh, "UPDATE audit_log SET event_id = event_id + 10 WHERE event_id > 3"),
    "GBV-W020": lambda wh: sql(wh, "UPDATE submissions SET supersedes = NULL, revision = 1 "
                                   "WHERE submission_id = 5"),
    "GBV-W021": lambda wh: sql(wh, "DELETE FROM explanations"),
    "GBV-W022": lambda wh: sql(wh, "INSERT INTO audit_log (event_id, event_at, event, agency, actor, "
                                   "file_name, sha256, submission_id, detail) VALUES (8, now(), "
                                   "'period_locked', 'NSC', 'A. Asanova', NULL, NULL, NULL, '{}')"),
    "GBV-W023": lambda wh: sql(wh, "UPDATE cells SET value = -3 WHERE submission_id = 1 AND tbl = 'T1' "
                                   "AND line = '01'"),
    "GBV-W024": lambda wh: sql(wh, "UPDATE submissions SET version = 99 WHERE submission_id = 1"),
    "GBV-W026": lambda wh: (wh.archive / "ab").mkdir() or (wh.archive / "ab" / "abc.xlsx").write_bytes(b"x"),
    "GBV-W027": lambda wh: archived(wh, 1).with_name(".x.xlsx.4242.tmp").write_bytes(b"half"),
    "GBV-W028": stale_record,
}


@pytest.mark.parametrize("code", BREAKS)
def test_each_broken_invariant_is_found_and_nothing_is_changed(copy, code):
    BREAKS[code](copy)
    before = state(copy)
    result = CliRunner().invoke(app, ["fsck", "--warehouse", str(copy.path), "--json"])
    report = json.loads(result.stdout)
    codes = {f["code"] for f in report["findings"]}
    assert code in codes, report["findings"]
    assert result.exit_code == (0 if code == "GBV-W028" else 1)
    assert state(copy) == before  # a check changes nothing
    found = next(f for f in report["findings"] if f["code"] == code)
    assert found["message"] and "{" not in found["message"], found


def test_deep_reads_every_archived_file_again(copy):
    sql(copy, "UPDATE cells SET value = value + 1 WHERE submission_id = 2 AND tbl = 'T3' AND line = '01'")
    assert "GBV-W025" not in {f.code for f in fsck(copy).findings}  # the shape is still right
    deep = fsck(copy, deep=True)
    assert [(f.code, f.params["submission"], f.params["what"]) for f in deep.findings] == [
        ("GBV-W025", 2, "cells")]


def test_repair_removes_leftovers_and_never_a_referenced_file(copy):
    BREAKS["GBV-W026"](copy)
    BREAKS["GBV-W027"](copy)
    stale_record(copy)
    archived(copy, 3).write_bytes(b"PK altered")  # referenced, though damaged: kept
    checksum = copy.checksum()
    referenced = {p for p in copy.query("SELECT archive_path FROM submissions")["archive_path"]}
    result = CliRunner().invoke(app, ["fsck", "--repair", "--warehouse", str(copy.path), "--lang", "en"])
    assert result.exit_code == 1  # the altered file is not repairable
    assert "removed" in result.stdout and "GBV-W011" in result.stdout
    assert copy.checksum() == checksum
    assert all((copy.archive / rel).is_file() for rel in referenced)
    assert not (copy.archive / "ab").exists() and not holders.stale(copy.path)
    assert not list(copy.archive.rglob("*.tmp"))
    again = fsck(copy)
    assert {f.code for f in again.findings} == {"GBV-W011"}


def test_a_sound_warehouse_reads_as_sound_in_every_language(copy):
    for lang, word in (("en", "sound"), ("ru", "нарушений нет"), ("ky", "бузулуу жок")):
        result = CliRunner().invoke(app, ["fsck", "--warehouse", str(copy.path), "--lang", lang])
        assert result.exit_code == 0 and word in result.stdout, result.output


def test_fsck_of_no_warehouse_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["fsck", "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "no warehouse" in result.stderr
    assert not list(tmp_path.iterdir())


def test_the_rebuild_of_a_sound_warehouse_is_sound(copy, tmp_path):
    out = tmp_path / "rebuilt" / "w.duckdb"
    copy.rebuild(out)
    rebuilt = Warehouse(out, copy.reg)
    assert fsck(rebuilt).findings == [] and rebuilt.checksum() == copy.checksum()


def test_no_traceback_when_the_warehouse_is_busy(copy, monkeypatch):
    import fcntl

    lock = open(copy.path.with_name(copy.path.name + ".lock"), "a+")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        monkeypatch.setenv("GBVSTATS_LOCK_TIMEOUT", "0.5")
        result = CliRunner().invoke(app, ["fsck", "--repair", "--warehouse", str(copy.path)])
    finally:
        lock.close()
    assert result.exit_code == 1 and "is busy" in result.stderr
    assert os.path.exists(copy.path)


def test_fsck_after_submits_killed_while_archiving(returns, tmp_path, registry):  # noqa: F811
    """SIGKILL a submit as soon as it has archived a file of its chunk (before the chunk's
    rows are committed): the file is an orphan, the tables are whole; --repair removes the
    orphans and only them; the load then completes and rebuilds to the same checksums."""
    files = returns(12)
    warehouse = tmp_path / "w.duckdb"
    wh = Warehouse(warehouse, registry)
    wh.submit(files[0], "MOI")
    for _ in range(3):
        seen = set(wh.archive.rglob("*.xlsx"))
        proc = submit_process(files, warehouse, env={"PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 120
        while proc.poll() is None and set(wh.archive.rglob("*.xlsx")) <= seen:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
    report = fsck(wh)
    assert {f.code for f in report.problems} <= {"GBV-W026", "GBV-W027"}, report.problems
    assert "GBV-W026" in {f.code for f in report.problems}  # the kills left orphans
    assert wh.query("SELECT count(*) AS n FROM submissions")["n"][0] == 1
    repaired = fsck(wh, repair=True)
    assert repaired.exit_code == 0 and repaired.removed
    assert fsck(wh).findings == [] and archived(wh, 1).is_file()
    finish = submit_process(files, warehouse)
    out, err = finish.communicate(timeout=300)
    assert finish.returncode == 0, err
    assert fsck(wh).findings == []
    wh.rebuild(tmp_path / "rebuilt.duckdb")
    assert Warehouse(tmp_path / "rebuilt.duckdb", registry).checksum() == wh.checksum()


def test_rebuild_refuses_an_event_kind_it_cannot_replay(copy, tmp_path):
    BREAKS["GBV-W022"](copy)
    out = tmp_path / "rebuilt.duckdb"
    result = CliRunner().invoke(app, ["rebuild", "--out", str(out), "--warehouse", str(copy.path),
                                      "--lang", "en"])
    assert result.exit_code == 1, result.output
    assert "cannot replay (period_locked; first: event 8)" in result.stderr
    assert not out.exists()


def test_rebuild_refuses_an_acceptance_that_replays_differently(copy, tmp_path):
    sql(copy, """UPDATE audit_log SET detail = '{"revision": 3, "supersedes": 1}' WHERE submission_id = 5""")
    out = tmp_path / "rebuilt.duckdb"
    with pytest.raises(StoreError, match=r"event 5 \(accepted\) does not replay as recorded: revision 2 "
                                         r"\(recorded 3\)"):
        copy.rebuild(out)
    assert not out.exists()
