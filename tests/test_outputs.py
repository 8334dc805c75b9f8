"""What a statistician reads: labelled trilingual outputs, several years in one workbook,
provisional publications, the SDMX structural check, and the terminal at 80 columns."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from publish_helpers import make_warehouse
from typer.testing import CliRunner

from gbvstats.cli import app
from gbvstats.publish.sdmx import check_rows, load_dsd
from gbvstats.publish.tables import PublishError, parse_years, publish

ROOT = Path(__file__).resolve().parent.parent
GBVSTATS = str(ROOT / ".venv" / "bin" / "gbvstats")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outputs")
    db, pipes = make_warehouse(tmp)
    return tmp, db, pipes


def _header_row(ws, name="year"):
    return next(r for r in range(1, 40) if ws.cell(r, 1).value == name)


def test_labels_files_give_every_column_and_code_in_each_language(warehouse, tmp_path):
    _, db, pipes = warehouse
    publish(db, 2024, tmp_path, ("ky",), pipelines_root=pipes)
    for lang in ("ru", "ky", "en"):  # all three, whatever the workbook's languages
        rows = list(csv.DictReader((tmp_path / f"labels_{lang}.csv").open(encoding="utf-8")))
        assert {"ind01_family_violence", "ind05_trafficking"} == {r["table"] for r in rows}
    ky = {(r["table"], r["column"], r["code"]): r["label"]
          for r in csv.DictReader((tmp_path / "labels_ky.csv").open(encoding="utf-8"))}
    assert ky[("ind05_trafficking", "sex", "F")] == "Аял"
    assert ky[("ind05_trafficking", "sex", "")] == "Жынысы"  # the code list's title
    assert ky[("ind01_family_violence", "area", "KG02")] == "Ысык-Көл облусу"
    assert ky[("ind05_trafficking", "exploitation", "SX")] == "Сексуалдык эксплуатация"
    assert ky[("ind01_family_violence", "year", "")] == "Жыл"
    en = {(r["table"], r["column"], r["code"]): r["label"]
          for r in csv.DictReader((tmp_path / "labels_en.csv").open(encoding="utf-8"))}
    assert en[("ind05_trafficking", "age", "Y18T999")] == "18 and over"
    flat = pd.read_csv(tmp_path / "ind05_trafficking_2024.csv")
    assert "sex" in flat.columns and set(flat["sex"]) == {"F", "M", "_T"}  # machine names stay


def test_workbook_headers_area_names_and_dimension_labels(warehouse, tmp_path):
    _, db, pipes = warehouse
    publish(db, 2024, tmp_path, ("ru", "ky", "en"), pipelines_root=pipes)
    ws = load_workbook(tmp_path / "indicators_2024.xlsx")["ind05_trafficking"]
    head = _header_row(ws)
    names = [c.value for c in ws[head]]
    assert names[:4] == ["year", "territory", "area", "area_name"]
    ru, ky, en = ([c.value for c in ws[head - k]] for k in (3, 2, 1))
    assert (ru[2], ky[2], en[2]) == ("Код территории", "Аймактын коду", "Area code")
    assert (ru[3], ky[3], en[3]) == ("Территория", "Аймак", "Territory")
    assert (ru[names.index("sex")], ky[names.index("sex")]) == ("Пол", "Жынысы")
    rows = [{n: ws.cell(r, i + 1).value for i, n in enumerate(names)} for r in range(head + 1, head + 200)]
    kg = next(r for r in rows if r["area"] == "KG")
    assert kg["area_name"] == "Кыргызская Республика"
    assert next(r for r in rows if r["area"] == "KG02")["area_name"] == "Иссык-Кульская область"
    assert {r["sex"] for r in rows if r["area"]} == {"Женский", "Мужской", "Всего"}  # labels, first language


def test_several_years_in_one_workbook(warehouse, tmp_path):
    _, db, pipes = warehouse
    paths = publish(db, [2023, 2024], tmp_path, ("en",), pipelines_root=pipes)
    names = {p.name for p in paths}
    assert {"indicators_2023.xlsx", "indicators_2024.xlsx", "indicators_2023-2024.xlsx",
            "ind01_family_violence_2023.csv", "ind01_family_violence_2024.csv"} <= names
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["years"] == [2023, 2024] and set(manifest["tables"]) == {"2023", "2024"}
    ws = load_workbook(tmp_path / "indicators_2023-2024.xlsx")["ind01_family_violence"]
    head = _header_row(ws, "area")
    header = [c.value for c in ws[head]]
    assert header[-2:] == ["2023", "2024"] and "measure" in header
    per_year = {y: pd.read_csv(tmp_path / f"ind01_family_violence_{y}.csv") for y in (2023, 2024)}
    rows = {(ws.cell(r, 1).value, ws.cell(r, header.index("sex") + 1).value, ws.cell(r, header.index("measure") + 1).value):
            [ws.cell(r, len(header) - 1).value, ws.cell(r, len(header)).value]
            for r in range(head + 1, ws.max_row + 1) if ws.cell(r, 1).value}
    for y, col in ((2023, 0), (2024, 1)):
        for rec in per_year[y].to_dict("records"):
            sex = {"F": "Female", "M": "Male", "_T": "Total"}[rec["sex"]]
            shown = rows[(rec["area"], sex, "victims")][col]
            assert shown == ("x" if rec["victims_OBS_STATUS"] == "C" else rec["victims"])


def test_a_provisional_publication_marks_every_figure(warehouse, tmp_path):
    _, db, pipes = warehouse
    reasons = [{"en": "2 warnings not explained", "ru": "2 предупреждения не пояснены",
                "ky": "2 эскертүү түшүндүрүлгөн жок"}, "MoI returns of Q4 missing"]
    publish(db, 2024, tmp_path, ("en", "ky"), pipelines_root=pipes, provisional=reasons)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["provisional"]["reasons"][1] == "MoI returns of Q4 missing"
    flat = pd.read_csv(tmp_path / "ind05_trafficking_2024.csv")
    status = flat["victims_OBS_STATUS"]
    assert set(status) == {"P", "C"}  # every published figure provisional, hidden ones stay hidden
    assert flat.loc[status == "P", "victims"].notna().all()
    sdmx = list(csv.DictReader((tmp_path / "sdmx_sdg_16_2_2_2024.csv").open(encoding="utf-8")))
    assert {r["OBS_STATUS"] for r in sdmx} == {"P", "O"}
    assert all("MoI returns of Q4 missing" in r["COMMENT_OBS"] for r in sdmx if r["OBS_STATUS"] == "P")
    ws = load_workbook(tmp_path / "indicators_2024.xlsx")["ind05_trafficking"]
    texts = [str(c.value) for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert any(t.startswith("p — provisional publication: 2 warnings not explained; MoI returns") for t in texts)
    assert any(t.startswith("p — алдын ала жарыялоо: 2 эскертүү түшүндүрүлгөн жок") for t in texts)
    head = _header_row(ws)
    col = [c.value for c in ws[head]].index("victims") + 1
    marked = [ws.cell(r, col) for r in range(head + 1, head + 20) if isinstance(ws.cell(r, col).value, int)]
    assert marked and all(c.number_format.endswith('" p"') for c in marked)


def test_sdmx_structural_check_names_every_problem(warehouse):
    _, _, pipes = warehouse
    dsd = load_dsd(pipes)
    good = {h: "" for h in dsd.header} | {
        "STRUCTURE": "dataflow", "STRUCTURE_ID": dsd.structure_id, "ACTION": "I", "FREQ": "A",
        "REPORTING_TYPE": "N", "SERIES": "VC_HTF_DETV", "REF_AREA": "KG07", "SEX": "F", "AGE": "Y_GE18",
        **{d: "_T" for d in ("URBANISATION", "INCOME_WEALTH_QUANTILE", "EDUCATION_LEV", "OCCUPATION",
                             "CUST_BREAKDOWN", "COMPOSITE_BREAKDOWN", "DISABILITY_STATUS", "ACTIVITY", "PRODUCT")},
        "TIME_PERIOD": "2024", "OBS_VALUE": "12", "OBS_STATUS": "A", "UNIT_MULT": "0", "UNIT_MEASURE": "NUMBER",
        "NATURE": "C"}
    assert check_rows([good], dsd) == []
    bad = [good | {"AGE": "Y18T999"},  # the national code, not the DSD's
           good | {"SEX": "F", "SERIES": "VC_HTF_DETVSX", "OBS_STATUS": ""},
           good | {"SERIES": "VC_HTF_DETVSX", "OBS_VALUE": "", "OBS_STATUS": "A"},
           good | {"SERIES": "VC_HTF_DETVFL", "TIME_PERIOD": "2024-Q1"},
           good | {"SERIES": "VC_HTF_DETVOP", "REF_AREA": "KG99", "OBS_VALUE": "7.0.1"},
           good]  # the first row's key again
    codes = [(f.code, f.params.get("column")) for f in check_rows(bad, dsd, "x.csv")]
    assert ("GBV-P011", "AGE") in codes and ("GBV-P012", "OBS_STATUS") in codes
    assert ("GBV-P015", "OBS_VALUE") in codes and ("GBV-P013", "TIME_PERIOD") in codes
    assert ("GBV-P011", "REF_AREA") in codes and ("GBV-P013", "OBS_VALUE") in codes
    assert ("GBV-P014", None) in codes
    missing = {k: v for k, v in good.items() if k != "UNIT_MULT"}
    assert [f.code for f in check_rows([missing], dsd)] == ["GBV-P010"]


def test_publish_refuses_sdmx_rows_the_dsd_does_not_allow(warehouse, tmp_path):
    _, db, pipes = warehouse
    bad = tmp_path / "pipes"
    import shutil

    shutil.copytree(pipes, bad)
    text = (bad / "sdmx.yaml").read_text(encoding="utf-8").replace("series: KG_VC_FVV,", "series: KG_VC_NOPE,")
    (bad / "sdmx.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PublishError) as err:
        publish(db, 2024, tmp_path / "out", ("en",), pipelines_root=bad)
    assert "SERIES = KG_VC_NOPE is not in its code list" in str(err.value)
    assert not (tmp_path / "out" / "sdmx_nat_5_2_family_violence_2024.csv").exists()


def test_years_option():
    assert parse_years("2020-2024") == [2020, 2021, 2022, 2023, 2024]
    assert parse_years("2019,2021") == [2019, 2021]
    for bad in ("2024-2020", "20x4", ""):
        with pytest.raises(ValueError):
            parse_years(bad)


def test_publish_honours_gbvstats_lang(tmp_path, registry):
    """`gbvstats publish` makes a release from a warehouse's recorded returns (the bare
    tables of make_warehouse have none: the library's publish() writes those)."""
    from store_helpers import write_return

    from gbvstats.store.warehouse import Warehouse

    wh = Warehouse(tmp_path / "wh" / "w.duckdb", registry)
    for period in ("2023-Q1", "2024-Q1"):
        wh.submit(write_return(tmp_path / f"{period}.xlsx", "MOI-FV", "41707215000000", period), "MOI")
    db = wh.path
    env = os.environ | {"GBVSTATS_HOME": str(ROOT), "GBVSTATS_LANG": "ky", "COLUMNS": "80"}
    # provisionally: the few returns leave items the gate blocks (tests/test_gate.py)
    run = subprocess.run([GBVSTATS, "publish", "--years", "2023-2024", "--out", str(tmp_path / "o"),
                          "--warehouse", str(db), "--provisional"], capture_output=True, text=True, env=env,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "жазылды" in run.stdout  # messages in Kyrgyz
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["languages"] == ["ky", "ru", "en"]  # all three, Kyrgyz first
    assert set(manifest["gate"]) == {"2023", "2024"}  # each year through the gate
    assert (tmp_path / "o" / "indicators_2023-2024.xlsx").exists()
    assert manifest["release"]["id"] == "2023-2024-r1" and "2023-2024-r1" in run.stdout  # one release of the span
    both = subprocess.run([GBVSTATS, "publish", "--year", "2024", "--years", "2023-2024", "--out",
                           str(tmp_path / "p"), "--warehouse", str(db)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert both.returncode == 2 and "Traceback" not in both.stderr


def test_help_texts_survive_rich_markup():
    """typer renders option help with rich: text in [brackets] would vanish."""
    import typer.main

    command = typer.main.get_command(app)
    seen = []

    def walk(cmd, path):
        for param in getattr(cmd, "params", []):
            help_text = getattr(param, "help", None) or ""
            assert "[" not in help_text, (path, param.name, help_text)
            seen.append(param.name)
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(command, [])
    assert "warehouse" in seen
    shown = CliRunner().invoke(app, ["sql", "--help"], env={"COLUMNS": "120"})
    assert "GBVSTATS_WAREHOUSE" in shown.stdout and "GBVSTATS_LANG" in shown.stdout


def test_tables_fit_80_columns(warehouse):
    _, db, _ = warehouse
    env = {"COLUMNS": "80"}
    wide = CliRunner().invoke(app, ["sql", "SELECT * FROM ind05_trafficking LIMIT 3", "--warehouse", str(db)], env=env)
    assert wide.exit_code == 0 and max(len(line) for line in wide.stdout.splitlines()) <= 80
    assert "victims_per_100k" in wide.stdout  # every column named, none cut short
    forms = CliRunner().invoke(app, ["forms", "list"], env=env)
    lines = forms.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and any("MOI-FV@2" in line for line in lines)
    assert "…" not in forms.stdout and "…" not in wide.stdout


def test_a_figure_whose_cells_change_with_the_form_version_is_a_break(registry):
    """MOI-FV v1 (to 2018) and v2 (from 2019): a figure made of a cell both versions carry
    (victims, total) continues; one made only of new cells (adult women, column 4) begins;
    one mixing both changes definition (B)."""
    from gbvstats.consolidate.lineage import lineage
    from gbvstats.consolidate.run import Pipeline
    from gbvstats.publish.flags import Published, mark_breaks, version_changes

    changes = version_changes(registry, 2019)
    assert changes == {"MOI-FV": (1, 2)} and version_changes(registry, 2020) == {}
    sql = ("SELECT getvariable('year') AS year, '41700000000000' AS territory, 'KG' AS area, "
           "sum(value) FILTER (WHERE element = 'fv_victims' AND col = 1) AS kept, "
           "sum(value) FILTER (WHERE element = 'fv_victims' AND col = 4) AS begun, "
           "sum(value) FILTER (WHERE element = 'fv_victims' AND col IN (1, 4)) AS mixed "
           "FROM series_facts WHERE year = getvariable('year')")
    lin = lineage(Pipeline(path=None, meta={"id": "ind99_breaks"}, sql=sql), registry)  # type: ignore[arg-type]
    frame = pd.DataFrame([{"year": 2019, "territory": "41700000000000", "area": "KG",
                           "kept": 10, "begun": 4, "mixed": 14}])
    hidden = pd.DataFrame({c: [False] for c in ("kept", "begun", "mixed")})
    pub = Published.protected("ind99_breaks", 2019, {"rates": {}}, frame, hidden)
    mark_breaks(pub, lin, registry, changes)
    assert [pub.status(c, 0) for c in ("kept", "begun", "mixed")] == ["A", "A", "B"]
    note = pub.notes["B:MOI-FV"]
    assert note.cells == 1 and "version 2" in note.text["en"] and "2-версия" in note.text["ky"]


def test_sql_prints_sums_of_counts_as_integers(warehouse):
    _, db, _ = warehouse
    query = "SELECT area, sum(victims) AS n, avg(victims) AS mean FROM ind05_trafficking GROUP BY area ORDER BY area"
    as_csv = CliRunner().invoke(app, ["sql", query, "--csv", "--warehouse", str(db)])
    body = list(csv.DictReader(as_csv.stdout.splitlines()))
    assert body and all(r["n"].isdigit() for r in body)  # 7178, never 7178.0
    as_json = CliRunner().invoke(app, ["sql", query, "--json", "--warehouse", str(db)])
    assert all(isinstance(r["n"], int) and isinstance(r["mean"], float) for r in json.loads(as_json.stdout))


def test_template_honours_gbvstats_lang(tmp_path):
    from openpyxl import load_workbook as load

    out = tmp_path / "t.xlsx"
    made = CliRunner().invoke(app, ["template", "MOI-FV", "--period", "2024-Q1", "--unit", "41707215000000",
                                    "-o", str(out)], env={"GBVSTATS_LANG": "ky"})
    assert made.exit_code == 0, made.output
    meta = {r[0]: r[1] for r in load(out)["_meta"].iter_rows(values_only=True)}
    assert meta["lang"] == "ky"
    default = CliRunner().invoke(app, ["template", "MOI-FV", "--period", "2024-Q1", "--unit", "41707215000000",
                                       "-o", str(tmp_path / "r.xlsx")], env={"GBVSTATS_LANG": ""})
    assert default.exit_code == 0
    assert {r[0]: r[1] for r in load(tmp_path / "r.xlsx")["_meta"].iter_rows(values_only=True)}["lang"] == "ru"
