"""Publication of the indicator tables of one or several years (`gbvstats publish`).

For each year, every indicator table is protected by disclosure control (disclosure.py: suppression that passes an LP audit), each of
its figures gets its status (flags.py: C confidential, P provisional, B break, A normal)
and the table its footnotes, then it is written:

- `<table>_<year>.csv` and `.parquet`: machine names, suppressed values empty, a
  `<measure>_OBS_STATUS` column per measure; `labels_<lang>.csv` (ru, ky, en) give the
  label of every column and code (labels.py);
- `indicators_<year>.xlsx`: one sheet per table, titled, headed and footnoted in every
  chosen language (in the order given), area names beside the codes, dimension codes as
  their labels, units and sources, figures marked x / p / b, printable;
- with several years, also `indicators_<first>-<last>.xlsx`: each table's figures by year
  in columns, the layout of the NSC's five-year tables (workbook.py);
- one SDMX-CSV file per entry of `pipelines/sdmx.yaml`, in the SDG data structure, every
  row checked against the DSD's code lists before the file is written (sdmx.py);
- `manifest.json`: every file with its rows, the flags and footnotes of every table.

A year with no accepted return is refused (exit 2): a table of blank rows would read as
real zeros. What is a count, a rate (and of which numerator and denominator) and which
columns add up comes from each pipeline's header (`-- counts:`, `-- rates:`, `-- sums:`),
their labels from `-- col.<name>:` and `-- codes.<column>:`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gbvstats.i18n import LANGS, t
from gbvstats.publish.stable import write_parquet
from gbvstats.safe import frame_csv
from gbvstats.store.warehouse import INDICATOR_TABLE

if TYPE_CHECKING:
    import pandas as pd

    from gbvstats.publish.flags import Published

_TABLE = INDICATOR_TABLE  # one rule for what an indicator table is
CONFIDENTIAL, NORMAL = "C", "A"


class PublishError(Exception):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def pipeline_meta(path: Path) -> dict[str, Any]:
    """A pipeline file's `-- key: value` header, with `counts` as a list, `rates` as
    {rate: {"numerator", "denominator", "multiplier"}}, `sums` as {total: [parts]},
    `labels` as {column: {en, ru, ky}} and `codes` as {column: {code: {en, ru, ky}}}."""
    from gbvstats.consolidate.run import pipeline_meta as header
    from gbvstats.paths import load_yaml

    meta: dict[str, Any] = header(Path(path).read_text(encoding="utf-8"))
    meta["counts"] = [c.strip() for c in meta.get("counts", "").split(",") if c.strip()]
    meta["rates"] = parse_rates(meta.get("rates", ""), path)
    sums = {}
    for item in meta.get("sums", "").split(";"):
        if "=" in item:
            total, parts = item.split("=", 1)
            sums[total.strip()] = [p.strip() for p in parts.split("+") if p.strip()]
    meta["sums"] = sums
    meta["labels"], meta["codes"] = {}, {}
    for key in list(meta):
        for prefix, target in (("col.", meta["labels"]), ("codes.", meta["codes"])):
            if key.startswith(prefix) and isinstance(meta[key], str):
                value = load_yaml(meta[key])
                if not isinstance(value, dict):
                    raise ValueError(f"{path}: -- {key}: expected {{en: ..., ru: ..., ky: ...}}")
                target[key[len(prefix):]] = {str(k): v for k, v in value.items()}
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

    return Warehouse(warehouse_path).read(lambda con: _read(con, year))  # again if it gave way


def _read(con, year: int) -> dict[str, pd.DataFrame]:
    from gbvstats.store.warehouse import integer_frame

    names = [r[0] for r in con.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns WHERE column_name = 'year' "
        "ORDER BY table_name").fetchall()]
    # the name is checked against a fixed pattern before it reaches SQL
    return {n: integer_frame(con.execute(f"SELECT * FROM {n} WHERE year = ?", [year]))
            for n in names if _TABLE.match(n)}


def parse_years(text: str) -> list[int]:
    """`2024`, `2020-2024` or `2019,2021`."""
    years: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if re.fullmatch(r"\d{4}-\d{4}", part):
            first, last = (int(x) for x in part.split("-"))
            if last < first:
                raise ValueError(part)
            years += range(first, last + 1)
        elif re.fullmatch(r"\d{4}", part):
            years.append(int(part))
        else:
            raise ValueError(part)
    return sorted(set(years))


def publish(warehouse_path: Path | str, year: int | list[int], out_dir: Path | str,
            langs: tuple[str, ...] = ("ru", "ky", "en"), threshold: int | None = None,
            pipelines_root: Path | None = None, sdmx_path: Path | None = None,
            lang: str = "en", provisional: list | bool | None = None,
            gate: bool = False) -> list[Path]:
    """Protect, flag and write every indicator table of `year` (or of each year of a
    list) as the warehouse's stored tables have them; returns the files written, the
    manifest last. `provisional`: reasons why the whole publication is provisional (every
    figure P, the reasons as footnote); `True`: provisional for the gate's reasons (or on
    request when the gate does not block).
    With `gate` the publication gate (publish/gate.py) runs on each year's protected
    tables first; a blocked year raises `GateRefused` before anything is written, unless
    `provisional`: then the year is published provisionally, the gate's blocking items in
    the footnote's reason and in the manifest.
    The files are written into a staging folder moved into place once complete
    (`publish/folder.py`): a publish failing or killed midway leaves `out_dir` as it was
    (plus a hidden staging folder that the next publish removes). `gbvstats publish`
    goes through `publish/release.py` instead, which reads (`read_publication`, gate
    included) and writes (`write_publication`) from a recorded state of the warehouse and
    adds the release to the manifest."""
    from gbvstats.publish import folder
    from gbvstats.publish.stable import write_json

    final = Path(out_dir)
    folder.check_target(final)  # a file, or a folder of other files: refused before any work
    read = read_publication(warehouse_path, year, threshold, pipelines_root, lang, provisional, gate)
    out = folder.staging(final)  # written here, moved into place at the end
    try:
        manifest = write_publication(out, read, langs, pipelines_root, sdmx_path, lang)
        write_json(out / "manifest.json", manifest)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # nothing written, nothing left behind
        raise
    folder.into_place(out, final)
    return [final / f["file"] for f in manifest["files"]] + [final / "manifest.json"]


@dataclass
class Read:
    """What `read_publication` found: each year's tables protected (and audited) and
    flagged, the disclosure audit of each year, the threshold in force, tables skipped,
    each year's provisional reasons and (with the gate) its gate report."""

    published: dict[int, dict[str, Published]]
    audits: dict[int, Any]
    threshold: int
    skipped: list[str]
    reasons: dict[int, list]
    gates: dict[int, Any]


