"""`make bench` (gate section): what the publication gate costs, and how the outlier rules
do on the ten-year demo. Writes the `gate` section of bench/RESULTS.md.

Workload: the ten-year demo (bench/out/demo, shared with bench/run.py), submitted,
consolidated and reviewed as `make demo` does (demo/run.py: the NSC's decisions on the
planted defects) into bench/out/gate/gbvstats.duckdb, built once. Measures, on 2024:
- the great-expectations import alone (a fresh `python -c`);
- `gbvstats gate` (the expectation suites on every table as published, the controls'
  items), with its own breakdown: GX import, suites, the rest;
- `publish` as it was before the gate (library, `gate=False`) against `gbvstats publish`
  (the gate first): the ratio is the issue's target (<= 10x);
- the outlier rules on every year: items evaluated, flagged, how many flags fall on a
  clean unit (false positives: not a planted defect and not the year after it), the
  largest score of a clean unit, the scores of the planted return in the wrong unit,
  and the time the outlier rules take in a year's reconciliation.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.results import markers, write_section

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PY = sys.executable
GBV = str(Path(PY).parent / "gbvstats")
YEAR = 2024
REPEAT = 3


def timed(cmd: list[str], env=None) -> tuple[float, subprocess.CompletedProcess]:
    times, last = [], None
    for _ in range(REPEAT):
        start = time.perf_counter()
        last = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times), last


def warehouse() -> Path:
    """The reviewed ten-year demo warehouse (built once)."""
    from rich.console import Console

    from bench.run import demo_files
    from gbvstats.demo import run

    db = OUT / "gate" / "gbvstats.duckdb"
    if db.exists():
        return db
    demo_files()  # generates bench/out/demo once (shared with bench/run.py)
    manifest = json.loads((OUT / "demo" / "manifest.json").read_text(encoding="utf-8"))
    shutil.rmtree(db.parent, ignore_errors=True)
    console = Console(quiet=True)
    run._submit_all(console, manifest, OUT / "demo", db, "en")
    run._consolidate_all(console, db, "en")
    run._review(console, manifest, OUT / "demo", db, "en")
    return db


def outliers(db: Path, manifest: dict) -> dict:
    """Flags of every outlier rule on every year, split into planted and clean."""
    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(db)
    planted = set()
    for e in manifest["files"]:
        if e.get("defect") == "wrong_unit":
            year = int(e["period"][:4])
            planted |= {(e["unit"], e["period"]), (e["unit"], str(year)), (e["unit"], str(year + 1))}
    # the rules as they ran on the data with the planted defects (the run before the
    # review's correction): every run of every year
    rows = wh.query("SELECT run_id, year, rule_id, kind, scope_id, item_label, status, score "
                    "FROM rule_results WHERE kind IN ('history', 'within_year', 'cross_section')")
    first = rows.groupby("year")["run_id"].transform("min")
    before = rows[rows["run_id"] == first]  # the first consolidation: defects still in place
    latest = rows[rows["run_id"] == rows.groupby("year")["run_id"].transform("max")]
    scope = before["scope_id"].str.split("|")
    before = before.assign(unit=scope.str[0], period=scope.str[1])
    is_planted = [(u, p) in planted for u, p in zip(before["unit"], before["period"], strict=True)]
    clean = before[[not x for x in is_planted]]
    dirty = before[is_planted]
    return {
        "items": len(before), "flagged": int((before.status == "fail").sum()),
        "false_positives": int((clean.status == "fail").sum()),
        "max_clean_score": float(clean.score.abs().max()),
        "planted_scores": sorted({f"{r.rule_id} {r.period} {r.item_label.split(' ')[0]}: {r.score:.1f}"
                                  for r in dirty[dirty.status == "fail"].itertuples()}),
        "after_review_flagged": int((latest.status == "fail").sum()),
        "by_kind": {k: {"items": int(len(g)), "flagged": int((g.status == "fail").sum()),
                        "false_positives": int((clean[clean.kind == k].status == "fail").sum()),
                        "max_clean_score": round(float(clean[clean.kind == k].score.abs().max()), 2)}
                    for k, g in before.groupby("kind")},
    }


def outlier_seconds(db: Path) -> float:
    """The outlier rules of one year's reconciliation, in process (warm)."""
    from gbvstats.consolidate import reconcile
    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(db)
    rules = [r for r in reconcile.load_rules() if r.kind in reconcile.OUTLIER_KINDS]
    with wh.reader() as con:
        reconcile._outliers(con, rules[0], wh.reg, YEAR)  # warm up
        start = time.perf_counter()
        for rule in rules:
            reconcile._outliers(con, rule, wh.reg, YEAR)
        return time.perf_counter() - start


