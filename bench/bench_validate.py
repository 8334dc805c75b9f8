"""Validation speed against a bare python-calamine read of the same files (not a test).

Run as `python -m bench.bench_validate`. Workbooks are filled templates of the real forms
(bench/out/validate, generated once). Measures a cold `gbvstats validate` of one file
against a bare `python -c` that only reads it with calamine (target <= 3x), and validating
200 files in one call against bare calamine reading throughput (target >= 50%). Prints the
figures, profiles what dominates, and writes them into the validate section of
bench/RESULTS.md (the rest of the file is left as it is).
"""

from __future__ import annotations

import cProfile
import io
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.results import markers, write_section

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "validate"
RESULTS = ROOT / "bench" / "RESULTS.md"
PY = sys.executable
GBV = str(Path(PY).parent / "gbvstats")
START, END = markers("validate")
BARE = ("import sys, python_calamine as pc\n"
        "for p in sys.argv[1:]:\n"
        "    b = pc.load_workbook(p)\n"
        "    [b.get_sheet_by_name(s).to_python() for s in b.sheet_names]\n")


def demo_returns(n: int = 200) -> list[Path]:
    """n returns of the demo generator (bench/out/demo, written by `make bench`), spread over
    agencies and years: realistic values that mostly pass the rules. Empty when absent."""
    found = sorted((ROOT / "bench" / "out" / "demo").glob("*/*/*.xls*"))
    return found[:: max(1, len(found) // n)][:n] if len(found) >= n else []


def workbooks(n: int = 200) -> list[Path]:
    """n filled returns, cycling over every form version, each with its own values."""
    from gbvstats.collect.templates import fill_template, save
    from gbvstats.schema.model import load_registry

    reg = load_registry()
    forms = [f for f in reg.versions() if any(c.input for c in f.cells())]
    paths = []
    for i in range(n):
        form = forms[i % len(forms)]
        path = OUT / f"{i:03d}_{form.form}_v{form.version}.xlsx"
        if not path.exists():
            unit = "41711201000000" if form.level == "district" else "41706000000000"
            year = int(form.valid_from[:4])
            period = str(year) if form.periodicity == "year" else f"{year}-Q{1 + i % 4}"
            values = {(c.table, c.line, c.column): (i * 7 + k) % 97
                      for k, c in enumerate(c for c in form.cells() if c.input)}
            save(fill_template(form, values, unit, period, reg=reg), path)
        paths.append(path)
    return paths


def timed(cmd: list[str], repeat: int = 7) -> float:
    """Median wall time of a command in a fresh process, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


STACK = "import pandas, pandera.pandas, duckdb\n"  # what the design's validation imports


def stages(paths: list[Path]) -> dict[str, float]:
    """Warm, in-process milliseconds per file of each stage of `validate_files`."""
    import python_calamine as pc

    from gbvstats.check.rules import check_groups
    from gbvstats.check.validate import ValidationReport, validate_files
    from gbvstats.collect.reader import read_workbook, type_results
    from gbvstats.schema.model import load_registry

    reg = load_registry()
    validate_files(paths[:20], reg)  # warm imports and compiled rules
    n = len(paths)
    start = time.perf_counter()
    for p in paths:
        book = pc.load_workbook(p)
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
    t_bare = time.perf_counter()
    reports = [ValidationReport(**read_workbook(p, reg, typed=False).__dict__) for p in paths]
    t_read = time.perf_counter()
    type_results(reports)
    t_type = time.perf_counter()
    by_form: dict[str, list[int]] = {}
    for i, r in enumerate(reports):
        if r.form is not None and r.cells is not None:
            by_form.setdefault(r.form.key, []).append(i)
    check_groups([(reports[ix[0]].form, [(str(i), reports[i].cells, reports[i].path.name) for i in ix])
                  for ix in by_form.values()])
    t_rules = time.perf_counter()
    return {"bare": (t_bare - start) * 1000 / n, "read": (t_read - t_bare) * 1000 / n,
            "type": (t_type - t_read) * 1000 / n, "rules": (t_rules - t_type) * 1000 / n}


def single_calls(paths: list[Path], rounds: int = 3) -> dict[str, float]:
    """What the server does for one upload: `validate_files([one file])` in a warm process,
    one file after another. Medians (ms) of the call, of a bare calamine read of the same
    file, and of the call's stages (timed by wrapping the functions it calls)."""
    import python_calamine as pc

    from gbvstats.check import rules, validate
    from gbvstats.schema.model import load_registry

    reg = load_registry()
    spent: dict[str, list[float]] = {}

    def timing(module, name: str, label: str) -> None:
        inner = getattr(module, name)

        def wrapped(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent.setdefault(label, []).append(1000 * (time.perf_counter() - start))
        setattr(module, name, wrapped)

    saved = [(validate, "read_workbook"), (validate, "type_results"), (rules, "_run"),
             (rules, "check_groups")]
    originals = [getattr(m, n) for m, n in saved]
    for (module, name), label in zip(saved, ("read", "type", "query", "rules"), strict=True):
        timing(module, name, label)
    try:
        for p in paths[:20]:  # warm: imports, compiled rules, the connection
            validate.validate_files([p], reg)
        spent.clear()
        calls, bare = [], []
        for _ in range(rounds):
            for p in paths:
                start = time.perf_counter()
                book = pc.load_workbook(p)
                for name in book.sheet_names:
                    book.get_sheet_by_name(name).to_python()
                bare.append(1000 * (time.perf_counter() - start))
                start = time.perf_counter()
                validate.validate_files([p], reg)
                calls.append(1000 * (time.perf_counter() - start))
    finally:
        for (module, name), inner in zip(saved, originals, strict=True):
            setattr(module, name, inner)
    out = {"call": statistics.median(calls), "call_p95": statistics.quantiles(calls, n=20)[-1],
           "bare": statistics.median(bare)}
    out.update({k: statistics.median(v) for k, v in spent.items()})
    return out


def in_process_share(paths: list[Path]) -> tuple[float, float, str]:
    """(validate s, bare calamine s, top of the profile) for all files in one process,
    after imports, so the comparison is of the work per file only."""
    import python_calamine as pc

    from gbvstats.check.validate import validate_files
    from gbvstats.schema.model import load_registry

    reg = load_registry()
    validate_files(paths[:2], reg)  # warm imports and compiled rules
    start = time.perf_counter()
    for p in paths:
        book = pc.load_workbook(p)
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
    bare = time.perf_counter() - start
    start = time.perf_counter()
    validate_files(paths, reg)
    full = time.perf_counter() - start
    profile = cProfile.Profile()  # a second pass: the profiler itself doubles the time
    profile.enable()
    validate_files(paths, reg)
    profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(18)
    return full, bare, _compact_profile(text.getvalue())


def _compact_profile(text: str) -> str:
    lines = [ln for ln in text.splitlines() if re.match(r"\s+\d", ln)]
    return "\n".join(ln.replace(str(ROOT) + "/", "") for ln in lines[:18])


def import_time() -> str:
    """The slowest imports of a cold `gbvstats validate` (python -X importtime)."""
    proc = subprocess.run([PY, "-X", "importtime", "-c",
                           "from gbvstats.check.validate import validate_file; import pandas, pandera.pandas, duckdb"],
                          capture_output=True, text=True, check=False)
    rows = []
    for ln in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", ln)
        if m and len(m[3]) <= 2:  # top-level imports only
            rows.append((int(m[2]), m[4]))
    rows.sort(reverse=True)
    return "\n".join(f"{us / 1000:8.1f} ms  {name}" for us, name in rows[:8])


def machine() -> str:
    from importlib.metadata import version

    import duckdb
    import openpyxl
    import pandas
    import pandera

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    return (f"{platform.machine()}, {os.cpu_count()} CPUs (nproc), {mem:.0f} GB memory, "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
            f"python-calamine {version('python-calamine')}, pandas {pandas.__version__}, "
            f"pandera {pandera.__version__}, duckdb {duckdb.__version__}, openpyxl {openpyxl.__version__}")


def main() -> int:
    paths = demo_returns(200) or workbooks(200)
    one = next(p for p in paths if "MOI-FV_v2" in p.name)
    source = "demo-generator returns (bench/out/demo)" if "demo" in str(paths[0]) else (
        "filled templates with arbitrary values (bench/out/validate; many rule failures)")
    r: dict[str, float] = {}
    r["bare_one_s"] = timed([PY, "-c", BARE, str(one)])
    r["validate_one_s"] = timed([GBV, "validate", str(one)])
    r["one_ratio"] = r["validate_one_s"] / r["bare_one_s"]
    r["help_s"] = timed([GBV, "--help"])
    r["bare_200_s"] = timed([PY, "-c", BARE, *map(str, paths)], repeat=3)
    r["validate_200_s"] = timed([GBV, "validate", "--json", *map(str, paths)], repeat=3)
    r["floor_one_s"] = timed([PY, "-c", STACK + BARE, str(one)])
    r["floor_ratio"] = r["floor_one_s"] / r["bare_one_s"]
    r["floor_200_s"] = timed([PY, "-c", STACK + BARE, *map(str, paths)], repeat=3)
    r["floor_share"] = r["bare_200_s"] / r["floor_200_s"]
    r["bare_200_fps"] = len(paths) / r["bare_200_s"]
    r["validate_200_fps"] = len(paths) / r["validate_200_s"]
    r["share_200"] = r["validate_200_fps"] / r["bare_200_fps"]
    full, bare, profile = in_process_share(paths)
    r["warm_share"] = bare / full
    r["warm_ms_per_file"] = 1000 * full / len(paths)
    r["warm_bare_ms_per_file"] = 1000 * bare / len(paths)
    r.update({f"stage_{k}_ms": v for k, v in stages(paths).items()})
    r.update({f"single_{k}_ms": v for k, v in single_calls(paths).items()})
    imports = import_time()
    text = report(r, profile, imports, source)
    print(text)
    write(text)
    return 0


def report(r: dict[str, float], profile: str, imports: str, source: str) -> str:
    ok1 = "met" if r["one_ratio"] <= 3 else "MISSED"
    ok2 = "met" if r["share_200"] >= 0.5 else "MISSED"
    return f"""{START}
## validate (`python -m bench.bench_validate`)

Machine: {machine()}.
Workload: 200 {source}, every form; one MOI-FV v2 return for the cold start. Wall times are medians of fresh processes.

| measure | figure | target |
|---|---|---|
| bare `python -c` calamine read of one file | {r['bare_one_s'] * 1000:.0f} ms | |
| cold `gbvstats validate` of one file | {r['validate_one_s'] * 1000:.0f} ms | |
| ratio | {r['one_ratio']:.2f}x | <= 3x ({ok1}) |
| `gbvstats --help` | {r['help_s'] * 1000:.0f} ms | |
| bare calamine, 200 files in one process | {r['bare_200_fps']:.0f} files/s | |
| `gbvstats validate --json` of 200 files in one call | {r['validate_200_fps']:.0f} files/s | |
| share of bare throughput | {r['share_200'] * 100:.0f}% | >= 50% ({ok2}) |
| warm, in-process: validate per file / bare read per file | {r['warm_ms_per_file']:.1f} ms / {r['warm_bare_ms_per_file']:.1f} ms ({r['warm_share'] * 100:.0f}%) | |
| floor: `python -c` importing pandas, pandera, duckdb, then the bare read of one file | {r['floor_one_s'] * 1000:.0f} ms ({r['floor_ratio']:.1f}x bare) | |
| floor: the same for the 200 files, as a share of bare throughput | {r['floor_share'] * 100:.0f}% | |

Warm per-file stages (in-process, after imports; ms per file over the 200 files):
calamine read alone {r['stage_bare_ms']:.2f}; `read_workbook` {r['stage_read_ms']:.2f} (calamine plus zip
inspection for formulas, error cells, macros, links and bombs, layout search, normalising);
pandera typing {r['stage_type_ms']:.2f}; intra-form rules in DuckDB with findings {r['stage_rules_ms']:.2f}.

One file per call, as the server validates an upload (warm process; medians over the
200 files, 3 rounds): `validate_files([file])` {r['single_call_ms']:.1f} ms (p95 {r['single_call_p95_ms']:.1f})
against a bare calamine read of the file {r['single_bare_ms']:.2f} ms ({r['single_call_ms'] / r['single_bare_ms']:.0f}x);
of which reading {r['single_read_ms']:.1f}, pandera typing {r['single_type_ms']:.1f}, rules {r['single_rules_ms']:.1f}
(the DuckDB rule query alone {r['single_query_ms']:.1f}).

Slowest top-level imports of a cold validate (`python -X importtime`):
```
{imports}
```
Where warm validation time goes (cProfile, cumulative, 200 files):
```
{profile}
```
Analysis. The floor rows measure what the design's stack costs before any gbvstats code
runs: pandera needs pandas (with numpy and pyarrow), and the rules run in DuckDB, so a
cold validate cannot start faster than importing those three, which alone is
{r['floor_ratio']:.1f}x a bare calamine read here. The 3x cold target is below that floor; the
remaining gap ({r['validate_one_s'] * 1000:.0f} ms against the floor's {r['floor_one_s'] * 1000:.0f} ms) is typer, pydantic schemas,
the first DuckDB connection and compiling the rules. For 200 files in one call the same
imports cap validation at {r['floor_share'] * 100:.0f}% of bare throughput even if validating cost nothing;
the per-file work left is shown by the stages above.
{END}
"""


def write(section: str) -> None:
    write_section("validate", section)


if __name__ == "__main__":
    if sys.argv[1:] == ["--single"]:  # only the one-file-per-call figures, printed
        found = demo_returns(200) or workbooks(200)
        print({k: round(v, 2) for k, v in single_calls(found).items()})
        sys.exit(0)
    sys.exit(main())