def read_publication(warehouse_path: Path | str, year: int | list[int], threshold: int | None = None,
                     pipelines_root: Path | None = None, lang: str = "en",
                     provisional: list | bool | None = None, gate: bool = False) -> Read:
    """Every indicator table of each year, protected, audited, gated (with `gate`) and
    flagged. Refused (PublishError) for a year with no accepted return or no table, or
    whose disclosure control does not pass its audit; `GateRefused` for a year the gate
    blocks, unless `provisional` (see `publish`). Nothing is written but the gate's
    quality run (`quality_runs`) in the warehouse read."""
    from gbvstats.publish import disclosure
    from gbvstats.schema.model import registry
    from gbvstats.store.warehouse import Warehouse

    protection = disclosure.settings(threshold, lang)  # schemas/disclosure.yaml, --threshold over it
    threshold = protection.threshold
    years = [year] if isinstance(year, int) else sorted(set(year))
    described = metas(pipelines_root)
    reg = registry()

    def fetch(con) -> dict[int, tuple]:  # what the warehouse holds; the rest is done after
        return {y: (_accepted(con, y), _read(con, y), _missing_returns(con, y)) for y in years}

    held = Warehouse(warehouse_path).read(fetch)  # run again if it gave way to a writer
    published: dict[int, dict[str, Published]] = {}
    audits: dict[int, Any] = {}
    skipped: list[str] = []
    chosen: dict[int, dict[str, pd.DataFrame]] = {}
    for y in years:
        accepted, frames, missing = held[y]
        if not accepted:  # blank rows would read as real zeros
            raise PublishError(t("publish.no_data", lang, year=y, warehouse=warehouse_path), 2)
        chosen[y] = {n: f for n, f in frames.items() if n in described and len(f)}
        skipped += [t("publish.no_meta", lang, table=n) for n in frames if n not in described]
        if not chosen[y]:
            raise PublishError(t("publish.no_tables", lang, year=y, warehouse=warehouse_path), 1)
    gates: dict[int, Any] = {}
    reasons_of: dict[int, list] = {}
    for y in years:
        # nothing is written unless the disclosure audit passes (`gbvstats.publish.disclosure`)
        done, audits[y] = disclosure.protect_for_publication(chosen[y], described, protection, y, lang)
        reasons = list(provisional) if isinstance(provisional, list) else []
        if gate:
            gates[y] = _gate(Path(warehouse_path), y, threshold, chosen[y], done, described,
                             protection, lang)
            if gates[y].blocked:
                if not provisional:
                    raise GateRefused(gates[y], lang)
                reasons.append(gate_reason(gates[y]))
        if provisional is True and not reasons:
            reasons.append({lg: t("publish.provisional_requested", lg) for lg in LANGS})
        reasons_of[y] = reasons
        published[y] = _flagged(reg, y, done, described, threshold, pipelines_root, reasons, held[y][2])
    return Read(published, audits, threshold, skipped, reasons_of, gates)


