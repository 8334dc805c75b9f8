"""A defect of ours reaches the user as one line and exit code 2, never as a traceback."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from gbvstats.cli import common, main

@common.app.command("boom-test")
def boom() -> None:
    raise RuntimeError("kaboom")

sys.argv = ["gbvstats", "boom-test"]
main()
"""


def run(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if k != "GBVSTATS_DEBUG"} | env_extra
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env)


def test_an_unexpected_exception_is_one_line_and_exit_2():
    proc = run({"GBVSTATS_LANG": "ru"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: внутренняя ошибка (RuntimeError: kaboom)")


def test_gbvstats_debug_shows_the_traceback():
    proc = run({"GBVSTATS_DEBUG": "1", "GBVSTATS_LANG": "en"})
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "kaboom" in proc.stderr
