"""The rule language: parsing cell addresses and expressions, expanding them into items.

Address: `[AGENCY.][FORM:]TABLE/LINES/COLUMNS`, e.g. `T1/01/1`, `MOI-FV:T1/01/1`.
Each of LINES and COLUMNS is a selector:
  `*`       for each: the rule is checked once per line (or column), the same one in
            every term that says `*` in that position;
  `02..06`  the sum over a range, in the order the schema declares;
  `02,04`   the sum over a list;
  `01`      one line (column).
Expression: terms joined by `+`/`-`, then one of `= <= >= < >`, then terms:
  `T1/01/* = T1/02..06/*`   line 01 equals the sum of lines 02-06, in every column
  `T2/*/1 >= T2/*/2`        column 1 at least column 2, on every line

Expansion turns a rule and a schema into items: one per binding of the `*`s, each a
list of (side, sign, table, line, column) terms. Items whose single-cell terms fall on
a greyed or absent cell are structurally not applicable and are not generated; a range
skips greyed cells (they are structurally zero).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gbvstats.schema.model import FormVersion, Table

OPS = ("<=", ">=", "==", "=", "<", ">")
_ADDRESS = re.compile(
    r"^(?:(?P<agency>[A-Z]+)\.)?(?:(?P<form>[A-Z][A-Z0-9-]*):)?"
    r"(?P<table>[A-Za-z0-9_]+)/(?P<lines>[^/\s]+)/(?P<cols>[^/\s]+)$"
)


class RuleSyntaxError(ValueError):
    pass


@dataclass(frozen=True)
class Selector:
    kind: str  # "each", "range", "list", "one"
    values: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Selector:
        if text == "*":
            return cls("each")
        if ".." in text:
            lo, _, hi = text.partition("..")
            if not lo or not hi:
                raise RuleSyntaxError(f"range {text!r} needs both ends, like 02..06")
            return cls("range", (lo, hi))
        if "," in text:
            parts = tuple(p.strip() for p in text.split(","))
            if not all(parts):
                raise RuleSyntaxError(f"list {text!r} has an empty member")
            return cls("list", parts)
        return cls("one", (text,))

    def resolve(self, available: list[str]) -> list[str] | None:
        """Members of `available` selected (None for `each`); raises on unknown members."""
        if self.kind == "each":
            return None
        if self.kind == "range":
            lo, hi = self.values
            for v in (lo, hi):
                if v not in available:
                    raise RuleSyntaxError(f"{v!r} does not exist (have {', '.join(available)})")
            i, j = available.index(lo), available.index(hi)
            if i > j:
                raise RuleSyntaxError(f"range {lo}..{hi} runs backwards")
            return available[i : j + 1]
        missing = [v for v in self.values if v not in available]
        if missing:
            raise RuleSyntaxError(f"{', '.join(missing)} does not exist (have {', '.join(available)})")
        return list(self.values)


@dataclass(frozen=True)
class Address:
    agency: str | None
    form: str | None
    table: str
    lines: Selector
    cols: Selector
    text: str

    @classmethod
    def parse(cls, text: str) -> Address:
        text = text.strip()
        m = _ADDRESS.match(text)
        if not m:
            raise RuleSyntaxError(
                f"{text!r} is not a cell address like T1/01/1 or MOI-FV:T1/01/* "
                "(table/line/column, optionally preceded by FORM:)"
            )
        return cls(m["agency"], m["form"], m["table"], Selector.parse(m["lines"]),
                   Selector.parse(m["cols"]), text)


@dataclass(frozen=True)
class Term:
    sign: int
    address: Address


@dataclass(frozen=True)
class Expression:
    left: list[Term]
    op: str
    right: list[Term]

    def terms(self) -> list[tuple[str, Term]]:
        return [("left", t) for t in self.left] + [("right", t) for t in self.right]


def parse_terms(text: str) -> list[Term]:
    """Terms joined by ` + ` / ` - ` (spaced, since form codes contain hyphens)."""
    text = text.strip()
    if text[:1] in "+-":
        text = f"{text[0]} {text[1:].lstrip()}"
    else:
        text = f"+ {text}"
    tokens = re.split(r"(?:^|\s+)([+-])\s+", text)
    terms = []
    # tokens: ['', '+', 'T1/01/1', '-', 'T1/02/1', ...]
    for sign, body in zip(tokens[1::2], tokens[2::2], strict=False):
        if not body.strip():
            raise RuleSyntaxError(f"empty term in {text!r}")
        terms.append(Term(1 if sign == "+" else -1, Address.parse(body)))
    if not terms:
        raise RuleSyntaxError(f"no cell address in {text!r}")
    return terms


def parse_expression(text: str) -> Expression:
    for op in OPS:
        if op in text:
            left, _, right = text.partition(op)
            if any(o in right for o in ("<", ">", "=")):
                raise RuleSyntaxError(f"{text!r} has more than one comparison")
            return Expression(parse_terms(left), "=" if op == "==" else op, parse_terms(right))
    raise RuleSyntaxError(f"{text!r} has no comparison (one of {', '.join(OPS)})")


@dataclass
class Item:
    """One check of a rule: the binding of its `*`s and the cells on each side."""

    key: dict[str, str] = field(default_factory=dict)  # {"line": "02"} or {"column": "3"}
    cells: list[tuple[str, int, str, str, int]] = field(default_factory=list)
    # (side, sign, table, line, column)

    @property
    def label(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.key.items())) or "-"


def _members(table: Table, position: str) -> list[str]:
    if position == "line":
        return [ln.code for ln in table.lines]
    return [str(c.number) for c in table.columns]


def _is_input(table: Table, line: str, col: str) -> bool:
    ln = table.line(line)
    return ln is not None and table.column(int(col)) is not None and int(col) not in ln.greyed


def expand(form: FormVersion, sided_terms: list[tuple[str, Term]]) -> list[Item]:
    """Items of `sided_terms` against one form (addresses without FORM: or naming it)."""
    tables = {}
    for _, term in sided_terms:
        a = term.address
        if a.form and a.form != form.form:
            raise RuleSyntaxError(f"{a.text}: refers to form {a.form}, expected {form.form}")
        table = form.table(a.table)
        if table is None:
            raise RuleSyntaxError(f"{a.text}: table {a.table!r} does not exist in {form.key}")
        tables[a.text] = table
        # resolve now so that unknown codes raise even when no item survives
        a.lines.resolve(_members(table, "line"))
        a.cols.resolve(_members(table, "column"))

    domains: dict[str, list[str]] = {}
    for _, term in sided_terms:
        for position, sel in (("line", term.address.lines), ("column", term.address.cols)):
            if sel.kind == "each" and position not in domains:
                domains[position] = _members(tables[term.address.text], position)

    bindings: list[dict[str, str]] = [{}]
    for position, values in domains.items():
        bindings = [{**b, position: v} for b in bindings for v in values]

    items = []
    for binding in bindings:
        item = Item(key=dict(binding))
        applicable = True
        for side, term in sided_terms:
            table = tables[term.address.text]
            a = term.address
            lines = [binding["line"]] if a.lines.kind == "each" else a.lines.resolve(_members(table, "line"))
            cols = [binding["column"]] if a.cols.kind == "each" else a.cols.resolve(_members(table, "column"))
            single = len(lines) == 1 and len(cols) == 1
            cells = [(ln, c) for ln in lines for c in cols if _is_input(table, ln, c)]
            if not cells or (single and not cells):
                applicable = False
                break
            for ln, c in cells:
                item.cells.append((side, term.sign, table.id, ln, int(c)))
        if applicable:
            items.append(item)
    return items


def rule_terms(rule) -> list[tuple[str, Term]]:
    """The sided terms a rule declares, whatever its kind."""
    if rule.expr:
        return parse_expression(rule.expr).terms()
    sided = []
    if rule.when:
        sided += [("left", t) for t in parse_terms(rule.when)]
    if rule.then:
        sided += [("right", t) for t in parse_terms(rule.then)]
    if rule.cells:
        sided += [("left", t) for t in parse_terms(rule.cells)]
    if getattr(rule, "denominator", None):  # cross_section: the population a rate divides by
        sided += [("right", t) for t in parse_terms(rule.denominator)]
    if not sided:
        raise RuleSyntaxError(f"rule {rule.id} ({rule.kind}) declares no cells")
    return sided
