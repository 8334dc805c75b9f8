"""Helpers for the SDC and publication tests: realistic synthetic indicator tables
(oblasts x sex with totals) and a small warehouse holding them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

OBLASTS = ["KG02", "KG03", "KG04", "KG05", "KG06", "KG07", "KG08", "KG11", "KG21"]
SOATE = {"KG": "41700000000000", "KG02": "41702000000000", "KG03": "41703000000000",
         "KG04": "41704000000000", "KG05": "41705000000000", "KG06": "41706000000000",
         "KG07": "41707000000000", "KG08": "41708000000000", "KG11": "41711000000000",
         "KG21": "41721000000000"}


def oblast_sex_table(cells: dict[tuple[str, str], int], year: int = 2024,
                     col: str = "victims") -> pd.DataFrame:
    """Rows for every oblast and sex F/M from `cells`, plus sex '_T' and area 'KG' totals."""
    rows = []
    for area in OBLASTS:
        for sex in ("F", "M"):
            rows.append({"area": area, "sex": sex, col: cells[(area, sex)]})
        rows.append({"area": area, "sex": "_T", col: cells[(area, "F")] + cells[(area, "M")]})
    frame = pd.DataFrame(rows)
    kg = frame.groupby("sex", as_index=False)[col].sum().assign(area="KG")
    frame = pd.concat([kg, frame], ignore_index=True)
    frame.insert(0, "territory", frame["area"].map(SOATE))
    frame.insert(0, "year", year)
    return frame[["year", "territory", "area", "sex", col]]


SMALL = {("KG02", "F"): 3, ("KG02", "M"): 40, ("KG03", "F"): 25, ("KG03", "M"): 31,
         ("KG04", "F"): 0, ("KG04", "M"): 12, ("KG05", "F"): 18, ("KG05", "M"): 2,
         ("KG06", "F"): 55, ("KG06", "M"): 47, ("KG07", "F"): 9, ("KG07", "M"): 11,
         ("KG08", "F"): 14, ("KG08", "M"): 4, ("KG11", "F"): 120, ("KG11", "M"): 98,
         ("KG21", "F"): 77, ("KG21", "M"): 63}


def trafficking_table(year: int = 2024) -> pd.DataFrame:
    """area x exploitation x sex x age with totals on every dimension, victims and rate."""
    import itertools
    import random

    rnd = random.Random(year)
    rows = []
    expl, sexes, ages = ["SX", "FL", "OP"], ["F", "M"], ["Y0T17", "Y18T999"]
    base = {k: rnd.choice([0, 1, 2, 3, 5, 8, 13, 21]) for k in itertools.product(OBLASTS[:4], expl, sexes, ages)}
    for area in [*OBLASTS[:4], "KG"]:
        for e in [*expl, "_T"]:
            for s in [*sexes, "_T"]:
                for a in [*ages, "_T"]:
                    total = sum(v for (ar, ee, ss, aa), v in base.items()
                                if (area == "KG" or ar == area) and e in (ee, "_T")
                                and s in (ss, "_T") and a in (aa, "_T"))
                    rows.append({"year": year, "territory": SOATE[area], "area": area,
                                 "exploitation": e, "sex": s, "age": a, "victims": total})
    frame = pd.DataFrame(rows)
    frame["victims_per_100k"] = (frame["victims"] * 100000 / 350000).round(2)
    return frame


HEADER = """-- id: {id}
-- title.en: {title} (en)
-- title.ru: {title} (ру)
-- title.ky: {title} (кы)
-- unit.en: persons; per 100,000 population
-- unit.ru: человек; на 100 000 населения
-- unit.ky: адам; 100 000 калкка
-- sources: MOI-TIP, NSC-POP
-- notes.en: Synthetic test table.
-- notes.ru: Синтетическая тестовая таблица.
-- notes.ky: Синтетикалык сыноо таблицасы.
-- counts: {counts}
-- rates: {rates}
SELECT 1
"""


def write_pipeline(root: Path, name: str, table_id: str, title: str, counts: str, rates: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.sql"
    path.write_text(HEADER.format(id=table_id, title=title, counts=counts, rates=rates), encoding="utf-8")
    return path


SDMX = """
codes:
  AGE: {Y18T999: Y_GE18}
files:
  - id: SDG_16_2_2
    file: sdmx_sdg_16_2_2
    observations:
      - table: ind05_trafficking
        column: victims
        unit: NUMBER
        series: {column: exploitation, codes: {_T: VC_HTF_DETV, SX: VC_HTF_DETVSX, FL: VC_HTF_DETVFL, OP: VC_HTF_DETVOP}}
        dimensions: {SEX: sex, AGE: age}
      - table: ind05_trafficking
        column: victims_per_100k
        unit: PER_100000_POP
        series: {column: exploitation, codes: {_T: VC_HTF_DETVR, SX: VC_HTF_DETVSXR, FL: VC_HTF_DETVFLR, OP: VC_HTF_DETVOPR}}
        dimensions: {SEX: sex, AGE: age}
  - id: NAT_5_2_FV
    file: sdmx_nat_5_2_family_violence
    observations:
      - {table: ind01_family_violence, column: victims, unit: NUMBER, series: KG_VC_FVV, dimensions: {SEX: sex}}
      - {table: ind01_family_violence, column: victims_per_100k, unit: PER_100000_POP, series: KG_VC_FVVR, dimensions: {SEX: sex}}
