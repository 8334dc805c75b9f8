"""The publication folder appears whole or not at all: a publish killed or failing at any
moment leaves the previous publication (or nothing), never a partial folder."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from store_helpers import GBVSTATS, write_return

import gbvstats.publish.tables as tables
from gbvstats.consolidate.run import consolidate
from gbvstats.paths import PathProblem
from gbvstats.publish.tables import publish
from gbvstats.store.warehouse import Warehouse

UNIT = "41707215000000"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, registry) -> Path:
    root = tmp_path_factory.mktemp("pubfolder")
    wh = Warehouse(root / "wh" / "w.duckdb", registry)
    for q in ("2024-Q1", "2024-Q2"):
        wh.submit(write_return(root / f"fv_{q}.xlsx", "MOI-FV", UNIT, q), "MOI")
    consolidate(wh, 2024)
    return wh.path


def whole(out: Path) -> list[str]:
    """A complete publication: its manifest lists exactly the files present, all readable."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    listed = sorted(f["file"] for f in manifest["files"])
    assert sorted(p.name for p in out.iterdir()) == sorted([*listed, "manifest.json"])
    for name in listed:
        assert (out / name).stat().st_size > 0, name
    return listed


def hidden(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_publishing_again_replaces_the_folder_whole(warehouse, tmp_path):
    out = tmp_path / "published"
    first = publish(warehouse, 2024, out, ("en",))
    listed = whole(out)
    inode = out.stat().st_ino
    second = publish(warehouse, 2024, out, ("ru", "en"), threshold=3)
    assert whole(out) == listed and [p.name for p in first] == [p.name for p in second]
    assert json.loads((out / "manifest.json").read_text())["threshold"] == 3
    assert out.stat().st_ino != inode  # a new folder moved into place, not files rewritten in it
    assert hidden(tmp_path) == []


def test_a_publish_failing_midway_leaves_the_previous_one(warehouse, tmp_path, monkeypatch):
    out = tmp_path / "published"
    publish(warehouse, 2024, out, ("en",))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tables, "write_sdmx", broken)
    with pytest.raises(OSError):
        publish(warehouse, 2024, out, ("ru",), threshold=2)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    monkeypatch.undo()
    publish(warehouse, 2024, out, ("en",))  # the next publish clears what the failed one left
    assert hidden(tmp_path) == []


def test_killed_publishes_never_leave_a_partial_folder(warehouse, tmp_path):
    out = tmp_path / "published"
    rng = random.Random(12)
    for i in range(6):
        # (two returns only: the publication gate blocks, so publish provisionally)
        proc = subprocess.Popen([GBVSTATS, "publish", "--year", "2024", "--warehouse", str(warehouse),
                                 "--out", str(out), "--lang", "en", "--provisional"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if i % 2:  # wait until it is writing, then kill at a random moment
            deadline = time.monotonic() + 60
            while not [p for p in tmp_path.glob(".published.publishing-*") if any(p.iterdir())]:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        if out.exists():
            whole(out)
    done = subprocess.run([GBVSTATS, "publish", "--year", "2024", "--warehouse", str(warehouse),
                           "--out", str(out), "--lang", "en", "--provisional"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    whole(out)
    assert hidden(tmp_path) == []


def test_what_the_manifest_does_not_list_is_kept(warehouse, tmp_path):
    """A report beside the tables and an earlier year in a sub-folder (as `make demo`
    lays them out) survive a new publication; a name the new one would write is refused."""
    out = tmp_path / "published"
    publish(warehouse, 2024, out, ("en",))
    (out / "report_2024_en.html").write_text("<html>report</html>", encoding="utf-8")
    publish(warehouse, 2024, out / "2023", ("en",))  # a publication inside the publication
    (out / "notes").mkdir()
    (out / "notes" / "todo.txt").write_text("check Talas", encoding="utf-8")
    publish(warehouse, 2024, out, ("ru",))
    assert (out / "report_2024_en.html").read_text(encoding="utf-8") == "<html>report</html>"
    assert (out / "notes" / "todo.txt").read_text(encoding="utf-8") == "check Talas"
    whole(out / "2023")
    assert json.loads((out / "manifest.json").read_text())["languages"] == ["ru"]
    assert hidden(tmp_path) == [] and hidden(out) == []
    # the user's own file has the name of one the publication writes: refused, nothing changed
    (out / "manifest.json").write_text(json.dumps({**json.loads((out / "manifest.json").read_text()),
                                                    "files": []}), encoding="utf-8")
    before = sorted(p.name for p in out.iterdir())
    with pytest.raises(PathProblem, match="which the previous publication did not write"):
        publish(warehouse, 2024, out, ("en",))
    assert sorted(p.name for p in out.iterdir()) == before and hidden(tmp_path) == []