def write_publication(out: Path, read: Read, langs: tuple[str, ...] = ("ru", "ky", "en"),
                      pipelines_root: Path | None = None, sdmx_path: Path | None = None,
                      lang: str = "en") -> dict[str, Any]:
    """Write the files of `read_publication`'s tables into the folder `out` (which
    exists); returns the manifest's content (not written)."""
    from gbvstats.schema.model import registry

    years = sorted(read.published)
    files = write_all(out, read.published, langs, read.threshold, sdmx_path, pipelines_root, registry(), lang)
    return _manifest(read.published, years, langs, read.threshold, files, read.skipped, read.reasons,
                     read.gates, read.audits, lang)


def _accepted(con, year: int) -> int:
    """Accepted submissions of the year (none in a database that is no warehouse)."""
    found = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'submissions'").fetchall()
    return con.execute("SELECT count(*) FROM submissions WHERE year = ?", [year]).fetchall()[0][0] \
        if found[0][0] else 0


class GateRefused(PublishError):
    """The publication gate found items that block the year (`report.blocking`)."""

    def __init__(self, report, lang: str = "en"):
        super().__init__(t("gate.refused", lang, year=report.year, blocking=len(report.blocking)), 1)
        self.report = report


def gate_reason(report) -> dict[str, str]:
    """The footnote's reason of a publication the gate blocks (its items in the manifest)."""
    return {lg: t("publish.provisional_gate", lg, year=report.year, blocking=len(report.blocking))
            for lg in LANGS}


def _gate(warehouse_path: Path, year: int, threshold: int, tables: dict, done: dict,
          described: dict, protection, lang: str):
    """Run the gate on the protected tables of `year`; the tables it refreshes (ind08
    summarises the quality run) are read and protected again (in `tables`, `done`)."""
    from gbvstats.publish import disclosure
    from gbvstats.publish.gate import run_gate
    from gbvstats.store.warehouse import Warehouse

    checked = run_gate(Warehouse(warehouse_path), year, threshold,
                       {n: (done[n].frame, described[n]) for n in done}, lang=lang)
    fresh = {n: f for n, f in read_tables(warehouse_path, year).items()
             if n.startswith("ind08_") and n in tables and len(f)}
    if fresh:
        tables.update(fresh)
        again, _ = disclosure.protect_for_publication(fresh, described, protection, year, lang)
        done.update(again)
    return checked


