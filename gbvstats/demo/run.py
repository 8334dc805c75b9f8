"""`make demo`: generate the demo returns, submit them, consolidate, publish, and print.

Idempotent: the data are generated once per seed and years, and a second run submits the
same bytes again, which the warehouse recognises as duplicates.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from gbvstats import paths
from gbvstats.demo.generate import generate, schemas_fingerprint
from gbvstats.i18n import choose_lang, t
from gbvstats.schema.model import registry

YEARS = list(range(2015, 2025))
SEED = 2018


def main() -> int:
    console = Console()
    lang = choose_lang(None)
    home = paths.home()
    out = home / "data" / "demo"
    warehouse = Path(os.environ.get("GBVSTATS_WAREHOUSE", home / "data" / "warehouse" / "gbvstats.duckdb"))
    manifest = _ensure_data(console, out, lang)
    _submit_all(console, manifest, out, warehouse, lang)
    _consolidate_all(console, warehouse, lang)
    published = _publish_latest(console, warehouse, home / "data" / "published", lang)
    _report(console, warehouse, published, lang)
    _show(console, warehouse, published, lang)
    return 0


def _ensure_data(console, out: Path, lang: str) -> dict:
    path = out / "manifest.json"
    if path.exists():
        manifest = json.loads(path.read_text(encoding="utf-8"))
        current = (manifest.get("seed"), manifest.get("years"), manifest.get("schemas"))
        if current == (SEED, YEARS, schemas_fingerprint(registry())):
            console.print(t("demo.reuse", lang, path=out, files=len(manifest["files"])))
            return manifest
    if out.exists():
        shutil.rmtree(out)  # data of another seed, years or schema version
    started = time.perf_counter()
    console.print(t("demo.generating", lang, years=f"{YEARS[0]}-{YEARS[-1]}", path=out))
    entries = generate(YEARS, out, SEED)
    console.print(t("demo.generated", lang, files=len(entries), seconds=f"{time.perf_counter() - started:.0f}"))
    return json.loads(path.read_text(encoding="utf-8"))


def _submit_all(console, manifest: dict, out: Path, warehouse: Path, lang: str) -> None:
    from collections import Counter

    from rich.progress import Progress

    from gbvstats.store.warehouse import Warehouse

    files = manifest["files"]
    wh = Warehouse(warehouse, registry())
    outcomes: Counter = Counter()
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(t("demo.submitting", lang), total=len(files))

        def tick(receipt) -> None:
            outcomes[receipt.outcome] += 1
            progress.advance(task)

        items = [(out / e["file"], e["agency"], f"{e['agency']} statistics unit",
                  datetime.fromisoformat(e["submitted_at"]).replace(hour=10)) for e in files]
        wh.submit_many(items, on_receipt=tick)
    seconds = time.perf_counter() - started
    console.print(t("demo.submitted", lang, files=len(files), seconds=f"{seconds:.0f}",
                    rate=f"{len(files) / seconds:.1f}",
                    outcomes=", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items()))))


def _consolidate_all(console, warehouse: Path, lang: str) -> None:
    from gbvstats.consolidate.run import consolidate
    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(warehouse, registry())
    started = time.perf_counter()
    for year in YEARS:
        consolidate(wh, year)
    console.print(t("demo.consolidated", lang, years=len(YEARS), seconds=f"{time.perf_counter() - started:.0f}"))


def _publish_latest(console, warehouse: Path, out: Path, lang: str) -> Path | None:
    try:
        from gbvstats.publish.tables import publish
    except ImportError:
        console.print(t("demo.no_publish", lang))
        return None
    written = publish(warehouse, YEARS[-1], out)
    console.print(t("demo.published", lang, year=YEARS[-1], path=out, files=len(written)))
    return out


def _report(console, warehouse: Path, published: Path | None, lang: str) -> None:
    """The annual report of the latest year in every language, over the five years: the
    four before it are published into `published/<year>/`, where the report finds them."""
    if published is None:
        return
    from gbvstats.publish.tables import PublishError, publish
    from gbvstats.report import make_report

    year = YEARS[-1]
    for earlier in YEARS[-5:-1]:
        try:
            publish(warehouse, earlier, published / str(earlier))
        except PublishError as exc:  # the report says which year it lacks
            console.print(str(exc))
    for report_lang in ("ru", "ky", "en"):
        result = make_report(year, published / f"report_{year}_{report_lang}.html", report_lang,
                             published=[published])
        console.print(t("report.demo.wrote", lang, path=result.html, years=", ".join(map(str, result.model.years))))


def _show(console, warehouse: Path, published: Path | None, lang: str) -> None:
    from gbvstats.store.warehouse import Warehouse
    from gbvstats.views import frame_table

    wh = Warehouse(warehouse, registry())
    year = YEARS[-1]
    console.rule(t("demo.h.completeness", lang, year=year))
    summary = wh.query("SELECT agency, count(*) AS expected, "
                       "count(*) FILTER (WHERE state LIKE 'accepted%') AS accepted, "
                       "count(*) FILTER (WHERE state = 'missing') AS missing, "
                       "count(*) FILTER (WHERE state = 'rejected') AS rejected, "
                       "count(*) FILTER (WHERE late) AS late "
                       "FROM completeness_results WHERE year = ? GROUP BY agency ORDER BY agency", [year])
    console.print(frame_table(summary))
    console.rule(t("demo.h.discrepancies", lang))
    top = wh.query("SELECT year, rule_id, agencies, split_part(scope_id, '|', 1) AS territory, "
                   "item_label, left_value, right_value, imbalance FROM rule_results "
                   "WHERE status = 'fail' AND run_id IN (SELECT max(run_id) FROM rule_results GROUP BY year) "
                   "ORDER BY abs(imbalance) / greatest(abs(left_value), abs(right_value), 1) DESC LIMIT 10")
    console.print(frame_table(top))
    console.rule("ind01_family_violence")
    console.print(frame_table(wh.query(  # the headline cells of the long table, one row per year
        "SELECT year, max(reports) AS reports, "
        "max(victims) FILTER (WHERE sex = '_T' AND age = '_T') AS victims, "
        "max(victims) FILTER (WHERE sex = 'F' AND age = '_T') AS victims_f, "
        "max(victims) FILTER (WHERE sex = 'M' AND age = '_T') AS victims_m, "
        "max(victims_per_100k) FILTER (WHERE sex = 'F' AND age = '_T') AS f_per_100k_f, "
        "max(victims_per_100k) FILTER (WHERE sex = 'F' AND age = 'Y18T999') AS adult_f_per_100k_adult_f "
        "FROM ind01_family_violence WHERE area = 'KG' AND education = '_T' AND activity = '_T' "
        "GROUP BY year ORDER BY year")))
    for table, columns in (
        ("ind02_protection_orders", "year, orders_issued, orders_extended, orders_violated, extension_rate_pct, violation_rate_pct"),
        ("ind03_justice_attrition", "year, opened, gpo_to_court, jd_persons_convicted, to_court_per_opened, reconciliation_share_pct"),
        ("ind05_trafficking", "year, victims, victims_per_100k, cases, prosecutions, convictions"),
    ):
        console.rule(table)
        extra = {"ind05_trafficking": " AND exploitation = '_T' AND sex = '_T' AND age = '_T'",
                 "ind03_justice_attrition": " AND chain = 'GBV' AND offence = '_T'"}.get(table, "")
        console.print(frame_table(wh.query(
            f"SELECT {columns} FROM {table} WHERE area = 'KG'{extra} ORDER BY year")))
    console.rule()
    console.print(t("demo.where", lang, warehouse=warehouse, published=published or "-"))


if __name__ == "__main__":
    sys.exit(main())
