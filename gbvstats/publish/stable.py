"""Byte-stable output files: the same content gives the same bytes, whenever it is written.

A release must be re-made byte for byte years later (`gbvstats publish --as-of`,
`gbvstats release verify`), so nothing a publication writes may depend on the clock, the
machine or the order in which a library happens to write things. What varies by itself,
format by format, and what we fix it to:

- **xlsx** (a zip of XML parts): openpyxl stamps `docProps/core.xml` with the time of
  saving (`dcterms:created`, `dcterms:modified`) and every zip member with the local
  clock; the zip records the writing system and file modes. `stable_zip` rewrites the
  archive: members in a fixed order (`[Content_Types].xml`, `_rels/.rels`, then by name),
  every member dated `when` (the release's own timestamp, from its manifest), the same
  compression, system and modes, and both core dates set to `when`.
- **PDF** (Chromium's `--print-to-pdf`): `/CreationDate` and `/ModDate` carry the clock;
  `stable_pdf` writes `when` in their place, in the same number of bytes, so the
  cross-reference offsets stay right.
- **JSON**: `stable_json` (sorted keys, two-space indent, UTF-8, a final newline).
- **Parquet**: `write_parquet` writes through pyarrow with fixed options (no index, one
  row group, snappy, statistics, pyarrow's own schema metadata): nothing in it depends on
  the clock. CSV is plain text in the order the frame has.

`stabilise(folder, when)` applies the right one to every file of a folder by its suffix.
The bytes stay the same for the same library versions (constraints.txt pins them); a
release re-made with other versions is compared figure by figure, not byte by byte
(`gbvstats release verify` says so).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

EPOCH = datetime(1980, 1, 1)  # the earliest time a zip member can carry
FIRST_MEMBERS = ("[Content_Types].xml", "_rels/.rels")
_CORE_DATE = re.compile(rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)")
_PDF_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\(D:[0-9]{4,14}[^)]{0,8}\)")


def _clamp(when: datetime | None) -> datetime:
    when = (when or EPOCH).replace(tzinfo=None, microsecond=0)
    return max(when, EPOCH)


def zip_order(names: list[str]) -> list[str]:
    """[Content_Types].xml and the package relationships first (as Excel writes them),
    then every other member by name."""
    first = [n for n in FIRST_MEMBERS if n in names]
    return first + sorted(n for n in names if n not in FIRST_MEMBERS)


def stable_zip_bytes(data: bytes, when: datetime | None) -> bytes:
    """The zip (xlsx) `data` rewritten with fixed member order, dates, modes and core
    properties (see the module's docstring)."""
    when = _clamp(when)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        members = {i.filename: zin.read(i.filename) for i in zin.infolist() if not i.is_dir()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zip_order(list(members)):
            body = members[name]
            if name == "docProps/core.xml":
                body = _CORE_DATE.sub(rb"\g<1>" + stamp + rb"\g<3>", body)
            info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever machine writes it
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            zout.writestr(info, body, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


def stable_zip(path: Path, when: datetime | None) -> None:
    path = Path(path)
    data = path.read_bytes()
    fixed = stable_zip_bytes(data, when)
    if fixed != data:
        path.write_bytes(fixed)


def stable_pdf_bytes(data: bytes, when: datetime | None) -> bytes:
    """PDF `data` with its creation and modification dates set to `when`; the text keeps
    its length (the dates are written in the same format), so offsets stay valid."""
    when = _clamp(when)

    def fixed(m: re.Match) -> bytes:
        old = m.group(0)
        new = b"/" + m.group(1) + b" (D:" + when.strftime("%Y%m%d%H%M%S").encode() + b"+00'00')"
        if len(new) > len(old):
            return old  # a shape we do not know: left as it is rather than corrupted
        return new[:-1] + b" " * (len(old) - len(new)) + b")"

    return _PDF_DATE.sub(fixed, data)


def stable_pdf(path: Path, when: datetime | None) -> None:
    path = Path(path)
    data = path.read_bytes()
    fixed = stable_pdf_bytes(data, when)
    if fixed != data:
        path.write_bytes(fixed)


def stable_json(data: Any) -> str:
    """JSON text that depends on the content only: keys sorted, fixed layout."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"


def write_json(path: Path, data: Any) -> None:
    Path(path).write_text(stable_json(data), encoding="utf-8")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """A frame as Parquet with fixed options: the same frame gives the same bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="snappy", row_group_size=max(len(frame), 1),
                   write_statistics=True, use_dictionary=True)


STABILISERS = {".xlsx": stable_zip, ".pdf": stable_pdf}


def stabilise(folder: Path, when: datetime | None) -> list[Path]:
    """Every file directly in `folder` whose format carries the clock, made stable;
    returns those it looked at."""
    done = []
    for path in sorted(Path(folder).iterdir()):
        fix = STABILISERS.get(path.suffix.lower())
        if fix and path.is_file() and not path.is_symlink():
            fix(path, when)
            done.append(path)
    return done