def _flagged(reg, year: int, done: dict, described: dict, threshold: int,
             pipelines_root: Path | None, provisional: list | None,
             missing: pd.DataFrame) -> dict[str, Published]:
    from gbvstats.consolidate.lineage import lineage
    from gbvstats.consolidate.run import pipelines
    from gbvstats.publish import flags

    by_id = {p.id: p for p in pipelines(pipelines_root)}
    changes = flags.version_changes(reg, year)
    names = {c.code: c.label for c in reg.territories().codes}
    out = {}
    for name, protected_table in done.items():  # protected and audited (publish/disclosure.py)
        meta = described[name]
        protected, hidden = protected_table.frame, protected_table.mask
        pub = flags.Published.protected(name, year, meta, protected, hidden)
        if any(hidden.to_numpy().ravel()):
            pub.notes["C"] = flags.confidential_note(threshold)
            pub.notes["C"].cells = int(hidden.to_numpy().sum())
        p = by_id.get(name)
        reads_forms = p is not None and (len(missing) or changes)
        lin = lineage(p, reg, exact=bool(changes)) if reads_forms else None
        flags.mark_missing(pub, lin, missing, names)
        flags.mark_breaks(pub, lin, reg, changes)
        out[name] = pub
    if provisional:
        flags.mark_provisional(out, provisional)
    return out


def _missing_returns(con, year: int) -> pd.DataFrame:
    """Expected returns of the year with no accepted revision (missing, or refused only),
    as the consolidation of the year found them."""
    import pandas as pd

    columns = ["form", "unit", "area", "period", "state"]
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_name = 'completeness_results'").fetchall()[0][0]
    if not exists:
        return pd.DataFrame(columns=columns)
    return con.execute("SELECT form, unit, area, period, state FROM completeness_results "
                       "WHERE year = ? AND state IN ('missing', 'rejected') ORDER BY form, unit, period",
                       [year]).df()


def write_all(out: Path, published: dict[int, dict[str, Published]], langs: tuple[str, ...],
              threshold: int, sdmx_path: Path | None, pipelines_root: Path | None, reg,
              lang: str) -> list[dict[str, Any]]:
    from gbvstats.publish import sdmx, workbook
    from gbvstats.publish.labels import Labels, write_labels

    labels = Labels(reg)
    cfg_path = sdmx_config_path(sdmx_path, pipelines_root)
    dsd = sdmx.load_dsd(cfg_path.parent, reg.territories().codes)
    cfg = sdmx.config(cfg_path)
    files: list[dict[str, Any]] = []
    for y, tables in published.items():
        for name, pub in tables.items():
            files += write_flat(out, name, y, pub)
        files.append(workbook.write_year(out / f"indicators_{y}.xlsx", y, tables, langs, labels))
        files += write_sdmx(out, y, tables, dsd, cfg, lang)
    if len(published) > 1:
        first, last = min(published), max(published)
        files.append(workbook.write_years(out / f"indicators_{first}-{last}.xlsx", published, langs, labels))
    every = {name: pub for tables in published.values() for name, pub in tables.items()}
    files += write_labels(out, every, langs, labels)
    return files


def sdmx_config_path(sdmx_path: Path | None, pipelines_root: Path | None) -> Path:
    """pipelines/sdmx.yaml: the one given, else the pipelines directory's, else the
    project's (its DSD in the `sdmx/` folder beside it)."""
    from gbvstats.paths import pipelines_dir

    if sdmx_path:
        return Path(sdmx_path)
    if pipelines_root and (Path(pipelines_root) / "sdmx.yaml").exists():
        return Path(pipelines_root) / "sdmx.yaml"
    return pipelines_dir() / "sdmx.yaml"


def flat_frame(pub: Published) -> pd.DataFrame:
    out = pub.frame.copy()
    status = pub.status_frame()
    for col in pub.measures:
        out[f"{col}_OBS_STATUS"] = status[col]
    return out


def write_flat(out: Path, name: str, year: int, pub: Published) -> list[dict[str, Any]]:
    flat = flat_frame(pub)
    csv_path, parquet_path = out / f"{name}_{year}.csv", out / f"{name}_{year}.parquet"
    write_csv_frame(csv_path, flat)
    write_parquet_frame(parquet_path, flat)
    info = {"table": name, "year": year, "rows": len(flat), "suppressed_cells": pub.count(CONFIDENTIAL)}
    return [{"file": csv_path.name, "kind": "csv", **info},
            {"file": parquet_path.name, "kind": "parquet", **info}]


