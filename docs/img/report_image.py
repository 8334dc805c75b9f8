"""Regenerate the README's example page: one section of the demo's report, as a PNG.

    make demo && .venv/bin/python docs/img/report_image.py

Needs a Chromium (GBVSTATS_CHROMIUM or on the PATH) and Playwright's Python package
(a dev dependency; no browser download: the local Chromium is used).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "data" / "published" / "report_2024_ru.html"
SECTION = "#trafficking"
OUT = Path(__file__).resolve().parent / "report_2024_ru_trafficking.png"


def main() -> int:
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from gbvstats.report.pdf import find_chromium

    chromium = find_chromium()
    if chromium is None or not PAGE.exists():
        print("needs a Chromium and `make demo` first", file=sys.stderr)
        return 2
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 820, "height": 1200}, device_scale_factor=1)
            page.goto(PAGE.as_uri())
            png = page.locator(SECTION).screenshot()
        finally:
            browser.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(OUT, optimize=True)
    print(f"{OUT} ({OUT.stat().st_size // 1024} KiB, {image.size[0]}x{image.size[1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
