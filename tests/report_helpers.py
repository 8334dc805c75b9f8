"""Helpers for the report tests: a small demo (one oblast, two years) submitted,
consolidated and published the way the NSC would, and readers of the HTML it gives."""

from __future__ import annotations

import re
import shutil
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

TALAS = "41707000000000"
YEARS = [2023, 2024]


def build_demo(tmp: Path, registry) -> tuple[Path, Path]:
    """Returns (warehouse, published root): the report year 2024 published in `published/`,
    2023 in `published/2023/` (as `make demo` lays them out)."""
    from gbvstats.consolidate.run import consolidate
    from gbvstats.demo.generate import generate
    from gbvstats.publish.tables import publish
    from gbvstats.store.warehouse import Warehouse

    entries = generate(YEARS, tmp / "demo", 11, registry, oblasts=[TALAS], defects=False, workers=1)
    wh = Warehouse(tmp / "wh" / "w.duckdb", registry)
    wh.submit_many([(tmp / "demo" / e.file, e.agency, "test", datetime.fromisoformat(e.submitted_at))
                    for e in entries])
    for year in YEARS:
        consolidate(wh, year)
    published = tmp / "published"
    publish(wh.path, 2024, published, ("en",))
    publish(wh.path, 2023, published / "2023", ("en",))
    return wh.path, published


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("report_*"))
    return dst


class Cells(HTMLParser):
    """Every `<td data-cell=...>` of a page with its text, and every table's text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: dict[str, list[str]] = {}
        self._ref: str | None = None
        self._text: list[str] = []
        self._in_svg = 0
        self.text: list[str] = []  # all visible text outside SVGs

    def handle_starttag(self, tag, attrs):
        if tag == "svg":
            self._in_svg += 1
        if tag == "td":
            self._ref = dict(attrs).get("data-cell")
            self._text = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self._in_svg -= 1
        if tag == "td" and self._ref is not None:
            self.cells.setdefault(self._ref, []).append("".join(self._text).strip())
            self._ref = None

    def handle_data(self, data):
        if self._ref is not None:
            self._text.append(data)
        if not self._in_svg:
            self.text.append(data)


def parse(html: str) -> Cells:
    parser = Cells()
    parser.feed(html)
    return parser


def number(text: str, lang: str) -> float:
    """A figure as printed: 1,234.5 (en) or 1 234,5 (ru, ky), with any flag marks after
    it (396p: provisional; 12b: break in series) left out."""
    text = re.sub(r"[a-z]+$", "", text.strip())
    if lang == "en":
        return float(text.replace(",", ""))
    return float(re.sub(r"[\s\u00a0]", "", text).replace(",", "."))