def main() -> int:
    db = warehouse()
    env = {**os.environ, "GBVSTATS_WAREHOUSE": str(db), "GBVSTATS_LANG": "en"}
    r: dict[str, object] = {}
    r["gx_import_s"], _ = timed([PY, "-c", "import os; os.environ['GX_ANALYTICS_ENABLED'] = 'False'; "
                                 "import great_expectations"])
    r["gate_s"], gate = timed([GBV, "gate", "--year", str(YEAR), "--json"], env)
    report = json.loads(gate.stdout)
    quality = report["quality"] or {}
    r["gate_blocked"] = report["blocked"]
    r["gate_gx_import_s"] = quality.get("seconds", {}).get("import", float("nan"))
    r["gate_suites_s"] = quality.get("seconds", {}).get("total", float("nan")) - r["gate_gx_import_s"]
    r["expectations"] = len(quality.get("results", []))
    out = OUT / "gate" / "published"
    base = ("from pathlib import Path; from gbvstats.publish.tables import publish; "
            f"publish(Path({str(db)!r}), {YEAR}, Path({str(out)!r}), gate=False)")
    r["publish_without_gate_s"], _ = timed([PY, "-c", base], env)
    r["publish_with_gate_s"], pub = timed([GBV, "publish", "--year", str(YEAR), "--out", str(out)], env)
    r["publish_exit"] = pub.returncode
    r["publish_ratio"] = r["publish_with_gate_s"] / r["publish_without_gate_s"]
    r["gx_import_share_of_gate"] = r["gate_gx_import_s"] / r["gate_s"]
    r["load_average"] = os.getloadavg()[0]
    manifest = json.loads((OUT / "demo" / "manifest.json").read_text(encoding="utf-8"))
    r["outliers"] = outliers(db, manifest)
    r["outlier_rules_one_year_s"] = outlier_seconds(db)
    write(r)
    print(json.dumps(r, indent=2, default=str))
    return 0


def write(r: dict) -> None:
    from bench.run import machine

    o = r["outliers"]
    kinds = "\n".join(f"| `{k}` | {v['items']} | {v['flagged']} | {v['false_positives']} | "
                      f"{v['max_clean_score']} |" for k, v in o["by_kind"].items())
    section = f"""Machine: {machine()}.
Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make bench` (bench/bench_gate.py);
cold commands are medians of {REPEAT} fresh processes; load average {r['load_average']:.1f} on the
2 cores while measuring (other jobs ran: absolute times are inflated, ratios less so).
Workload: the ten-year demo, submitted,
consolidated and reviewed as `make demo` does; {YEAR} checked and published.

| measure | value |
|---|---|
| `import great_expectations` alone (fresh process) | {r['gx_import_s']:.2f} s |
| `gbvstats gate --year {YEAR}` (cold) | {r['gate_s']:.2f} s |
| of which GX import (measured inside the gate) | {r['gate_gx_import_s']:.2f} s |
| of which the suites ({r['expectations']} expectations on 8 tables) | {r['gate_suites_s']:.2f} s |
| share of the gate taken by the GX import | {r['gx_import_share_of_gate']:.0%} |
| gate blocked {YEAR} | {r['gate_blocked']} |
| `publish` without the gate (library, as before) | {r['publish_without_gate_s']:.2f} s |
| `gbvstats publish` (gate first) | {r['publish_with_gate_s']:.2f} s (exit {r['publish_exit']}) |
| ratio (target <= 10x) | {r['publish_ratio']:.1f}x ({'met' if r['publish_ratio'] <= 10 else 'MISSED'}) |
| outlier rules of one year's reconciliation (warm) | {r['outlier_rules_one_year_s']:.2f} s |

Outlier rules on the ten years as submitted (the first consolidation of each year, before
the NSC's review corrected the planted return): {o['items']} items evaluated, {o['flagged']}
flagged, **{o['false_positives']} on a clean unit** (false positives; the planted return's unit
in its period, its year and the year after are not clean). After the review, {o['after_review_flagged']}
flagged.

| kind | items | flagged | false positives | largest clean score |
|---|---|---|---|---|
{kinds}

The planted return in the wrong unit (x10) scores: {'; '.join(o['planted_scores']) or '-'}
(threshold 5). The LP audit of disclosure control is issue 11's section 4 (another branch);
it is not part of these figures.
"""
    start, end = markers("gate")
    write_section("gate", f"{start}\n## The publication gate (`make bench`, bench/bench_gate.py)\n\n{section}{end}")


if __name__ == "__main__":
    sys.exit(main())
