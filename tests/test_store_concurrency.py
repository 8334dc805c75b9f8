"""The warehouse under concurrent writers and killed processes: every submission is whole
or absent, every file is stored exactly once, no raw DuckDB lock error reaches the user."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from store_helpers import PYTHON, cli, distinct_returns, input_cells, submit_process

from gbvstats.store.fsck import fsck
from gbvstats.store.warehouse import Warehouse

WRITERS = 4


@pytest.fixture(scope="session")
def returns(tmp_path_factory):
    """returns(n): the first n of a pool of distinct MOI-FV returns, written on demand once."""
    out = tmp_path_factory.mktemp("fv_returns")
    pool: list[Path] = []

    def first(n: int) -> list[Path]:
        if len(pool) < n:
            pool[:] = distinct_returns(out, n)  # same names and bytes: rewriting is harmless
        return pool[:n]

    return first


def check_whole(wh: Warehouse, expected_cells: int) -> int:
    """Every stored submission complete, every archived file it names present; the count."""
    subs = wh.query("SELECT s.submission_id, s.sha256, s.archive_path, count(c.line) AS n "
                    "FROM submissions s LEFT JOIN cells c USING (submission_id) GROUP BY ALL")
    assert (subs["n"] == expected_cells).all(), subs[subs["n"] != expected_cells]
    assert subs["sha256"].is_unique
    for rel in subs["archive_path"]:
        assert (wh.archive / rel).is_file(), rel
    audited = wh.query("SELECT count(*) AS n FROM audit_log WHERE event = 'accepted'")["n"][0]
    assert audited == len(subs)  # the audit row commits with its submission
    return len(subs)


def four_writers(files: list[Path], warehouse: Path, registry) -> None:
    per_writer = len(files) // WRITERS
    procs = [submit_process(files[i::WRITERS], warehouse) for i in range(WRITERS)]
    outputs = [p.communicate(timeout=240) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "lock" not in err.lower(), err
        assert out.count(": accepted as submission") == per_writer
    wh = Warehouse(warehouse, registry)
    assert check_whole(wh, input_cells(registry.get("MOI-FV"))) == len(files)
    assert sorted(wh.query("SELECT file_name FROM submissions")["file_name"]) == sorted(
        p.name for p in files)
    assert sorted(wh.query("SELECT submission_id FROM submissions")["submission_id"]) == list(
        range(1, len(files) + 1))


def test_four_writers_store_all_hundred_files_exactly_once(returns, tmp_path, registry):
    four_writers(returns(4 * 25), tmp_path / "w.duckdb", registry)


HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()  # until the test says so
con.close()
"""


def holder(warehouse: Path) -> subprocess.Popen:
    """A process holding the warehouse file open read-write: an analyst's DuckDB shell, say."""
    proc = subprocess.Popen([PYTHON, "-c", HOLDER, str(warehouse)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_duckdb_session_holding_the_file_delays_but_does_not_break_submit(returns, tmp_path, registry):
    warehouse = tmp_path / "w.duckdb"
    first, second = returns(2)
    Warehouse(warehouse, registry).submit(first, "MOI")
    shell = holder(warehouse)
    proc = submit_process([second], warehouse)
    assert "waiting for the warehouse" in proc.stderr.readline()
    shell.communicate("done\n", timeout=10)  # the analyst closes the session
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Could not set lock" not in err and "Traceback" not in err
    assert "accepted as submission 2" in out


def test_a_duckdb_session_holding_the_file_too_long_is_a_busy_error(returns, tmp_path, registry):
    warehouse = tmp_path / "w.duckdb"
    first, second = returns(2)
    Warehouse(warehouse, registry).submit(first, "MOI")
    shell = holder(warehouse)
    proc = submit_process([second], warehouse, env={"GBVSTATS_LOCK_TIMEOUT": "1.5"})
    out, err = proc.communicate(timeout=60)
    shell.communicate("done\n", timeout=10)
    assert proc.returncode == 1
    assert "error: the warehouse" in err and "is busy" in err
    assert f"process {shell.pid} (python" in err and "not a gbvstats command" in err
    assert "Could not set lock" not in err and "Traceback" not in err


def kill_loop(files: list[Path], warehouse: Path, kills: int, registry, seed: int) -> None:
    """Start submitting processes and SIGKILL each at a random moment of its work; after
    every kill the warehouse must open and hold only whole submissions."""
    rng = random.Random(seed)
    expected = input_cells(registry.get("MOI-FV"))
    done = 0
    for _ in range(kills):
        todo = rng.sample(files, len(files))
        proc = submit_process(todo, warehouse, env={"PYTHONUNBUFFERED": "1"})
        if rng.random() < 0.8:  # mostly mid-submission; sometimes while starting or migrating
            proc.stdout.readline()
        time.sleep(rng.uniform(0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        proc.stdout.close()
        proc.stderr.close()
        if warehouse.exists():
            done = check_whole(Warehouse(warehouse, registry), expected)
    assert 0 < done < len(files) * 2
    # what the kills left: whole submissions, and at most leftovers that --repair removes
    wh = Warehouse(warehouse, registry)
    report = fsck(wh)
    assert {f.code for f in report.problems} <= {"GBV-W026", "GBV-W027"}, report.problems
    referenced = set(wh.query("SELECT archive_path FROM submissions")["archive_path"])
    repair = cli("fsck", "--repair", "--warehouse", str(warehouse), "--lang", "en")
    assert repair.returncode == 0 and "sound" in repair.stdout, repair.stdout + repair.stderr
    assert all((wh.archive / rel).is_file() for rel in referenced)
    assert fsck(wh).findings == []
    finish = submit_process(files, warehouse)
    out, err = finish.communicate(timeout=300)
    assert finish.returncode == 0, err
    assert check_whole(wh, expected) == len(files)
    assert sorted(wh.query("SELECT file_name FROM submissions")["file_name"]) == sorted(p.name for p in files)
    assert fsck(wh).findings == []


def test_killed_submits_leave_a_consistent_warehouse(returns, tmp_path, registry):
    kill_loop(returns(100), tmp_path / "w.duckdb", kills=15, registry=registry, seed=2)


@pytest.mark.slow
def test_fifty_kills_leave_a_consistent_warehouse(returns, tmp_path, registry):
    kill_loop(returns(100), tmp_path / "w.duckdb", kills=50, registry=registry, seed=3)
