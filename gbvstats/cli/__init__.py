"""The command line: a thin typer layer over the library, one module per stage.

Each command parses options, calls one library function and prints its result (a rich
table, or JSON with `--json`). Heavy modules (pandas, duckdb, openpyxl, pandera) are
imported inside the commands so that `gbvstats --help` stays instant. Commands are listed
in `--help` in the order their modules are imported here: the order of the data flow.
"""

# isort: off
from gbvstats.cli.common import app
from gbvstats.cli import forms, collect, serve, store, consolidate, publish, report, demo  # noqa: F401 (registers commands)
# isort: on


def main() -> None:
    app()
