"""`gbvstats serve`: the NSC's upload server (app.py), who may do what (auth.py), the outer
ASGI layer (guard.py), uploads (intake.py), what it reads (data.py), the web page (pages.py)."""


def size_text(n: int) -> str:
    """A byte count as people read it: `5 KB`, `20.0 MB`."""
    return f"{n / 1048576:.1f} MB" if n >= 1048576 else f"{max(1, round(n / 1024))} KB"
