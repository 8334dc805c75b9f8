"""Demo data: `demo generate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gbvstats.cli.common import (
    app,
    fail,
    store_errors,
)

demo_app = typer.Typer(help="Demo data: every agency's returns, synthetic but consistent.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("generate")
def demo_generate(
    years: Annotated[str, typer.Option("--years", help="Year or range, e.g. 2015-2024.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the workbooks and manifest.json.")],
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files.")] = 2018,
) -> None:
    """Write the filled workbooks every agency would have returned for those years."""
    from gbvstats.demo.generate import generate
    from gbvstats.demo.world import YEARS
    from gbvstats.i18n import choose_lang, t
    from gbvstats.paths import output_dir

    first, _, last = years.partition("-")
    try:
        span = list(range(int(first), int(last or first) + 1))
    except ValueError:
        fail(f"--years {years!r}: expected a year or a range like 2015-2024", code=2)
    if not span or not set(span) <= set(YEARS):
        fail(t("demo.bad_years", choose_lang(None), years=years, first=YEARS[0], last=YEARS[-1]), code=2)
    with store_errors():
        output_dir(out)
        entries = generate(span, out, seed)
    defects = sum(1 for e in entries if e.defect)
    typer.echo(f"{len(entries)} workbooks in {out} ({defects} with planted defects; see manifest.json)")

