"""What the per-agency schema tests share."""

from __future__ import annotations

from collections.abc import Iterator

from gbvstats.schema.model import FormVersion

LANGS = {"en", "ru", "ky"}
DIM_LIST = {"offence": "offence_group"}  # dims key -> code list id, when they differ
PLACEHOLDERS = {"left", "right", "line", "column", "imbalance"}
UNIT = "41706000000000"  # Osh oblast, an oblast-level unit


def labels_of(form: FormVersion) -> Iterator[tuple[str, dict[str, str]]]:
    """Every trilingual text of a form, with where it sits (notes only when present)."""
    yield "title", form.title
    if form.notes:
        yield "notes", form.notes
    for t in form.tables:
        yield t.id, t.title
        for c in t.columns:
            yield f"{t.id}/col {c.number}", c.label
        for ln in t.lines:
            yield f"{t.id}/{ln.code}", ln.label
    for r in form.rules:
        yield r.id, r.message
