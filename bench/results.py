"""bench/RESULTS.md is written by several benchmarks, each owning one section between
`<!-- KEY:start -->` and `<!-- KEY:end -->`; the rest of the file is left as it is."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def markers(key: str) -> tuple[str, str]:
    return f"<!-- {key}:start -->", f"<!-- {key}:end -->"


def write_section(key: str, block: str, path: Path = RESULTS) -> None:
    """Put `block` (which begins and ends with KEY's markers) in place of KEY's section,
    or at the end of the file when it has none yet."""
    start, end = markers(key)
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    if start in old and end in old:
        new = old[:old.index(start)] + block.strip() + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + block.strip() + "\n"
    path.write_text(new, encoding="utf-8")
