"""The server under load, on loopback only: concurrent `gbvstats submit --to` clients store
every file exactly once with no client error; a server killed (SIGKILL) during uploads loses
nothing it acknowledged (a receipt given means stored), and sending everything again after a
restart leaves every file stored exactly once. CI runs a short version; `make test-slow` the
issue's full 8 clients x 50 files and repeated kills."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from serve_helpers import ServerProcess, seed_warehouse
from store_helpers import GBVSTATS, districts, input_cells, write_return

from gbvstats.schema.model import load_registry
from gbvstats.store.warehouse import Warehouse

RECEIPT = re.compile(r"^(?P<file>\S+): (accepted( with \d+ warning\(s\))? as submission|"
                     r"already received as submission) (?P<id>\d+)")


def _write(args: tuple[str, str, str]) -> str:
    out, unit, period = args
    return str(write_return(Path(out), "MOI-FV", unit, period))


def distinct_returns(folder: Path, count: int) -> list[Path]:
    """`count` MOI-FV returns of distinct (district, quarter), 2021-2024, written in parallel."""
    units = districts(load_registry())
    keys = [(u, f"{y}-Q{q}") for y in (2024, 2023, 2022, 2021) for q in (1, 2, 3, 4) for u in units]
    jobs = [(str(folder / f"fv_{u}_{p}.xlsx"), u, p) for u, p in keys[:count]]
    assert len(jobs) == count
    with ProcessPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return [Path(p) for p in pool.map(_write, jobs)]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """pool(n): the first n of a set of distinct returns, written once."""
    folder = tmp_path_factory.mktemp("serve_load_returns")
    made: list[Path] = []

    def first(n: int) -> list[Path]:
        if len(made) < n:
            made[:] = distinct_returns(folder, n)
        return made[:n]

    return first


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return seed_warehouse(tmp_path_factory.mktemp("serve_load_seed"))


class ProcessClient:
    """A `gbvstats submit --to` process whose receipts are read as they are printed."""

    def __init__(self, files: list[Path], url: str, token: str):
        self.files = files
        self.proc = subprocess.Popen(
            [GBVSTATS, "submit", *map(str, files), "--to", url], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env={**os.environ, "GBVSTATS_TOKEN": token, "GBVSTATS_LANG": "en", "COLUMNS": "400"})
        self.acknowledged: list[tuple[str, int]] = []
        self._err: list[str] = []
        self._readers = [threading.Thread(target=self._read, daemon=True),
                         threading.Thread(target=lambda: self._err.extend(self.proc.stderr), daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            m = RECEIPT.match(line.strip())
            if m:
                self.acknowledged.append((m["file"], int(m["id"])))

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 600) -> int:
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        return self.proc.returncode


class ThreadClient:
    """The same client library (`gbvstats.collect.client.Remote`, what `submit --to` runs) in
    a thread of the test: concurrency without starting a Python process per client."""

    def __init__(self, files: list[Path], url: str, token: str):
        self.files, self.url, self.token = files, url, token
        self.acknowledged: list[tuple[str, int]] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from gbvstats.collect.client import ClientError, Remote

        with Remote(self.url, self.token) as remote:
            for path in self.files:
                try:
                    receipt, _ = remote.submit(path)
                except ClientError as exc:
                    self.errors.append(exc.message("en"))
                    return
                sid = receipt.submission_id or receipt.duplicate_of
                if sid is None:
                    self.errors.append(f"{path.name}: {receipt.outcome}")
                    return
                self.acknowledged.append((path.name, sid))

    @property
    def stderr(self) -> str:
        return "\n".join(self.errors)

    def alive(self) -> bool:
        return self.thread.is_alive()

    def wait(self, timeout: float = 600) -> int:
        self.thread.join(timeout=timeout)
        return 2 if self.errors else 0


def clients(files: list[Path], n: int, url: str, token: str, kind=ThreadClient) -> list:
    return [kind(files[i::n], url, token) for i in range(n)]


def stored(warehouse: Path) -> dict[str, int]:
    """file name -> submission id of every stored submission; each complete and archived."""
    wh = Warehouse(warehouse)
    subs = wh.query("SELECT s.submission_id, s.file_name, s.sha256, s.archive_path, count(c.line) AS n "
                    "FROM submissions s LEFT JOIN cells c USING (submission_id) GROUP BY ALL")
    expected_cells = input_cells(wh.reg.get("MOI-FV"))
    assert (subs["n"] == expected_cells).all(), subs[subs["n"] != expected_cells]
    assert subs["sha256"].is_unique and subs["file_name"].is_unique
    for rel in subs["archive_path"]:
        assert (wh.archive / rel).is_file(), rel
    accepted = wh.query("SELECT count(*) AS n FROM audit_log WHERE event = 'accepted'")["n"][0]
    assert accepted == len(subs)
    return dict(zip(subs["file_name"], subs["submission_id"], strict=True))


def concurrent_clients_store_every_file_once(files, n_clients, seed, tmp_path, kind=ThreadClient):
    warehouse = seed.copy_to(tmp_path / "wh")
    with ServerProcess(warehouse) as server:
        started = time.monotonic()
        running = clients(files, n_clients, server.url, seed.tokens["moi"], kind)
        codes = [c.wait() for c in running]
        seconds = time.monotonic() - started
    for c, code in zip(running, codes, strict=True):
        assert code == 0, c.stderr
        assert "Traceback" not in c.stderr and "error" not in c.stderr.lower(), c.stderr
        assert sorted(f for f, _ in c.acknowledged) == sorted(p.name for p in c.files)
    kept = stored(warehouse)
    assert sorted(kept) == sorted(p.name for p in files)
    acknowledged = {f: i for c in running for f, i in c.acknowledged}
    assert acknowledged == kept  # every receipt names the submission that holds the file
    assert sorted(kept.values()) == list(range(1, len(files) + 1))
    return seconds


def test_eight_clients_store_every_file_exactly_once(pool, seed, tmp_path):
    concurrent_clients_store_every_file_once(pool(8 * 5), 8, seed, tmp_path)


def test_eight_submit_commands_at_once(pool, seed, tmp_path):
    """The command itself, eight at once (a process each), a few files each."""
    concurrent_clients_store_every_file_once(pool(8 * 2), 8, seed, tmp_path, ProcessClient)


@pytest.mark.slow
def test_eight_clients_times_fifty_files(pool, seed, tmp_path):
    seconds = concurrent_clients_store_every_file_once(pool(8 * 50), 8, seed, tmp_path, ProcessClient)
    print(f"8 clients x 50 files: {400 / seconds:.1f} files/s")


def kill_during_uploads(files, n_clients, seed, tmp_path, kills: int = 1, kind=ThreadClient) -> None:
    warehouse = seed.copy_to(tmp_path / "wh")
    acknowledged: dict[str, int] = {}
    for round_ in range(kills):
        with ServerProcess(warehouse) as server:
            running = clients(files, n_clients, server.url, seed.tokens["moi"], kind)
            deadline = time.monotonic() + 300
            target = len(acknowledged) + max(3, len(files) // (3 * kills))
            while sum(len(c.acknowledged) for c in running) + len(acknowledged) < target:
                assert time.monotonic() < deadline, "no receipts came"
                if all(not c.alive() for c in running):
                    break
                time.sleep(0.01)
            server.kill()  # SIGKILL: no shutdown, uploads in flight
            cut = 0
            for c in running:
                cut += c.wait() != 0
                assert "Traceback" not in c.stderr, c.stderr
                acknowledged.update(dict(c.acknowledged))
            assert cut, "the server was killed after every upload: nothing was in flight"
        kept = stored(warehouse)
        lost = {f: i for f, i in acknowledged.items() if kept.get(f) != i}
        assert not lost, f"round {round_}: acknowledged but not stored: {lost}"
    # everything again after a restart: each file stored exactly once
    with ServerProcess(warehouse) as server:
        again = clients(files, n_clients, server.url, seed.tokens["moi"], kind)
        assert [c.wait() for c in again] == [0] * n_clients, [c.stderr for c in again]
    kept = stored(warehouse)
    assert sorted(kept) == sorted(p.name for p in files)
    assert all(kept[f] == i for f, i in acknowledged.items())


def test_a_killed_server_loses_nothing_it_acknowledged(pool, seed, tmp_path):
    kill_during_uploads(pool(8 * 5), 8, seed, tmp_path)


@pytest.mark.slow
def test_repeated_kills_during_eight_clients_times_fifty(pool, seed, tmp_path):
    kill_during_uploads(pool(8 * 50), 8, seed, tmp_path, kills=3, kind=ProcessClient)
