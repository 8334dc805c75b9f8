"""Readers and writers, in real processes: an analyst's long query never makes a submission
fail, `sql` stops at its timeout, and a busy warehouse says who holds it."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from store_helpers import GBVSTATS, PYTHON, cli, submit_process
from test_store_concurrency import returns  # noqa: F401 (the session pool of returns)

from gbvstats.store import holders
from gbvstats.store.warehouse import Warehouse

ENDLESS = "SELECT count(*) FROM range(100000000000) a WHERE a.range % 7 = 3"


def sql_process(warehouse: Path, query: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    import os

    return subprocess.Popen([GBVSTATS, "sql", query, "--warehouse", str(warehouse), "--lang", "en", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def wait_for_holder(warehouse: Path, pid: int, role: str, state: str = "holding",
                    seconds: float = 60) -> holders.Holder:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for h in holders.holders(warehouse):
            if h.pid == pid and h.role == role and h.state == state:
                return h
        time.sleep(0.05)
    raise AssertionError(f"no {role} record of pid {pid}")


@pytest.fixture
def warehouse(returns, tmp_path, registry):  # noqa: F811
    path = tmp_path / "w.duckdb"
    Warehouse(path, registry).submit(returns(1)[0], "MOI")
    return path


# endless while the warehouse holds one submission; ten rows once a second has come
UNTIL_SECOND = ("SELECT count(*) AS n FROM (SELECT count(*) AS k FROM submissions) s, LATERAL "
                "(SELECT * FROM range(CASE WHEN s.k = 1 THEN 100000000000 ELSE 10 END)) r")


def test_a_long_query_gives_way_to_a_submission_then_runs_again(returns, warehouse):  # noqa: F811
    """The query would never end while it holds the file; the submission's wait is 4 s.
    The reader gives way after half of it, the submission is stored, and the query runs
    again on the warehouse as the writer left it."""
    query = sql_process(warehouse, UNTIL_SECOND, "--csv", "--timeout", "0")
    wait_for_holder(warehouse, query.pid, "reader")
    submit = submit_process([returns(2)[1]], warehouse, env={"GBVSTATS_LOCK_TIMEOUT": "4"})
    out, err = submit.communicate(timeout=120)
    assert submit.returncode == 0 and "accepted as submission 2" in out, err
    assert "busy" not in err and "Traceback" not in err
    q_out, q_err = query.communicate(timeout=120)
    assert query.returncode == 0, q_err
    assert "paused to let `gbvstats submit` (writing, pid" in q_err
    assert q_out.splitlines() == ["n", "10"]


def test_sql_stops_at_its_timeout(warehouse):
    started = time.monotonic()
    run = cli("sql", ENDLESS, "--timeout", "1", "--warehouse", str(warehouse), "--lang", "en")
    assert run.returncode == 1, run.stderr
    assert "the query ran for more than 1 s and was stopped" in run.stderr
    assert "Traceback" not in run.stderr
    assert time.monotonic() - started < 30
    env_run = cli("sql", ENDLESS, "--warehouse", str(warehouse), "--lang", "ru",
                  env={"GBVSTATS_SQL_TIMEOUT": "0.5"})
    assert env_run.returncode == 1 and "дольше 0.5 с" in env_run.stderr
    assert not holders.holders(warehouse)  # records go with their processes


def test_sql_timeout_zero_means_no_limit(warehouse, registry):
    frame = Warehouse(warehouse, registry).query("SELECT count(*) AS n FROM range(1000)", timeout=0)
    assert frame["n"].tolist() == [1000]
    bad = cli("sql", "SELECT 1", "--timeout", "-1", "--warehouse", str(warehouse))
    assert bad.returncode == 2


HOLD = """
import sys
from gbvstats.store.warehouse import Warehouse
wh = Warehouse(sys.argv[1])
with getattr(wh, sys.argv[2])() as con:
    print("holding", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize(("role", "word"), [("writer", "writing"), ("reader", "reading")])
def test_busy_names_the_gbvstats_holder(returns, warehouse, role, word):  # noqa: F811
    """An idle gbvstats connection cannot be interrupted: the writer's error says who it is."""
    holder = subprocess.Popen([PYTHON, "-c", HOLD, str(warehouse), role], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    try:
        proc = submit_process([returns(2)[1]], warehouse, env={"GBVSTATS_LOCK_TIMEOUT": "1.5"})
        out, err = proc.communicate(timeout=60)
    finally:
        holder.communicate("done\n", timeout=30)
    assert proc.returncode == 1, out + err
    assert f"`python -c` ({word}, pid {holder.pid}, since " in err, err
    assert "waiting for the warehouse, in use by `python -c`" in err
    assert "has held it for more than 1.5 s" in err and "Traceback" not in err


EXTERNAL = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
print("holding", flush=True)
sys.stdin.readline()
"""


def test_busy_names_a_process_that_is_not_gbvstats(returns, warehouse):  # noqa: F811
    """An analyst's read-only DuckDB session (test_store_concurrency has the read-write one)."""
    shell = subprocess.Popen([PYTHON, "-c", EXTERNAL, str(warehouse), "ro"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert shell.stdout.readline().strip() == "holding"
    try:
        proc = submit_process([returns(2)[1]], warehouse, env={"GBVSTATS_LOCK_TIMEOUT": "1.5"})
        out, err = proc.communicate(timeout=60)
    finally:
        shell.communicate("done\n", timeout=30)
    assert proc.returncode == 1
    assert f"process {shell.pid} (python" in err and "which is not a gbvstats command" in err, err
    assert "Could not set lock" not in err and "Traceback" not in err


def test_holder_records_of_dead_processes_are_ignored_and_removed(warehouse):
    folder = holders.folder(warehouse)
    folder.mkdir(exist_ok=True)
    dead = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    record = {"pid": int(dead.stdout), "role": "writer", "state": "waiting", "command": "gbvstats submit",
              "since": "2024-01-01 00:00:00 UTC", "start": None, "deadline": time.time() + 999,
              "waiting_since": time.time()}
    (folder / f"{dead.stdout.strip()}-1.json").write_text(json.dumps(record), encoding="utf-8")
    assert holders.stale(warehouse)
    assert holders.waiting_writer(warehouse) is None  # a dead writer is not waited for
    assert holders.holders(warehouse) == [] and not holders.stale(warehouse)
