"""The PDF: the same HTML page printed by a headless Chromium (A4; the page's CSS makes the
page breaks). Found through `GBVSTATS_CHROMIUM`, else on the PATH; when none is found,
or it fails, the caller says so: the HTML stays written."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome",
         "google-chrome-stable", "chrome", "headless_shell")
TIMEOUT = 180  # seconds


class PdfError(Exception):
    """`key` is a message of messages/report.yaml (`report.pdf.<key>`)."""

    def __init__(self, key: str, **params: object):
        super().__init__(key)
        self.key, self.params = key, params


def find_chromium() -> str | None:
    env = os.environ.get("GBVSTATS_CHROMIUM")
    if env:
        return env if Path(env).is_file() and os.access(env, os.X_OK) else None
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path, chromium: str | None = None, when=None) -> Path:
    """Print `html` to `pdf` (written whole or not at all). Chromium dates the PDF by the
    clock; the dates are set to `when` (the publications' own timestamp), so the same page
    gives the same bytes (`publish/stable.py`)."""
    from gbvstats.publish.stable import stable_pdf

    exe = chromium or find_chromium()
    if exe is None:
        raise PdfError("no_chromium", names=", ".join(NAMES[:3]))
    pdf = Path(pdf)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    part = pdf.parent / f".{pdf.name}.{os.getpid()}.part"  # renamed into place when whole
    with tempfile.TemporaryDirectory(prefix="gbvstats-pdf-") as tmp:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--disable-extensions", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={Path(tmp) / 'profile'}",
               "--no-pdf-header-footer", "--print-to-pdf-no-header", f"--print-to-pdf={part}",
               Path(html).resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
            if proc.returncode != 0 or not part.is_file() or part.read_bytes()[:5] != b"%PDF-":
                detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
                raise PdfError("failed", chromium=exe, detail=detail[0][:300])
            stable_pdf(part, when)
            os.replace(part, pdf)
        except subprocess.TimeoutExpired:
            raise PdfError("failed", chromium=exe, detail=f"no answer in {TIMEOUT} s") from None
        except OSError as exc:
            raise PdfError("failed", chromium=exe, detail=str(exc)) from None
        finally:
            part.unlink(missing_ok=True)
    return pdf
