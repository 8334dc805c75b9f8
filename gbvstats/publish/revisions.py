"""What changed between two releases, figure by figure, and which returns changed it.

A *figure* is one published cell: year, table, the row's dimension codes (its key),
measure, with the value as published and its status (`<measure>_OBS_STATUS`: A normal,
C confidential, P provisional, B break, ...). Figures are read from the releases'
Parquet files: the published folder's, or the copies the warehouse keeps in its archive.
Nothing confidential is compared or shown: a suppressed figure is "x" on both sides,
whatever lies behind it.

A figure changed when its value or its status differs, or it is in one release only.
The returns that changed it are those whose current revision differs between the two
releases' inputs (a new revision, a first return, a return no longer current) and that
the figure reads: a form its table is made from (the pipeline's lineage where the table
has one, else its `-- sources:` header), a unit inside the figure's territory (every unit
for the country's row) and a period of the figure's year.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.i18n import t

if TYPE_CHECKING:
    import pandas as pd

STATUS = "_OBS_STATUS"
CONFIDENTIAL = "C"
NATIONAL = "41700000000000"
SHEET = "revisions"


def figures(frames: dict[tuple[int, str], pd.DataFrame]) -> pd.DataFrame:
    """Long figures of published tables {(year, table): flat frame as published}."""
    import pandas as pd

    rows = []
    for (year, table), frame in sorted(frames.items()):
        statuses = {c[: -len(STATUS)] for c in frame.columns if c.endswith(STATUS)}
        numeric = {c for c in frame.columns if c != "year" and not c.endswith(STATUS)
                   and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}
        measures = [c for c in frame.columns if c in numeric or c in statuses]
        keys = [c for c in frame.columns if c not in measures and c != "year" and not c.endswith(STATUS)]
        for record in frame.to_dict("records"):
            key = ";".join(f"{k}={_text(record[k])}" for k in keys)
            for m in measures:
                status = _text(record.get(m + STATUS)) or "A"
                value = None if status == CONFIDENTIAL else _number(record.get(m))
                rows.append({"year": int(record.get("year", year) or year), "table": table,
                             "territory": _text(record.get("territory")), "key": key, "measure": m,
                             "value": value, "status": status})
    return pd.DataFrame(rows, columns=["year", "table", "territory", "key", "measure", "value", "status"])


def read_figures(files: list[dict[str, Any]], folder: Path) -> pd.DataFrame:
    """Figures of a release's Parquet files (`files`: manifest entries, or release_files
    rows with `archive_path`), read from `folder`."""
    import pandas as pd

    frames = {}
    for f in files:
        if f.get("kind") != "parquet" or not f.get("table"):
            continue
        path = Path(folder) / (f.get("archive_path") or f["file"])
        frame = pd.read_parquet(path)
        years = f.get("years") or ([f["year"]] if f.get("year") is not None else [])
        year = int(years[0]) if years else int(frame["year"].iloc[0]) if len(frame) else 0
        frames[(year, f["table"])] = frame
    return figures(frames)


def diff(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Every figure whose value or status differs, or that one side lacks."""
    import pandas as pd

    on = ["year", "table", "territory", "key", "measure"]
    both = old.merge(new, on=on, how="outer", suffixes=("_old", "_new"), indicator=True)
    changed = [
        r["_merge"] != "both" or r["status_old"] != r["status_new"]
        or not _same(r["value_old"], r["value_new"])
        for r in both.to_dict("records")]
    out = both[changed].drop(columns=["_merge"]).sort_values(on, kind="stable").reset_index(drop=True)
    for side in ("old", "new"):
        out[f"value_{side}"] = [_number(v) for v in out[f"value_{side}"]]
        out[f"status_{side}"] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v
                                 for v in out[f"status_{side}"]]
    return pd.DataFrame(out, columns=[*on, "value_old", "status_old", "value_new", "status_new"])


def changed_returns(old_inputs: list[dict], new_inputs: list[dict]) -> list[dict[str, Any]]:
    """Returns whose current revision differs between two releases' inputs: `added`
    (no revision before), `revised` (another revision now), `withdrawn` (none now)."""
    def by_key(inputs):
        return {(i["form"], i["unit"], i["period"]): i for i in inputs}

    before, after = by_key(old_inputs), by_key(new_inputs)
    out = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a and b and a["submission_id"] == b["submission_id"]:
            continue
        change = "added" if not a else "withdrawn" if not b else "revised"
        out.append({"form": key[0], "unit": key[1], "period": key[2], "change": change,
                    "submission_id": (b or a)["submission_id"],
                    "replaces": a["submission_id"] if a and b else None,
                    "revision": (b or a).get("revision")})
    return out


