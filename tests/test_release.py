"""Releases: the same state gives the same bytes; each publication is recorded with what
it was made from; an earlier release is made again byte for byte (`--as-of`) and a
published folder verified; a correction gives a numbered revision saying what changed."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from datetime import UTC, datetime

import duckdb
import pytest
from openpyxl import load_workbook
from release_helpers import (
    TALAS_DISTRICT,
    copy_warehouse,
    hashes,
    next_second,
    returns,
    start_of_a_second,
)
from store_helpers import cli

from gbvstats.publish.release import ReleaseError, make_release, verify
from gbvstats.store.asof import parse_time
from gbvstats.store.warehouse import Warehouse

LANGS = ("ru", "ky", "en")


def area(change: dict) -> str:
    return dict(p.split("=", 1) for p in change["key"].split(";"))["area"]


@pytest.fixture(scope="module")
def story(tmp_path_factory, registry):
    """Three returns, release r1, the same again, a corrected return, release r2, and r1
    made again as of its own time."""
    root = tmp_path_factory.mktemp("release")
    files = returns(root / "returns", registry)
    wh = Warehouse(root / "wh" / "gbvstats.duckdb", registry)
    for key in ("talas_q1", "talas_q2", "other_q1"):
        wh.submit(files[key], "MOI", by="Talas police")
    wh.explain(1, "MOI-FV2-09", "Cases opened in Q4 were sent on in January", "A. Asanova")
    r1 = make_release(wh, [2024], root / "r1", LANGS, by="NSC")
    first = hashes(root / "r1")
    shutil.copytree(root / "r1", root / "r1_kept")
    next_second()  # openpyxl and the zip would date a second workbook differently
    again = make_release(wh, [2024], root / "r1_again", LANGS)
    checksum = wh.checksum()
    start_of_a_second()  # the correction is recorded within the second `between` is in
    between = datetime.now(UTC).replace(tzinfo=None)
    fix = wh.submit(files["talas_q1_fix"], "MOI", by="Talas police")
    r2 = make_release(wh, [2024], root / "r2", LANGS)
    before_as_of = wh.checksum()
    asof = make_release(wh, [2024], root / "r1_asof", LANGS, as_of=between)
    return {"root": root, "wh": wh, "r1": r1, "first": first, "again": again, "fix": fix,
            "r2": r2, "asof": asof, "checksum": checksum, "before_as_of": before_as_of,
            "between": between}


def test_publishing_again_from_an_unchanged_warehouse_gives_the_same_bytes(story):
    assert story["again"].outcome == "same" and story["again"].release.release_id == "2024-r1"
    assert hashes(story["root"] / "r1_again") == story["first"]
    assert any(name.endswith(".xlsx") for name in story["first"])  # the workbook too
    count = story["wh"].query("SELECT count(*) AS n FROM releases WHERE scope = '2024' AND last_event <= 4")
    assert int(count["n"].iloc[0]) == 1  # the same release again adds no record


def test_workbook_carries_the_release_timestamp_not_the_clock(story):
    r1 = story["r1"]
    path = story["root"] / "r1_kept" / "indicators_2024.xlsx"
    when = parse_time(r1.release.as_of)
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        core = z.read("docProps/core.xml").decode()
    assert [i.filename for i in infos[:2]] == ["[Content_Types].xml", "_rels/.rels"]
    assert [i.filename for i in infos[2:]] == sorted(i.filename for i in infos[2:])
    dos = when.replace(second=when.second - when.second % 2)  # a zip dates to two seconds
    assert {i.date_time for i in infos} == {dos.timetuple()[:6]}
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f">{stamp}</dcterms:created>" in core and f">{stamp}</dcterms:modified>" in core
    wb = load_workbook(path)  # still a workbook
    assert "revisions" in wb.sheetnames and "ind01_family_violence" in wb.sheetnames


def test_manifest_says_what_the_release_was_made_from(story):
    r1, root = story["r1"], story["root"]
    manifest = json.loads((root / "r1_kept" / "manifest.json").read_text(encoding="utf-8"))
    release = manifest["release"]
    assert release["id"] == "2024-r1" and release["revision"] == 1 and release["previous"] is None
    assert release["status"] == "final" and manifest["provisional"] is None
    assert manifest["parameters"]["provisional"] == []
    assert release["timestamp"] == r1.release.as_of and release["last_event"] == 4  # 3 returns, 1 explanation
    code = manifest["code"]
    assert code["gbvstats"] and re.fullmatch(r"[0-9a-f]{64}", code["schemas_sha256"])
    assert re.fullmatch(r"[0-9a-f]{64}", code["pipelines_sha256"])
    inputs = manifest["inputs"]
    assert [(i["submission_id"], i["form_version"], i["period"], i["revision"]) for i in inputs] == [
        (1, "MOI-FV@2", "2024-Q1", 1), (3, "MOI-FV@2", "2024-Q1", 1), (2, "MOI-FV@2", "2024-Q2", 1)] or \
        sorted(i["submission_id"] for i in inputs) == [1, 2, 3]
    assert all(re.fullmatch(r"[0-9a-f]{64}", i["sha256"]) and i["unit"] for i in inputs)
    assert [(e["submission_id"], e["rule_id"]) for e in manifest["explanations"]] == [(1, "MOI-FV2-09")]
    assert "Cases opened" not in json.dumps(manifest["explanations"])  # text stays in the warehouse
    assert manifest["disclosure"]["threshold"] == 4 and manifest["parameters"]["languages"] == list(LANGS)
    assert manifest["disclosure"]["safe"] and "seconds" not in json.dumps(manifest["disclosure"])
    listed = {f["file"]: f["sha256"] for f in manifest["files"]}
    assert listed == {k: v for k, v in story["first"].items() if k != "manifest.json"}
    assert json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n" == \
        (root / "r1_kept" / "manifest.json").read_text(encoding="utf-8")  # sorted keys


def test_release_is_recorded_audited_and_its_files_kept(story):
    wh = story["wh"]
    rows = wh.query("SELECT release_id, revision, previous, status, released_by, manifest_sha256 "
                    "FROM releases ORDER BY revision")
    assert rows["release_id"].tolist() == ["2024-r1", "2024-r2"]
    assert rows["released_by"].iloc[0] == "NSC"
    assert rows["manifest_sha256"].iloc[0] == story["first"]["manifest.json"]
    kept = wh.query("SELECT file, sha256, archive_path FROM release_files WHERE release_id = '2024-r1'")
    assert dict(zip(kept["file"], kept["sha256"], strict=True)) == story["first"]
    for path in kept["archive_path"]:
        assert (wh.archive / path).is_file()
    events = wh.query("SELECT event, actor, detail->>'release_id' AS rid FROM audit_log "
                      "WHERE event = 'released' ORDER BY event_id")
    assert events["rid"].tolist() == ["2024-r1", "2024-r2"] and events["actor"].iloc[0] == "NSC"


def test_a_correction_gives_a_numbered_revision_saying_what_changed(story):
    r2, fix = story["r2"], story["fix"]
    assert r2.outcome == "new" and r2.release.release_id == "2024-r2"
    assert r2.release.previous == "2024-r1" and r2.release.revision == 2
    changes = r2.changes
    assert changes, "the corrected return changes figures"
    talas = [c for c in changes if area(c) == "KG07"]
    assert talas and all(c["submissions"] == [fix.submission_id] and c["why"] == "returns" for c in talas)
    elsewhere = [c for c in changes if area(c) not in ("KG07", "KG")]
    # no return changed there: a figure may only be suppressed or shown again, as disclosure
    # control protects the changed cells
    assert all(c["submissions"] == [] and c["why"] == "suppression" and "C" in (c["old_status"], c["new_status"])
               for c in elsewhere)
    # the country's figures: provisional (P) on both sides, as most districts sent nothing
    national = next(c for c in changes if area(c) == "KG" and c["old_status"] == c["new_status"] != "C")
    assert national["old"] != national["new"] and national["submissions"] == [fix.submission_id]
    assert {"old", "new", "old_status", "new_status", "measure", "year", "table"} <= set(national)
    returns = r2.manifest["revisions"]["returns"]
    assert returns == [{"form": "MOI-FV", "unit": TALAS_DISTRICT, "period": "2024-Q1", "change": "revised",
                        "submission_id": fix.submission_id, "replaces": 1, "revision": 2}]
    wb = load_workbook(story["root"] / "r2" / "indicators_2024.xlsx")
    ws = wb["revisions"]
    assert "2024-r2" in ws["A1"].value and "2024-r1" in ws["A1"].value
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=1)]
    assert len([r for r in body if r[1] and str(r[1]).startswith("ind")]) == len(changes)


def test_suppressed_figures_stay_hidden_in_the_revisions(story):
    for c in story["r2"].changes:
        if c["old_status"] == "C":
            assert c["old"] is None
        if c["new_status"] == "C":
            assert c["new"] is None


def test_as_of_the_first_release_makes_it_again_byte_for_byte(story):
    asof = story["asof"]
    assert asof.outcome == "reproduced" and asof.release.release_id == "2024-r1"
    assert hashes(story["root"] / "r1_asof") == story["first"]
    assert story["r2"].manifest_sha256 != story["first"]["manifest.json"]


def test_times_name_states_exactly(story):
    """The audit log's times are to the microsecond: the release's timestamp, and any time
    between it and the correction, name the state before the correction."""
    from gbvstats.store.asof import cut_at

    r1, wh = story["r1"], story["wh"]
    with wh.reader() as con:
        assert cut_at(con, parse_time(r1.release.as_of)).event == r1.release.last_event
        before_fix = cut_at(con, story["between"]).event
    fix_event = wh.query("SELECT event_id FROM audit_log WHERE submission_id = ? AND event LIKE 'accepted%'",
                         [story["fix"].submission_id])["event_id"].iloc[0]
    assert before_fix == fix_event - 1


def test_as_of_changes_nothing_stored(story):
    assert story["wh"].checksum() == story["before_as_of"]


def test_as_of_before_anything_was_recorded(story, tmp_path):
    from gbvstats.store.asof import AsOfError

    with pytest.raises(AsOfError) as err:
        make_release(story["wh"], [2024], tmp_path / "x", ("en",), as_of=parse_time("2001-01-01"))
    assert err.value.code == 2 and err.value.findings[0].code == "GBV-L007"
    assert not (tmp_path / "x").exists()


def test_verify_a_published_folder(story):
    report = verify(story["wh"], story["root"] / "r1_kept")
    assert report.exit_code == 0, [f.message() for f in report.findings]
    assert {f["state"] for f in report.files} == {"identical"}
    assert len(report.files) == len(story["first"])


def test_verify_finds_a_changed_and_a_missing_file(story, tmp_path):
    folder = tmp_path / "tampered"
    shutil.copytree(story["root"] / "r1_kept", folder)
    csv = folder / "ind01_family_violence_2024.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace(",", ";", 3), encoding="utf-8")
    (folder / "ind02_protection_orders_2024.parquet").unlink()
    report = verify(story["wh"], folder)
    assert report.exit_code == 1
    codes = {(f.code, f.file) for f in report.findings}
    assert ("GBV-L001", "ind01_family_violence_2024.csv") in codes
    assert ("GBV-L002", "ind02_protection_orders_2024.parquet") in codes


def test_verify_finds_a_warehouse_that_no_longer_gives_the_release(story, tmp_path):
    copy = copy_warehouse(story["wh"].path, tmp_path / "wh")
    con = duckdb.connect(str(copy))
    try:  # a stored figure altered behind the warehouse's back
        con.execute("UPDATE cells SET value = value + 7 WHERE submission_id = 2 AND value > 10")
    finally:
        con.close()
    report = verify(Warehouse(copy, story["wh"].reg), story["root"] / "r1_kept")
    assert report.exit_code == 1
    assert any(f.code == "GBV-L015" for f in report.findings)


def test_verify_refuses_a_folder_that_is_not_a_release(story, tmp_path):
    (tmp_path / "manifest.json").write_text('{"year": 2024, "files": []}', encoding="utf-8")
    with pytest.raises(ReleaseError) as err:
        verify(story["wh"], tmp_path)
    assert err.value.code == 2 and err.value.findings[0].code == "GBV-L009"


def test_other_parameters_make_a_new_release_of_the_same_state(story, tmp_path):
    wh = story["wh"]
    copy = Warehouse(copy_warehouse(wh.path, tmp_path / "wh"), wh.reg)
    r3 = make_release(copy, [2024], tmp_path / "t5", LANGS, threshold=5)
    assert r3.outcome == "new" and r3.release.release_id == "2024-r3" and r3.release.previous == "2024-r2"
    again = make_release(copy, [2024], tmp_path / "t5b", LANGS, threshold=5)
    assert again.outcome == "same" and again.release.release_id == "2024-r3"


def test_a_provisional_release_is_numbered_flagged_and_made_again(story, tmp_path):
    """A provisional release (every figure P, the reasons as footnote) is a release like
    any other: numbered after the last, its reasons in its parameters, verified by making
    it again with them."""
    import pandas as pd

    wh = story["wh"]
    copy = Warehouse(copy_warehouse(wh.path, tmp_path / "wh"), wh.reg)
    reasons = [{"en": "MoI returns of Q4 under review", "ru": "отчёты МВД за 4 кв. на проверке",
                "ky": "ИИМдин 4-чейректеги отчеттору текшерилүүдө"}]
    p = make_release(copy, [2024], tmp_path / "prov", ("ky", "en"), provisional=reasons)
    assert p.outcome == "new" and p.release.release_id == "2024-r3" and p.release.status == "provisional"
    manifest = json.loads((tmp_path / "prov" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["provisional"] == reasons and manifest["provisional"]["reasons"] == reasons
    flat = pd.read_parquet(tmp_path / "prov" / "ind01_family_violence_2024.parquet")
    shown = [s for c in flat.columns if c.endswith("_OBS_STATUS")
             for v, s in zip(flat[c.removesuffix("_OBS_STATUS")], flat[c], strict=True) if pd.notna(v) or s == "C"]
    assert set(shown) == {"P", "C"}  # every figure shown is provisional
    assert any(c["old_status"] == "A" and c["new_status"] == "P" for c in p.changes)
    report = verify(copy, tmp_path / "prov")
    assert report.exit_code == 0, [f.to_dict() for f in report.findings]
    final = make_release(copy, [2024], tmp_path / "final", ("ky", "en"))
    assert final.release.release_id == "2024-r4" and final.release.status == "final"
    asked = make_release(copy, [2024], tmp_path / "asked", ("ky", "en"), provisional=True)
    assert asked.release.status == "provisional"
    assert asked.manifest["parameters"]["provisional"] is True  # what was asked, made again by verify
    assert "суроо боюнча" in json.dumps(asked.manifest["provisional"]["reasons"], ensure_ascii=False)


def test_the_gate_runs_on_the_release_state(story, tmp_path):
    """The publication gate judges the state the release is made from: a blocked year is
    refused (nothing written, nothing recorded); --provisional publishes it with the gate's
    items as its reasons, and --as-of / verify make it again byte for byte after a later
    NSC decision, which a plain publish takes into a new release."""
    from release_helpers import hashes

    from gbvstats.consolidate.decisions import decide
    from gbvstats.consolidate.run import consolidate
    from gbvstats.publish.release import release_cut
    from gbvstats.publish.tables import GateRefused

    wh = story["wh"]
    copy = Warehouse(copy_warehouse(wh.path, tmp_path / "wh"), wh.reg)
    events = int(copy.query("SELECT count(*) AS n FROM audit_log")["n"].iloc[0])
    with pytest.raises(GateRefused) as refused:
        make_release(copy, [2024], tmp_path / "blocked", ("en",), gate=True)
    assert refused.value.code == 1 and refused.value.report.blocking
    assert not (tmp_path / "blocked").exists()
    assert int(copy.query("SELECT count(*) AS n FROM audit_log")["n"].iloc[0]) == events  # nothing recorded
    # made by a Kyrgyz-speaking user, made again by others: the manifest's texts (the gate's
    # item titles) are in the release's first language, not in the language of who runs it
    p = make_release(copy, [2024], tmp_path / "gp", ("en", "ky"), gate=True, provisional=True, lang="ky")
    manifest = p.manifest
    assert p.outcome == "new" and p.release.status == "provisional"
    assert manifest["parameters"]["gate"] is True and manifest["parameters"]["provisional"] is True
    assert manifest["gate"]["blocked"] and manifest["gate"]["blocking"] == len(refused.value.report.blocking)
    assert [r["en"] for r in manifest["provisional"]["reasons"]] == [
        f"the publication gate blocked 2024 ({manifest['gate']['blocking']} item(s), listed in the manifest); "
        "figures may change once they are resolved"]
    assert verify(copy, tmp_path / "gp", lang="ru").exit_code == 0
    consolidate(copy, 2024)  # the NSC sees the year's open items and decides one
    items = copy.query("SELECT item_key FROM control_items WHERE year = 2024 AND state = 'open' "
                       "AND severity <> 'error' ORDER BY item_key LIMIT 1")
    assert len(items), "the story's returns leave an open warning to decide"
    decide(copy, 2024, items["item_key"].tolist(), "accepted", "checked with the agency", "NSC")
    again = make_release(copy, [2024], tmp_path / "gp_asof", ("en", "ky"), gate=True, provisional=True,
                         cut=release_cut(copy, p.release.release_id))
    assert again.outcome == "reproduced" and hashes(tmp_path / "gp_asof") == hashes(tmp_path / "gp")
    assert verify(copy, tmp_path / "gp").exit_code == 0
    later = make_release(copy, [2024], tmp_path / "gp2", ("en", "ky"), gate=True, provisional=True)
    assert later.outcome == "new" and later.release.revision == p.release.revision + 1
    assert [d["item_key"] for d in later.manifest["decisions"]] == items["item_key"].tolist()
    assert "checked with" not in json.dumps(later.manifest)  # the note stays in the warehouse


def test_rebuild_replays_releases_and_fsck_keeps_their_files(story, tmp_path):
    from gbvstats.store.fsck import fsck

    wh = story["wh"]
    rebuilt = Warehouse(tmp_path / "rebuilt" / "gbvstats.duckdb", wh.reg)
    wh.rebuild(rebuilt.path)
    assert rebuilt.checksum() == wh.checksum()
    report = fsck(wh)
    assert report.exit_code == 0, [f.message() for f in report.findings]
    assert fsck(rebuilt).exit_code == 0
    assert verify(rebuilt, story["root"] / "r1_kept").exit_code == 0


def test_fsck_reports_a_kept_release_file_gone_and_repair_keeps_the_others(story, tmp_path):
    from gbvstats.store.fsck import fsck

    copy = Warehouse(copy_warehouse(story["wh"].path, tmp_path / "wh"), story["wh"].reg)
    kept = copy.query("SELECT archive_path FROM release_files WHERE file = 'indicators_2024.xlsx' "
                      "ORDER BY release_id")["archive_path"].tolist()
    (copy.archive / kept[0]).unlink()
    report = fsck(copy, repair=True)
    assert any(f.code == "GBV-L014" for f in report.findings)
    assert report.removed == []  # no release file is taken for a leftover
    assert all((copy.archive / p).is_file() for p in kept[1:])


def test_cli_publish_as_of_a_release_list_diff_verify(story, tmp_path):
    wh = str(story["wh"].path)
    out = tmp_path / "again"
    made = cli("publish", "--year", "2024", "--out", str(out), "--as-of", "2024-r1", "--warehouse", wh,
               "--lang", "ru,ky,en")
    assert made.returncode == 0, made.stderr
    assert "2024-r1" in made.stdout and hashes(out) == story["first"]
    listed = cli("release", "list", "--json", "--warehouse", wh)
    assert [r["release_id"] for r in json.loads(listed.stdout)][:2] == ["2024-r2", "2024-r1"]
    first = json.loads(listed.stdout)[1]
    assert parse_time(first["timestamp"]) == parse_time(story["r1"].release.as_of)
    text = cli("release", "list", "--warehouse", wh, "--lang", "ky").stdout.splitlines()
    assert text[0].startswith("2024-r2") and f"2024-r1 кайра карайт: өзгөргөн маанилер: {len(story['r2'].changes)}" in text[0]
    assert text[1].startswith("2024-r1") and "биринчи чыгарылыш" in text[1]
    assert f"{first['timestamp']} карата" in text[1]  # the time --as-of takes, in full
    diff = cli("release", "diff", "2024-r1", "2024-r2", "--json", "--warehouse", wh)
    assert diff.returncode == 0 and len(json.loads(diff.stdout)["changes"]) == len(story["r2"].changes)
    folders = cli("release", "diff", str(story["root"] / "r1_kept"), str(story["root"] / "r2"),
                  "--warehouse", wh, "--lang", "ky")
    assert folders.returncode == 0 and "айырмаланган маанилер" in folders.stdout
    ok = cli("release", "verify", str(story["root"] / "r1_kept"), "--warehouse", wh, "--lang", "ru")
    assert ok.returncode == 0 and "проверен" in ok.stdout
    unknown = cli("release", "diff", "2024-r9", "2024-r1", "--warehouse", wh)
    assert unknown.returncode == 2 and "2024-r9" in unknown.stderr and "Traceback" not in unknown.stderr
    bad = cli("publish", "--year", "2024", "--out", str(tmp_path / "b"), "--as-of", "yesterday",
              "--warehouse", wh)
    assert bad.returncode == 2 and "--as-of yesterday" in bad.stderr


def test_two_publishes_at_once_never_share_a_number(story, tmp_path):
    """A release made while another of the same year was recorded is refused, not
    numbered twice: the second publish must be made again from the new state."""
    from gbvstats.publish.release import _record

    wh = Warehouse(copy_warehouse(story["wh"].path, tmp_path / "wh"), story["wh"].reg)
    late = make_release(wh, [2024], tmp_path / "late", ("en",), record=False)  # not recorded yet
    assert late.outcome == "new" and late.release.release_id == "2024-r3"
    first = make_release(wh, [2024], tmp_path / "first", ("en", "ru"))
    assert first.release.release_id == "2024-r3"
    with pytest.raises(ReleaseError) as err:
        _record(wh, late, late.out, late.out, "NSC", late.cut)
    assert "2024-r3" in err.value.message("en")
    assert wh.query("SELECT count(*) AS n FROM releases")["n"].iloc[0] == 3


def test_a_year_without_returns_is_refused(story, tmp_path):
    made = cli("publish", "--year", "2019", "--out", str(tmp_path / "x"), "--warehouse", str(story["wh"].path),
               "--lang", "ky")
    assert made.returncode == 2 and "2019" in made.stderr and "Traceback" not in made.stderr
    assert not (tmp_path / "x").exists()


def test_a_changed_figure_is_laid_to_the_forms_its_sql_reads(registry):
    """The returns that changed a figure are looked for among the forms the figure itself
    reads (lineage derived from the pipeline's SQL), not every form its table names."""
    from types import SimpleNamespace

    from gbvstats.publish.release import _forms_of

    forms_of = _forms_of(SimpleNamespace(reg=registry))
    assert forms_of("ind03_justice_attrition", "area=KG07;chain=GBV", "gpo_received") == {"GPO-CASES"}
    assert forms_of("ind01_family_violence", "area=KG;sex=F;age=_T", "population") == {"NSC-POP"}
    assert forms_of("ind01_family_violence", "area=KG07;sex=F;age=_T", "victims") == {"MOI-FV"}
    # a rate the synthetic evaluation left empty reads what its numerator and denominator read
    assert forms_of("ind01_family_violence", "area=KG07;sex=F;age=_T;education=ISCED11_5;activity=_T",
                    "victims_per_100k") == {"MOI-FV", "NSC-POP"}
    assert forms_of("ind99_unknown", "area=KG", "n") == set()
