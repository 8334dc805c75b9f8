"""The warehouse: submit (accepted, warnings, duplicate, revision, refused), archive,
audit, views, read-only SQL, migrations, rebuild and checksum, disk-full, locking."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import pytest
from store_helpers import districts, input_cells, write_return
from typer.testing import CliRunner

import gbvstats.store.warehouse as store
from gbvstats.cli import app
from gbvstats.store.warehouse import StoreError, Warehouse

PERIOD = "2024-Q1"


@pytest.fixture(scope="module")
def unit(registry) -> str:
    return districts(registry)[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory, registry, unit) -> dict[str, Path]:
    """One workbook of each kind a warehouse receives, written once for the module."""
    d = tmp_path_factory.mktemp("returns")
    form = registry.get("MOI-FV")
    from store_helpers import consistent_values

    good = consistent_values(form, unit, PERIOD)
    warn = dict(good)  # more cases sent to the prosecutor than opened: rule MOI-FV2-09
    extra = warn[("T5", "03", 1)] + 5 - warn[("T5", "03", 2)]
    warn[("T5", "03", 2)] += extra
    for line in ("02", "04", "05", "06"):  # taken from the other groups: the total stays in line
        take = min(extra, warn[("T5", line, 2)])
        warn[("T5", line, 2)] -= take
        extra -= take
    warn[("T5", "01", 2)] += extra
    bad = dict(good)
    bad[("T1", "01", 1)] += 3  # total no longer the sum of its parts: an error
    other = districts(registry)[1]
    out = {
        "good": write_return(d / "fv.xlsx", "MOI-FV", unit, PERIOD, values=good),
        "corrected": write_return(d / "fv_corrected.xlsx", "MOI-FV", unit, PERIOD, seed=8),
        "warn": write_return(d / "fv_warn.xlsx", "MOI-FV", other, PERIOD, values=warn),
        "bad": write_return(d / "fv_bad.xlsx", "MOI-FV", other, "2024-Q2", values=bad),
        "q2": write_return(d / "fv_q2.xlsx", "MOI-FV", unit, "2024-Q2"),
        "v1": write_return(d / "fv_v1.xlsx", "MOI-FV@v1", unit, "2018-Q4"),
    }
    junk = d / "junk.xlsx"
    junk.write_text("this is not a workbook", encoding="utf-8")
    out["junk"] = junk
    return out


@pytest.fixture
def wh(tmp_path, registry) -> Warehouse:
    return Warehouse(tmp_path / "wh" / "gbvstats.duckdb", registry, lock_timeout=5)


def rows(wh: Warehouse, sql: str, params: list | None = None) -> list[tuple]:
    return [tuple(r) for r in wh.query(sql, params).itertuples(index=False)]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- submitting -------------------------------------------------------------------------

def test_accepted_file_is_archived_and_stored_whole(wh, files, registry, unit):
    r = wh.submit(files["good"], "MOI", by="Асанова")
    assert (r.outcome, r.submission_id, r.revision, r.exit_code) == ("accepted", 1, 1, 0)
    assert (r.form, r.unit, r.period, r.sha256) == ("MOI-FV@v2", unit, PERIOD, sha(files["good"]))
    assert r.counts == {"error": 0, "warning": 0, "info": 0}
    archived = wh.archive / r.sha256[:2] / f"{r.sha256}.xlsx"
    assert archived.read_bytes() == files["good"].read_bytes()
    assert rows(wh, "SELECT form, version, agency, unit, period, year, status, revision, "
                    "archive_path, submitted_by FROM submissions") == [
        ("MOI-FV", 2, "MOI", unit, PERIOD, 2024, "accepted", 1,
         f"{r.sha256[:2]}/{r.sha256}.xlsx", "Асанова")]
    assert rows(wh, "SELECT count(*) FROM cells")[0][0] == input_cells(registry.get("MOI-FV"))
    # the cell T1/01/1 was read from T1!C6 of the template
    assert rows(wh, "SELECT sheet, addr FROM cells WHERE tbl='T1' AND line='01' AND col=1") == [("T1", "C6")]
    assert rows(wh, "SELECT event, agency, actor, submission_id FROM audit_log") == [
        ("accepted", "MOI", "Асанова", 1)]


def test_warnings_are_stored_with_the_submission(wh, files):
    r = wh.submit(files["warn"], "MOI")
    assert r.outcome == "accepted_with_warnings" and r.counts["warning"] == 1
    assert rows(wh, "SELECT code, severity, sheet, cell, rule_id FROM findings") == [
        ("GBV-R002", "warning", "T5", "D8", "MOI-FV2-09")]
    params = json.loads(rows(wh, "SELECT params FROM findings")[0][0])
    assert params["left"] > params["right"]


def test_same_bytes_twice_is_a_duplicate_and_changes_nothing(wh, files):
    first = wh.submit(files["good"], "MOI")
    before = wh.checksum()
    again = wh.submit(files["good"], "MOI")
    assert (again.outcome, again.duplicate_of, again.exit_code) == ("duplicate", first.submission_id, 0)
    assert [(f["code"], f["severity"]) for f in again.findings] == [("GBV-W002", "info")]
    assert wh.checksum() == before


def test_a_corrected_file_is_a_new_revision_and_both_are_kept(wh, files, unit):
    first = wh.submit(files["good"], "MOI", received_at=_ts("2024-04-10 09:00:00"))
    second = wh.submit(files["corrected"], "MOI", received_at=_ts("2024-04-20 09:00:00"))
    assert (second.outcome, second.revision, second.supersedes) == ("accepted", 2, first.submission_id)
    assert [(f["code"], f["message"]) for f in second.findings] == [
        ("GBV-W003", f"revision 2 of MOI-FV, {unit}, {PERIOD}; replaces submission 1")]
    hist = wh.history("MOI-FV", unit, PERIOD)
    assert list(hist["revision"]) == [1, 2] and list(hist["current"]) == [False, True]
    assert rows(wh, "SELECT count(*) FROM submissions")[0][0] == 2
    assert rows(wh, "SELECT DISTINCT submission_id FROM current_cells") == [(second.submission_id,)]
    # as known on 15 April, the first revision was current
    assert rows(wh, "SELECT DISTINCT submission_id FROM as_of(TIMESTAMP '2024-04-15')") == [(first.submission_id,)]
    assert rows(wh, "SELECT count(*) FROM as_of(TIMESTAMP '2024-04-01')") == [(0,)]
    current = dict(rows(wh, "SELECT line, value FROM current_cells WHERE tbl='T1' AND col=1"))
    old = dict(rows(wh, "SELECT line, value FROM cells WHERE submission_id=1 AND tbl='T1' AND col=1"))
    assert current != old  # another seed: other figures


def test_a_file_with_errors_is_audited_and_nothing_else_stored(wh, files):
    r = wh.submit(files["bad"], "MOI", by="ОВД")
    assert (r.outcome, r.exit_code, r.submission_id) == ("rejected", 1, None)
    assert [(f["code"], f["sheet"], f["cell"]) for f in r.findings] == [("GBV-R001", "T1", "C6")]
    assert rows(wh, "SELECT count(*) FROM submissions UNION ALL SELECT count(*) FROM cells") == [(0,), (0,)]
    assert not list(wh.archive.rglob("*.xlsx"))
    (event, actor, detail), = rows(wh, "SELECT event, actor, detail FROM audit_log")
    assert (event, actor) == ("rejected", "ОВД")
    assert [(f["code"], f["cell"]) for f in json.loads(detail)["findings"]] == [("GBV-R001", "C6")]


def test_a_form_of_another_agency_is_refused(wh, files):
    r = wh.submit(files["good"], "GPO")
    assert (r.outcome, r.exit_code) == ("refused_agency", 1)
    assert [(f["code"], f["message"]) for f in r.findings] == [
        ("GBV-W001", "form MOI-FV is reported by MOI, but the file was submitted as GPO; nothing stored")]
    (event, agency, detail), = rows(wh, "SELECT event, agency, detail FROM audit_log")
    assert (event, agency) == ("refused_agency", "GPO")
    assert [f["code"] for f in json.loads(detail)["findings"]] == ["GBV-W001"]
    assert rows(wh, "SELECT count(*) FROM submissions") == [(0,)]


def test_an_unreadable_file_exits_2_and_is_audited(wh, files):
    r = wh.submit(files["junk"], "MOI")
    assert (r.outcome, r.exit_code) == ("unreadable", 2)
    assert rows(wh, "SELECT event, file_name FROM audit_log") == [("unreadable", "junk.xlsx")]


def test_cli_submit_receipts_and_exit_codes(tmp_path, files):
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    ok = runner.invoke(app, ["submit", str(files["good"]), "--agency", "moi", "--warehouse", w,
                             "--lang", "en", "--json"])
    assert ok.exit_code == 0, ok.output
    (receipt,) = json.loads(ok.stdout)
    assert (receipt["outcome"], receipt["submission_id"], receipt["revision"]) == ("accepted", 1, 1)
    dup = runner.invoke(app, ["submit", str(files["good"]), "--agency", "MOI", "--warehouse", w,
                              "--lang", "ru"])
    assert dup.exit_code == 0 and "уже получен как отправка № 1" in dup.stdout
    mixed = runner.invoke(app, ["submit", str(files["q2"]), str(files["bad"]), "--agency", "MOI",
                                "--warehouse", w, "--lang", "en"])
    assert mixed.exit_code == 1
    assert "fv_bad.xlsx: rejected" in " ".join(mixed.stdout.split())
    refused = runner.invoke(app, ["submit", str(files["good"]), "--agency", "JD", "--warehouse", w,
                                  "--lang", "ky"])
    assert refused.exit_code == 1 and "башка мекемеге таандык" in " ".join(refused.stdout.split())
    junk = runner.invoke(app, ["submit", str(files["junk"]), "--agency", "MOI", "--warehouse", w])
    assert junk.exit_code == 2


# --- views -------------------------------------------------------------------------------

def test_facts_carry_elements_dimensions_and_oblast(wh, files, registry, unit):
    wh.submit(files["good"], "MOI")
    facts = wh.query("SELECT * FROM facts WHERE element = 'fv_victims' AND sex = 'F'")
    assert len(facts) >= 1
    assert set(facts["oblast"]) == {registry.oblast_of(unit)} and set(facts["unit"]) == {unit}
    total = rows(wh, "SELECT value FROM current_cells WHERE tbl='T2' AND line='01' AND col=1")
    parts = rows(wh, "SELECT sum(value) FROM facts WHERE element='fv_victims' AND sex <> '_T' AND age = '_T'")
    assert [(t,) for (t,) in total] == [(int(p),) for (p,) in parts]  # women and girls + men and boys = all


def test_series_cells_map_an_old_version_to_the_latest(wh, files):
    wh.submit(files["v1"], "MOI")
    wh.submit(files["good"], "MOI")
    # v1 T3/01/1 (victims) is v2 T2/01/1 per the v2 concordance
    old = rows(wh, "SELECT value FROM cells c JOIN submissions s USING (submission_id) "
                   "WHERE s.version = 1 AND tbl='T1' AND line='02' AND col=1")
    mapped = rows(wh, "SELECT value, source_version FROM series_cells WHERE period='2018-Q4' "
                      "AND tbl='T3' AND line='01' AND col=1")
    assert mapped == [(old[0][0], 1)]
    latest = rows(wh, "SELECT count(*) FROM series_cells WHERE period=?", [PERIOD])
    assert latest == rows(wh, "SELECT count(*) FROM current_cells WHERE period=?", [PERIOD])


def test_dimension_tables_are_loaded_from_the_schemas(wh, files, registry):
    wh.submit(files["good"], "MOI")
    n_elements = sum(len(t.lines) * len(t.columns) for f in registry.versions() for t in f.tables)
    assert rows(wh, "SELECT count(*) FROM dim_element") == [(n_elements,)]
    assert rows(wh, "SELECT count(*) FROM dim_territory") == [(len(registry.territories().codes),)]
    assert rows(wh, "SELECT periodicity, start_date::VARCHAR, end_date::VARCHAR FROM dim_period "
                    "WHERE period = '2024-Q2'") == [("quarter", "2024-04-01", "2024-06-30")]
    assert rows(wh, "SELECT count(*) FROM concordance WHERE form='MOI-FV' AND version=1")[0][0] > 0


def test_dimensions_are_reloaded_when_their_source_changes(wh, files):
    wh.submit(files["good"], "MOI")
    with wh.writer() as con:  # as if the schemas had changed (or a crash after migrating)
        con.execute("DELETE FROM dim_element")
        con.execute("UPDATE dimension_source SET fingerprint = 'old'")
    Warehouse(wh.path, wh.reg).submit(files["q2"], "MOI")
    assert rows(wh, "SELECT count(*) FROM dim_element")[0][0] > 0


# --- other verbs ------------------------------------------------------------------------

def test_explain_records_author_and_audit(wh, files):
    r = wh.submit(files["warn"], "MOI")
    eid = wh.explain(r.submission_id, "MOI-FV2-09", "Дела 2023 года направлены в 2024", "Исаков")
    assert rows(wh, "SELECT explanation_id, submission_id, rule_id, author FROM explanations") == [
        (eid, r.submission_id, "MOI-FV2-09", "Исаков")]
    assert rows(wh, "SELECT event FROM audit_log ORDER BY event_id") == [
        ("accepted_with_warnings",), ("explanation",)]
    with pytest.raises(StoreError, match="no submission 99"):
        wh.explain(99, "MOI-FV2-09", "x", None)


def test_status_counts_by_agency_form_period_and_status(wh, files):
    for name in ("good", "corrected", "warn", "q2", "bad"):
        wh.submit(files[name], "MOI")
    frame = wh.status()
    frame = frame.astype(object).where(frame.notna(), None)
    got = {(r.agency, r.form, r.period, r.status): (r.files, r.units) for r in frame.itertuples()}
    assert got[("MOI", "MOI-FV", PERIOD, "accepted")] == (2, 1)
    assert got[("MOI", "MOI-FV", PERIOD, "accepted_with_warnings")] == (1, 1)
    assert got[("MOI", "MOI-FV", "2024-Q2", "accepted")] == (1, 1)
    assert got[("MOI", None, None, "rejected")][0] == 1


@pytest.mark.parametrize("statement", [
    "INSERT INTO submissions (submission_id) VALUES (9)", "DROP TABLE cells",
    "UPDATE cells SET value = 0", "COPY cells TO '/tmp/gbvstats_leak.csv'"])
def test_sql_is_read_only(wh, files, statement):
    wh.submit(files["good"], "MOI")
    before = wh.checksum()
    with pytest.raises(StoreError, match="query failed"):
        wh.query(statement)
    result = CliRunner().invoke(app, ["sql", statement, "--warehouse", str(wh.path)])
    assert result.exit_code == 1 and result.stderr.startswith("error: query failed")
    assert "Traceback" not in result.output
    assert wh.checksum() == before


def test_sql_json_and_csv(wh, files):
    wh.submit(files["good"], "MOI")
    runner = CliRunner()
    q = "SELECT form, unit, period FROM current_submissions"
    out = runner.invoke(app, ["sql", q, "--json", "--warehouse", str(wh.path)])
    assert json.loads(out.stdout) == [{"form": "MOI-FV", "unit": districts(wh.reg)[0], "period": PERIOD}]
    csv = runner.invoke(app, ["sql", q, "--csv", "--warehouse", str(wh.path)])
    assert csv.stdout.splitlines() == ["form,unit,period", f"MOI-FV,{districts(wh.reg)[0]},{PERIOD}"]


def test_no_warehouse_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["status", "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2 and "no warehouse at" in result.stderr


# --- migrations ---------------------------------------------------------------------------

def test_an_older_warehouse_is_upgraded_in_place(wh, files, monkeypatch):
    everything = store.migrations()
    monkeypatch.setattr(store, "migrations", lambda: everything[:1])
    monkeypatch.setattr(Warehouse, "_refresh_dimensions", lambda self, con: None)  # 001's code
    with wh.writer() as con:
        assert con.execute("SELECT max(version) FROM schema_migrations").fetchall() == [(1,)]
        con.execute("INSERT INTO audit_log (event_id, event_at, event) VALUES (nextval('event_seq'), now(), 'rejected')")
    monkeypatch.undo()
    wh.submit(files["good"], "MOI")
    applied = [v for (v,) in rows(wh, "SELECT version FROM schema_migrations ORDER BY 1")]
    assert applied == [n for n, _, _ in everything]
    assert rows(wh, "SELECT count(*) FROM audit_log") == [(2,)]
    assert rows(wh, "SELECT count(*) FROM current_cells")[0][0] > 0


def test_a_newer_warehouse_is_refused(wh, files):
    wh.submit(files["good"], "MOI")
    with wh.writer() as con:
        con.execute("INSERT INTO schema_migrations VALUES (999, '999_future', now())")
    with pytest.raises(StoreError, match="newer gbvstats") as err:
        wh.submit(files["q2"], "MOI")
    assert err.value.code == 2
    result = CliRunner().invoke(app, ["status", "--warehouse", str(wh.path)])
    assert result.exit_code == 2 and "migration 999" in result.stderr


# --- rebuild, checksum, dictionary --------------------------------------------------------

def test_rebuild_from_archive_and_audit_log_gives_the_same_checksums(wh, files, tmp_path):
    for name in ("good", "warn", "bad", "corrected", "q2", "good", "junk", "v1"):
        wh.submit(files[name], "MOI")
    wh.submit(files["q2"], "JD")
    wh.explain(2, "MOI-FV2-09", "cases of 2023", "Исаков")
    with wh.writer() as con:  # consolidation outputs are derived: recomputed, not replayed
        con.execute("INSERT INTO consolidation_runs (run_id, year, started_at, finished_at, detail) "
                    "VALUES (1, 2024, now(), now(), '{}')")
    out = tmp_path / "rebuilt" / "gbvstats.duckdb"
    result = CliRunner().invoke(app, ["rebuild", "--out", str(out), "--warehouse", str(wh.path),
                                      "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "5 submissions replayed" in result.stdout
    original, rebuilt = wh.checksum(), Warehouse(out, wh.reg).checksum()
    assert original == rebuilt
    assert original["cells"].split(":")[0] == str(
        sum(input_cells(wh.reg.get("MOI-FV", v)) for v in (2, 2, 2, 2, 1)))
    assert original["audit_log"].startswith("9:")  # 5 accepted, 3 refused, 1 explanation; duplicates change nothing
    assert "consolidation_runs" not in original
    assert not [p for p in out.parent.iterdir() if ".building" in p.name]
    again = CliRunner().invoke(app, ["rebuild", "--out", str(out), "--warehouse", str(wh.path)])
    assert again.exit_code == 2 and "exists" in again.stderr


def test_rebuild_refuses_when_an_archived_file_is_missing(wh, files, tmp_path):
    r = wh.submit(files["good"], "MOI")
    (wh.archive / r.sha256[:2] / f"{r.sha256}.xlsx").unlink()
    out = tmp_path / "rebuilt.duckdb"
    with pytest.raises(StoreError, match=f"the archive lacks .*{r.sha256}.xlsx"):
        wh.rebuild(out)
    assert not out.exists()


def test_checksum_ignores_row_order_but_not_content(wh, files):
    wh.submit(files["good"], "MOI")
    first = wh.checksum()
    with wh.writer() as con:
        kept = con.execute("SELECT * FROM cells ORDER BY tbl DESC, line DESC").fetchall()
        con.execute("DELETE FROM cells")
        con.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?)", kept)
    assert wh.checksum() == first
    with wh.writer() as con:
        con.execute("UPDATE cells SET value = value + 1 WHERE tbl = 'T1' AND line = '01'")
    changed = wh.checksum()
    assert changed["cells"] != first["cells"] and changed["submissions"] == first["submissions"]


def test_dictionary_documents_every_table_and_view(wh, files, tmp_path):
    wh.submit(files["good"], "MOI")
    out = tmp_path / "warehouse.md"
    result = CliRunner().invoke(app, ["dictionary", "--out", str(out), "--warehouse", str(wh.path)])
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8")
    objects = rows(wh, "SELECT table_name FROM duckdb_tables() UNION ALL SELECT view_name FROM duckdb_views() "
                       "WHERE NOT internal")
    for (name,) in objects:
        assert f"## `{name}`" in text
    assert "| `value` | BIGINT | The count; NULL when nothing was reported" in text
    # every column of the warehouse's own tables and views says what it means
    own = ("submissions", "cells", "findings", "explanations", "audit_log", "dim_territory",
           "dim_element", "dim_period", "concordance", "current_submissions", "current_cells",
           "facts", "series_cells", "series_facts", "schema_migrations", "dimension_source")
    for name in own:
        section = text.split(f"## `{name}`")[1].split("\n## ")[0]
        assert "|  |" not in section, name
    assert "as_of(ts)" in text


# --- failures ----------------------------------------------------------------------------

def test_disk_full_while_archiving_stores_nothing(wh, files, monkeypatch):
    wh.submit(files["q2"], "MOI")
    before = wh.checksum()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "fsync", full)
    with pytest.raises(StoreError, match="the disk is full; nothing was stored"):
        wh.submit(files["good"], "MOI")
    monkeypatch.undo()
    assert wh.checksum() == before
    assert sorted(p.name for p in wh.archive.rglob("*") if p.is_file()) == [f"{sha(files['q2'])}.xlsx"]
    assert wh.submit(files["good"], "MOI").outcome == "accepted"


def test_a_chunk_that_fails_midway_stores_none_of_its_files(wh, files, monkeypatch):
    wh.submit(files["q2"], "MOI")
    before = wh.checksum()
    real, calls = store.os.replace, []

    def second_fails(src, dst):  # the first file of the chunk is archived, the second is not
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(errno.EROFS, "Read-only file system")
        return real(src, dst)

    monkeypatch.setattr(store.os, "replace", second_fails)
    received = []
    with pytest.raises(StoreError, match="cannot write to the archive"):
        wh.submit_many([(files["good"], "MOI", "t", None), (files["warn"], "MOI", "t", None)],
                       on_receipt=received.append)
    monkeypatch.undo()
    assert received == [] and wh.checksum() == before
    again = wh.submit_many([(files["good"], "MOI", "t", None), (files["warn"], "MOI", "t", None)])
    assert [r.outcome for r in again] == ["accepted", "accepted_with_warnings"]


def test_files_are_validated_while_the_writer_lock_is_free(wh, files, monkeypatch):
    import gbvstats.check.validate as validate

    real, free_while_validating = validate.validate_files, []

    def probing(paths, reg=None, **kw):
        with open(wh.path.with_name(wh.path.name + ".lock"), "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another writer could take it
                fcntl.flock(fh, fcntl.LOCK_UN)
                free_while_validating.append(True)
            except BlockingIOError:
                free_while_validating.append(False)
        return real(paths, reg, **kw)

    wh.path.parent.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(validate, "validate_files", probing)
    monkeypatch.setattr(store, "BATCH", 2)
    receipts = wh.submit_many([(files[k], "MOI", "t", None) for k in ("good", "warn", "q2")])
    assert [r.outcome for r in receipts] == ["accepted", "accepted_with_warnings", "accepted"]
    assert free_while_validating == [True, True]  # two chunks, neither validated under the lock


def test_one_chunk_holding_a_file_its_correction_and_a_repeat(wh, files):
    receipts = wh.submit_many([(files[k], "MOI", "t", None) for k in ("good", "corrected", "good", "bad")])
    assert [r.outcome for r in receipts] == ["accepted", "accepted", "duplicate", "rejected"]
    first, second, repeat, _ = receipts
    assert (second.revision, second.supersedes) == (2, first.submission_id)
    assert repeat.duplicate_of == first.submission_id
    assert rows(wh, "SELECT submission_id, revision FROM submissions ORDER BY 1") == [
        (first.submission_id, 1), (second.submission_id, 2)]
    events = rows(wh, "SELECT event_id, event, COALESCE(submission_id, 0) FROM audit_log ORDER BY 1")
    assert events == [(1, "accepted", first.submission_id), (2, "accepted", second.submission_id),
                      (3, "rejected", 0)]


def test_archive_that_cannot_be_created_is_a_clear_cli_error(tmp_path, files):
    (tmp_path / "blocker").write_text("a file where the warehouse directory should be")
    w = tmp_path / "blocker" / "gbvstats.duckdb"
    result = CliRunner().invoke(app, ["submit", str(files["good"]), "--agency", "MOI",
                                      "--warehouse", str(w)])
    assert result.exit_code != 0 and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


def test_archive_unwritable_stores_no_rows(wh, files, monkeypatch):
    wh.submit(files["q2"], "MOI")
    before = wh.checksum()
    real = store.os.replace

    def denied(src, dst):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store.os, "replace", denied)
    with pytest.raises(StoreError, match="cannot write to the archive .*Read-only file system"):
        wh.submit(files["good"], "MOI")
    monkeypatch.setattr(store.os, "replace", real)
    assert wh.checksum() == before
    assert not [p for p in wh.archive.rglob(".*.tmp")]


def test_a_second_writer_waits_then_proceeds(wh, files):
    wh.submit(files["q2"], "MOI")
    waited = []
    second = Warehouse(wh.path, wh.reg, lock_timeout=10, on_wait=lambda _: waited.append(time.monotonic()))
    lock = open(wh.path.with_name(wh.path.name + ".lock"), "a+")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    started = time.monotonic()
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=second.submit(files["good"], "MOI")))
    worker.start()
    time.sleep(1.6)
    assert worker.is_alive() and len(waited) == 1 and 0.9 <= waited[0] - started <= 1.5
    lock.close()
    worker.join(10)
    assert result["r"].outcome == "accepted"


def test_a_busy_warehouse_times_out_with_a_clear_message(wh, files, monkeypatch):
    wh.submit(files["q2"], "MOI")
    lock = open(wh.path.with_name(wh.path.name + ".lock"), "a+")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        monkeypatch.setenv("GBVSTATS_LOCK_TIMEOUT", "1.5")
        result = CliRunner().invoke(app, ["submit", str(files["good"]), "--agency", "MOI",
                                          "--warehouse", str(wh.path), "--lang", "en"])
    finally:
        lock.close()
    assert result.exit_code == 1
    assert "waiting for the warehouse" in result.stderr
    assert "is busy" in result.stderr and "Traceback" not in result.output


def _ts(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_environment_default_warehouse(tmp_path, files, monkeypatch):
    monkeypatch.setenv("GBVSTATS_WAREHOUSE", str(tmp_path / "env" / "w.duckdb"))
    result = CliRunner().invoke(app, ["submit", str(files["good"]), "--agency", "MOI"])
    assert result.exit_code == 0
    assert (tmp_path / "env" / "w.duckdb").exists() and os.path.isdir(tmp_path / "env" / "archive")


def test_cli_explain_history_and_status(wh, files, unit):
    runner = CliRunner()
    w = ["--warehouse", str(wh.path)]
    wh.submit(files["good"], "MOI")
    wh.submit(files["corrected"], "MOI")
    out = runner.invoke(app, ["explain", "2", "MOI-FV2-09", "--text", "Дела прошлых лет", "--by",
                              "Исаков", "--lang", "ky", *w])
    assert out.exit_code == 0 and out.stdout.strip() == "№ 1 түшүндүрмө жазылды"
    hist = runner.invoke(app, ["history", "--form", "MOI-FV", "--unit", unit, "--period", PERIOD,
                               "--json", *w])
    assert [(h["submission_id"], h["revision"], h["supersedes"], h["current"])
            for h in json.loads(hist.stdout)] == [(1, 1, None, False), (2, 2, 1, True)]
    status = runner.invoke(app, ["status", "--json", *w])
    assert [(s["form"], s["period"], s["files"], s["max_revision"]) for s in json.loads(status.stdout)] == [
        ("MOI-FV", PERIOD, 2, 2)]
    missing = runner.invoke(app, ["explain", "7", "MOI-FV2-09", "--text", "x", "--lang", "ru", *w])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == ("error: в хранилище нет отправки № 7; номера отправок "
                                      "показывает `gbvstats history`")


def test_warehouse_errors_speak_the_users_language(wh, files):
    wh.submit(files["good"], "MOI")
    runner = CliRunner()
    bad = runner.invoke(app, ["sql", "DROP TABLE cells", "--lang", "ky", "--warehouse", str(wh.path)])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: суроо аткарылган жок: ")
    with wh.writer() as con:
        con.execute("INSERT INTO schema_migrations VALUES (999, '999_future', now())")
    newer = runner.invoke(app, ["submit", str(files["q2"]), "--agency", "MOI", "--lang", "ru",
                                "--warehouse", str(wh.path)])
    assert newer.exit_code == 2
    assert "записано более новой версией gbvstats (миграция 999" in newer.stderr


def test_docs_warehouse_md_is_the_dictionary_of_a_fresh_warehouse(wh, files):
    wh.submit(files["good"], "MOI")
    committed = (Path(__file__).resolve().parent.parent / "docs" / "warehouse.md").read_text(encoding="utf-8")
    assert wh.dictionary() == committed, "regenerate: gbvstats dictionary --out docs/warehouse.md"
