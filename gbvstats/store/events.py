"""Audited events and how `rebuild` replays each kind.

Every state change of the warehouse is an `audit_log` row; `Warehouse.rebuild` replays
them in order into a new warehouse, and `gbvstats fsck` checks that the tables agree with
them. A kind of event is one entry of `EVENTS`: its replay handler, and whether it
carries a received file (such events are validated in chunks before their chunk is
written). Adding an audited event (an NSC decision, a review, a period lock, ...) means
adding its handler here; an event kind missing from this table makes `rebuild` refuse
(nothing would recreate what it recorded) and `fsck` warn (GBV-W022).

A handler gets the `Replay` of the chunk and the event. Rows of submissions, cells,
findings and audit events are gathered in `replay.rows` and written with one statement
per table when the chunk ends; a handler writing its own table with SQL uses
`replay.connection()`, which first writes what is pending (so ids computed as max + 1 see
the rows before it). The audit row itself is added with `replay.audit(event)`, which
keeps the recorded event id, time, actor and detail exactly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gbvstats.store.warehouse import _Rows


@dataclass(frozen=True)
class Event:
    """One audit_log row, as recorded (NULLs as None)."""

    event_id: int
    event_at: Any
    event: str
    agency: str | None
    actor: str | None
    file_name: str | None
    sha256: str | None
    submission_id: int | None
    detail: str | None  # the JSON text as stored
    token_id: int | None = None  # the token of the request (gbvstats serve)

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


class ReplayError(Exception):
    """The event cannot be replayed as recorded: message key of messages/store.yaml."""

    def __init__(self, key: str, **params: object):
        self.key, self.params = key, params
        super().__init__(key)


class Replay:
    """What the handlers of one chunk share: the new warehouse's connection (inside the
    chunk's transaction), the pending rows, the chunk's validated files."""

    def __init__(self, con, rows: _Rows, reports: dict[str, Any], files: dict[str, tuple[str, str]],
                 source: Any = None, target: Any = None):
        self.con, self.rows = con, rows
        self.reports = reports  # sha256 -> ValidationReport of the archived file
        self.files = files  # sha256 -> (archive path relative to the archive, file name)
        self.source, self.target = source, target  # the warehouse replayed, and the new one

    def keep(self, archive_path: str, sha256: str) -> str:
        """A file of the replayed warehouse's archive (e.g. a release's) in the new one's."""
        return self.target._archive(self.source.archive / archive_path, sha256)

    def connection(self):
        """The connection, after writing the rows gathered so far."""
        self.rows.flush(self.con)
        return self.con

    def audit(self, ev: Event) -> None:
        """The event's audit row as recorded; its id must be the next one."""
        got = self.rows.audit_raw(ev.event_at, ev.event, ev.agency, ev.actor, ev.file_name,
                                  ev.sha256, ev.submission_id, ev.detail, ev.token_id)
        if got != ev.event_id:
            raise ReplayError("replay_differs", event=ev.event_id, kind=ev.event,
                              what=f"event id {got}")


def replay_accepted(rp: Replay, ev: Event) -> None:
    """An accepted file: validated again from the archive, stored as on the day."""
    from gbvstats.store.warehouse import Receipt

    report = rp.reports[ev.sha256]
    rel, name = rp.files[ev.sha256]
    receipt = Receipt(file=name, outcome="")
    rp.rows.accept(report, ev.agency, ev.actor, name, rel, ev.event_at, receipt, raw_detail=ev.detail,
                   token_id=ev.token_id)
    recorded = ev.data
    found = {"status": receipt.outcome, "submission": receipt.submission_id,
             "revision": receipt.revision, "supersedes": receipt.supersedes}
    wanted = {"status": ev.event, "submission": ev.submission_id,
              "revision": recorded.get("revision"), "supersedes": recorded.get("supersedes")}
    differs = [f"{k} {found[k]} (recorded {wanted[k]})" for k in found if found[k] != wanted[k]]
    if rp.rows.events[-1]["event_id"] != ev.event_id:
        differs.append(f"event id {rp.rows.events[-1]['event_id']}")
    if differs:
        raise ReplayError("replay_differs", event=ev.event_id, kind=ev.event, what="; ".join(differs))


def replay_audit_only(rp: Replay, ev: Event) -> None:
    """A refused attempt: nothing was stored but its audit row."""
    rp.audit(ev)


