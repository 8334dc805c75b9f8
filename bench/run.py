"""`make bench`: how gbvstats scales, as figures and ratios (never asserted in tests).

Workloads come from the demo generator (bench/out/demo, generated once). Measures:
cold starts (`--help`, one `validate`) against a bare python-calamine read; validating 200
files in one call; submit throughput for one year against bare calamine and
openpyxl + pandas reads of the same files; consolidation of one year and of ten; peak
memory of the ten-year consolidation. Writes bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import platform
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
YEARS = list(range(2015, 2025))


def timed(cmd: list[str], repeat: int = 5, env=None) -> float:
    """Median wall time of a command, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def demo_files() -> list[dict]:
    manifest = OUT / "demo" / "manifest.json"
    if not manifest.exists():
        from gbvstats.demo.generate import generate

        print("generating the ten-year demo workload (once) ...", flush=True)
        generate(YEARS, OUT / "demo", 2018)
    return json.loads(manifest.read_text(encoding="utf-8"))["files"]


def bare_calamine(paths: list[Path]) -> float:
    import python_calamine as pc

    start = time.perf_counter()
    for p in paths:
        book = pc.load_workbook(p)
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
    return time.perf_counter() - start


def openpyxl_pandas(paths: list[Path]) -> float:
    import pandas as pd

    start = time.perf_counter()
    for p in paths:
        pd.read_excel(p, sheet_name=None, engine="openpyxl", header=None)
    return time.perf_counter() - start


def main() -> int:
    results: dict[str, float] = {}
    files = demo_files()
    paths = {e["file"]: OUT / "demo" / e["file"] for e in files}
    one = next(p for f, p in paths.items() if "MOI-FV_v2" in f)

    results["help_s"] = timed([GBV, "--help"])
    results["validate_one_s"] = timed([GBV, "validate", str(one)])
    results["bare_read_one_s"] = timed([PY, "-c", f"import python_calamine as pc; b = pc.load_workbook({str(one)!r}); "
                                        "[b.get_sheet_by_name(n).to_python() for n in b.sheet_names]"])
    results["validate_one_ratio"] = results["validate_one_s"] / results["bare_read_one_s"]

    two_hundred = [p for f, p in paths.items() if f.startswith("2023/")][:200]
    start = time.perf_counter()
    subprocess.run([GBV, "validate", "--json", *map(str, two_hundred)], capture_output=True, check=False)
    results["validate_200_files_per_s"] = len(two_hundred) / (time.perf_counter() - start)
    results["bare_read_200_files_per_s"] = len(two_hundred) / bare_calamine(two_hundred)
    results["validate_200_share_of_bare"] = results["validate_200_files_per_s"] / results["bare_read_200_files_per_s"]

    year = [e for e in files if e["file"].startswith("2024/")]
    year_paths = [paths[e["file"]] for e in year]
    wh_dir = OUT / "wh"
    shutil.rmtree(wh_dir, ignore_errors=True)
    results.update(_submit_and_consolidate(files, wh_dir))
    results["year_files"] = len(year)
    results["bare_read_year_files_per_s"] = len(year_paths) / bare_calamine(year_paths)
    results["openpyxl_pandas_year_files_per_s"] = len(year_paths) / openpyxl_pandas(year_paths)
    results["submit_share_of_bare"] = results["submit_year_files_per_s"] / results["bare_read_year_files_per_s"]
    results["submit_vs_openpyxl_pandas"] = results["submit_year_files_per_s"] / results["openpyxl_pandas_year_files_per_s"]
    results["consolidate_ten_over_one"] = results["consolidate_ten_years_s"] / results["consolidate_one_year_s"]
    write_results(results)
    return 0


