"""The NSC's decisions on what the controls found (`gbvstats decide`).

An item (a failed consolidation control, a rule warning on a return, a missing return, a
failed expectation of a published table) is named by the short key `gbvstats gate`
prints. A decision records who decided what and why, on the item's current values; it is
written with an audit event (so `rebuild` replays it) and read by `control_items`, the
one definition of what is open, used by the gate and ind08. Kinds of decision and whether
they close an item are data: `schemas/codelists/decision.yaml`. Errors are corrected by
the agency, never decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from gbvstats.paths import sql_dir

if TYPE_CHECKING:
    from gbvstats.schema.model import Registry
    from gbvstats.store.warehouse import Warehouse

DETAIL_FIELDS = ("year", "source", "rule_id", "scope_id", "item", "item_key", "item_values",
                 "decision", "closes", "note")


class DecisionError(Exception):
    """A decision that cannot be recorded: a message key of messages/gate.yaml."""

    def __init__(self, message_key: str, code: int = 1, **params: object):
        self.key, self.code, self.params = message_key, code, params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gbvstats.i18n import t

        return t(f"gate.error.{self.key}", lang, **self.params)


@cache
def _sql(area: str, name: str) -> str:
    return (sql_dir() / area / name).read_text(encoding="utf-8")


@dataclass
class Decided:
    decision_id: int
    item_key: str
    rule_id: str
    scope_id: str
    item: str
    decision: str
    decided_at: datetime


def kinds(reg: Registry) -> dict[str, Any]:
    """decision code -> its code-list entry (label, description, closes)."""
    codelist = reg.codelists.get("decision")
    return {c.code: c for c in codelist.codes} if codelist else {}


def decide(wh: Warehouse, year: int, keys: list[str], decision: str, note: str, by: str,
           rule: str | None = None) -> list[Decided]:
    """Record `decision` on the items `keys` of `year` (and, with `rule`, on every open item
    of that rule). All or nothing: an unknown key or an error item refuses the lot."""
    known = kinds(wh.reg)
    if decision not in known:
        raise DecisionError("unknown_decision", 2, decision=decision, known=", ".join(known))
    if not (note or "").strip() or not (by or "").strip():
        raise DecisionError("needs_note", 2)
    if not keys and not rule:
        raise DecisionError("needs_item", 2, year=year)
    import pandas as pd

    closes = bool(getattr(known[decision], "closes", False))
    decided = []
    with wh.writer(create=False) as con:
        items = con.execute(_sql("gate", "items.sql"), [year]).df()
        chosen = items[items["item_key"].isin(keys)]
        for key in keys:
            if key not in set(chosen["item_key"]):
                raise DecisionError("no_item", 2, item_key=key, year=year)
        if rule:
            by_rule = items[(items["rule_id"] == rule) & (items["state"] == "open")]
            if not len(by_rule):
                raise DecisionError("no_open_item", 2, rule=rule, year=year)
            chosen = pd.concat([chosen, by_rule]).drop_duplicates("item_key")
        errors = chosen[chosen["severity"] == "error"]
        if len(errors):
            row = errors.iloc[0]
            raise DecisionError("not_decidable", 1, item_key=row["item_key"], rule=row["rule_id"],
                                scope=row["scope_id"])
        con.execute("BEGIN")
        try:
            for row in chosen.to_dict("records"):
                detail = {f: _plain(row.get(f)) for f in DETAIL_FIELDS if f in row}
                detail.update(decision=decision, closes=closes, note=note.strip())
                when = wh.audit(con, "decision", by.strip(), detail, agency="NSC")
                did = insert_decision(con, detail, by.strip(), when)
                decided.append(Decided(did, row["item_key"], row["rule_id"], row["scope_id"],
                                       row["item"], decision, when))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return decided


def insert_decision(con, detail: dict[str, Any], by: str | None, when: datetime) -> int:
    """One row of `decisions` from an audit event's detail (also used by rebuild)."""
    params = {f: detail.get(f) for f in DETAIL_FIELDS}
    params.update(decided_by=by or "?", decided_at=when)
    return con.execute(_sql("store", "insert_decision.sql"), params).fetchall()[0][0]


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value