def replay_explanation(rp: Replay, ev: Event) -> None:
    data = ev.data
    con = rp.con  # the sequence numbers explanations; no pending row is needed first
    eid = con.execute("SELECT nextval('explanation_seq')").fetchall()[0][0]
    con.execute("INSERT INTO explanations VALUES (?, ?, ?, ?, ?, ?)",
                [eid, ev.submission_id, data["rule_id"], data["text"], ev.actor, ev.event_at])
    rp.audit(ev)


def replay_released(rp: Replay, ev: Event) -> None:
    """A release (publish/release.py): its rows from the detail, its files and manifest
    from the replayed warehouse's archive."""
    from gbvstats.publish.release import insert

    data = ev.data
    manifest = next(f for f in data["files"] if f["kind"] == "manifest")
    text = (rp.source.archive / manifest["archive_path"]).read_text(encoding="utf-8")
    for f in data["files"]:
        f["archive_path"] = rp.keep(f["archive_path"], f["sha256"])
    insert(rp.connection(), data, text, ev.event_at, ev.actor)
    rp.audit(ev)


def replay_decision(rp: Replay, ev: Event) -> None:
    """An NSC decision on a control item (consolidate/decisions.py)."""
    from gbvstats.consolidate.decisions import insert_decision

    insert_decision(rp.connection(), ev.data, ev.actor, ev.event_at)
    rp.audit(ev)


def replay_token_created(rp: Replay, ev: Event) -> None:
    """A token made (`gbvstats token create`): its row, with the hash the event recorded."""
    from gbvstats.store.warehouse import Warehouse

    Warehouse._insert_token(rp.connection(), ev.data, ev.event_at, ev.actor)
    rp.audit(ev)


def replay_token_revoked(rp: Replay, ev: Event) -> None:
    rp.connection().execute("UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE token_id = ?",
                            [ev.event_at, ev.actor, ev.data["token_id"]])
    rp.audit(ev)


def replay_reviewed(rp: Replay, ev: Event) -> None:
    """An NSC reviewer's decision (accepted or returned, with its comment)."""
    from gbvstats.store.warehouse import Warehouse

    Warehouse._insert_review(rp.connection(), ev.submission_id, ev.data, ev.actor, ev.agency,
                             ev.token_id, ev.event_at)
    rp.audit(ev)


def replay_lock(rp: Replay, ev: Event) -> None:
    """A (year, agency, form) locked or unlocked."""
    from gbvstats.store.warehouse import Warehouse

    Warehouse._apply_lock(rp.connection(), ev.event, ev.data, ev.actor, ev.token_id, ev.event_at)
    rp.audit(ev)


@dataclass(frozen=True)
class EventType:
    replay: Callable[[Replay, Event], None]
    needs_file: bool = False  # carries a received file, validated before its chunk


EVENTS: dict[str, EventType] = {
    "accepted": EventType(replay_accepted, needs_file=True),
    "accepted_with_warnings": EventType(replay_accepted, needs_file=True),
    "rejected": EventType(replay_audit_only),
    "refused_agency": EventType(replay_audit_only),
    "unreadable": EventType(replay_audit_only),
    "explanation": EventType(replay_explanation),
    "released": EventType(replay_released),
    "decision": EventType(replay_decision),
    "refused_locked": EventType(replay_audit_only),
    "token_created": EventType(replay_token_created),
    "token_revoked": EventType(replay_token_revoked),
    "reviewed": EventType(replay_reviewed),
    "locked": EventType(replay_lock),
    "unlocked": EventType(replay_lock),
}


def events_of(frame) -> list[Event]:
    """audit_log rows (a DataFrame ordered by event_id) as Events."""
    import pandas as pd

    out = []
    for row in frame.itertuples(index=False):
        sid = None if pd.isna(row.submission_id) else int(row.submission_id)
        when = row.event_at.to_pydatetime() if hasattr(row.event_at, "to_pydatetime") else row.event_at
        token = getattr(row, "token_id", None)  # a warehouse from before migration 019 has none
        out.append(Event(int(row.event_id), when, row.event, _text(row.agency), _text(row.actor),
                         _text(row.file_name), _text(row.sha256), sid, _text(row.detail),
                         None if token is None or pd.isna(token) else int(token)))
    return out


def _text(value) -> str | None:
    import pandas as pd

    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def chunks(events: list[Event], size: int) -> list[list[Event]]:
    """Consecutive events, each chunk holding at most `size` events with a file."""
    out: list[list[Event]] = [[]]
    files = 0
    for ev in events:
        kind = EVENTS.get(ev.event)
        if kind and kind.needs_file:
            if files == size:
                out.append([])
                files = 0
            files += 1
        out[-1].append(ev)
    return [c for c in out if c]