def _submit_and_consolidate(files: list[dict], wh_dir: Path) -> dict[str, float]:
    """In a child process, so its peak memory is its own."""
    code = f"""
import json, resource, sys, time
from datetime import datetime
from pathlib import Path
from gbvstats.consolidate.run import consolidate
from gbvstats.store.warehouse import Warehouse
files = json.loads(Path({str(OUT / 'demo' / 'manifest.json')!r}).read_text())["files"]
root = Path({str(OUT / 'demo')!r})
wh = Warehouse(Path({str(wh_dir / 'w.duckdb')!r}))
def items(fs):
    return [(root / e["file"], e["agency"], "bench", datetime.fromisoformat(e["submitted_at"])) for e in fs]
year = [e for e in files if e["file"].startswith("2024/")]
rest = [e for e in files if not e["file"].startswith("2024/")]
t = time.perf_counter(); wh.submit_many(items(year)); submit_year = time.perf_counter() - t
from gbvstats.check.validate import validate_files
year_paths = [root / e["file"] for e in year]
t = time.perf_counter()
for start in range(0, len(year_paths), 100):  # as submit_many does: chunks of 100
    validate_files(year_paths[start:start + 100], wh.reg)
validate_year = time.perf_counter() - t
wh.submit_many(items(rest))
t = time.perf_counter(); consolidate(wh, 2024); one = time.perf_counter() - t
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
for y in {YEARS!r}:
    consolidate(wh, y)
ten = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"submit_year_files_per_s": len(year) / submit_year,
                  "validate_year_files_per_s": len(year) / validate_year,
                  "store_ms_per_file": 1000 * (submit_year - validate_year) / len(year),
                  "consolidate_one_year_s": one,
                  "consolidate_ten_years_s": ten, "peak_rss_mb": peak / 1024,
                  "rss_before_consolidation_mb": before / 1024}}))
"""
    run = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=False)
    if run.returncode:
        raise SystemExit(f"the submit/consolidate benchmark failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def machine() -> str:
    from importlib.metadata import version

    import duckdb
    import openpyxl
    import pandas

    mem = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return (f"{platform.machine()}, {os.cpu_count()} cores{mem}, {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; duckdb {duckdb.__version__}, "
            f"pandas {pandas.__version__}, openpyxl {openpyxl.__version__}, "
            f"python-calamine {version('python-calamine')}")


TARGETS = [
    ("validate_one_ratio", "cold `gbvstats validate` of one file / bare calamine read", "<= 3x", lambda v: v <= 3),
    ("validate_200_share_of_bare", "validate 200 files in one call / bare calamine throughput", ">= 50%", lambda v: v >= 0.5),
    ("submit_share_of_bare", "submit throughput (one year) / bare calamine throughput", ">= 40%", lambda v: v >= 0.4),
    ("consolidate_ten_over_one", "consolidation of ten years / one year", "<= 10x", lambda v: v <= 10),
    ("peak_rss_mb", "peak memory of the ten-year consolidation (MB)", "< 1024", lambda v: v < 1024),
]


def write_results(r: dict[str, float]) -> None:
    lines = ["# Benchmark results", "", f"Machine: {machine()}.",
             f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `make bench` "
             "(bench/run.py). Median of 5 runs for cold starts.", "",
             "| measure | value |", "|---|---|"]
    for key, value in r.items():
        lines.append(f"| `{key}` | {value:.3f} |" if isinstance(value, float) else f"| `{key}` | {value} |")
    lines += ["", "## Targets", "", "| target | measured | goal | met |", "|---|---|---|---|"]
    for key, text, goal, ok in TARGETS:
        value = r[key]
        shown = f"{value:.0%}" if "share" in key else f"{value:.2f}"
        lines.append(f"| {text} | {shown} | {goal} | {'yes' if ok(value) else 'no'} |")
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    section = "\n".join(lines[2:])
    print(section)
    # our section sits between markers; bench_validate.py keeps its own the same way
    start, end = markers("run")
    write_section("run", f"{start}\n## Pipeline (`make bench`, bench/run.py)\n\n{section}\n{end}")


if __name__ == "__main__":
    sys.exit(main())
