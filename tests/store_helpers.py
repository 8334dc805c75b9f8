"""Helpers for the warehouse tests: realistic, rule-consistent returns built with the
template builder, and a pool of distinct MOI-FV returns generated once per session."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

from gbvstats.collect.templates import fill_template, save
from gbvstats.demo.generate import Generator
from gbvstats.periods import parse_period
from gbvstats.schema.model import FormVersion, Registry, load_registry

ROOT = Path(__file__).resolve().parent.parent
GBVSTATS = str(ROOT / ".venv" / "bin" / "gbvstats")
OSH = "41706000000000"  # Osh oblast: reports the oblast-level forms
QUARTERS = ("2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4")


@cache
def _registry() -> Registry:
    return load_registry()


@cache
def _generator(seed: int) -> Generator:
    return Generator(_registry(), seed)


def districts(reg: Registry) -> list[str]:
    return [c.code for c in reg.territories().codes if getattr(c, "level", "") == "district"]


def input_cells(form: FormVersion) -> int:
    return sum(1 for c in form.cells() if c.input)


def consistent_values(form: FormVersion, unit: str, period: str, seed: int = 7) -> dict:
    """Every input cell filled, all intra-form rules passing (the demo generator's world)."""
    gen = _generator(seed)
    values = gen.values(form, unit, parse_period(period))
    inputs = {(c.table, c.line, c.column) for c in form.cells() if c.input}
    return {k: values.get(k, 0) for k in inputs}


def write_return(path: Path, form_key: str, unit: str, period: str, seed: int = 7,
                 contact: str = "Асанова Айгуль", values: dict | None = None) -> Path:
    """A filled workbook of `form_key` ("MOI-FV" or "MOI-FV@v1") for unit and period."""
    reg = _registry()
    name, _, version = form_key.partition("@v")
    form = reg.get(name, int(version)) if version else reg.get(name)
    if values is None:
        values = consistent_values(form, unit, period, seed)
    wb = fill_template(form, values, unit, period, contact=contact,
                       phone="+996 312 66 24 31", date="2024-04-10")
    path.parent.mkdir(parents=True, exist_ok=True)
    return save(wb, path)


def _write_one(args: tuple[str, str, str]) -> str:
    out, unit, period = args
    return str(write_return(Path(out), "MOI-FV", unit, period))


def distinct_returns(out_dir: Path, count: int) -> list[Path]:
    """`count` MOI-FV returns of distinct (district, quarter), written in parallel."""
    units = districts(_registry())
    pairs = [(u, q) for u in units for q in QUARTERS][:count]
    assert len(pairs) == count, "not enough districts and quarters"
    jobs = [(str(out_dir / f"fv_{u}_{q}.xlsx"), u, q) for u, q in pairs]
    with ProcessPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return [Path(p) for p in pool.map(_write_one, jobs)]


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the installed gbvstats command in a child process."""
    return subprocess.run([GBVSTATS, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, check=False)


def submit_process(files: list[Path], warehouse: Path, agency: str = "MOI",
                   env: dict | None = None) -> subprocess.Popen:
    """A `gbvstats submit` child that prints one receipt line per file as it goes."""
    return subprocess.Popen(
        [GBVSTATS, "submit", *map(str, files), "--agency", agency, "--warehouse", str(warehouse),
         "--lang", "en"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "400", **(env or {})})


PYTHON = sys.executable
