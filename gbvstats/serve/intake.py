"""Uploads: spooled to disk, validated in batches outside the writer lock, stored through
the warehouse's chunked write path.

A validating thread takes whatever uploads are waiting (up to a chunk) and checks them
together with the same code as `gbvstats validate` (one rule query for the batch); a storing
thread writes the ones that are submissions in one transaction (`Warehouse.store_reports`)
while the next batch is being checked. Each request waits for its own receipt; a receipt is
sent only after its chunk is committed.
Refused uploads are kept in `<warehouse dir>/refused/` so that their marked workbook can
be downloaded later (the warehouse itself stores nothing of them but the audit row).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gbvstats.store.warehouse import BATCH

if TYPE_CHECKING:
    from gbvstats.serve.auth import Identity
    from gbvstats.store.warehouse import Warehouse

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def safe_name(name: str | None) -> str:
    """The client's file name as a plain base name: no directories, no control characters,
    at most 120 characters (the suffix kept); `upload.xlsx` when nothing is left."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE.sub("_", base).strip(" .")
    if not base:
        return "upload.xlsx"
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem:
        return base[:120]
    return f"{stem[:110]}.{suffix[:8]}"


@dataclass
class Spooled:
    """An upload on disk: `path` is `<spool>/<random>/<safe client name>`, so the name
    the warehouse records is the client's."""

    path: Path
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


async def spool(upload, spool_dir: Path, chunk: int = 64 * 1024) -> Spooled:
    """Copy an uploaded file (Starlette UploadFile) to its own spool folder, hashing it."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="up-", dir=spool_dir))
    path = folder / safe_name(upload.filename)
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "wb") as out:
            while True:
                data = await upload.read(chunk)
                if not data:
                    break
                digest.update(data)
                size += len(data)
                out.write(data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Spooled(path, digest.hexdigest(), size)


@dataclass
class Job:
    upload: Spooled
    identity: Identity
    dry: bool  # validate only
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(
        tzinfo=None, microsecond=0))
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


class Intake:
    """Two worker threads in a pipeline: one validates whatever uploads are waiting (up to
    a chunk, one rule query), the other stores the validated ones (one transaction), so the
    next chunk is checked while the last one is written."""

    def __init__(self, wh: Warehouse, refused: RefusedFiles, batch: int = BATCH):
        self.wh, self.refused, self.batch = wh, refused, batch
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._checked: queue.Queue[list | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self.batches = 0  # chunks stored, for the tests and the bench

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._validate_loop, name="gbvstats-validate", daemon=True),
                         threading.Thread(target=self._store_loop, name="gbvstats-store", daemon=True)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        if self._threads:
            self._jobs.put(None)  # the validator passes it on to the storer once done
            for thread in self._threads:
                thread.join(timeout=60)
            self._threads = []

    def put(self, job: Job) -> concurrent.futures.Future:
        self._jobs.put(job)
        return job.future

    @staticmethod
    def _drain(q: queue.Queue, first, limit: int, size=lambda item: 1) -> tuple[list, bool]:
        """`first` and whatever else is waiting, up to `limit`; and whether the stop mark came."""
        items, count = [first], size(first)
        while count < limit:
            try:
                nxt = q.get_nowait()
            except queue.Empty:
                return items, False
            if nxt is None:
                return items, True
            items.append(nxt)
            count += size(nxt)
        return items, False

    def _validate_loop(self) -> None:
        from gbvstats.check.validate import validate_files

        while True:
            job = self._jobs.get()
            if job is None:
                break
            jobs, stop = self._drain(self._jobs, job, self.batch)
            try:
                reports = validate_files([j.upload.path for j in jobs], self.wh.reg)
            except BaseException as exc:  # noqa: BLE001 - each request gets the failure
                for j in jobs:
                    _settle(j.future, exc=exc)
                reports = None
            if reports is not None:
                stored = []
                for j, report in zip(jobs, reports, strict=True):
                    if j.dry:
                        _settle(j.future, (None, report))
                    else:
                        stored.append((j, report))
                if stored:
                    self._checked.put(stored)
            if stop:
                break
        self._checked.put(None)

    def _store_loop(self) -> None:
        while True:
            first = self._checked.get()
            if first is None:
                return
            chunks, stop = self._drain(self._checked, first, self.batch, size=len)
            stored = [entry for chunk in chunks for entry in chunk]
            self._store(stored)
            self.batches += 1
            if stop:
                return

    def _store(self, stored: list) -> None:
        try:
            receipts = self.wh.store_reports(
                [(j.upload.path, j.identity.agency, j.identity.label, j.received_at,
                  j.identity.token_id, report) for j, report in stored])
        except BaseException as exc:  # noqa: BLE001
            for j, _ in stored:
                _settle(j.future, exc=exc)
            return
        for (j, report), receipt in zip(stored, receipts, strict=True):
            if receipt.outcome in ("rejected", "locked", "refused_agency"):  # not unreadable ones
                self.refused.keep(j.upload.path, receipt.sha256)
            _settle(j.future, (receipt, report))


def _settle(future: concurrent.futures.Future, result=None, exc: BaseException | None = None) -> None:
    """Give a request its answer, unless it gave up waiting (cancelled): the work is done
    and stays done (a stored file is found again by its hash), the worker goes on."""
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except concurrent.futures.InvalidStateError:
        pass


class RefusedFiles:
    """Bytes of refused uploads (with errors, of another agency, in a locked period: not the
    unreadable ones), by SHA-256, for the marked workbook of an attempt; pruned after
    `keep_days`. Not part of the warehouse: a rebuild ignores them."""

    def __init__(self, root: Path, keep_days: float = 90.0):
        self.root, self.keep_days = root, keep_days
        self._pruned = 0.0

    def path(self, sha256: str, suffix: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}{suffix.lower()}"

    def find(self, sha256: str) -> Path | None:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
            return None
        for suffix in SUFFIXES:
            candidate = self.path(sha256, suffix)
            if candidate.is_file():
                return candidate
        return None

    def keep(self, source: Path, sha256: str) -> None:
        suffix = source.suffix.lower() if source.suffix.lower() in SUFFIXES else ".xlsx"
        target = self.path(sha256, suffix)
        try:
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)
            self.prune()
        except OSError:
            pass  # only the marked copy of this attempt is lost; its findings stay in the audit log

    def prune(self) -> None:
        now = time.time()
        if now - self._pruned < 3600:
            return
        self._pruned = now
        limit = now - self.keep_days * 86400
        for path in self.root.glob("*/*"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink()
            except OSError:
                continue
