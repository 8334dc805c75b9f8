"""What the server reads from the warehouse, as plain JSON-ready dicts (SQL in
`gbvstats/sql/serve/`). Scoping by agency is the caller's job (`app.py`)."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from gbvstats.catalogue import Finding
from gbvstats.paths import sql_dir

if TYPE_CHECKING:
    from gbvstats.store.warehouse import Warehouse

REFUSED_EVENTS = ("rejected", "refused_agency", "refused_locked", "unreadable")
OUTCOME_OF_EVENT = {"refused_locked": "locked"}


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "serve" / name).read_text(encoding="utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(con, sql: str, params=None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]


def submission(wh: Warehouse, sid: int) -> dict | None:
    """A submission with its decision, lock, revision chain, decisions and findings."""
    with wh.reader() as con:
        found = _rows(con, _sql("submission.sql"), [sid])
        if not found:
            return None
        row = found[0]
        row["revisions"] = _rows(con, _sql("revisions.sql"), [sid])
        row["reviews"] = _rows(con, _sql("reviews.sql"), [sid])
        row["findings"] = _rows(con, _sql("findings.sql"), [sid])
    for f in row["findings"]:
        f["params"] = json.loads(f["params"]) if f["params"] else {}
    return row


def stored_findings(row: dict) -> list[Finding]:
    """The findings of a `submission()` row as Finding objects (rule findings keep every
    cell they name in params['cells'])."""
    return [Finding.from_dict({**f, "cells": f["params"].get("cells") or []}) for f in row["findings"]]


def submissions(wh: Warehouse, agency: str | None = None, year: int | None = None,
                form: str | None = None, state: str | None = None, limit: int = 500) -> list[dict]:
    with wh.reader() as con:
        return _rows(con, _sql("submissions.sql"), {"agency": agency, "year": year, "form": form,
                                                   "state": state, "limit": limit})


def attempts(wh: Warehouse, agency: str | None = None, year: int | None = None,
             limit: int = 50, event_id: int | None = None) -> list[dict]:
    """Refused uploads: what was sent, by whom, why it was refused (findings, whole)."""
    with wh.reader() as con:
        rows = _rows(con, _sql("attempts.sql"), {"agency": agency, "year": year, "limit": limit,
                                                 "id": event_id})
    for r in rows:
        r["findings"] = json.loads(r["findings"]) if r["findings"] else []
        r["outcome"] = OUTCOME_OF_EVENT.get(r["event"], r["event"])
    return rows


def attempt(wh: Warehouse, event_id: int) -> dict | None:
    found = attempts(wh, limit=1, event_id=event_id)
    return found[0] if found else None


def attempt_findings(row: dict) -> list[Finding]:
    out = []
    for f in row["findings"]:
        try:
            out.append(Finding.from_dict(f))
        except (KeyError, TypeError, ValueError):  # written by an older gbvstats: text only
            continue
    return out


def token_active(wh: Warehouse, token_id: int):
    with wh.reader() as con:
        found = con.execute(_sql("token_active.sql"), [token_id]).fetchall()
    return found[0] if found else None


def calendar(wh: Warehouse, year: int, agency: str | None = None) -> list[dict]:
    """Every return expected of the year (of one agency, or all), with its state."""
    from gbvstats.consolidate.completeness import expected_returns

    expected = expected_returns(wh.reg, year, agency)
    with wh.reader() as con:
        con.register("expected", expected)
        try:
            return _rows(con, _sql("calendar.sql"), {"year": year})
        finally:
            con.unregister("expected")


def completeness(wh: Warehouse, year: int, agency: str | None = None) -> list[dict]:
    """The completeness summary per agency and form (as `gbvstats completeness`)."""
    from gbvstats.consolidate.completeness import completeness as summary_of

    with wh.reader() as con:
        _, summary = summary_of(con, wh.reg, year, agency)
    records = json.loads(summary.to_json(orient="records", date_format="iso"))
    return records


def locks(wh: Warehouse, year: int) -> list[dict]:
    """Every form of every agency with its lock for the year."""
    import pandas as pd

    forms = pd.DataFrame(sorted({(f.agency, f.form) for f in wh.reg.versions()}),
                         columns=["agency", "form"])
    with wh.reader() as con:
        con.register("forms", forms)
        try:
            return _rows(con, _sql("locks.sql"), {"year": year})
        finally:
            con.unregister("forms")
