"""`python -m bench.bench_rebuild`: rebuild from the archive and audit log against the load
that made the warehouse, for one demo year and for ten (target: rebuild <= 1.5x the load,
with equal checksums). Also `fsck` of the ten-year warehouse. Writes its section of
bench/RESULTS.md.

Workload: the demo generator's returns (bench/out/demo, generated once), loaded as `make
demo` loads them (`submit_many`, the files' own received dates). Each measure runs in a
fresh child process; the median of `--repeat` runs is reported (default 1: the ten-year
figures take minutes).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.run import OUT, PY, demo_files, machine

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, time
from datetime import datetime
from pathlib import Path
from gbvstats.store.warehouse import Warehouse
action, root, wh_path, years = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
years = {int(y) for y in years.split(",")}
files = json.loads((root / "manifest.json").read_text())["files"]
chosen = [e for e in files if int(e["file"][:4]) in years]
wh = Warehouse(wh_path)
t = time.perf_counter()
if action == "load":
    wh.submit_many([(root / e["file"], e["agency"], f"{e['agency']} statistics unit",
                     datetime.fromisoformat(e["submitted_at"]).replace(hour=10)) for e in chosen])
    out = {"files": len(chosen)}
elif action == "rebuild":
    out = {"replayed": wh.rebuild(wh_path.with_name("rebuilt.duckdb"))}
elif action == "fsck":
    from gbvstats.store.fsck import fsck
    out = {"problems": len(fsck(wh).problems)}
out["seconds"] = time.perf_counter() - t
print(json.dumps(out))
"""


def child(action: str, wh: Path, years: list[int]) -> dict:
    run = subprocess.run([PY, "-c", CHILD, action, str(OUT / "demo"), str(wh), ",".join(map(str, years))],
                         capture_output=True, text=True, check=False)
    if run.returncode:
        raise SystemExit(f"{action} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def checksum(path: Path) -> dict:
    from gbvstats.store.warehouse import Warehouse

    return Warehouse(path).checksum()


def measure(years: list[int], repeat: int) -> dict:
    loads, rebuilds, files = [], [], 0
    for _ in range(repeat):
        wh_dir = OUT / "rebuild_wh"
        shutil.rmtree(wh_dir, ignore_errors=True)
        wh = wh_dir / "w.duckdb"
        load = child("load", wh, years)
        rebuilt = child("rebuild", wh, years)
        assert checksum(wh) == checksum(wh.with_name("rebuilt.duckdb")), "checksums differ"
        loads.append(load["seconds"])
        rebuilds.append(rebuilt["seconds"])
        files = load["files"]
    out = {"files": files, "load_s": statistics.median(loads), "rebuild_s": statistics.median(rebuilds)}
    out["ratio"] = out["rebuild_s"] / out["load_s"]
    if len(years) > 1:
        out["fsck_s"] = child("fsck", wh, years)["seconds"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    demo_files()
    years = list(range(2015, 2025))
    one = measure([2024], max(args.repeat, 3))
    ten = measure(years, args.repeat)
    write(one, ten)
    return 0


def write(one: dict, ten: dict) -> None:
    lines = [f"Machine: {machine()}.",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
             "`python -m bench.bench_rebuild`: each figure a fresh process; a load is "
             "`submit_many` of the demo returns into a new warehouse, the rebuild replays its "
             "audit log from the archive into another; checksums equal in every run.", "",
             "| workload | files | load | rebuild | rebuild / load | target |", "|---|---|---|---|---|---|"]
    for name, r in (("one year (2024)", one), ("ten years (2015-2024)", ten)):
        met = "met" if r["ratio"] <= 1.5 else "MISSED"
        lines.append(f"| {name} | {r['files']} | {r['load_s']:.1f} s | {r['rebuild_s']:.1f} s | "
                     f"{r['ratio']:.2f}x | <= 1.5x ({met}) |")
    lines += ["", f"`gbvstats fsck` of the ten-year warehouse (every archived file hashed, every "
              f"invariant checked): {ten['fsck_s']:.1f} s."]
    notes = ROOT / "bench" / "NOTES_rebuild.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    section = "\n".join(lines)
    print(section)
    path = ROOT / "bench" / "RESULTS.md"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    start, end = "<!-- rebuild:start -->", "<!-- rebuild:end -->"
    block = f"{start}\n## Rebuild against load (`python -m bench.bench_rebuild`)\n\n{section}\n{end}"
    if start in old:
        new_text = old[:old.index(start)] + block + old[old.index(end) + len(end):]
    else:
        new_text = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new_text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
