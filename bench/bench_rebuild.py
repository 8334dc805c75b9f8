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

from bench.results import markers, write_section
from bench.run import OUT, PY, demo_files, machine

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, time
from datetime import datetime
from pathlib import Path
from gbvstats.store.warehouse import Warehouse
action, root, wh_path, years, target = (sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4],
                                        Path(sys.argv[5]))
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
    out = {"replayed": wh.rebuild(target)}
elif action == "fsck":
    from gbvstats.store.fsck import fsck
    out = {"problems": len(fsck(wh).problems)}
out["seconds"] = time.perf_counter() - t
print(json.dumps(out))
"""


def child(action: str, wh: Path, years: list[int], target: Path | None = None,
          code: Path | None = None) -> dict:
    """One measure in a fresh process; `code`: another checkout's gbvstats (the before figure)."""
    import os

    env = {**os.environ, "PYTHONPATH": str(code), "GBVSTATS_HOME": str(code),
           "PYTHONDONTWRITEBYTECODE": "1"} if code else None  # nothing written into that checkout
    run = subprocess.run([PY, "-c", CHILD, action, str(OUT / "demo"), str(wh), ",".join(map(str, years)),
                          str(target or wh)], capture_output=True, text=True, check=False, env=env,
                         cwd=str(code or OUT))  # `python -c` puts the working folder first on sys.path
    if run.returncode:
        raise SystemExit(f"{action} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def checksum(path: Path) -> dict:
    from gbvstats.store.warehouse import Warehouse

    return Warehouse(path).checksum()


def measure(years: list[int], repeat: int, before: Path | None = None) -> dict:
    """Load, then rebuild twice: beside the original (same archive, as `gbvstats rebuild --out`
    in the warehouse's folder) and into another folder (the archive copied file by file,
    with fsync, as a load writes it)."""
    runs: dict[str, list[float]] = {"load": [], "rebuild": [], "rebuild_elsewhere": [], "before": []}
    files = 0
    for _ in range(repeat):
        for d in ("rebuild_wh", "rebuild_elsewhere", "rebuild_before"):
            shutil.rmtree(OUT / d, ignore_errors=True)
        wh = OUT / "rebuild_wh" / "w.duckdb"
        load = child("load", wh, years)
        files = load["files"]
        runs["load"].append(load["seconds"])
        for name, target in (("rebuild", wh.with_name("rebuilt.duckdb")),
                             ("rebuild_elsewhere", OUT / "rebuild_elsewhere" / "w.duckdb")):
            runs[name].append(child("rebuild", wh, years, target)["seconds"])
            assert checksum(wh) == checksum(target), f"{name}: checksums differ"
        if before:
            target = OUT / "rebuild_before" / "w.duckdb"
            runs["before"].append(child("rebuild", wh, years, target, code=before)["seconds"])
    out = {"files": files, **{f"{k}_s": statistics.median(v) for k, v in runs.items() if v}}
    for k in ("rebuild", "rebuild_elsewhere", "before"):
        if f"{k}_s" in out:
            out[f"{k}_ratio"] = out[f"{k}_s"] / out["load_s"]
    if len(years) > 1:
        out["fsck_s"] = child("fsck", wh, years)["seconds"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--before", type=Path, help="a checkout of the previous gbvstats (e.g. "
                        "/work/main): its rebuild of the one-year workload, for comparison")
    args = parser.parse_args()
    demo_files()
    years = list(range(2015, 2025))
    one = measure([2024], max(args.repeat, 3), args.before)
    ten = measure(years, args.repeat)
    write(one, ten)
    return 0


def write(one: dict, ten: dict) -> None:
    lines = [f"Machine: {machine()}.",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
             "`python -m bench.bench_rebuild`: each figure a fresh process; a load is "
             "`submit_many` of the demo returns into a new warehouse, the rebuild replays its "
             "audit log from the archive into another; checksums equal in every run.", "",
             "| workload | files | load | rebuild beside it | rebuild elsewhere | rebuild / load | target |",
             "|---|---|---|---|---|---|---|"]
    for name, r in (("one year (2024)", one), ("ten years (2015-2024)", ten)):
        worst = max(r["rebuild_ratio"], r["rebuild_elsewhere_ratio"])
        met = "met" if worst <= 1.5 else "MISSED"
        lines.append(f"| {name} | {r['files']} | {r['load_s']:.1f} s | {r['rebuild_s']:.1f} s | "
                     f"{r['rebuild_elsewhere_s']:.1f} s | {r['rebuild_ratio']:.2f}x / "
                     f"{r['rebuild_elsewhere_ratio']:.2f}x | <= 1.5x ({met}) |")
    if "before_s" in one:
        lines += ["", f"Before (one transaction per event, the previous code): the one-year "
                  f"rebuild took {one['before_s']:.1f} s, {one['before_ratio']:.2f}x its load, "
                  "in the same run."]
    lines += ["", f"`gbvstats fsck` of the ten-year warehouse (every archived file hashed, every "
              f"invariant checked): {ten['fsck_s']:.1f} s."]
    notes = ROOT / "bench" / "NOTES_rebuild.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    section = "\n".join(lines)
    print(section)
    start, end = markers("rebuild")
    write_section("rebuild", f"{start}\n## Rebuild against load (`python -m bench.bench_rebuild`)\n\n{section}\n{end}")


if __name__ == "__main__":
    sys.exit(main())
