"""Publication: every output written, suppressed cells nowhere, SDMX-CSV structure,
a printable workbook that LibreOffice opens, and the CLI."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from publish_helpers import attack, make_warehouse, soffice, to_pdf

from gbvstats.publish import disclosure, sdc
from gbvstats.publish.tables import PublishError, pipeline_meta, publish

ROOT = Path(__file__).resolve().parent.parent
GBVSTATS = str(ROOT / ".venv" / "bin" / "gbvstats")
TABLES = ("ind01_family_violence", "ind05_trafficking")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("publish")
    db, pipes = make_warehouse(tmp)
    out = tmp / "out"
    paths = publish(db, 2024, out, pipelines_root=pipes)
    return db, pipes, out, paths


def truth(db: Path, table: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {table} WHERE year = 2024").df()
    finally:
        con.close()


def expected_flags(db: Path, table: str) -> pd.DataFrame:
    """What publication suppresses: the same protection, with the code lists' breakdowns."""
    frame = truth(db, table)
    dims = sdc.dimensions(frame, ["victims", "victims_per_100k"])
    return sdc.protect(frame, ["victims"], {"victims_per_100k": "victims"},
                       hierarchies=disclosure.hierarchies(dims))[1]


def test_pipeline_meta_parses_counts_and_rates(tmp_path):
    _, pipes = make_warehouse(tmp_path)
    meta = pipeline_meta(pipes / "05_tip.sql")
    assert meta["id"] == "ind05_trafficking"
    assert meta["title.ru"] == "Trafficking victims (ру)"
    assert meta["counts"] == ["victims"]
    assert meta["rates"] == {"victims_per_100k": {"numerator": "victims", "denominator": "population",
                                                   "multiplier": 100000}}
    sums = tmp_path / "08_dq.sql"
    sums.write_text("-- id: ind08_dq\n-- counts: expected, received, missing\n"
                    "-- sums: victims = victims_women + victims_men; expected = received + missing\n"
                    "SELECT 1\n", encoding="utf-8")
    assert pipeline_meta(sums)["sums"] == {"victims": ["victims_women", "victims_men"],
                                           "expected": ["received", "missing"]}
    assert meta["sums"] == {}
    real = pipeline_meta(ROOT / "pipelines" / "01_family_violence.sql")
    assert real["counts"] == ["reports", "victims"]
    assert real["rates"]["victims_per_100k"] == {"numerator": "victims", "denominator": "population",
                                                 "multiplier": 100000}


