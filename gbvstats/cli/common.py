"""What every command shares: the app, option types, errors without tracebacks, output."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="gbvstats",
    help="Collect, validate and consolidate GBV and trafficking statistics (Kyrgyz Republic).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Shared option types: every command that touches the warehouse or prints data uses these.
WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="Warehouse file (default: $GBVSTATS_WAREHOUSE, else data/warehouse/gbvstats.duckdb)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help="Language of messages: en, ru or ky (default: $GBVSTATS_LANG, else the locale)."),
]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV.")]


def warehouse_path(path: Path | None) -> Path:
    from gbvstats.paths import default_warehouse

    return path or default_warehouse()


def lang_of(explicit: str | None) -> str:
    from gbvstats.i18n import choose_lang

    try:
        return choose_lang(explicit)
    except ValueError as exc:
        fail(str(exc), code=2)


def label_lang(explicit: str | None, default: str = "ru") -> str:
    """The language of labels written into files (templates): --lang, else
    $GBVSTATS_LANG, else Russian (what agency staff read first), never the locale."""
    import os

    return lang_of(explicit or os.environ.get("GBVSTATS_LANG", "").strip() or default)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(message: str, code: int = 1) -> None:
    """Print a user-facing error (no traceback) and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def console():
    from rich.console import Console

    return Console()


def registry_or_fail():
    from gbvstats.schema.model import SchemaLoadError, registry

    try:
        return registry()
    except SchemaLoadError as exc:
        fail(f"{exc.path}: {exc.key}: {exc.problem} (run `gbvstats schemas check`)", code=2)


def t_(key: str, lang: str, **params) -> str:
    from gbvstats.i18n import t

    return t(key, lang, **params)


def open_warehouse(path: Path | None, lang: str = "en"):
    from gbvstats.i18n import pick, t
    from gbvstats.store.warehouse import Warehouse

    return Warehouse(warehouse_path(path), registry_or_fail(),
                     on_wait=lambda holder: typer.echo(
                         t("store.waiting", lang, holder=pick(holder, lang)), err=True),
                     on_yield=lambda holder: typer.echo(
                         t("store.yielding", lang, holder=pick(holder, lang)), err=True))


@contextmanager
def store_errors(lang: str | None = None):
    """Warehouse and path problems reach the user as one line and an exit code, never a
    traceback: a path that cannot be used (exit 2), a file system error naming the path."""
    from gbvstats.paths import PathProblem
    from gbvstats.store.warehouse import StoreError

    try:
        yield
    except (StoreError, PathProblem) as exc:
        fail(exc.message(lang_of(lang)), code=exc.code)
    except OSError as exc:
        where = " -> ".join(str(p) for p in (exc.filename, exc.filename2) if p) or "?"
        fail(t_("paths.cannot_write", lang_of(lang), path=where, reason=exc.strerror or exc), code=2)


def show_frame(frame, as_json: bool, priority: list[str] | None = None) -> None:
    """JSON, or a table that fits the terminal (80 columns when it is not one): the
    `priority` columns when all do not fit, else one record per row."""
    if as_json:
        return print_json(json.loads(frame.to_json(orient="records", date_format="iso")))
    from gbvstats.views import fitted

    out = console()
    out.print(fitted(frame, out.width, priority))


def form_or_fail(ref: str):
    try:
        return registry_or_fail().parse_ref(ref)
    except (KeyError, ValueError) as exc:
        fail(str(exc).strip("'\""), code=2)

