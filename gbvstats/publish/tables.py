"""Publication of one year's indicator tables after disclosure control (`gbvstats publish`).

Writes into the output directory:
- `indicators_<year>.xlsx`: one workbook, one sheet per indicator table, with the title,
  unit, sources and notes in every chosen language (in the order given), printable
  (landscape, fit to width, header repeated, frozen panes, thousands separators);
  suppressed cells show "x", explained by a footnote in every chosen language;
- `<table>_<year>.csv` and `.parquet`: the protected table, suppressed values empty, and a
  `<measure>_OBS_STATUS` column per protected measure ("C" confidential, "A" normal);
- one SDMX-CSV file per series declared in `pipelines/sdmx.yaml` (OBS_STATUS=C where
  suppressed, OBS_VALUE empty);
- `manifest.json`: every file written with its row count, suppressed cells, threshold.

Which columns are counts and which rates derive from which counts comes from each
pipeline's header (`-- counts: a, b`, `-- rates: rate = numerator / denominator * 100000`);
columns that add up on
every row are declared too, so that none can be recovered from the others
(`-- sums: victims = victims_women + victims_men; expected = received + missing`).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.i18n import t
from gbvstats.publish.sdc import DEFAULT_THRESHOLD
from gbvstats.safe import csv_rows, frame_csv, save_workbook

if TYPE_CHECKING:
    import pandas as pd

_TABLE = re.compile(r"^ind\d\d_[a-z0-9_]+$")
SDMX_HEAD = ["STRUCTURE", "STRUCTURE_ID", "ACTION", "FREQ", "REF_AREA", "TIME_PERIOD"]
SDMX_TAIL = ["OBS_VALUE", "UNIT_MEASURE", "OBS_STATUS"]
CONFIDENTIAL, NORMAL = "C", "A"


class PublishError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def pipeline_meta(path: Path) -> dict[str, Any]:
    """A pipeline file's `-- key: value` header, with `counts` as a list, `rates` as
    {rate: {"numerator", "denominator", "multiplier"}} and `sums` as {total: [parts]}."""
    from gbvstats.consolidate.run import pipeline_meta as header

    meta: dict[str, Any] = header(Path(path).read_text(encoding="utf-8"))
    meta["counts"] = [c.strip() for c in meta.get("counts", "").split(",") if c.strip()]
    meta["rates"] = parse_rates(meta.get("rates", ""), path)
    sums = {}
    for item in meta.get("sums", "").split(";"):
        if "=" in item:
            total, parts = item.split("=", 1)
            sums[total.strip()] = [p.strip() for p in parts.split("+") if p.strip()]
    meta["sums"] = sums
    return meta


_RATE = re.compile(r"^\s*([a-z0-9_]+)\s*=\s*([a-z0-9_]+)\s*/\s*([a-z0-9_]+)\s*(?:\*\s*([0-9_]+)\s*)?$")


def parse_rates(text: str, path: Path | str = "") -> dict[str, dict[str, Any]]:
    """`rate = numerator / denominator * multiplier; ...` (multiplier 1 when left out).
    Numerator and denominator are columns of the same table, so a reader (and the scope
    check) can see both; a rate is hidden whenever either of them is."""
    rates: dict[str, dict[str, Any]] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        m = _RATE.match(item)
        if not m:
            raise ValueError(f"{path}: -- rates: {item.strip()!r} is not "
                             "`rate = numerator / denominator [* multiplier]`")
        rates[m[1]] = {"numerator": m[2], "denominator": m[3],
                       "multiplier": int((m[4] or "1").replace("_", ""))}
    return rates


def rate_sources(rates: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """{rate: [numerator, denominator]}: the columns a rate reveals."""
    return {r: [d["numerator"], d["denominator"]] for r, d in rates.items()}


def label(meta: dict[str, Any], key: str, lang: str) -> str:
    return meta.get(f"{key}.{lang}") or meta.get(f"{key}.en") or meta.get(key, "")


def metas(root: Path | None = None) -> dict[str, dict[str, Any]]:
    from gbvstats.paths import pipelines_dir

    out = {}
    for path in sorted((root or pipelines_dir()).glob("[0-9][0-9]_*.sql")):
        meta = pipeline_meta(path)
        if _TABLE.match(meta.get("id", "")):
            out[meta["id"]] = meta
    return out


def read_tables(warehouse_path: Path, year: int) -> dict[str, pd.DataFrame]:
    from gbvstats.store.warehouse import Warehouse

    def read(con) -> dict[str, pd.DataFrame]:
        names = [r[0] for r in con.execute(
            "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'year' "
            "ORDER BY table_name").fetchall()]
        # the name is checked against a fixed pattern before it reaches SQL
        return {n: con.execute(f"SELECT * FROM {n} WHERE year = ?", [year]).df()
                for n in names if _TABLE.match(n)}

    return Warehouse(warehouse_path).read(read)  # run again if it gave way to a submission


def publish(warehouse_path: Path | str, year: int, out_dir: Path | str,
            langs: tuple[str, ...] = ("ru", "ky", "en"), threshold: int = DEFAULT_THRESHOLD,
            pipelines_root: Path | None = None, sdmx_path: Path | None = None,
            lang: str = "en") -> list[Path]:
    """Protect and write every indicator table of `year`; returns the files written.
    They are written into a staging folder moved into place once complete
    (`publish/folder.py`): a publish failing or killed midway leaves `out_dir` as it was
    (plus a hidden staging folder that the next publish removes)."""
    from gbvstats.publish import folder, sdc

    if threshold < 0:
        raise PublishError(t("publish.bad_threshold", lang, threshold=threshold), 2)
    final = Path(out_dir)
    folder.check_target(final)  # a file, or a folder of other files: refused before any work
    described = metas(pipelines_root)
    tables, skipped = {}, []
    for name, frame in read_tables(Path(warehouse_path), year).items():
        if name not in described:
            skipped.append(t("publish.no_meta", lang, table=name))
        elif len(frame):
            tables[name] = frame
    if not tables:
        raise PublishError(t("publish.no_tables", lang, year=year, warehouse=warehouse_path), 1)
    out = folder.staging(final)  # written here, moved into place at the end
    protected = {}
    for name, frame in tables.items():
        meta = described[name]
        counts = [c for c in meta["counts"] if c in frame.columns]
        rates = {r: [c for c in cols if c in counts]
                 for r, cols in rate_sources(meta["rates"]).items() if r in frame.columns}
        protected[name] = (*sdc.protect(frame, counts, rates, threshold, sums=meta["sums"]), meta)
    files: list[dict[str, Any]] = []
    for name, (frame, flags, _) in protected.items():
        files += write_flat(out, name, year, frame, flags)
    files.append(write_workbook(out / f"indicators_{year}.xlsx", year, protected, langs, threshold))
    files += write_sdmx(out, year, protected, sdmx_path)
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps({
        "year": year, "threshold": threshold, "languages": list(langs),
        "tables": {n: {"rows": len(f), "suppressed_cells": int(m.to_numpy().sum()),
                       "counts": meta["counts"], "rates": meta["rates"], "sums": meta["sums"]}
                   for n, (f, m, meta) in protected.items()},
        "files": files, "skipped": skipped,
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    folder.into_place(out, final)
    return [final / f["file"] for f in files] + [final / manifest.name]


def flat_frame(frame: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in flags.columns:
        out[f"{col}_OBS_STATUS"] = flags[col].map({True: CONFIDENTIAL, False: NORMAL})
    return out


def write_flat(out: Path, name: str, year: int, frame, flags) -> list[dict[str, Any]]:
    flat = flat_frame(frame, flags)
    csv_path, parquet_path = out / f"{name}_{year}.csv", out / f"{name}_{year}.parquet"
    frame_csv(flat, csv_path)  # text that looks like a formula stays text
    flat.to_parquet(parquet_path, index=False)
    info = {"table": name, "rows": len(flat), "suppressed_cells": int(flags.to_numpy().sum())}
    return [{"file": csv_path.name, "kind": "csv", **info},
            {"file": parquet_path.name, "kind": "parquet", **info}]


# --- the workbook ---------------------------------------------------------------------


def write_workbook(path: Path, year: int, protected: dict, langs: tuple[str, ...],
                   threshold: int) -> dict[str, Any]:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    rows = 0
    for name, (frame, flags, meta) in protected.items():
        rows += write_sheet(wb.create_sheet(name[:31]), year, frame, flags, meta, langs, threshold)
    save_workbook(wb, path)
    return {"file": path.name, "kind": "xlsx", "sheets": list(protected), "rows": rows}


def write_sheet(ws, year: int, frame, flags, meta: dict, langs, threshold: int) -> int:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    width = len(frame.columns)
    lines = [(label(meta, "title", lg), Font(bold=True, size=12)) for lg in langs]
    lines.append(("; ".join(t("publish.year", lg, year=year) for lg in langs), Font(bold=True)))
    lines += [(f"{t('publish.unit', lg)}: {label(meta, 'unit', lg)}", Font(italic=True)) for lg in langs]
    lines.append((f"{t('publish.sources', langs[0])}: {meta.get('sources', '')}", Font(italic=True)))
    lines += [(f"{t('publish.notes', lg)}: {label(meta, 'notes', lg)}", Font(size=9))
              for lg in langs if label(meta, "notes", lg)]
    for r, (text, font) in enumerate(lines, start=1):
        ws.cell(r, 1, text).font = font
    head = len(lines) + 2
    thin = Side(style="thin", color="808080")
    for c, col in enumerate(frame.columns, start=1):
        cell = ws.cell(head, c, col)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        cell.border = Border(bottom=thin, top=thin)
        ws.column_dimensions[get_column_letter(c)].width = max(9, min(24, len(col) + 2))
    formats = {c: "#,##0" for c in meta["counts"]} | {c: "#,##0.00" for c in meta["rates"]}
    for i, (_, row) in enumerate(frame.iterrows()):
        for c, col in enumerate(frame.columns, start=1):
            cell = ws.cell(head + 1 + i, c)
            if col in flags.columns and flags.iloc[i][col]:
                cell.value = "x"
                cell.alignment = Alignment(horizontal="right")
            elif not _missing(row[col]):
                cell.value = _plain(row[col])
                if col in formats:
                    cell.number_format = formats[col]
    foot = head + len(frame) + 2
    if flags.to_numpy().any():
        for k, lg in enumerate(langs):
            ws.cell(foot + k, 1, t("publish.footnote", lg, threshold=threshold)).font = Font(size=9)
    first_measure = next((i for i, c in enumerate(frame.columns, 1) if c in formats), 1)
    ws.freeze_panes = ws.cell(head + 1, first_measure)
    ws.print_title_rows = f"{head}:{head}"
    ws.print_area = f"A1:{get_column_letter(width)}{foot + len(langs)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.oddFooter.center.text = "&P / &N"
    return len(frame)


def _missing(value) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _plain(value):
    """A numpy scalar as a plain Python value openpyxl can write."""
    return value.item() if hasattr(value, "item") else value


# --- SDMX-CSV -------------------------------------------------------------------------


def sdmx_series(path: Path | None = None) -> list[dict[str, Any]]:

    from gbvstats.paths import load_yaml, pipelines_dir

    path = path or pipelines_dir() / "sdmx.yaml"
    return (load_yaml(path.read_text(encoding="utf-8")) or {}).get("series", [])


def write_sdmx(out: Path, year: int, protected: dict, sdmx_path: Path | None) -> list[dict[str, Any]]:
    written = []
    for series in sdmx_series(sdmx_path):
        if series["table"] not in protected:
            continue
        frame, flags, _ = protected[series["table"]]
        header = SDMX_HEAD + series["dimensions"] + SDMX_TAIL
        rows = list(sdmx_rows(series, year, frame, flags))
        path = out / f"{series['file']}_{year}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerows(csv_rows([header]))
            writer.writerows(csv_rows([r[h] for h in header] for r in rows))
        written.append({"file": path.name, "kind": "sdmx-csv", "series": series["id"],
                        "table": series["table"], "rows": len(rows),
                        "suppressed_cells": sum(r["OBS_STATUS"] == CONFIDENTIAL for r in rows)})
    return written


def sdmx_rows(series: dict, year: int, frame, flags):
    columns = series.get("columns", {})
    for obs in series["observations"]:
        col = obs["column"]
        if col not in frame.columns:
            continue
        for i, row in frame.iterrows():
            hidden = col in flags.columns and bool(flags.at[i, col])
            if _missing(row[col]) and not hidden:
                continue  # not available: SDMX leaves the observation out
            item = {"STRUCTURE": "dataflow", "STRUCTURE_ID": series["structure_id"], "ACTION": "I",
                    "FREQ": "A", "REF_AREA": row["area"], "TIME_PERIOD": str(year),
                    "OBS_VALUE": "" if hidden else _plain(row[col]), "UNIT_MEASURE": obs["unit"],
                    "OBS_STATUS": CONFIDENTIAL if hidden else NORMAL}
            for dim in series["dimensions"]:
                fixed = obs.get("fixed", {})
                value = fixed[dim] if dim in fixed else row.get(columns.get(dim, ""), None)
                item[dim] = "_Z" if _missing(value) else value
            yield item
