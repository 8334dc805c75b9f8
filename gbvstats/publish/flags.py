"""The status of every published figure, and the footnotes that explain it.

A figure carries flags; its OBS_STATUS (SDMX cross-domain code list CL_OBS_STATUS, plus
`C` of CL_CONF_STATUS in the national CSV, Parquet and workbook files) is the first of:

- `C` confidential: suppressed by disclosure control (sdc.py); no value is published;
- `P` provisional: the figure may change. Either returns it is built from are missing or
  were refused (every expected return of its forms, for the units of its territory,
  from the consolidation's completeness), or the whole publication is provisional
  (`publish(provisional=[reasons])`, used by the publication gate). `P` and not `E`
  (estimated): nothing is imputed for a missing return, the figure is a partial count;
- `B` break in series: a form the figure reads changed version from the previous year
  and, by the schema's concordance, the figure is not made of the same cells in both;
- `A` normal.

Every flag set on a figure also adds a footnote to its table (in each language, naming the
missing units, the reasons, the form versions) and a comment to the figure (English, for
SDMX COMMENT_OBS). Which forms and cells a figure reads comes from its lineage
(`consolidate/lineage.py`), never from a declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gbvstats.i18n import LANGS, pick, t

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.consolidate.lineage import Lineage

CONFIDENTIAL, PROVISIONAL, BREAK, NORMAL = "C", "P", "B", "A"
ORDER = (CONFIDENTIAL, PROVISIONAL, BREAK)
MARK = {CONFIDENTIAL: "x", PROVISIONAL: "p", BREAK: "b"}
NOT_MEASURES = ("year", "territory")


@dataclass
class Note:
    flag: str
    key: str
    text: dict[str, str]
    cells: int = 0


@dataclass
class Published:
    """One indicator table of one year as published: protected values, the flags of every
    figure, and the footnotes."""

    name: str
    year: int
    meta: dict[str, Any]
    frame: pd.DataFrame
    measures: list[str]
    flags: dict[str, list[str]] = field(default_factory=dict)  # column -> per row "", "C", "PB", ...
    comments: dict[str, list[list[str]]] = field(default_factory=dict)
    notes: dict[str, Note] = field(default_factory=dict)

    @classmethod
    def protected(cls, name: str, year: int, meta: dict, frame: pd.DataFrame,
                  hidden: pd.DataFrame) -> Published:
        import pandas as pd

        measures = [c for c in frame.columns if c not in NOT_MEASURES
                    and pd.api.types.is_numeric_dtype(frame[c])]
        pub = cls(name, year, meta, frame.reset_index(drop=True), measures)
        n = len(pub.frame)
        pub.flags = {c: [""] * n for c in measures}
        pub.comments = {c: [[] for _ in range(n)] for c in measures}
        for c in hidden.columns:
            if c in pub.flags:
                for i, h in enumerate(hidden[c].tolist()):
                    if h:
                        pub.flags[c][i] = CONFIDENTIAL
        return pub

    def flag(self, i: int, column: str, flag: str, note: Note, comment: str = "") -> None:
        current = self.flags[column][i]
        if CONFIDENTIAL in current or flag in current:
            return  # nothing is published for a confidential figure: no other flag
        self.flags[column][i] = "".join(f for f in ORDER if f in current + flag)
        self.notes.setdefault(note.key, note).cells += 1
        if comment:
            self.comments[column][i].append(comment)

    def status(self, column: str, i: int) -> str:
        flags = self.flags.get(column, [""] * (i + 1))[i]
        return flags[0] if flags else NORMAL

    def comment(self, column: str, i: int) -> str:
        return "; ".join(self.comments.get(column, [[]] * (i + 1))[i])

    def hidden(self, column: str) -> list[bool]:
        return [CONFIDENTIAL in f for f in self.flags.get(column, [])]

    def count(self, flag: str) -> int:
        return sum(flag in f for flags in self.flags.values() for f in flags)

    def status_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame({c: [f[0] if f else NORMAL for f in flags]
                             for c, flags in self.flags.items()}, index=self.frame.index)

    def has_value(self, column: str, i: int) -> bool:
        import pandas as pd

        v = self.frame.at[i, column]
        return not (v is None or bool(pd.isna(v))) and CONFIDENTIAL not in self.flags[column][i]


# --- provisional publication -------------------------------------------------------


def mark_provisional(tables: dict[str, Published], reasons: list) -> None:
    """Every figure of a provisional publication is `P`, with the reasons as footnote
    (each reason a text or an {en, ru, ky} label). The publication gate decides; this marks."""
    shown = {lg: "; ".join(pick(r, lg) if isinstance(r, dict) else str(r) for r in reasons)
             for lg in LANGS}
    note = Note(PROVISIONAL, "P:provisional",
                {lg: t("publish.note.provisional", lg, reasons=shown[lg]) for lg in LANGS})
    for pub in tables.values():
        for column in pub.measures:
            for i in range(len(pub.frame)):
                if pub.has_value(column, i):
                    pub.flag(i, column, PROVISIONAL, note, f"Provisional: {shown['en']}")


# --- missing returns ---------------------------------------------------------------


def mark_missing(pub: Published, lin: Lineage | None, missing: pd.DataFrame, names) -> None:
    """`P` on every figure one of whose forms lacks a return of a unit of its territory
    (`missing`: form, unit, area, period, state rows of the year's completeness)."""
    from gbvstats.consolidate.lineage import scope_of

    if lin is None or lin.error or not len(missing):
        return
    by_form = {form: rows for form, rows in missing.groupby("form")}
    for i, row in enumerate(pub.frame.to_dict("records")):
        area = str(row.get("area", "KG"))
        scope, key = scope_of(area), lin.row_key(row)
        for column in pub.measures:
            if not pub.has_value(column, i):
                continue
            gaps = []
            for form in sorted(lin.forms_of(scope, key, column)):
                rows = by_form.get(form)
                if rows is None:
                    continue
                mine = rows if area == "KG" else rows[rows["area"] == area]
                if len(mine):
                    gaps.append((form, mine))
            for form, mine in gaps:
                note = _missing_note(form, by_form[form], names)
                pub.flag(i, column, PROVISIONAL, note, "Provisional: " + _units_text(form, mine, names, "en"))


def _missing_note(form: str, rows: pd.DataFrame, names) -> Note:
    return Note(PROVISIONAL, f"P:missing:{form}", {
        lg: t("publish.note.missing", lg, form=form, count=len(rows), units=_units_text(form, rows, names, lg))
        for lg in LANGS})


def _units_text(form: str, rows: pd.DataFrame, names, lang: str) -> str:
    """`MOI-FV: Kara-Buura rayon (41707215000000) 2024-Q3, 2024-Q4 refused; ...`."""
    parts = []
    for unit, group in rows.groupby("unit", sort=True):
        periods = ", ".join(f"{p}{'' if s == 'missing' else ' (' + t('publish.state.' + s, lang) + ')'}"
                            for p, s in sorted(zip(group["period"], group["state"], strict=True)))
        parts.append(f"{pick(names.get(unit), lang) or unit} ({unit}) {periods}")
    return f"{form}: " + "; ".join(parts)


# --- breaks in series --------------------------------------------------------------


def version_changes(reg, year: int) -> dict[str, tuple[int, int]]:
    """Forms reported on another version in `year` than in the year before:
    {form: (old version, new version)}."""
    from gbvstats.periods import periods_of_year

    changes = {}
    for code in reg.form_codes():
        versions = []
        for y in (year - 1, year):
            found = {f.version for f in reg.versions() if f.form == code
                     for p in periods_of_year(y, f.periodicity) if f.valid_for(p)}
            versions.append(found)
        old, new = versions
        if old and new and old != new:
            changes[code] = (max(old), max(new))
    return changes


def mapped_cells(reg, form: str, version: int) -> set[tuple[str, str, int]]:
    """The latest-version cells (tbl, line, col) that cells of `version` are reported as."""
    latest = reg.get(form)
    if version == latest.version:
        return {(c.table, c.line, c.column) for c in latest.cells()}
    from gbvstats.store.warehouse import _concordance_rows

    return {(r["latest_tbl"], r["latest_line"], r["latest_col"])
            for r in _concordance_rows(reg, reg.get(form, version))}


def mark_breaks(pub: Published, lin: Lineage | None, reg, changes: dict[str, tuple[int, int]]) -> None:
    """`B` where a figure reads a form that changed version and its cells in the two
    versions are not the same (a series that only begins is no break)."""
    from gbvstats.consolidate.lineage import scope_of

    if lin is None or lin.error or not changes:
        return
    mapped = {form: (mapped_cells(reg, form, old), mapped_cells(reg, form, new))
              for form, (old, new) in changes.items()}
    for i, row in enumerate(pub.frame.to_dict("records")):
        scope, key = scope_of(str(row.get("area", "KG"))), lin.row_key(row)
        for column in pub.measures:
            if not pub.has_value(column, i):
                continue
            spec = pub.meta.get("rates", {}).get(column)
            parts = [spec["numerator"], spec["denominator"]] if spec else [column]
            for form, (before, after) in mapped.items():  # a rate breaks with either part
                if not any(_broken(lin.sources_of(scope, key, part) or {}, form, before, after)
                           for part in parts):
                    continue
                old, new = changes[form]
                note = Note(BREAK, f"B:{form}", {lg: t("publish.note.break", lg, form=form, old=old,
                                                       new=new, year=pub.year) for lg in LANGS})
                pub.flag(i, column, BREAK, note,
                         f"Break in series: {form} version {old} -> {new} from {pub.year}")


def _broken(sources: dict, form: str, before: set, after: set) -> bool:
    """The cells of `form` a figure reads existed in the old version but not as the same
    cells (a figure whose cells are all new only begins: no break)."""
    cells = {(s.tbl, s.line, s.col) for s in sources if s.form == form}
    return bool(cells & before) and (cells & before) != (cells & after)


def confidential_note(threshold: int) -> Note:
    return Note(CONFIDENTIAL, "C", {lg: t("publish.footnote", lg, threshold=threshold) for lg in LANGS})
