"""The command line: a thin typer layer over the library, one module per stage.

Each command parses options, calls one library function and prints its result (a rich
table, or JSON with `--json`). Heavy modules (pandas, duckdb, openpyxl, pandera) are
imported inside the commands so that `gbvstats --help` stays instant. Commands are listed
in `--help` in the order their modules are imported here: the order of the data flow.
"""

# isort: off
from gbvstats.cli.common import app
from gbvstats.cli import forms, collect, serve, store, consolidate, gate, publish, report, demo  # noqa: F401 (registers commands)
# isort: on


def main() -> None:
    """The `gbvstats` entry point: a defect never reaches the user as a traceback."""
    import os
    import sys

    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write(f"error: {_text('cli.interrupted')}\n")
        sys.exit(130)
    except Exception as exc:  # a defect of ours: one line, exit 2
        if os.environ.get("GBVSTATS_DEBUG"):
            raise
        detail = " ".join(str(exc).split())[:300]
        sys.stderr.write("error: " + _text("cli.internal_error", kind=type(exc).__name__,
                                            detail=detail) + "\n")
        sys.exit(2)


def _text(key: str, **params) -> str:
    from gbvstats.i18n import choose_lang, t

    try:
        lang = choose_lang(None)
    except ValueError:
        lang = "en"
    return t(key, lang, **params)