def test_every_output_is_written_and_listed(published):
    db, _, out, paths = published
    names = sorted(p.name for p in paths)
    assert names == sorted([
        "ind01_family_violence_2024.csv", "ind01_family_violence_2024.parquet",
        "ind05_trafficking_2024.csv", "ind05_trafficking_2024.parquet", "indicators_2024.xlsx",
        "sdmx_sdg_16_2_2_2024.csv", "sdmx_nat_5_2_family_violence_2024.csv", "labels_ru.csv",
        "labels_ky.csv", "labels_en.csv", "manifest.json"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["threshold"] == 4 and manifest["year"] == 2024
    for table in TABLES:
        rows = len(truth(db, table))  # the 2023 rows of ind01 are not published
        assert manifest["tables"][table]["rows"] == rows == len(pd.read_csv(out / f"{table}_2024.csv"))
        assert manifest["tables"][table]["suppressed_cells"] == int(expected_flags(db, table).to_numpy().sum())
    assert manifest["tables"]["ind01_family_violence"]["rows"] == 30
    sdg = next(f for f in manifest["files"] if f["file"] == "sdmx_sdg_16_2_2_2024.csv")
    assert sdg["rows"] == 2 * 180  # rate and number for every row


def test_suppressed_cells_appear_in_no_output(published):
    db, _, out, _ = published
    wb = load_workbook(out / "indicators_2024.xlsx")
    for table in TABLES:
        real, flags = truth(db, table), expected_flags(db, table)
        hidden = flags["victims"]
        assert hidden.sum() > 0
        for frame in (pd.read_csv(out / f"{table}_2024.csv"), pd.read_parquet(out / f"{table}_2024.parquet")):
            for col in ("victims", "victims_per_100k"):
                assert frame.loc[hidden, col].isna().all()
                assert (frame.loc[hidden, f"{col}_OBS_STATUS"] == "C").all()
                assert (frame.loc[~hidden, col] == real.loc[~hidden, col]).all()
                assert (frame.loc[~hidden, f"{col}_OBS_STATUS"] == "A").all()
            # the published file alone lets nobody recover a hidden count
            dims = sdc.dimensions(real, ["victims", "victims_per_100k"])
            status = frame["victims_OBS_STATUS"] == "C"
            assert attack(real, "victims", status, dims) == {}
        ws = wb[table]
        head = next(r for r in range(1, 30) if ws.cell(r, 1).value == "year")
        header = [c.value for c in ws[head]]
        vcol = header.index("victims") + 1
        for i in range(len(real)):
            shown = ws.cell(head + 1 + i, vcol).value
            assert shown == ("x" if hidden[i] else real.loc[i, "victims"])
    rows = list(csv.DictReader((out / "sdmx_sdg_16_2_2_2024.csv").open(encoding="utf-8")))
    real = truth(db, "ind05_trafficking")
    hidden_keys = {(r.area, r.sex, r.age, r.exploitation) for r in real[expected_flags(db, "ind05_trafficking")["victims"]].itertuples()}
    series = {"VC_HTF_DETV": "_T", "VC_HTF_DETVSX": "SX", "VC_HTF_DETVFL": "FL", "VC_HTF_DETVOP": "OP"}
    ages = {"Y_GE18": "Y18T999"}
    for row in rows:
        if row["UNIT_MEASURE"] != "NUMBER":
            continue
        key = (row["REF_AREA"], row["SEX"], ages.get(row["AGE"], row["AGE"]), series[row["SERIES"]])
        # the SDG DSD has no confidentiality attribute: a missing value, said why
        assert (row["OBS_STATUS"] == "O") == (key in hidden_keys)
        assert (row["OBS_VALUE"] == "") == (key in hidden_keys)
        assert ("Confidential" in row["COMMENT_OBS"]) == (key in hidden_keys)


def test_sdmx_csv_structure(published):
    from gbvstats.publish.sdmx import check_file, load_dsd

    _, pipes, out, _ = published
    dsd = load_dsd(pipes)
    with (out / "sdmx_sdg_16_2_2_2024.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["STRUCTURE", "STRUCTURE_ID", "ACTION", "FREQ", "REPORTING_TYPE", "SERIES", "REF_AREA",
                       "SEX", "AGE", "URBANISATION", "INCOME_WEALTH_QUANTILE", "EDUCATION_LEV", "OCCUPATION",
                       "CUST_BREAKDOWN", "COMPOSITE_BREAKDOWN", "DISABILITY_STATUS", "ACTIVITY", "PRODUCT",
                       "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS", "UNIT_MULT", "UNIT_MEASURE", "NATURE",
                       "COMMENT_OBS"]
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert {r["STRUCTURE"] for r in body} == {"dataflow"}
    assert {r["STRUCTURE_ID"] for r in body} == {"KG_NSC:DF_SDG_KG(1.0)"}
    assert {r["FREQ"] for r in body} == {"A"} and {r["TIME_PERIOD"] for r in body} == {"2024"}
    assert {r["REPORTING_TYPE"] for r in body} == {"N"} and {r["UNIT_MULT"] for r in body} == {"0"}
    assert {r["REF_AREA"] for r in body} == {"KG", "KG02", "KG03", "KG04", "KG05"}
    assert {r["SEX"] for r in body} == {"F", "M", "_T"}
    assert {r["AGE"] for r in body} == {"Y0T17", "Y_GE18", "_T"}  # the DSD's code for 18 and over
    assert {r["SERIES"] for r in body} == {"VC_HTF_DETV", "VC_HTF_DETVSX", "VC_HTF_DETVFL", "VC_HTF_DETVOP",
                                           "VC_HTF_DETVR", "VC_HTF_DETVSXR", "VC_HTF_DETVFLR", "VC_HTF_DETVOPR"}
    assert {r["UNIT_MEASURE"] for r in body} == {"PER_100000_POP", "NUMBER"}
    assert {r["OBS_STATUS"] for r in body} == {"A", "O"}
    assert {r["URBANISATION"] for r in body} == {"_T"}  # dimensions not broken down
    kg = next(r for r in body if r["REF_AREA"] == "KG" and r["SEX"] == "_T" and r["AGE"] == "_T"
              and r["SERIES"] == "VC_HTF_DETV")
    assert kg["OBS_STATUS"] == "A" and int(kg["OBS_VALUE"]) > 0
    fv = list(csv.DictReader((out / "sdmx_nat_5_2_family_violence_2024.csv").open(encoding="utf-8")))
    assert {(r["SERIES"], r["SEX"], r["UNIT_MEASURE"]) for r in fv} == {
        (s, x, u) for s, u in (("KG_VC_FVV", "NUMBER"), ("KG_VC_FVVR", "PER_100000_POP")) for x in ("F", "M", "_T")}
    assert len(fv) == 2 * 30
    for path in out.glob("sdmx_*.csv"):  # every written row passes the structural check
        assert check_file(path, dsd) == [], path


def test_workbook_is_multilingual_and_printable(published):
    _, _, out, _ = published
    wb = load_workbook(out / "indicators_2024.xlsx")
    assert wb.sheetnames == list(TABLES)
    ws = wb["ind05_trafficking"]
    top = [ws.cell(r, 1).value for r in range(1, 12)]
    assert top[:3] == ["Trafficking victims (ру)", "Trafficking victims (кы)", "Trafficking victims (en)"]
    assert "Единица измерения: человек; на 100 000 населения" in top
    assert "Өлчөө бирдиги: адам; 100 000 калкка" in top
    head = next(r for r in range(1, 30) if ws.cell(r, 1).value == "year")
    assert [ws.cell(head - 3 + i, 1).value for i in range(3)] == ["Год", "Жыл", "Year"]  # a header row per language
    assert ws.print_title_rows == f"${head - 3}:${head}"
    assert ws.freeze_panes == f"H{head + 1}"  # below the header, right of the dimensions and area name
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    header = [c.value for c in ws[head]]
    numbers = [c for c in ws.iter_rows(min_row=head + 1, min_col=header.index("victims") + 1,
                                       max_col=header.index("victims") + 1) for c in c
               if isinstance(c.value, int)]
    assert numbers and {c.number_format for c in numbers} == {"#,##0"}
    texts = [str(ws.cell(r, 1).value) for r in range(head, ws.max_row + 1)]
    assert any(x.startswith("x — конфиденциально") for x in texts)
    assert any(x.startswith("x — купуя") for x in texts)
    assert any(x.startswith("x — confidential") for x in texts)


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")
def test_workbook_opens_in_libreoffice(published, tmp_path):
    _, _, out, _ = published
    pdf = to_pdf(out / "indicators_2024.xlsx", tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 2000


def test_threshold_and_unknown_table(tmp_path):
    import duckdb

    db, pipes = make_warehouse(tmp_path)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE ind09_unknown AS SELECT 2024 AS year, 'KG' AS area, 3 AS n")
    con.close()
    publish(db, 2024, tmp_path / "t0", threshold=0, pipelines_root=pipes)
    manifest = json.loads((tmp_path / "t0" / "manifest.json").read_text(encoding="utf-8"))
    assert all(t["suppressed_cells"] == 0 for t in manifest["tables"].values())
    assert "ind09_unknown" not in manifest["tables"]
    assert any("ind09_unknown" in s for s in manifest["skipped"])
    with pytest.raises(PublishError) as err:
        publish(db, 1999, tmp_path / "none", pipelines_root=pipes, lang="ru")
    assert "1999" in str(err.value) and "gbvstats consolidate" in str(err.value) and err.value.code == 2
    assert not (tmp_path / "none").exists()
    with pytest.raises(PublishError) as err:
        publish(db, 2024, tmp_path / "neg", threshold=-1, pipelines_root=pipes)
    assert err.value.code == 2 and "--threshold" in str(err.value)


def run_cli(*args, home: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"GBVSTATS_HOME": str(home)}
    return subprocess.run([GBVSTATS, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_cli(tmp_path, registry):
    """`gbvstats publish` makes a release from a real warehouse's returns (the bare tables
    of make_warehouse have none: the library's publish() writes those)."""
    from store_helpers import write_return

    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(tmp_path / "wh" / "w.duckdb", registry)
    wh.submit(write_return(tmp_path / "q1.xlsx", "MOI-FV", "41707215000000", "2024-Q1"), "MOI")
    db, home = str(wh.path), ROOT
    out = tmp_path / "cli"
    # one return of four quarters: the publication gate blocks (missing returns, open
    # warnings) and nothing is written, nothing recorded, unless published provisionally
    refused = run_cli("publish", "--year", "2024", "--out", str(out), "--warehouse", db, home=home)
    assert refused.returncode == 1 and "GBV-G0" in refused.stdout and not out.exists()
    assert "2024-r1" not in refused.stdout
    ok = run_cli("publish", "--year", "2024", "--out", str(out), "--warehouse", db,
                 "--lang", "en,ru", "--threshold", "5", "--provisional", home=home)
    assert ok.returncode == 0, ok.stderr
    assert f"wrote {out / 'indicators_2024.xlsx'}" in ok.stdout
    assert "threshold 5" in ok.stdout and "release 2024-r1" in ok.stdout
    assert json.loads((out / "manifest.json").read_text())["languages"] == ["en", "ru"]
    as_json = run_cli("publish", "--year", "2024", "--out", str(out), "--warehouse", db, "--json",
                      "--provisional", home=home)
    assert json.loads(as_json.stdout)["threshold"] == 4
    none = run_cli("publish", "--year", "2001", "--out", str(out), "--warehouse", db, "--lang", "ky", home=home)
    assert none.returncode == 2 and none.stderr.startswith("error: ") and "2001-жыл" in none.stderr
    assert "кабыл алынган отчет" in none.stderr  # no accepted return: refused, not blank rows
    missing = run_cli("publish", "--year", "2024", "--out", str(out), "--warehouse", str(tmp_path / "no.duckdb"), home=home)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    bad = run_cli("publish", "--year", "2024", "--out", str(out), "--warehouse", db, "--lang", "fr", home=home)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


@pytest.mark.slow
def test_real_pipelines_on_demo_returns(tmp_path, registry):
    """Demo returns of two oblasts, consolidated by the real pipelines, then published:
    every declared count of every table withstands the attacker."""
    from datetime import datetime

    from gbvstats.consolidate.run import consolidate
    from gbvstats.demo.generate import generate
    from gbvstats.publish.tables import metas, read_tables
    from gbvstats.store.warehouse import Warehouse

    entries = generate([2019], tmp_path / "demo", 7, registry,
                       oblasts=["41707000000000", "41706000000000"], defects=False)
    wh = Warehouse(tmp_path / "wh" / "w.duckdb", registry)
    wh.submit_many([(tmp_path / "demo" / e.file, e.agency, "test", datetime.fromisoformat(e.submitted_at))
                    for e in entries])
    consolidate(wh, 2019)
    out = tmp_path / "out"
    publish(wh.path, 2019, out, ("en",))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["tables"]) == set(metas())
    assert sum(t["suppressed_cells"] for t in manifest["tables"].values()) > 0
    for name, real in read_tables(wh.path, 2019).items():
        meta = metas()[name]
        flat = pd.read_csv(out / f"{name}_2019.csv")
        dims = sdc.dimensions(real, [*meta["counts"], *meta["rates"]])
        for col in meta["counts"]:
            hidden = flat[f"{col}_OBS_STATUS"] == "C"
            assert flat.loc[hidden, col].isna().all()
            assert attack(real, col, hidden, dims) == {}, (name, col)


def test_rates_declare_numerator_denominator_and_multiplier():
    from gbvstats.publish.tables import parse_rates

    rates = parse_rates("a_per_100k = a / pop * 100000; share_pct = b / a * 100; ratio = c / a")
    assert rates["a_per_100k"] == {"numerator": "a", "denominator": "pop", "multiplier": 100000}
    assert rates["ratio"]["multiplier"] == 1
    with pytest.raises(ValueError, match="rate = numerator / denominator"):
        parse_rates("a_per_100k<-a", "x.sql")


def test_a_rate_is_hidden_with_its_denominator():
    frame = pd.DataFrame({"area": ["KG", "KG02", "KG03"], "a": [100, 50, 50], "b": [10, 7, 3],
                          "share_pct": [10.0, 14.0, 6.0]})
    _, flags = sdc.protect(frame, ["a", "b"], {"share_pct": ["b", "a"]})
    assert flags["share_pct"].tolist() == (flags["a"] | flags["b"]).tolist()
    assert flags["share_pct"].any()
