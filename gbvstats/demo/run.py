"""`make demo`: generate the demo returns, submit them, consolidate, review, publish, print.

The NSC's review is what the publication gate asks for: the planted return in the wrong
unit (x10) is flagged by the outlier controls, the NSC records the decision "corrected by
the agency" and the agency re-sends it (revision 2), after which the years it touches are
consolidated again; a planted missing return gets the decision "accepted" (published
without it, flagged). Then the last year, and the four before it for the annual report,
are published through the gate (provisionally, and saying so, if anything still blocks).

Idempotent: the data are generated once per seed and years, and a second run submits the
same bytes again, which the warehouse recognises as duplicates; items already decided or
gone are not decided again.
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
    _review(console, manifest, out, warehouse, lang)
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


NSC = "NSC consolidation team (demo)"


def _review(console, manifest: dict, out: Path, warehouse: Path, lang: str) -> None:
    """The NSC's decisions on the planted defects (see the module docstring)."""
    from gbvstats.consolidate.run import consolidate
    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(warehouse, registry())
    console.rule(t("demo.review", lang))
    again: set[int] = set()
    for entry in manifest["files"]:
        if entry.get("defect") == "wrong_unit":
            year = int(entry["period"][:4])
            found = _decide_open(console, wh, year, lang, "corrected", "demo.note.wrong_unit",
                                 unit=entry["unit"], periods=(entry["period"], str(year)))
            found += _decide_open(console, wh, year + 1, lang, "corrected", "demo.note.wrong_unit",
                                  unit=entry["unit"], periods=(str(year + 1),))
            receipt = _resend(wh, entry, out)
            if receipt.outcome != "duplicate" or found:
                again |= {y for y in (year, year + 1) if y in YEARS}
                console.print(t("demo.corrected", lang, file=receipt.file, revision=receipt.revision,
                                years=", ".join(map(str, sorted(again)))), markup=False)
    for y in sorted(again):
        consolidate(wh, y)
    for item in manifest.get("missing", []):
        _decide_open(console, wh, int(item["period"][:4]), lang, "accepted", "demo.note.missing",
                     unit=item["unit"], periods=(item["period"],), source="missing")


def _decide_open(console, wh, year: int, lang: str, decision: str, note_key: str, unit: str,
                 periods: tuple[str, ...], source: str | None = None) -> int:
    """Decide the open items of `year` about one unit and period; returns how many."""
    from gbvstats.consolidate.decisions import decide

    items = wh.query("SELECT item_key FROM control_items WHERE year = ? AND unit = ? AND "
                     "list_contains(?, period) AND state = 'open' AND severity <> 'error' "
                     "AND (? IS NULL OR source = ?)", [year, unit, list(periods), source, source])
    if not len(items):
        return 0
    note = t(note_key, "en")
    for d in decide(wh, year, items["item_key"].tolist(), decision, note, NSC):
        console.print(t("demo.decided", lang, decision=d.decision, item_key=d.item_key, rule=d.rule_id,
                        scope=d.scope_id, item=d.item, note=t(note_key, lang)),
                      highlight=False, markup=False)
    return len(items)


def _resend(wh, entry: dict, out: Path):
    """The agency's corrected return: the true figures, sent 20 days after the wrong one."""
    from datetime import timedelta

    from gbvstats.collect.templates import fill_template, save
    from gbvstats.demo.generate import Generator
    from gbvstats.periods import parse_period

    reg = wh.reg
    form, period = reg.get(entry["form"], entry["version"]), parse_period(entry["period"])
    values = Generator(reg, SEED).values(form, entry["unit"], period)
    path = out / "corrections" / Path(entry["file"]).name.replace(".xlsx", "_corrected.xlsx")
    save(fill_template(form, values, entry["unit"], entry["period"],
                       contact="corrected by the statistics unit"), path)
    sent = datetime.fromisoformat(entry["submitted_at"]).replace(hour=10) + timedelta(days=20)
    return wh.submit(path, entry["agency"], f"{entry['agency']} statistics unit", received_at=sent)


def _publish_latest(console, warehouse: Path, out: Path, lang: str) -> Path | None:
    """The latest year into `out`, and the four before it into `out/<year>/` (the annual
    report's five years): each a release (publish/release.py) made from the warehouse's
    state now, through the publication gate (provisionally, and saying so, where it
    blocks); run again, each is the same release again, byte for byte."""
    from gbvstats.publish.release import release_state
    from gbvstats.publish.tables import PublishError
    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(warehouse, registry())
    year = YEARS[-1]
    with release_state(wh) as state:
        made = _publish(console, wh, state, year, out, lang)
        console.print(made.summary(lang))
        for earlier in YEARS[-5:-1]:
            try:
                _publish(console, wh, state, earlier, out / str(earlier), lang)
            except PublishError as exc:  # the report says which year it lacks
                console.print(str(exc))
    return out


def _publish(console, wh, state, year: int, out: Path, lang: str):
    """One year's release through the publication gate; provisionally, and saying so, if
    it blocks."""
    from gbvstats.publish.release import make_release
    from gbvstats.publish.tables import GateRefused

    try:
        made = make_release(wh, [year], out, by="demo", state=state, gate=True)
        console.print(t("demo.gated", lang, year=year, items=len(made.manifest["gate"]["items"])))
    except GateRefused as refused:
        from gbvstats.cli.gate import print_gate

        print_gate(refused.report, lang)
        made = make_release(wh, [year], out, by="demo", state=state, gate=True, provisional=True)
        console.print(t("demo.provisional", lang, year=year, blocking=len(refused.report.blocking)))
    console.print(t("demo.published", lang, year=year, path=out, files=len(made.paths)))
    return made


def _report(console, warehouse: Path, published: Path | None, lang: str) -> None:
    """The annual report of the latest year in every language, over the five years
    published by `_publish_latest`."""
    if published is None:
        return
    from gbvstats.report import make_report

    year = YEARS[-1]
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
