"""Terminal rendering shared by commands: finding tables, verdicts, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from gbvstats.i18n import t

T = TypeVar("T")
STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def progress(items: list[T], quiet: bool, label: str) -> Iterator[T]:
    """A progress bar on a terminal for several items; nothing in JSON mode or in a pipe."""
    if quiet or len(items) < 2 or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=label, console=_stderr_console(), transient=True)


@contextmanager
def progress_ticks(total: int, quiet: bool, label: str) -> Iterator[Callable[[], None]]:
    """The same bar for work that reports each item done through a callback."""
    if quiet or total < 2 or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    with Progress(console=_stderr_console(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def findings_table(findings: Iterable, lang: str):
    from rich.table import Table

    from gbvstats.collect.feedback import values_text

    table = Table(t("validate.col.severity", lang), t("validate.col.code", lang),
                  t("validate.col.cell", lang), t("validate.col.message", lang),
                  t("validate.col.values", lang), show_lines=False, expand=False)
    for f in findings:
        where = "!".join(p for p in (f.sheet, f.cell) if p) or "-"
        severity = t(f"feedback.severity.{f.severity}", lang)
        table.add_row(f"[{STYLE[f.severity]}]{severity}[/]", f.code, _plain(where),
                      _plain(f.message(lang)), _plain(values_text(f)))
    return table


def print_reports(console, reports, lang: str) -> None:
    for report in reports:
        if report.findings:
            console.print(findings_table(report.findings, lang))
        counts = report.counts()
        form = report.form.key if report.form else "?"
        line = t(f"validate.verdict.{report.verdict}", lang, file=report.path.name, form=form,
                 unit=report.header.get("unit", "?"), period=report.header.get("period", "?"),
                 errors=counts["error"], warnings=counts["warning"])
        style = {"ok": "green", "warnings": "yellow"}.get(report.verdict, "bold red")
        console.print(f"[{style}]{_plain(line)}[/]")


def print_receipt(console, receipt, agency: str, lang: str) -> None:
    extra = t("store.receipt.supersedes", lang, id=receipt.supersedes) if receipt.supersedes else ""
    text = t(f"store.receipt.{receipt.outcome}", lang, file=receipt.file,
             id=receipt.submission_id or receipt.duplicate_of, form=receipt.form or "?",
             unit=receipt.unit or "?", period=receipt.period or "?", revision=receipt.revision,
             supersedes=extra, sha=receipt.sha256[:12], agency=agency,
             errors=receipt.counts.get("error", 0), warnings=receipt.counts.get("warning", 0))
    style = {"accepted": "green", "duplicate": "cyan", "accepted_with_warnings": "yellow"}
    console.print(f"[{style.get(receipt.outcome, 'bold red')}]{_plain(text)}[/]", highlight=False)


def frame_table(frame, max_rows: int = 200, fold: bool = True):
    """A rich table of a DataFrame, numbers right-aligned; long cells fold onto several
    lines rather than being cut with an ellipsis."""
    import pandas as pd
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for c in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        table.add_column(_plain(str(c)), overflow="fold" if fold else "ellipsis",
                         justify="right" if numeric else "left")
    for row in frame.head(max_rows).itertuples(index=False):
        table.add_row(*[_cell(v) for v in row])
    if len(frame) > max_rows:
        table.caption = f"{len(frame)} rows; first {max_rows} shown (use --json or --csv for all)"
    return table


def natural_width(frame, max_rows: int = 200) -> int:
    """Characters a table of `frame` needs with no cell wrapped (3 of padding a column)."""
    total = 0
    for c in frame.columns:
        cells = [len(_raw(v)) for v in frame[c].head(max_rows)]
        total += max([len(str(c)), *cells]) + 3
    return total


def fit_columns(frame, priority: list[str], width: int):
    """The columns of `frame` that fit `width` characters, the most important first."""
    chosen, used = [], 0
    for col in [c for c in priority if c in frame.columns]:
        need = natural_width(frame[[col]])
        if chosen and used + need > width:
            break
        chosen.append(col)
        used += need
    return frame[chosen]


def records(frame, max_rows: int = 200):
    """Rows one under the other, `column: value` (like psql's expanded display): for
    results too wide for the terminal."""
    from rich.text import Text

    names = [str(c) for c in frame.columns]
    pad = max((len(n) for n in names), default=0)
    text = Text()
    for n, row in enumerate(frame.head(max_rows).itertuples(index=False), start=1):
        text.append(f"-[ row {n} ]" + "-" * 20 + "\n", style="dim")
        for name, value in zip(names, row, strict=True):
            text.append(f"{name.ljust(pad)} ", style="bold")
            text.append(f"{_raw(value)}\n")
    if len(frame) > max_rows:
        text.append(f"{len(frame)} rows; first {max_rows} shown (use --json or --csv for all)\n", style="dim")
    return text


def fitted(frame, width: int, priority: list[str] | None = None):
    """What to print for `frame` on a terminal of `width` columns: the table when it fits;
    else the most important columns (`priority`) with a note, else one record per row."""
    if natural_width(frame) <= width or not len(frame.columns):
        return frame_table(frame)
    if priority:
        narrow = fit_columns(frame, priority, width)
        table = frame_table(narrow)
        left = [str(c) for c in frame.columns if c not in narrow.columns]
        if left:
            note = f"not shown at this width: {', '.join(left)} (use --json or --csv)"
            table.caption = f"{table.caption}; {note}" if table.caption else note
        return table
    return records(frame)


def discrepancy_tables(found, limit: int | None = None):
    """Failed controls grouped by rule and agencies, worst first."""
    from rich.table import Table

    if found is None or not len(found):
        return []
    tables = []
    for (rule_id, agencies), group in found.groupby(["rule_id", "agencies"], sort=False):
        table = Table("territory", "item", "left", "right", "imbalance", "tolerance", "explanation",
                      title=f"{rule_id} ({agencies}): {len(group)} discrepancies", title_justify="left")
        for r in group.head(limit or len(group)).itertuples():
            said = getattr(r, "explanation", None) or ""
            decided = getattr(r, "decision", None)
            if isinstance(decided, str) and decided:
                said = f"{said} [NSC: {decided}]".strip()
            table.add_row(_plain(f"{r.area or ''} {r.territory_name or r.territory}"),
                          _plain(str(r.item_label)), _num(r.left_value), _num(r.right_value),
                          _num(r.imbalance), _num(r.tolerance), _plain(said))
        tables.append(table)
    return tables


def _num(v) -> str:
    if v is None or v != v:
        return ""
    return str(int(v)) if float(v).is_integer() else f"{float(v):.1f}"


def _cell(v) -> str:
    """A value for a table cell: blank for NULL, counts without a spurious `.0`; text
    never taken for markup."""
    return _plain(_raw(v))


def _raw(v) -> str:
    """A value as text, unescaped (for widths, and for `Text` that is not markup)."""
    import pandas as pd

    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _plain(text: str) -> str:
    """User text shown through rich stays text: `[bold]` or `[link=...]` is not markup."""
    from rich.markup import escape

    return escape(text)
