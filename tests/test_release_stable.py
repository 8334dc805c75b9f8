"""Byte-stable outputs (publish/stable.py) and as-of states of the warehouse
(store/asof.py): each piece on its own, against hostile shapes."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from release_helpers import returns
from store_helpers import write_return

from gbvstats.publish import stable
from gbvstats.store import asof
from gbvstats.store.warehouse import Warehouse

WHEN = datetime(2025, 3, 1, 10, 30, 7)


def _workbook(path, clock: datetime, order=None) -> bytes:
    """A workbook as openpyxl writes it at `clock`, members optionally reordered."""
    wb = Workbook()
    wb.active["A1"] = "Кыргыз Республикасы ң ү ө"
    wb.properties.created = clock
    wb.save(path)
    data = path.read_bytes()
    if order:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = {i.filename: z.read(i) for i in z.infolist()}
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            for name in order(list(members)):
                z.writestr(zipfile.ZipInfo(name, date_time=clock.timetuple()[:6]), members[name])
        data = out.getvalue()
        path.write_bytes(data)
    return data


def test_workbooks_written_at_other_times_come_out_the_same(tmp_path, monkeypatch):
    a = _workbook(tmp_path / "a.xlsx", datetime(2024, 1, 2, 3, 4, 5))
    b = _workbook(tmp_path / "b.xlsx", datetime(2026, 7, 8, 9, 10, 11), order=lambda names: names[::-1])
    assert a != b  # openpyxl's bytes carry the clock; a writer may order members otherwise
    assert stable.stable_zip_bytes(a, WHEN) == stable.stable_zip_bytes(b, WHEN)
    stable.stable_zip(tmp_path / "a.xlsx", WHEN)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        names = [i.filename for i in z.infolist()]
        assert names[:2] == ["[Content_Types].xml", "_rels/.rels"] and names[2:] == sorted(names[2:])
        assert {i.date_time for i in z.infolist()} == {(2025, 3, 1, 10, 30, 6)}  # two-second resolution
        assert {i.create_system for i in z.infolist()} == {3}
        core = z.read("docProps/core.xml").decode()
    assert ">2025-03-01T10:30:07Z</dcterms:created>" in core and ">2025-03-01T10:30:07Z</dcterms:modified>" in core
    assert load_workbook(tmp_path / "a.xlsx").active["A1"].value == "Кыргыз Республикасы ң ү ө"
    before = (tmp_path / "a.xlsx").read_bytes()
    stable.stable_zip(tmp_path / "a.xlsx", WHEN)  # stable twice: the same
    assert (tmp_path / "a.xlsx").read_bytes() == before


def test_no_date_before_zip_can_hold_one(tmp_path):
    _workbook(tmp_path / "a.xlsx", datetime(2024, 1, 2))
    stable.stable_zip(tmp_path / "a.xlsx", datetime(1970, 1, 1))
    with zipfile.ZipFile(tmp_path / "a.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_pdf_dates_are_set_keeping_the_length():
    body = (b"%PDF-1.4\n1 0 obj <</Creator (Chromium) /CreationDate (D:20261127234349+00'00')\n"
            b"/ModDate (D:20261127234350+00'00')>> endobj\nxref 0 1\n")
    fixed = stable.stable_pdf_bytes(body, WHEN)
    assert len(fixed) == len(body)
    assert b"/CreationDate (D:20250301103007+00'00')" in fixed and b"/ModDate (D:20250301103007+00'00')" in fixed
    other = body.replace(b"20261127234349", b"20250101000000").replace(b"20261127234350", b"20240101000000")
    assert stable.stable_pdf_bytes(other, WHEN) == fixed
    short = b"/CreationDate (D:2026)"  # shorter than what we write: left alone, never corrupted
    assert stable.stable_pdf_bytes(short, WHEN) == short


def test_chromium_pdf_of_the_same_page_is_the_same(tmp_path):
    from gbvstats.report.pdf import find_chromium, print_pdf

    if not find_chromium():
        pytest.skip("no Chromium")
    page = tmp_path / "p.html"
    page.write_text("<html><body><h1>Отчёт ң ү ө</h1></body></html>", encoding="utf-8")
    first = print_pdf(page, tmp_path / "a.pdf", when=WHEN).read_bytes()
    import time

    time.sleep(1.1)
    assert print_pdf(page, tmp_path / "b.pdf", when=WHEN).read_bytes() == first
    assert b"D:20250301103007" in first


def test_parquet_and_json_depend_on_content_only(tmp_path):
    frame = pd.DataFrame({"area": ["KG", "KG02"], "victims": [12, None], "rate": [1.5, 2.25]})
    stable.write_parquet(frame, tmp_path / "a.parquet")
    stable.write_parquet(frame.copy(), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    back = pd.read_parquet(tmp_path / "a.parquet")
    assert back["area"].tolist() == ["KG", "KG02"] and back["rate"].tolist() == [1.5, 2.25]
    assert stable.stable_json({"b": 1, "a": {"d": [2, 1], "c": "ң"}}) == stable.stable_json(
        {"a": {"c": "ң", "d": [2, 1]}, "b": 1})
    assert json.loads(stable.stable_json({"x": "ү"})) == {"x": "ү"} and "ү" in stable.stable_json({"x": "ү"})


# --- as-of states ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("asof")
    files = returns(root / "returns", registry)
    wh = Warehouse(root / "wh" / "gbvstats.duckdb", registry)
    wh.submit(files["talas_q1"], "MOI", received_at=datetime(2025, 1, 10, 9))
    wh.submit(files["other_q1"], "MOI", received_at=datetime(2025, 1, 11, 9))
    wh.explain(1, "MOI-FV2-09", "first note", "A")  # now
    explained = wh.query("SELECT max(event_at) AS t FROM audit_log")["t"].iloc[0].to_pydatetime()
    wh.submit(files["talas_q1_fix"], "MOI")  # now, likely within the same second
    return root, wh, explained


def test_every_table_of_a_migrated_warehouse_is_classified(tmp_path, registry):
    wh = Warehouse(tmp_path / "w.duckdb", registry)
    with wh.writer():
        pass
    with wh.reader() as con:
        assert asof.check_tables(con) == []
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    plan = asof.plan()
    # rules written ahead for the tables of migrations on their way (i11-gate's decisions,
    # i13-serve's reviews): allowed only while the migration is not in this tree
    pending = {"decisions": "012_", "reviews": "018_"}
    migrations = [p.name for p in (Path(asof.sql_dir()) / "migrations").glob("*.sql")]
    for table in set(plan.copied) - tables:
        assert table in pending and not any(m.startswith(pending[table]) for m in migrations), \
            f"a rule for a table no migration makes: {table}"


def test_the_state_at_the_latest_event_is_the_warehouse(loaded):
    _, wh, explained = loaded
    with asof.snapshot(wh) as (state, cut):
        assert cut.event == 4 and cut.at > explained
        mine, theirs = state.checksum(), wh.checksum()
    assert mine == theirs


def test_states_at_earlier_times(loaded):
    _, wh, explained = loaded
    with asof.snapshot(wh, when=datetime(2025, 1, 11, 12)) as (state, cut):
        assert cut.event == 2
        subs = state.query("SELECT submission_id, revision FROM submissions ORDER BY 1")
        assert subs.values.tolist() == [[1, 1], [2, 1]]
        assert int(state.query("SELECT count(*) AS n FROM explanations")["n"].iloc[0]) == 0
        assert int(state.query("SELECT count(DISTINCT submission_id) AS n FROM cells")["n"].iloc[0]) == 2
    with asof.snapshot(wh, when=explained) as (state, cut):
        assert cut.event == 3
        assert state.query("SELECT text FROM explanations")["text"].tolist() == ["first note"]
        current = state.query("SELECT submission_id FROM current_submissions ORDER BY 1")
        assert current["submission_id"].tolist() == [1, 2]
    with asof.snapshot(wh) as (state, _):
        current = state.query("SELECT submission_id FROM current_submissions ORDER BY 1")
        assert current["submission_id"].tolist() == [2, 3]  # the correction replaced 1


def test_a_state_leaves_the_warehouse_as_it_was(loaded):
    _, wh, _ = loaded
    before = wh.checksum()
    with asof.snapshot(wh, when=datetime(2025, 1, 10, 12)) as (state, _):
        from gbvstats.consolidate.run import consolidate

        consolidate(state, 2024)
        work = state.path.parent
    assert wh.checksum() == before and not work.exists()
    tables = wh.query("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'ind%'")
    assert len(tables) == 0  # nothing consolidated in the warehouse itself


def test_nothing_recorded_by_then(loaded):
    _, wh, _ = loaded
    with pytest.raises(asof.AsOfError) as err, asof.snapshot(wh, when=datetime(2024, 12, 31)):
        pass
    assert err.value.code == 2 and err.value.findings[0].code == "GBV-L007"
    assert "2025-01-10T09:00:00" in err.value.message("en")


def test_times_out_of_order_are_said(tmp_path, registry):
    wh = Warehouse(tmp_path / "w.duckdb", registry)
    wh.submit(write_return(tmp_path / "a.xlsx", "MOI-FV", "41707215000000", "2024-Q3"), "MOI",
              received_at=datetime(2025, 3, 1))
    wh.submit(write_return(tmp_path / "b.xlsx", "MOI-FV", "41707215000000", "2024-Q4"), "MOI",
              received_at=datetime(2025, 2, 1))  # loaded later with an earlier date
    with wh.reader() as con:
        cut = asof.cut_at(con, datetime(2025, 2, 15))
    assert cut.event == 2 and [n.code for n in cut.notes] == ["GBV-L006"]
    assert cut.notes[0].params["later"] == 1


def test_a_table_without_a_rule_is_refused(loaded, tmp_path):
    _, wh, _ = loaded
    copy = tmp_path / "w.duckdb"
    shutil.copy2(wh.path, copy)
    con = duckdb.connect(str(copy))
    con.execute("CREATE TABLE agency_notes (note VARCHAR)")
    con.close()
    with pytest.raises(asof.AsOfError) as err, asof.snapshot(Warehouse(copy, wh.reg)):
        pass
    assert [f.code for f in err.value.findings] == ["GBV-L004"] and "agency_notes" in err.value.message("ru")


def test_a_rule_that_falls_behind_is_refused(loaded, monkeypatch):
    _, wh, _ = loaded
    real = asof._rule

    def short(table: str) -> str:  # as if a new kind of event wrote explanations
        return real(table).replace("event = 'explanation'", "event = 'explained'") \
            if table == "explanations" else real(table)

    monkeypatch.setattr(asof, "_rule", short)
    with pytest.raises(asof.AsOfError) as err, asof.snapshot(wh):
        pass
    assert [(f.code, f.params["table"]) for f in err.value.findings] == [("GBV-L005", "explanations")]


def test_parse_time():
    assert asof.parse_time("2025-03-01") == datetime(2025, 3, 1)
    assert asof.parse_time("2025-03-01T10:30") == datetime(2025, 3, 1, 10, 30)
    assert asof.parse_time("2025-03-01T16:30:00+06:00") == datetime(2025, 3, 1, 10, 30)
    assert asof.parse_time("2025-03-01 10:30:00Z") == datetime(2025, 3, 1, 10, 30)
    with pytest.raises(ValueError):
        asof.parse_time("yesterday")
