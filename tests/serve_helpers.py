"""Helpers for the server tests: a seeded warehouse with one token per role, returns with and
without errors, an in-process client (FastAPI's TestClient) and a real server process."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from store_helpers import GBVSTATS, consistent_values, write_return

from gbvstats.schema.model import load_registry

FV_UNIT = "41707215000000"  # a Talas district: reports MOI-FV
OBLAST = "41707000000000"  # Talas oblast: reports the oblast-level forms


@dataclass
class Seed:
    """A warehouse with tokens, copied fresh for each test that changes it."""

    path: Path
    tokens: dict[str, str]  # name -> token
    ids: dict[str, int]

    def copy_to(self, folder: Path) -> Path:
        shutil.copytree(self.path.parent, folder, dirs_exist_ok=True)
        return folder / self.path.name


TOKENS = {  # name: (agency, label, role)
    "moi": ("MOI", "MoI statistics unit", "submitter"),
    "jd": ("JD", "JD statistics unit", "submitter"),
    "nsc": ("NSC", "NSC consolidation team", "reviewer"),
    "admin": ("NSC", "NSC administrator", "admin"),
    "gone": ("MOI", "Old MoI laptop", "submitter"),
}


def seed_warehouse(folder: Path) -> Seed:
    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(folder / "gbvstats.duckdb", load_registry())
    tokens, ids = {}, {}
    for name, (agency, label, role) in TOKENS.items():
        tokens[name], ids[name] = wh.create_token(agency, label, role, by="test")
    wh.revoke_token(str(ids["gone"]), by="test")
    return Seed(wh.path, tokens, ids)


def returns(folder: Path) -> dict[str, Path]:
    """good: MOI-FV 2024-Q1, no findings (q2: the next quarter); bad: the same return with
    line 01 off by 5 (one error, a Cyrillic file name); fixed: its correction (the values of
    good, another contact, so other bytes); jd: a JD return."""
    reg = load_registry()
    form = reg.get("MOI-FV")
    values = consistent_values(form, FV_UNIT, "2024-Q1")
    wrong = dict(values)
    total = ("T1", "01", 1)
    wrong[total] = wrong[total] + 5
    return {
        "good": write_return(folder / "moi-fv-2024-q1.xlsx", "MOI-FV", FV_UNIT, "2024-Q1"),
        "q2": write_return(folder / "moi-fv-2024-q2.xlsx", "MOI-FV", FV_UNIT, "2024-Q2"),
        "bad": write_return(folder / "МВД-отчёт-2024-Q1.xlsx", "MOI-FV", FV_UNIT, "2024-Q1", values=wrong),
        "fixed": write_return(folder / "МВД-отчёт-2024-Q1-испр.xlsx", "MOI-FV", FV_UNIT, "2024-Q1",
                              contact="Асанова Айгуль (исправлено)"),
        "jd": write_return(folder / "jd-cases-2024-q1.xlsx", "JD-CASES", OBLAST, "2024-Q1"),
    }


def https_client(app, **kw):
    """FastAPI's TestClient over HTTPS (a plain-HTTP test client counts as another machine)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's note on httpx2
        from starlette.testclient import TestClient

        return TestClient(app, base_url=kw.pop("base_url", "https://testserver"), **kw)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class ServerProcess:
    """`gbvstats serve` in a child process on a free loopback port."""

    def __init__(self, warehouse: Path, *args: str, env: dict | None = None):
        self.warehouse, self.args, self.env = Path(warehouse), args, env or {}
        self.folder = self.warehouse.parent
        self.url_file = self.folder / f"server-{os.getpid()}-{time.monotonic_ns()}.url"
        self.log_path = self.url_file.with_suffix(".log")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> ServerProcess:
        self.url_file.unlink(missing_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it
        self.proc = subprocess.Popen(
            [GBVSTATS, "serve", "--host", "127.0.0.1", "--port", "0", "--url-file", str(self.url_file),
             "--warehouse", str(self.warehouse), *self.args],
            stdout=log, stderr=log, env={**os.environ, "GBVSTATS_LANG": "en", **self.env})
        log.close()
        deadline = time.monotonic() + timeout
        while not self.url_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start:\n{self.log()}")
            time.sleep(0.1)
        return self

    @property
    def url(self) -> str:
        return self.url_file.read_text(encoding="utf-8").strip()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def client_cli(*args: str, token: str | None = None, env: dict | None = None, cwd: Path | None = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """The gbvstats command as an agency runs it (token in GBVSTATS_TOKEN unless given)."""
    extra = {"GBVSTATS_TOKEN": token} if token else {}
    full_env = {**os.environ, "GBVSTATS_LANG": "en", "COLUMNS": "200", **extra, **(env or {})}
    if not token and "GBVSTATS_TOKEN" not in (env or {}):
        full_env.pop("GBVSTATS_TOKEN", None)
    return subprocess.run([GBVSTATS, *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=cwd, check=False)


class ThreadServer:
    """The same server in a thread of the test process (uvicorn on a free loopback port):
    a real HTTP server without a process to start. Its access log is kept in `self.log`."""

    def __init__(self, warehouse: Path, **config):
        self.warehouse, self.config = Path(warehouse), config
        self.log = io.StringIO()

    def __enter__(self) -> ThreadServer:
        import logging

        import uvicorn

        from gbvstats.serve.app import ServeConfig, create_app

        app = create_app(ServeConfig(self.warehouse, **self.config))
        self._handler = logging.StreamHandler(self.log)
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).addHandler(self._handler)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="info",
                                                    lifespan="on", proxy_headers=False, log_config=None))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server thread did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        import logging

        self.server.should_exit = True
        self.thread.join(timeout=30)
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).removeHandler(self._handler)


def run_cli(*args: str, token: str | None = None, lang: str = "en", env: dict | None = None):
    """The gbvstats command in this process (typer's CliRunner): (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from gbvstats.cli import app

    full = {"GBVSTATS_LANG": lang, "COLUMNS": "200", "GBVSTATS_TOKEN": token, **(env or {})}
    result = CliRunner().invoke(app, list(args), env=full)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
