"""Helpers for the release tests: a small warehouse of real returns (two districts of two
oblasts), file hashes of a folder, and waiting for the clock to move on."""

from __future__ import annotations

import hashlib
import shutil
import time
from datetime import datetime
from pathlib import Path

from store_helpers import write_return

from gbvstats.schema.model import Registry

TALAS_DISTRICT = "41707215000000"


def other_district(reg: Registry, not_oblast: str = "41707000000000") -> str:
    """A district of another oblast than Talas."""
    for c in reg.territories().codes:
        if getattr(c, "level", "") == "district" and reg.oblast_of(c.code) != not_oblast:
            return c.code
    raise AssertionError("no district outside Talas oblast")


def returns(folder: Path, reg: Registry) -> dict[str, Path]:
    """MOI-FV returns of 2024: Q1 and Q2 of a Talas district, Q1 of a district elsewhere,
    and a corrected Q1 of the Talas district (other figures)."""
    other = other_district(reg)
    return {
        "talas_q1": write_return(folder / "talas_q1.xlsx", "MOI-FV", TALAS_DISTRICT, "2024-Q1"),
        "talas_q2": write_return(folder / "talas_q2.xlsx", "MOI-FV", TALAS_DISTRICT, "2024-Q2"),
        "other_q1": write_return(folder / "other_q1.xlsx", "MOI-FV", other, "2024-Q1", seed=3),
        "talas_q1_fix": write_return(folder / "talas_q1_fix.xlsx", "MOI-FV", TALAS_DISTRICT, "2024-Q1",
                                     seed=11),
    }


def hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file of a folder, by name."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).iterdir()) if p.is_file()}


def next_second(after: datetime | None = None) -> None:
    """Sleep until the clock's second (UTC) is past `after`'s (a naive UTC time; default
    now): what openpyxl or a zip dates next cannot share that second."""
    from datetime import UTC

    start = after.replace(tzinfo=UTC).timestamp() if after else time.time()
    target = int(start) + 1
    while time.time() < target + 0.05:
        time.sleep(0.05)


def start_of_a_second() -> None:
    """Sleep until a second has just begun, so what follows quickly shares it."""
    while time.time() % 1 > 0.05:
        time.sleep(0.01)


def copy_warehouse(wh_path: Path, to: Path) -> Path:
    """A copy of a warehouse file and its archive, in `to`."""
    to.mkdir(parents=True, exist_ok=True)
    shutil.copy2(wh_path, to / wh_path.name)
    shutil.copytree(wh_path.parent / "archive", to / "archive")
    return to / wh_path.name
