"""Who holds the warehouse: one small record per process that reads, writes or waits.

Beside `<warehouse>.lock` the folder `<warehouse>.holders/` holds one JSON file per open
connection or waiting writer: `{"pid", "start", "role": "reader"|"writer", "state":
"holding"|"waiting", "command", "since", "deadline"}`. They serve two purposes:
- the busy message names who holds the warehouse (a gbvstats reader or writer, which
  command, its pid, since when; or a process that is not gbvstats, from DuckDB's own
  lock error);
- a reader sees that a writer is waiting and gives the file up in time (see
  `Warehouse.reader`), since a read-only DuckDB connection in another process keeps a
  writer from opening the file at all.
Records are advisory: written and removed on a best-effort basis (a read-only folder
just has none); those of dead processes are ignored and removed by whoever sees them
(and by `gbvstats fsck --repair`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

_counter = itertools.count(1)


def folder(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".holders")


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot): tells a pid from its reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int, start: int | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        pass
    if start is not None:
        now = _start_ticks(pid)
        return now is None or now == start
    return True


def command_line() -> str:
    """What this process is, as a user would recognise it: `gbvstats submit`."""
    argv = sys.argv or ["python"]
    if argv[0] in ("-c", "-m", ""):
        return f"python {argv[0]}".strip()
    name = Path(argv[0]).name
    if name in ("gbvstats", "__main__.py") and len(argv) > 1:
        sub = next((a for a in argv[1:] if not a.startswith("-")), "")
        return f"gbvstats {sub}".strip()
    return name or "python"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class Holder:
    pid: int
    role: str  # reader | writer
    state: str  # holding | waiting
    command: str
    since: str
    start: int | None = None
    deadline: float | None = None  # a waiting writer gives up at this time.time()
    waiting_since: float | None = None  # time.time() when it began to wait
    path: Path | None = None

    def is_alive(self) -> bool:
        return alive(self.pid, self.start)


class Record:
    """This process's record while it holds or waits; removed on exit of the block."""

    def __init__(self, warehouse: Path, role: str, state: str = "holding",
                 deadline: float | None = None):
        self.dir = folder(warehouse)
        self.path = self.dir / f"{os.getpid()}-{next(_counter)}.json"
        self.data = {"pid": os.getpid(), "start": _start_ticks(os.getpid()), "role": role,
                     "state": state, "command": command_line(), "since": _now(),
                     "deadline": deadline, "waiting_since": time.time() if state == "waiting" else None}
        self._write()

    def _write(self) -> None:
        text = json.dumps(self.data)
        for _ in range(3):  # another process may remove the (empty) folder in between
            try:
                self.dir.mkdir(exist_ok=True)
                self.path.write_text(text, encoding="utf-8")  # a reader seeing half of it skips it
                return
            except FileNotFoundError:
                continue
            except OSError:  # a read-only folder: no record, the lock still holds
                return

    def update(self, **changes) -> None:
        if changes.get("state") == "holding" and self.data["state"] != "holding":
            changes.setdefault("since", _now())
            changes.setdefault("waiting_since", None)
        self.data.update(changes)
        self._write()

    def close(self) -> None:
        with suppress(OSError):
            self.path.unlink()
        with suppress(OSError):
            self.dir.rmdir()  # only when empty

    def __enter__(self) -> Record:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def holders(warehouse: Path, clean: bool = True) -> list[Holder]:
    """Live records, oldest first; records of dead processes are removed when `clean`."""
    found = []
    directory = folder(warehouse)
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError:
        return []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            holder = Holder(**{k: data.get(k) for k in Holder.__dataclass_fields__ if k != "path"},
                            path=path)
        except (OSError, ValueError, TypeError):
            continue
        if holder.is_alive():
            found.append(holder)
        elif clean:
            with suppress(OSError):
                path.unlink()
    return sorted(found, key=lambda h: h.since)


def stale(warehouse: Path) -> list[Path]:
    """Records left by processes that no longer run (for fsck)."""
    out = []
    with suppress(OSError):
        for path in sorted(folder(warehouse).glob("*")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if not alive(int(data["pid"]), data.get("start")):
                    out.append(path)
            except (OSError, ValueError, TypeError, KeyError):
                with suppress(OSError):  # unreadable, and not being written just now
                    if time.time() - path.stat().st_mtime > 10:
                        out.append(path)
    return out


def waiting_writer(warehouse: Path) -> Holder | None:
    """The longest-waiting live writer, if any."""
    for h in holders(warehouse, clean=False):
        if h.role == "writer" and h.state == "waiting":
            return h
    return None


_PID = re.compile(r"\(PID (\d+)\)")


def pid_in(duckdb_message: str) -> int | None:
    """The process DuckDB names in its lock error ("Conflicting lock is held in ... (PID 123)")."""
    m = _PID.search(duckdb_message)
    return int(m[1]) if m else None


def process(pid: int) -> tuple[str, str | None]:
    """(program, started at) of any process, from /proc when it can be read."""
    program = ""
    with suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        program = Path(raw[0].decode(errors="replace")).name if raw and raw[0] else ""
        if program.startswith("python") and len(raw) > 1 and raw[1]:
            program += " " + Path(raw[1].decode(errors="replace")).name
    started = None
    ticks = _start_ticks(pid)
    if ticks is not None:
        with suppress(OSError, ValueError, IndexError):
            uptime = float(Path("/proc/uptime").read_text().split()[0])
            at = time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
            started = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return program, started


def record_of(warehouse: Path, pid: int) -> Holder | None:
    for h in holders(warehouse, clean=False):
        if h.pid == pid:
            return h
    return None


def as_dict(holder: Holder) -> dict:
    return {k: v for k, v in asdict(holder).items() if k != "path"}
