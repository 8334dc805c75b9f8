"""The publication folder appears whole or not at all.

`publish` writes every file into a staging folder beside the target
(`.<name>.publishing-<pid>`, same filesystem), then moves it into place with one rename
(an atomic exchange with the previous publication where Linux offers `renameat2`;
otherwise the previous one is first renamed aside). A publish killed at any instant
leaves the target as it was (the previous publication, or nothing) plus a hidden staging
folder, which the next publish to that target removes.

Files the user keeps are never deleted. The target must be new, empty, or a previous
publication (it has a `manifest.json`); in a previous publication, every entry its
manifest does not list (a report written beside the tables, earlier years' publications
in sub-folders, a note) is carried into the new folder before the swap, as hard links
(copies across file systems), so it is in place whichever folder a crash leaves. A
non-empty folder that is not a publication is refused.
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
    """Refuse a file, or a non-empty folder that is not a previous publication."""
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise PathProblem("not_dir", path=out)
    if not out.is_dir():
        check_parents(out)
        return
    present = sorted(p.name for p in out.iterdir())
    if present and not published_files(out):
        shown = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
        raise PathProblem("not_publication", path=out, found=shown)


def kept(out: Path) -> list[Path]:
    """Entries of a previous publication that its manifest does not list: kept as they are."""
    if not out.is_dir():
        return []
    ours = published_files(out)
    return [p for p in sorted(out.iterdir()) if p.name not in ours and not _ours_temporary(p.name)]


def _ours_temporary(name: str) -> bool:
    return name.startswith(".") and (".publishing-" in name or ".replaced-" in name)


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
    """Move the complete staging folder to `out`, replacing a previous publication (what
    its manifest does not list is carried over first)."""
    for written in stage.iterdir():  # on disk before the folder is renamed into place
        _fsync(written, os.O_RDONLY)
    if out.is_dir():
        try:
            check_target(out)
            carried = kept(out)
            clash = [p.name for p in carried if (stage / p.name).exists()]
            if clash:  # a file of the new publication has the name of one the user keeps there
                raise PathProblem("kept_clash", path=out, names=", ".join(clash))
            for entry in carried:
                _link_copy(entry, stage / entry.name)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)  # the target is untouched
            raise
    _fsync_dir(stage)
    if out.is_dir():
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


def _link_copy(src: Path, dst: Path) -> None:
    """`src` (a file or a folder) at `dst` too: hard links, or copies across file systems."""

    def link(a, b) -> None:
        try:
            os.link(a, b, follow_symlinks=False)
        except OSError:
            shutil.copy2(a, b, follow_symlinks=False)

    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=link)
    else:
        link(src, dst)


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
