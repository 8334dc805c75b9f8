"""`python -m bench.bench_release`: what a release costs on the ten-year demo warehouse.

A release is made from a state of the warehouse (store/asof.py: a temporary copy of every
recorded table as of an audit event), consolidated there, then written byte-stably with
its manifest and revisions (publish/release.py). Measured, each in a fresh process on a
copy of the warehouse:

- the state alone (copying the recorded tables as of the latest event);
- `publish` as it was before releases: protecting and writing the stored tables;
- `publish` now, a new release (state, consolidation of the year, files, manifest, record);
- the same release again (nothing changed: identical bytes, nothing recorded);
- a revised release after a corrected return (figures compared with the previous release);
- `publish --as-of` the first release (made again byte for byte);
- `release verify` of the first release's folder.

Workload: the warehouse `make demo` builds (data/warehouse, ten years, about 3,450
returns), copied; give another with --warehouse. Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.run import PY, machine

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, time
from pathlib import Path
action, wh_path, out, extra = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
from gbvstats.store.warehouse import Warehouse
wh = Warehouse(wh_path)
t = time.perf_counter()
result = {}
if action == "state":
    from gbvstats.store.asof import snapshot
    with snapshot(wh) as (state, cut):
        result["event"] = cut.event
elif action == "stored":
    from gbvstats.publish.tables import publish
    publish(wh_path, 2024, out)
elif action == "release":
    from gbvstats.publish.release import make_release
    made = make_release(wh, [2024], out, by="bench")
    result = {"outcome": made.outcome, "release": made.release.release_id, "changes": len(made.changes)}
elif action == "as_of":
    from gbvstats.publish.release import make_release, release_cut
    made = make_release(wh, [2024], out, cut=release_cut(wh, extra))
    result = {"outcome": made.outcome, "release": made.release.release_id}
elif action == "verify":
    from gbvstats.publish.release import verify
    report = verify(wh, Path(extra))
    result = {"exit_code": report.exit_code}
elif action == "correct":
    from gbvstats.collect.templates import fill_template, save
    from gbvstats.demo.generate import Generator
    from gbvstats.periods import parse_period
    row = wh.query("SELECT form, version, unit, period FROM current_submissions "
                   "WHERE form = 'MOI-FV' AND year = 2024 ORDER BY submission_id LIMIT 1").iloc[0]
    form = wh.reg.get(row.form, int(row.version))
    values = Generator(wh.reg, 99).values(form, row.unit, parse_period(row.period))  # other figures
    inputs = {(c.table, c.line, c.column) for c in form.cells() if c.input}
    wb = fill_template(form, {k: values.get(k, 0) for k in inputs}, row.unit, row.period)
    receipt = wh.submit(save(wb, out.with_suffix(".xlsx")), "MOI", by="bench")
    result = {"outcome": receipt.outcome, "submission": receipt.submission_id}
result["seconds"] = time.perf_counter() - t
print(json.dumps(result))
"""


def child(action: str, wh: Path, out: Path, extra: str = "") -> dict:
    proc = subprocess.run([PY, "-c", CHILD, action, str(wh), str(out), extra], capture_output=True,
                          text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{action} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def median(action: str, wh: Path, work: Path, repeat: int, extra: str = "") -> tuple[float, dict]:
    runs = []
    for i in range(repeat):
        out = work / f"{action}_{i}"
        shutil.rmtree(out, ignore_errors=True)
        runs.append(child(action, wh, out, extra))
    return statistics.median(r["seconds"] for r in runs), runs[-1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", type=Path, default=ROOT / "data" / "warehouse" / "gbvstats.duckdb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.warehouse.exists():
        raise SystemExit(f"no warehouse at {args.warehouse}: run `make demo` first")
    with tempfile.TemporaryDirectory(prefix="gbvstats-bench-release-") as tmp:
        work = Path(tmp)
        wh = work / "wh" / args.warehouse.name
        wh.parent.mkdir()
        shutil.copy2(args.warehouse, wh)
        shutil.copytree(args.warehouse.parent / "archive", wh.parent / "archive")
        con_rows = _rows(wh)
        rows = {}
        rows["state"], _ = median("state", wh, work, args.repeat)
        rows["stored"], _ = median("stored", wh, work, args.repeat)
        first = child("release", wh, work / "r1")
        rows["release"] = first["seconds"]
        rows["same"], same = median("release", wh, work, args.repeat)
        fix = child("correct", wh, work / "fix")
        revised = child("release", wh, work / "r2")
        rows["revised"] = revised["seconds"]
        rows["as_of"], asof = median("as_of", wh, work, args.repeat, first["release"])
        identical = _hashes(work / "r1") == _hashes(work / f"as_of_{args.repeat - 1}")
        rows["verify"], verified = median("verify", wh, work, 1, str(work / "r1"))
    lines = [
        "## releases (`python -m bench.bench_release`)", "",
        f"Machine: {machine()}.",
        f"Workload: the ten-year demo warehouse ({con_rows['submissions']} submissions, "
        f"{con_rows['cells']} cells, {con_rows['events']} audit events), copied; 2024 published in "
        "three languages. Each measure in a fresh process (imports not counted); medians of "
        f"{args.repeat} runs where repeated.", "",
        "| measure | seconds | note |", "|---|---|---|",
        f"| the state alone (every recorded table as of the latest event) | {rows['state']:.1f} | |",
        f"| publish the stored tables (before releases: no state, no consolidation) | {rows['stored']:.1f} | |",
        f"| publish: {first['release']} | {rows['release']:.1f} | outcome `{first['outcome']}`; "
        f"{rows['release'] / rows['stored']:.1f}x the stored tables' publish |",
        f"| publish again, nothing changed | {rows['same']:.1f} | outcome `{same['outcome']}`, the same bytes |",
        f"| publish after a corrected return | {rows['revised']:.1f} | {revised['release']}, "
        f"{revised['changes']} figures changed (submission {fix['submission']}, {fix['outcome']}); "
        f"{rows['revised'] / rows['stored']:.1f}x |",
        f"| publish --as-of {first['release']} | {rows['as_of']:.1f} | outcome `{asof['outcome']}`, "
        f"files identical: {'yes' if identical else 'NO'} |",
        f"| release verify of its folder | {rows['verify']:.1f} | exit {verified['exit_code']} |",
        "",
    ]
    _write_section("\n".join(lines))
    print("\n".join(lines))
    return 0


def _rows(wh: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        return {"submissions": con.execute("SELECT count(*) FROM submissions").fetchall()[0][0],
                "cells": con.execute("SELECT count(*) FROM cells").fetchall()[0][0],
                "events": con.execute("SELECT count(*) FROM audit_log").fetchall()[0][0]}
    finally:
        con.close()


def _hashes(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _write_section(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    body = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start, end = "<!-- release:start -->", "<!-- release:end -->"
    block = f"{start}\n{text}\n{end}"
    if start in body:
        body = body[:body.index(start)] + block + body[body.index(end) + len(end):]
    else:
        body = body.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(body, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
