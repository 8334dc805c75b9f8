"""The README is the manual: every `$ ` command in it runs, in order, in a scratch folder
holding a small demo (Talas oblast, 2024) and its own warehouse.

A command's expected exit code is 0 unless its line ends with `# exit N`. No command may
print a traceback.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gbvstats.demo.generate import generate

ROOT = Path(__file__).resolve().parent.parent
TALAS = "41707000000000"
COMMAND = re.compile(r"^\$ (.+?)\s*(?:#\s*exit (\d))?\s*$")


def readme_commands() -> list[tuple[str, int]]:
    out = []
    in_console = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_console = line.strip() == "```console" and not in_console
            continue
        m = COMMAND.match(line) if in_console else None
        if m:
            out.append((m[1], int(m[2] or 0)))
    return out


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("readme")
    generate([2024], root / "demo", 2018, registry, oblasts=[TALAS], defects=False)
    return root


def test_readme_has_commands():
    commands = [c for c, _ in readme_commands()]
    assert len(commands) >= 25
    assert any(c.startswith("gbvstats submit") for c in commands)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_stopped(scratch):
    """The README starts `gbvstats serve` in the background and stops it; if a command
    fails between the two, stop it here (by the pid it wrote)."""
    yield
    pid_file = scratch / "server.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def test_readme_commands_run(scratch, server_stopped):
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "GBVSTATS_WAREHOUSE": str(scratch / "wh" / "gbvstats.duckdb"),
           "GBVSTATS_LANG": "en", "COLUMNS": "160"}
    env.pop("GBVSTATS_TOKEN", None)
    assert shutil.which("gbvstats", path=env["PATH"])
    port = str(free_port())  # the README's server port, 8765, may be taken on this machine
    for command, expected in readme_commands():
        command = command.replace("8765", port)
        run = subprocess.run(["bash", "-c", command], cwd=scratch, env=env, capture_output=True,
                             text=True, timeout=300)
        output = run.stdout + run.stderr
        assert "Traceback" not in output, f"{command}\n{output[-3000:]}"
        assert run.returncode == expected, f"{command}: exit {run.returncode}\n{output[-3000:]}"
