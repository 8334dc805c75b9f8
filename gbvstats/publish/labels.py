"""Labels of published tables in Russian, Kyrgyz and English, derived, never kept twice.

- a column: the pipeline header's `-- col.<name>: {en, ru, ky}`; a dimension column
  (sex, age, offence, ...) the title of its code list; year, territory and area the
  messages of gbvstats/messages/publish.yaml; otherwise the machine name itself;
- a code in a dimension column: its code list's label (`F` -> Женщины/Аялдар/Female), or
  the header's `-- codes.<column>: {CODE: {en, ru, ky}}` for a column without a code list;
- an area code (KG, KG02..): the territory's name, from schemas/codelists/territories.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gbvstats.i18n import LANGS, pick, t

COMMON = ("year", "territory", "area", "area_name")
CODELIST_OF = {"offence": "offence_group"}  # a dimension column whose code list has another id


class Labels:
    def __init__(self, reg=None):
        from gbvstats.schema.model import registry

        self.reg = reg or registry()
        codes = self.reg.territories().codes
        self.area_names = {getattr(c, "sdmx_code", None): c.label for c in codes if getattr(c, "sdmx_code", None)}

    def codelist(self, column: str):
        return self.reg.codelists.get(CODELIST_OF.get(column, column))

    def column(self, meta: dict[str, Any], column: str, lang: str) -> str:
        own = meta.get("labels", {}).get(column)
        if own:
            return pick(own, lang)
        if column in COMMON:
            return t(f"publish.col.{column}", lang)
        cl = self.codelist(column)
        if cl is not None:
            return pick(cl.title, lang)
        return column

    def code(self, meta: dict[str, Any], column: str, code, lang: str) -> str:
        if code is None or (isinstance(code, float) and code != code):
            return ""
        code = str(code)
        own = meta.get("codes", {}).get(column, {}).get(code)
        if own:
            return pick(own, lang)
        if column == "area":
            return pick(self.area_names.get(code), lang) or code
        cl = self.codelist(column)
        found = cl.get(code) if cl is not None else None
        # a code list without this language's label (ICCS: English only) shows the code
        return found.label[lang] if found is not None and found.label.get(lang) else code

    def labelled(self, meta: dict, column: str) -> bool:
        """True for a column whose values are codes with labels (dimension columns)."""
        return column == "area" or column in meta.get("codes", {}) or self.codelist(column) is not None


def write_labels(out: Path, tables: dict, langs: tuple[str, ...], labels: Labels) -> list[dict[str, Any]]:
    """`labels_<lang>.csv` per language: the label of every column of every table, and of
    every code its dimension columns hold, next to the machine names the CSV and Parquet
    files use (table, column, code, label)."""
    written = []
    for lang in LANGS:  # all three, in a fixed order, whatever the workbook's languages
        rows = []
        for name, pub in tables.items():
            meta = pub.meta
            for column in pub.frame.columns:
                rows.append([name, column, "", labels.column(meta, column, lang)])
                if labels.labelled(meta, column) and column != "territory":
                    for code in sorted({str(v) for v in pub.frame[column].dropna()}):
                        rows.append([name, column, code, labels.code(meta, column, code, lang)])
        path = out / f"labels_{lang}.csv"
        write_csv(path, ["table", "column", "code", "label"], rows)
        written.append({"file": path.name, "kind": "labels", "lang": lang, "rows": len(rows)})
    return written


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    """The one writer of the labels files: text that looks like a formula stays text."""
    from gbvstats.safe import write_csv_rows

    write_csv_rows(path, [header, *rows])