"""


def make_warehouse(tmp: Path, year: int = 2024) -> tuple[Path, Path]:
    """A warehouse with two indicator tables (and an accepted return of the year), and the
    pipelines directory describing them, with its sdmx.yaml and the project's DSD."""
    import shutil

    import duckdb

    pipes = tmp / "pipelines"
    write_pipeline(pipes, "01_fv", "ind01_family_violence", "Family violence victims",
                   "victims", "victims_per_100k = victims / population * 100000")
    write_pipeline(pipes, "05_tip", "ind05_trafficking", "Trafficking victims",
                   "victims", "victims_per_100k = victims / population * 100000")
    (pipes / "sdmx.yaml").write_text(SDMX, encoding="utf-8")
    shutil.copytree(Path(__file__).resolve().parent.parent / "pipelines" / "sdmx", pipes / "sdmx")
    from gbvstats.store.warehouse import Warehouse

    fv = oblast_sex_table(SMALL, year)
    fv["victims_per_100k"] = (fv["victims"] * 1e5 / 250000).round(1)
    tip = trafficking_table(year)
    db = tmp / "warehouse.duckdb"
    with Warehouse(db).writer() as con:  # a real warehouse, with an accepted return of each year
        for n, y in enumerate((year - 1, year), start=1):
            con.execute("INSERT INTO submissions (submission_id, form, version, agency, unit, period, year, "
                        "sha256, file_name, archive_path, received_at, status, revision) VALUES "
                        "(?, 'NSC-POP', 1, 'NSC', '41700000000000', ?, ?, ?, 'x.xlsx', 'x', now(), "
                        "'accepted', 1)", [n, str(y), y, f"x{y}"])
    con = duckdb.connect(str(db))
    try:
        con.register("fv", fv)
        con.register("tip", tip)
        con.execute("CREATE TABLE ind01_family_violence AS SELECT * FROM fv")
        con.execute("CREATE TABLE ind05_trafficking AS SELECT * FROM tip")
        other = fv.assign(year=year - 1)
        con.register("other", other)
        con.execute("INSERT INTO ind01_family_violence SELECT * FROM other")
    finally:
        con.close()
    return db, pipes


def soffice() -> str | None:
    import shutil

    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(path: Path, out_dir: Path) -> Path:
    """Convert with LibreOffice in its own profile, so parallel runs do not collide."""
    import subprocess

    profile = (out_dir / "lo-profile").resolve().as_uri()
    proc = subprocess.run(
        [soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(out_dir), str(path)],
        capture_output=True, text=True, timeout=120, check=False)
    result = out_dir / f"{path.stem}.pdf"
    assert proc.returncode == 0 and result.exists(), proc.stderr + proc.stdout
    return result


def home_with(pipes: Path, tmp: Path) -> Path:
    """A GBVSTATS_HOME whose pipelines/ are the test's (with their sdmx.yaml and DSD) and
    whose schemas/ are the project's."""
    import shutil

    home = tmp / "home"
    shutil.copytree(pipes, home / "pipelines")
    shutil.copytree(Path(__file__).resolve().parent.parent / "schemas", home / "schemas")
    return home


def attack(frame: pd.DataFrame, col: str, hidden: pd.Series, dims: list[str],
           totals: dict[str, str] | None = None) -> dict[int, float]:
    """An attacker written independently of gbvstats.sdc: every row with total codes is
    the sum of the rows that match it elsewhere and hold parts where it holds totals
    (along one dimension, or several crossed); solve any such equation with a single
    unknown by subtraction, again and again. Returns what it recovered."""
    from itertools import combinations

    totals = {"area": "KG", **(totals or {})}
    code = {d: totals.get(d, "_T") for d in dims}
    rows = [dict(zip(dims, r, strict=True)) for r in frame[dims].itertuples(index=False)]
    equations = []
    for t, trow in enumerate(rows):
        at_total = [d for d in dims if trow[d] == code[d]]
        for size in range(1, len(at_total) + 1):
            for crossed in combinations(at_total, size):
                parts = [p for p, prow in enumerate(rows)
                         if all(prow[d] != code[d] for d in crossed)
                         and all(prow[d] == trow[d] for d in dims if d not in crossed)]
                if parts:
                    equations.append((t, parts))
    values = frame[col].tolist()
    known = {i for i in range(len(rows)) if not hidden.iloc[i] and not pd.isna(values[i])}
    found: dict[int, float] = {}
    progress = True
    while progress:
        progress = False
        for t, parts in equations:
            cells = [t, *parts]
            if any(pd.isna(values[c]) and not hidden.iloc[c] for c in cells):
                continue
            unknown = [c for c in cells if c not in known]
            if len(unknown) == 1:
                u = unknown[0]
                rest = sum(values[p] for p in parts if p != u)
                found[u] = rest if u == t else values[t] - rest
                known.add(u)
                progress = True
    return found


def crossed_table(year: int = 2024) -> pd.DataFrame:
    """Like ind05_trafficking in the warehouse: sex x age parts per oblast and exploitation,
    with only the grand total (sex '_T', age '_T') and no margins."""
    rows = []
    cells = {("KG02", "SX"): [3, 10, 0, 12], ("KG02", "FL"): [9, 14, 22, 1],
             ("KG03", "SX"): [15, 30, 6, 7], ("KG03", "FL"): [0, 2, 0, 0]}
    parts = [("F", "Y0T17"), ("F", "Y18T999"), ("M", "Y0T17"), ("M", "Y18T999")]
    for (area, expl), values in cells.items():
        for (sex, age), v in zip(parts, values, strict=True):
            rows.append({"area": area, "exploitation": expl, "sex": sex, "age": age, "victims": v})
        rows.append({"area": area, "exploitation": expl, "sex": "_T", "age": "_T", "victims": sum(values)})
    frame = pd.DataFrame(rows)
    frame.insert(0, "territory", frame["area"].map(SOATE))
    frame.insert(0, "year", year)
    return frame
