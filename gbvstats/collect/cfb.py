"""A strict, bounded reader of Compound File Binary containers (MS-CFB): the OLE2 files
that hold legacy `.xls` workbooks and password-protected (encrypted) `.xlsx` ones.

Only what the reader needs before any spreadsheet library sees the file: the directory
(stream names, to tell an encrypted workbook or a macro project apart from a workbook),
one stream's bytes, and where each byte of a stream lies in the file (so a sanitised copy
can be patched in place). Every count, sector number and chain is checked against the
file's size, and every chain for cycles, so a hostile header cannot make us allocate or
loop without bound: anything inconsistent raises `CfbError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
FREESECT, ENDOFCHAIN, FATSECT, DIFSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC
MAXREGSECT = 0xFFFFFFFA
HEADER_DIFAT = 109


class CfbError(Exception):
    """The container is damaged or inconsistent."""


@dataclass(frozen=True)
class Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int


class CompoundFile:
    def __init__(self, data: bytes):
        if len(data) < 512 or data[:8] != SIGNATURE:
            raise CfbError("not a compound file")
        self.data = data
        (major, order, shift, mini_shift, n_dir, n_fat, dir_start, mini_cutoff, minifat_start,
         n_minifat, difat_start, n_difat) = struct.unpack_from("<2xHHHH6xIIIxxxxIIIII", data, 24)
        if order != 0xFFFE or (major, shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
            raise CfbError(f"unsupported header (version {major}, sector shift {shift})")
        self.sector = 1 << shift
        self.mini_sector = 1 << mini_shift
        self.mini_cutoff = mini_cutoff
        self.sectors = max(0, -(-(len(data) - self.sector) // self.sector))  # the header fills sector -1
        if n_fat > self.sectors or n_difat > self.sectors or n_minifat > self.sectors:
            raise CfbError("header counts more sectors than the file holds")
        self.fat = self._fat(n_fat, difat_start, n_difat)
        self.entries = self._directory(dir_start)
        root = self.entries[0] if self.entries else None
        if root is None or root.kind != 5:
            raise CfbError("no root directory")
        self.minifat = (self._words(b"".join(self._sector(s) for s in self._chain(minifat_start)))
                        if n_minifat else [])
        self._mini_chain = self._chain(root.start) if root.size else []
        if root.size > len(self._mini_chain) * self.sector:
            raise CfbError("mini stream shorter than declared")

    # --- sectors and chains ------------------------------------------------------------

    def _sector(self, sid: int) -> bytes:
        if sid >= self.sectors:
            raise CfbError(f"sector {sid} lies beyond the end of the file")
        start = (sid + 1) * self.sector
        return self.data[start:start + self.sector].ljust(self.sector, b"\0")

    @staticmethod
    def _words(data: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(data) // 4}I", data[: len(data) // 4 * 4]))

    def _fat(self, n_fat: int, difat_start: int, n_difat: int) -> list[int]:
        ids = self._words(self.data[76:512])
        sid, seen = difat_start, set()
        while sid <= MAXREGSECT:
            if sid in seen or len(seen) > n_difat:
                raise CfbError("the sector allocation list loops")
            seen.add(sid)
            words = self._words(self._sector(sid))
            ids.extend(words[:-1])
            sid = words[-1]
        fat_ids = [i for i in ids if i <= MAXREGSECT][:n_fat]
        if len(fat_ids) < n_fat:
            raise CfbError("fewer allocation sectors than declared")
        return self._words(b"".join(self._sector(i) for i in fat_ids))

    def _chain(self, start: int, fat: list[int] | None = None, limit: int | None = None) -> list[int]:
        """Sector numbers of a chain, checked for cycles and bounds."""
        fat = self.fat if fat is None else fat
        limit = len(fat) if limit is None else limit
        out, seen, sid = [], set(), start
        while sid != ENDOFCHAIN:
            if sid > MAXREGSECT or sid >= len(fat) or sid in seen or len(out) >= limit:
                raise CfbError(f"broken sector chain at {sid}")
            seen.add(sid)
            out.append(sid)
            sid = fat[sid]
        return out

    def _directory(self, start: int) -> list[Entry]:
        raw = b"".join(self._sector(s) for s in self._chain(start))
        entries = []
        for off in range(0, len(raw) - 127, 128):
            kind = raw[off + 66]
            start_sid, size = struct.unpack_from("<IQ", raw, off + 116)
            # named as readers name it: all 64 bytes, up to the first NUL (whatever the
            # declared length), and every entry kept, unused ones too, in order
            name = raw[off:off + 64].decode("utf-16-le", "replace").split("\0", 1)[0]
            size = size & 0xFFFFFFFF if self.sector == 512 else size
            entries.append(Entry(name, kind, start_sid, size))
        return entries

    # --- streams -------------------------------------------------------------------------

    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    def find(self, *names: str) -> Entry | None:
        """The first entry with one of these exact names, tried in order: the one the
        spreadsheet library reads (it does not look at the entry's type)."""
        for name in names:
            for e in self.entries:
                if e.name == name:
                    return e
        return None

    def segments(self, entry: Entry) -> list[tuple[int, int]]:
        """(file offset, length) of each piece of the stream, in stream order."""
        if entry.size < self.mini_cutoff:
            per = self.mini_sector
            chain = self._chain(entry.start, self.minifat, entry.size // per + 1)
            mini_len = len(self._mini_chain) * self.sector
            out = []
            for mid in chain:
                pos = mid * per
                if pos + per > mini_len:
                    raise CfbError("mini sector beyond the mini stream")
                sector, within = divmod(pos, self.sector)
                out.append(((self._mini_chain[sector] + 1) * self.sector + within, per))
        else:
            per = self.sector
            chain = self._chain(entry.start, limit=entry.size // per + 1)
            out = [((sid + 1) * per, per) for sid in chain]
        if sum(n for _, n in out) < entry.size:
            raise CfbError(f"stream {entry.name!r} is shorter than declared")
        return out

    def read(self, entry: Entry) -> bytes:
        data = b"".join(self.data[off:off + n].ljust(n, b"\0") for off, n in self.segments(entry))
        return data[: entry.size]


def file_offset(segments: list[tuple[int, int]], pos: int) -> int:
    """Where byte `pos` of a stream lies in the file."""
    for off, n in segments:
        if pos < n:
            return off + pos
        pos -= n
    raise CfbError("position beyond the stream")
