"""The publication folder appears whole or not at all.

`publish` writes every file into a staging folder beside the target
(`.<name>.publishing-<pid>`, same filesystem), then moves it into place with one rename
(an atomic exchange with the previous publication where Linux offers `renameat2`;
otherwise the previous one is first renamed aside). A publish killed at any instant
leaves the target as it was (the previous publication, or nothing) plus a hidden staging
folder, which the next publish to that target removes. Files the user keeps in a folder
are never deleted: publish replaces only an empty folder or a previous publication (a
`manifest.json` listing every file present).
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
from contextlib import suppress
from pathlib import Path

from gbvstats.paths import PathProblem, check_parents, output_dir
from gbvstats.store.holders import alive

STAGING = ".{name}.publishing-{pid}"
REPLACED = ".{name}.replaced-{pid}"


def check_target(out: Path) -> None:
    """Refuse a file, or a folder holding anything but a previous publication."""
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise PathProblem("not_dir", path=out)
    if not out.is_dir():
        check_parents(out)
        return
    present = sorted(p.name for p in out.iterdir())
    if not present:
        return
    ours = published_files(out)
    foreign = [name for name in present if name not in ours]
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise PathProblem("not_publication", path=out, found=shown)


def published_files(out: Path) -> set[str]:
    """The files a previous publication in `out` wrote (its manifest and what it lists)."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        return {"manifest.json", *(f["file"] for f in manifest["files"])}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def staging(out: Path) -> Path:
    """A fresh, empty staging folder beside `out`; stale ones of killed publishes removed."""
    check_target(out)
    output_dir(out.parent)
    for old in out.parent.glob(f".{out.name}.publishing-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not alive(int(pid)) or int(pid) == os.getpid():
            shutil.rmtree(old, ignore_errors=True)
    for old in out.parent.glob(f".{out.name}.replaced-*"):
        shutil.rmtree(old, ignore_errors=True)
    path = out.parent / STAGING.format(name=out.name, pid=os.getpid())
    try:
        path.mkdir()
    except OSError as exc:
        raise PathProblem("cannot_create", path=path, reason=exc.strerror or exc) from None
    return path


def into_place(stage: Path, out: Path) -> None:
    """Move the complete staging folder to `out`, replacing a previous publication."""
    for written in stage.iterdir():  # on disk before the folder is renamed into place
        _fsync(written, os.O_RDONLY)
    _fsync_dir(stage)
    if out.is_dir():
        check_target(out)  # still only ours (nothing was added meanwhile)
        if not _exchange(stage, out):  # else `stage` now holds the previous publication
            aside = out.parent / REPLACED.format(name=out.name, pid=os.getpid())
            os.rename(out, aside)
            os.rename(stage, out)
            stage = aside
        _fsync_dir(out.parent)
        shutil.rmtree(stage, ignore_errors=True)
    else:
        os.rename(stage, out)
        _fsync_dir(out.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def _fsync_dir(path: Path) -> None:
    _fsync(path, os.O_RDONLY)


def _fsync(path: Path, flags: int) -> None:
    with suppress(OSError):
        fd = os.open(path, flags)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