def write_csv_frame(path: Path, frame: pd.DataFrame) -> None:
    """The one CSV writer of published tables: text that looks like a formula stays text."""
    frame_csv(frame, path)


def write_parquet_frame(path: Path, frame: pd.DataFrame) -> None:
    """The one Parquet writer of published tables: fixed options, the same frame gives
    the same bytes (publish/stable.py)."""
    write_parquet(frame, path)


def write_sdmx(out: Path, year: int, tables: dict[str, Published], dsd, cfg: dict,
               lang: str = "en") -> list[dict[str, Any]]:
    """One SDMX-CSV file per entry of pipelines/sdmx.yaml, refused (nothing written) when
    a row fails the structural check against the DSD."""
    from gbvstats.publish import sdmx

    written = []
    for f in cfg["files"]:
        if not any(o["table"] in tables for o in f["observations"]):
            continue
        rows = sdmx.rows(f, year, tables, dsd, cfg["codes"])
        path = out / f"{f['file']}_{year}.csv"
        problems = sdmx.check_rows(rows, dsd, path.name)
        if problems:
            shown = "\n".join(p.message(lang) for p in problems[:10])
            more = len(problems) - 10
            raise PublishError(t("publish.sdmx_invalid", lang, file=path.name, count=len(problems),
                                 problems=shown + (f"\n... (+{more})" if more > 0 else "")), 1)
        sdmx.write_csv(path, dsd.header, rows)
        written.append({"file": path.name, "kind": "sdmx-csv", "year": year, "series": f["id"],
                        "tables": sorted({o["table"] for o in f["observations"] if o["table"] in tables}),
                        "rows": len(rows),
                        "suppressed_cells": sum(r["OBS_STATUS"] == "O" for r in rows)})
    return written


def _manifest(published: dict[int, dict[str, Published]], years: list[int], langs, threshold: int,
              files: list[dict], skipped: list[str], provisional: dict[int, list],
              gates: dict[int, Any], audits: dict[int, Any], lang: str = "en") -> dict[str, Any]:
    """`provisional`: each year's reasons (their union is the manifest's); `gates`: each
    year's gate report (by year with several years), None when publish ran without it."""
    from gbvstats.publish.flags import BREAK, PROVISIONAL

    def table_entry(pub: Published) -> dict[str, Any]:
        return {"rows": len(pub.frame), "suppressed_cells": pub.count(CONFIDENTIAL),
                "provisional_cells": pub.count(PROVISIONAL), "break_cells": pub.count(BREAK),
                "counts": pub.meta["counts"], "rates": pub.meta["rates"], "sums": pub.meta["sums"],
                "notes": [{"flag": n.flag, "cells": n.cells, **{lg: n.text.get(lg, "") for lg in LANGS}}
                          for n in pub.notes.values()]}

    manifest: dict[str, Any] = {"years": years, "threshold": threshold, "languages": list(langs)}
    if len(years) == 1:
        manifest["year"] = years[0]
        manifest["tables"] = {n: table_entry(p) for n, p in published[years[0]].items()}
    else:
        manifest["tables"] = {str(y): {n: table_entry(p) for n, p in tables.items()}
                              for y, tables in published.items()}
    reasons: list = []
    for y in years:
        reasons += [r if isinstance(r, dict) else str(r) for r in provisional.get(y, [])
                    if (r if isinstance(r, dict) else str(r)) not in reasons]
    manifest["provisional"] = {"reasons": reasons} if reasons else None
    if len(years) == 1:
        manifest["gate"] = gates[years[0]].manifest(lang) if years[0] in gates else None
    else:
        manifest["gate"] = {str(y): g.manifest(lang) for y, g in gates.items()} or None
    # the disclosure audit's settings and counts (no confidential value)
    manifest["disclosure"] = audits[years[0]].summary() if len(years) == 1 \
        else {str(y): a.summary() for y, a in audits.items()}
    manifest["files"] = files
    manifest["skipped"] = sorted(set(skipped))
    return manifest
