"""The upload server on loopback, against a bare python-calamine read (not a test).

Run as `python -m bench.bench_serve` (part of `make bench`). Workload: one year of
demo-generator returns of every agency (bench/out/demo if `make bench` made it, else
bench/out/serve/demo, generated once). A `gbvstats serve` process on 127.0.0.1 with one
token per agency; the client is `gbvstats.collect.client.Remote`, what `submit --to` runs.

Measures: warm upload -> receipt latency, one client sending one file after another (p50,
p95), as a ratio to a bare in-process calamine read of the same files (goal: p50 <= 25x);
the same for a dry-run check and for sending a stored file again; throughput with 8
clients at once (8 threads, each its own connection), and with 8 `gbvstats submit --to`
processes. Writes the serve section of bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.results import markers, write_section

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "serve"
RESULTS = ROOT / "bench" / "RESULTS.md"
PY = sys.executable
GBV = str(Path(PY).parent / "gbvstats")
START, END = markers("serve")
AGENCIES = ("MOI", "GPO", "JD", "NSC", "MLSP")
YEAR = 2024


def workload() -> list[tuple[Path, str]]:
    """(file, agency) of one year of every agency's returns, from demo data of the current
    schemas (regenerated when a form version changed)."""
    from gbvstats.demo.generate import generate, schemas_fingerprint
    from gbvstats.schema.model import registry

    current = schemas_fingerprint(registry())
    for folder in (ROOT / "bench" / "out" / "demo", OUT / "demo"):
        manifest = folder / "manifest.json"
        if manifest.exists():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            year = [(folder / e["file"], e["agency"]) for e in data["files"]  # planted defects left out
                    if e["file"].startswith(f"{YEAR}/") and not e.get("defect")]
            if year and data.get("schemas") == current:
                return year
    print(f"generating the {YEAR} demo workload (once) ...", flush=True)
    shutil.rmtree(OUT / "demo", ignore_errors=True)
    generate([YEAR], OUT / "demo", 2018)
    return workload()


def bare_ms(paths: list[Path]) -> list[float]:
    """Milliseconds of a bare, warm, in-process calamine read of each file."""
    import python_calamine as pc

    def read(p: Path) -> None:
        book = pc.load_workbook(p)
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()

    for p in paths[:20]:
        read(p)
    out = []
    for p in paths:
        start = time.perf_counter()
        read(p)
        out.append(1000 * (time.perf_counter() - start))
    return out


class Server:
    """`gbvstats serve` on a free loopback port, on a fresh warehouse with a token per agency."""

    def __init__(self, name: str):
        from gbvstats.store.warehouse import Warehouse

        self.folder = OUT / name
        shutil.rmtree(self.folder, ignore_errors=True)
        wh = Warehouse(self.folder / "gbvstats.duckdb")
        self.tokens = {a: wh.create_token(a, f"{a} statistics unit", by="bench")[0] for a in AGENCIES}
        self.url_file = self.folder / "server.url"
        self.proc = subprocess.Popen([GBV, "serve", "--port", "0", "--url-file", str(self.url_file),
                                      "--warehouse", str(wh.path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not self.url_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.1)
        self.url = self.url_file.read_text().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def remotes(server: Server) -> dict:
    from gbvstats.collect.client import Remote

    return {a: Remote(server.url, t).__enter__() for a, t in server.tokens.items()}


def quantiles(ms: list[float]) -> tuple[float, float]:
    return statistics.median(ms), statistics.quantiles(ms, n=20)[18]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def latency(files: list[tuple[Path, str]]) -> dict[str, float]:
    server = Server("latency")
    try:
        clients = remotes(server)
        warm, timed = files[:15], files[15:135]
        for path, agency in warm:
            clients[agency].submit(path)
        out: dict[str, list[float]] = {"upload": [], "validate": [], "again": []}
        cpu_server, cpu_client = cpu_seconds(server.proc.pid), time.process_time()
        for path, agency in timed:
            start = time.perf_counter()
            receipt, _ = clients[agency].submit(path)
            out["upload"].append(1000 * (time.perf_counter() - start))
            assert receipt.outcome.startswith("accepted"), (path, receipt.outcome)
        cpu_server = cpu_seconds(server.proc.pid) - cpu_server
        cpu_client = time.process_time() - cpu_client
        for path, agency in timed[:60]:
            start = time.perf_counter()
            clients[agency].validate(path)
            out["validate"].append(1000 * (time.perf_counter() - start))
            start = time.perf_counter()
            clients[agency].submit(path)
            out["again"].append(1000 * (time.perf_counter() - start))
        for c in clients.values():
            c.__exit__()
    finally:
        server.stop()
    cpu_bare = time.process_time()
    bare = bare_ms([p for p, _ in timed])
    cpu_bare = (time.process_time() - cpu_bare) / (len(timed) + 20)  # bare_ms reads 20 to warm up
    r = {"files": len(timed), "bare_p50_ms": statistics.median(bare),
         "cpu_upload_ms": 1000 * (cpu_server + cpu_client) / len(timed),
         "cpu_server_ms": 1000 * cpu_server / len(timed), "cpu_bare_ms": 1000 * cpu_bare}
    r["cpu_ratio"] = r["cpu_upload_ms"] / r["cpu_bare_ms"]
    for key, ms in out.items():
        r[f"{key}_p50_ms"], r[f"{key}_p95_ms"] = quantiles(ms)
    r["ratio_p50"] = r["upload_p50_ms"] / r["bare_p50_ms"]
    r["ratio_p95"] = r["upload_p95_ms"] / r["bare_p50_ms"]
    return r


def throughput_threads(files: list[tuple[Path, str]], n: int = 8) -> float:
    server = Server("threads")
    errors: list[str] = []
    try:
        def run(part: list[tuple[Path, str]]) -> None:
            clients = remotes(server)
            try:
                for path, agency in part:
                    receipt, _ = clients[agency].submit(path)
                    if receipt.exit_code:
                        errors.append(f"{path.name}: {receipt.outcome}")
            finally:
                for c in clients.values():
                    c.__exit__()

        threads = [threading.Thread(target=run, args=(files[i::n],)) for i in range(n)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - start
    finally:
        server.stop()
    if errors:
        raise SystemExit("refused in the throughput run: " + "; ".join(errors[:5]))
    return len(files) / seconds


def throughput_processes(files: list[tuple[Path, str]], n: int = 8) -> float:
    """8 `gbvstats submit --to` commands at once (each its agency's files; start-up included)."""
    server = Server("processes")
    try:
        by_agency: dict[str, list[Path]] = {}
        for path, agency in files:
            by_agency.setdefault(agency, []).append(path)
        jobs = []
        for agency, paths in by_agency.items():
            share = max(1, round(n * len(paths) / len(files)))
            jobs += [(agency, paths[i::share]) for i in range(share) if paths[i::share]]
        start = time.perf_counter()
        procs = [subprocess.Popen([GBV, "submit", *map(str, paths), "--to", server.url, "--json"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  env={**os.environ, "GBVSTATS_TOKEN": server.tokens[agency]})
                 for agency, paths in jobs]
        codes = [p.wait() for p in procs]
        seconds = time.perf_counter() - start
    finally:
        server.stop()
    if any(codes):
        raise SystemExit(f"a submit --to process failed: {codes}")
    return len(files) / seconds, len(jobs)


def main() -> int:
    files = workload()
    load_before = os.getloadavg()[0]
    r = latency(files)
    r["threads_fps"] = throughput_threads(files)
    r["processes_fps"], r["processes"] = throughput_processes(files)
    r["year_files"] = len(files)
    r["load"] = (load_before + os.getloadavg()[0]) / 2
    text = report(r)
    print(text)
    write(text)
    return 0


def report(r: dict[str, float]) -> str:
    from bench.bench_validate import machine

    met = "met" if r["ratio_p50"] <= 25 else "MISSED"
    return f"""{START}
## serve (`python -m bench.bench_serve`)

Machine: {machine()}; load average during the run {r['load']:.1f} (the machine is shared).
Workload: the {YEAR} demo returns of every agency ({r['year_files']:.0f} files), sent to a
`gbvstats serve` process on 127.0.0.1 with `gbvstats.collect.client.Remote` (what
`submit --to` runs), each agency with its token. Latency: one client, one file after
another, {r['files']:.0f} files after 15 to warm up.

| measure | p50 | p95 | target |
|---|---|---|---|
| bare in-process calamine read of the same files | {r['bare_p50_ms']:.2f} ms | | |
| upload -> receipt (validated, stored, committed) | {r['upload_p50_ms']:.1f} ms | {r['upload_p95_ms']:.1f} ms | |
| as a ratio to the bare read | {r['ratio_p50']:.0f}x | {r['ratio_p95']:.0f}x | p50 <= 25x ({met}) |
| dry-run check (`validate --to`) | {r['validate_p50_ms']:.1f} ms | {r['validate_p95_ms']:.1f} ms | |
| the same file again (receipt from the warehouse) | {r['again_p50_ms']:.1f} ms | {r['again_p95_ms']:.1f} ms | |

CPU time per upload (server {r['cpu_server_ms']:.1f} ms + client), which the machine's load
does not stretch: {r['cpu_upload_ms']:.1f} ms against {r['cpu_bare_ms']:.2f} ms for the bare read
({r['cpu_ratio']:.0f}x); on an idle machine the p50 latency would be about that.

| throughput, the whole year | files/s |
|---|---|
| 8 clients at once (threads, one connection each) | {r['threads_fps']:.1f} |
| {r['processes']:.0f} `gbvstats submit --to` processes at once (their start-up included) | {r['processes_fps']:.1f} |

Analysis (bench/NOTES.md has the rest). A single upload pays the fixed cost of a
validation call alone. The rule engine keeps each form version's compiled rules warm (as
Arrow tables, with a DuckDB connection per thread, one DuckDB thread for a few returns), so
what is left per call is fixed start-up, not work: planning and starting one DuckDB rule
query (12-18 ms on a quiet machine; the same query over 200 files costs about 1 ms a
file), pandera typing (about 5 ms), reading (about 4 ms) and pandas glue (about 6 ms),
some 30-35 ms of CPU, itself 25-30x a bare read. Storing (archive with fsync, one
transaction) adds about 15 ms of CPU, HTTP, multipart parsing, spooling and the receipt a
few more. The 25x goal is therefore below the floor of one validated and stored upload
in this design; concurrent uploads share the fixed costs: the server validates whatever is
waiting in one call and stores it in one transaction while the next batch is checked.
{END}
"""


def write(section: str) -> None:
    write_section("serve", section)


if __name__ == "__main__":
    sys.exit(main())