def causes(changes: pd.DataFrame, returns: list[dict[str, Any]], forms_of, oblast_of) -> list[list[int]]:
    """For each changed figure, the submissions among `returns` that it reads.
    `forms_of(table, key, measure)` gives the forms a figure is made from;
    `oblast_of(unit)` the SOATE of a unit's oblast-level territory."""
    out = []
    for r in changes.to_dict("records"):
        forms = forms_of(r["table"], r["key"], r["measure"])
        ids = []
        for ret in returns:
            if ret["form"] not in forms or int(str(ret["period"])[:4]) != int(r["year"]):
                continue
            where = r.get("territory")
            if where and where != NATIONAL and oblast_of(ret["unit"]) != where and ret["unit"] != where:
                continue
            ids.append(int(ret["submission_id"]))
        out.append(sorted(set(ids)))
    return out


def forms_in_sources(text: str, known: set[str]) -> set[str]:
    """Form codes named in a pipeline's `-- sources:` header."""
    return {w for w in re.findall(r"[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+", text or "") if w in known}


def as_records(changes: pd.DataFrame, submissions: list[list[int]]) -> list[dict[str, Any]]:
    """The changes as the manifest lists them, each with why it changed: `returns` (the
    returns listed), `suppression` (no return it reads changed: disclosure control
    suppressed it, or published it again, as it protects other changed cells), `other`
    (neither: the parameters, the pipelines or the code)."""
    out = []
    for r, subs in zip(changes.to_dict("records"), submissions, strict=True):
        if subs:
            why = "returns"
        elif CONFIDENTIAL in (r["status_old"], r["status_new"]):
            why = "suppression"
        else:
            why = "other"
        out.append({"year": int(r["year"]), "table": r["table"], "key": r["key"],
                    "measure": r["measure"], "old": _plain(r["value_old"]), "old_status": r["status_old"],
                    "new": _plain(r["value_new"]), "new_status": r["status_new"],
                    "submissions": subs, "why": why})
    return out


def shown(value, status) -> str:
    """A figure as a reader sees it: x when confidential, – when absent."""
    if status is None:
        return "–"
    if status == CONFIDENTIAL:
        return "x"
    if value is None:
        return ".."
    return _format(value)


def write_sheet(wb, release_id: str, previous: str | None, changes: list[dict[str, Any]],
                langs: tuple[str, ...]) -> None:
    """The workbook's `revisions` sheet: every figure changed against the previous release,
    headed in every language."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(SHEET)
    lines = []
    for lg in langs:
        if previous is None:
            lines.append(t("release.sheet.first", lg, release=release_id))
        elif not changes:
            lines.append(t("release.sheet.none", lg, release=release_id, previous=previous))
        else:
            lines.append(t("release.sheet.title", lg, release=release_id, previous=previous,
                           count=len(changes)))
    for r, text in enumerate(lines, start=1):
        ws.cell(r, 1, text).font = Font(bold=True)
    if not changes:
        return
    columns = ["year", "table", "key", "measure", "old", "new", "why", "submissions"]
    head = len(lines) + 2
    for k, lg in enumerate(langs):
        for c, col in enumerate(columns, start=1):
            cell = ws.cell(head + k, c, t(f"release.col.{col}", lg))
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDE4EE")
            cell.alignment = Alignment(wrap_text=True)
    first = head + len(langs)
    for i, ch in enumerate(changes):
        values = [ch["year"], ch["table"], ch["key"], ch["measure"],
                  shown(ch["old"], ch["old_status"]), shown(ch["new"], ch["new_status"]),
                  t(f"release.why.{ch['why']}", langs[0]), ", ".join(map(str, ch["submissions"]))]
        for c, v in enumerate(values, start=1):
            ws.cell(first + i, c, v)
    widths = [7, 26, 44, 22, 12, 12, 30, 20]
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = ws.cell(first, 1)


def _same(a, b) -> bool:
    a, b = _number(a), _number(b)
    if a is None or b is None:
        return a is None and b is None
    return a == b


def _number(value):
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, (int, str)):
        return value
    try:
        import pandas as pd

        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def _plain(value):
    value = _number(value)
    return value


def _text(value) -> str:
    value = _number(value)
    return "" if value is None else str(value)


def _format(value) -> str:
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
