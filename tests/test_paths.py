"""Every command's path options, table-driven: a directory where a file is expected and the
reverse, a device or pipe, a parent that is a file, a missing parent, no permission. Each
bad path exits 2 with a message naming it, prints no traceback and creates nothing (no
`.lock`, archive or holder folder beside what is not a warehouse); missing parents of
outputs are created."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from store_helpers import write_return
from typer.testing import CliRunner

from gbvstats.cli import app
from gbvstats.consolidate.run import consolidate
from gbvstats.store.warehouse import Warehouse

UNIT = "41707215000000"
ROOT = os.geteuid() == 0  # root ignores permission bits: those rows use /sys instead


def _unwritable(folder: str) -> bool:
    """True when nobody, root included, can create anything in `folder` (Linux /sys)."""
    try:
        os.mkdir(Path(folder) / "gbvstats-probe")
    except OSError:
        return Path(folder).is_dir()
    os.rmdir(Path(folder) / "gbvstats-probe")
    return False


SYS = _unwritable("/sys")


@pytest.fixture(scope="module")
def place(tmp_path_factory, registry):
    """A folder with a warehouse, a return, a plain file, a folder, a pipe."""
    root = tmp_path_factory.mktemp("paths")
    ret = write_return(root / "fv.xlsx", "MOI-FV", UNIT, "2024-Q1")
    wh = root / "wh" / "w.duckdb"
    Warehouse(wh, registry).submit(ret, "MOI")
    consolidate(Warehouse(wh, registry), 2024)  # so that publish has tables to write
    (root / "plain.txt").write_text("not a warehouse", encoding="utf-8")
    (root / "folder").mkdir()
    (root / "folder" / "keep.txt").write_text("the user's own file", encoding="utf-8")
    os.mkfifo(root / "pipe")
    return root


def fill(arg: str, root: Path) -> str:
    return arg.format(tmp=root, ret=root / "fv.xlsx", file=root / "plain.txt", dir=root / "folder",
                      fifo=root / "pipe", wh=root / "wh" / "w.duckdb")


def snapshot(root: Path) -> dict[str, bytes | None]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.endswith((".wal", ".lock")) and p.parent.name != "archive":
            out[str(p.relative_to(root))] = p.read_bytes() if p.stat().st_size < 10**7 else b""
        elif not p.is_file():
            out[str(p.relative_to(root))] = None
    return out


def invoke(args: list[str]):
    result = CliRunner().invoke(app, args, env={"GBVSTATS_LANG": "en", "GBVSTATS_LOCK_TIMEOUT": "5"})
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result, output


WAREHOUSE_COMMANDS = {
    "status": ["status"],
    "history": ["history", "--form", "MOI-FV", "--unit", UNIT, "--period", "2024-Q1"],
    "sql": ["sql", "SELECT 1"],
    "checksum": ["checksum"],
    "dictionary": ["dictionary"],
    "completeness": ["completeness", "--year", "2024"],
    "reconcile": ["reconcile", "--year", "2024"],
    "consolidate": ["consolidate", "--year", "2024"],
    "trace": ["trace", "ind01_family_violence", "--year", "2024"],
    "publish": ["publish", "--year", "2024", "--out", "{tmp}/never_published"],
    "submit": ["submit", "{ret}", "--agency", "MOI"],
    "explain": ["explain", "1", "MOI-FV2-09", "--text", "x"],
    "rebuild": ["rebuild", "--out", "{tmp}/never_rebuilt.duckdb"],
    "fsck": ["fsck"],
}
NOT_A_WAREHOUSE = {
    "a directory": ("{dir}", ("is a directory, not a warehouse file",)),
    "a pipe": ("{fifo}", ("is not a gbvstats warehouse",)),
    "a plain file": ("{file}", ("is not a gbvstats warehouse",)),
    "a workbook": ("{ret}", ("is not a gbvstats warehouse",)),
    "below a file": ("{file}/w.duckdb", ("no warehouse at", "is not a directory", "Not a directory")),
}


@pytest.mark.parametrize("case", NOT_A_WAREHOUSE)
@pytest.mark.parametrize("command", WAREHOUSE_COMMANDS)
def test_warehouse_option_that_is_not_a_warehouse(place, command, case):
    path, expected = NOT_A_WAREHOUSE[case]
    before = snapshot(place)
    result, output = invoke([*(fill(a, place) for a in WAREHOUSE_COMMANDS[command]),
                             "--warehouse", fill(path, place)])
    assert result.exit_code == 2, output
    assert any(e in output for e in expected), output
    assert fill(path, place).split("/w.duckdb")[0] in output or "w.duckdb" in output
    assert snapshot(place) == before  # no .lock, archive/ or .holders beside it; nothing written


@pytest.mark.parametrize("command", [c for c in WAREHOUSE_COMMANDS if c != "submit"])
def test_a_missing_warehouse_is_not_created_by_a_reader(place, command):
    before = snapshot(place)
    result, output = invoke([*(fill(a, place) for a in WAREHOUSE_COMMANDS[command]),
                             "--warehouse", str(place / "nowhere" / "w.duckdb")])
    assert result.exit_code == 2 and "no warehouse at" in output, output
    assert snapshot(place) == before


OUTPUTS = {
    "template": ["template", "MOI-FV", "--period", "2024-Q1", "--unit", UNIT, "-o", "{out}"],
    "dictionary": ["dictionary", "--warehouse", "{wh}", "--out", "{out}"],
    "feedback": ["validate", "{ret}", "--feedback", "{out}"],
    "rebuild": ["rebuild", "--warehouse", "{wh}", "--out", "{out}"],
    # (the fixture is one return: the publication gate blocks it, so publish provisionally)
    "publish": ["publish", "--year", "2024", "--warehouse", "{wh}", "--out", "{out}", "--provisional"],
    "forms build": ["forms", "build", "--out", "{out}"],
    "demo generate": ["demo", "generate", "--years", "2024", "--out", "{out}"],
}
FILE_OUTPUTS = ("template", "dictionary", "feedback", "rebuild")
DIR_OUTPUTS = ("publish", "forms build", "demo generate")
# (command, output path, expected words); every one exits 2 and leaves everything as it was
BAD_OUTPUTS = [
    *[(c, "{dir}", ("is a directory", "exists")) for c in ("template", "dictionary", "rebuild")],
    *[(c, "{file}", ("is a file; give a directory",)) for c in DIR_OUTPUTS],
    *[(c, "{file}/out.xlsx", ("plain.txt is a file, not a directory", "Not a directory"))
      for c in FILE_OUTPUTS],
    *[(c, "{file}/out", ("plain.txt is a file, not a directory",)) for c in DIR_OUTPUTS],
    ("template", "{fifo}", ("is not a regular file",)),
    ("dictionary", "{fifo}", ("is not a regular file",)),
    ("feedback", "{fifo}", ("is a file; give a directory",)),
    ("template", "{ret}", ("exists; add --force",)),
    ("rebuild", "{file}", ("exists; rebuild writes a new warehouse",)),
    ("feedback", "{ret}", ("is one of the workbooks being checked",)),
    ("publish", "{dir}", ("not a gbvstats publication (no manifest.json) and holds files (keep.txt)",)),
]
if SYS:  # a folder nobody may write into, root included
    BAD_OUTPUTS += [(c, "/sys/gbvstats-test/out.xlsx", ("cannot create", "/sys/gbvstats-test"))
                    for c in FILE_OUTPUTS]
    BAD_OUTPUTS += [(c, "/sys/gbvstats-test", ("cannot create", "/sys/gbvstats-test")) for c in DIR_OUTPUTS]
    BAD_OUTPUTS += [(c, "/sys/gbvstats-test.xlsx", ("cannot write /sys/gbvstats-test.xlsx",
                                                    "cannot create", "/sys"))
                    for c in ("template", "feedback")]


@pytest.mark.parametrize(("command", "out", "expected"), BAD_OUTPUTS,
                         ids=[f"{c}:{o}" for c, o, _ in BAD_OUTPUTS])
def test_bad_output_paths(place, command, out, expected):
    before = snapshot(place)
    target = fill(out, place)
    result, output = invoke([a.replace("{out}", target) if a == "{out}" else fill(a, place)
                             for a in OUTPUTS[command]])
    assert result.exit_code == 2, output
    assert any(e in output for e in expected), output
    assert snapshot(place) == before
    assert not Path("/sys/gbvstats-test").exists()


@pytest.mark.skipif(ROOT, reason="root writes whatever the permission bits say")
@pytest.mark.parametrize("command", list(OUTPUTS))
def test_an_output_folder_without_write_permission(place, tmp_path, command):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        out = locked / ("out.xlsx" if command in FILE_OUTPUTS else "out")
        result, output = invoke([str(out) if a == "{out}" else fill(a, place) for a in OUTPUTS[command]])
    finally:
        locked.chmod(0o755)
    assert result.exit_code == 2, output
    assert str(locked) in output and "ermission denied" in output
    assert list(locked.iterdir()) == []


@pytest.mark.skipif(ROOT, reason="root reads whatever the permission bits say")
def test_a_warehouse_without_read_permission(place, tmp_path):
    import shutil

    copy = tmp_path / "w.duckdb"
    shutil.copy(place / "wh" / "w.duckdb", copy)
    copy.chmod(0)
    try:
        result, output = invoke(["status", "--warehouse", str(copy)])
    finally:
        copy.chmod(0o644)
    assert result.exit_code == 2 and "cannot open the warehouse" in output, output


@pytest.mark.parametrize("command", ["template", "dictionary", "feedback", "rebuild", "forms build",
                                     "publish"])
def test_missing_parents_of_an_output_are_created(place, tmp_path, command):
    out = tmp_path / "new" / "deeper" / ("out.xlsx" if command in FILE_OUTPUTS else "out")
    if command == "rebuild":
        out = out.with_suffix(".duckdb")
    result, output = invoke([str(out) if a == "{out}" else fill(a, place) for a in OUTPUTS[command]])
    assert result.exit_code in (0, 1), output  # validate exits 1 when the return has errors
    assert out.exists()


def test_template_overwrites_only_with_force(place, tmp_path):
    out = tmp_path / "t.xlsx"
    out.write_bytes(b"the agency's filled return")
    args = ["template", "MOI-FV", "--period", "2024-Q1", "--unit", UNIT, "-o", str(out)]
    result, output = invoke(args)
    assert result.exit_code == 2 and out.read_bytes() == b"the agency's filled return"
    result, output = invoke([*args, "--force"])
    assert result.exit_code == 0, output
    assert out.read_bytes()[:2] == b"PK"


def test_no_lock_beside_dev_null():
    """The original report: `--warehouse /dev/null` created /dev/null.lock."""
    existed = Path("/dev/null.lock").exists()
    result, output = invoke(["submit", "nothing.xlsx", "--agency", "MOI", "--warehouse", "/dev/null"])
    assert result.exit_code == 2 and "is not a gbvstats warehouse" in output
    assert Path("/dev/null.lock").exists() == existed
    assert not Path("/dev/null.holders").exists()
