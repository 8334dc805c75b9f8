"""The store side of `gbvstats serve`: tokens (hash only), the NSC's decisions, locked periods
(obeyed by a local submit too), consolidation restricted to accepted submissions, and
rebuild replaying all of it."""

from __future__ import annotations

import hashlib
import json

import pytest
from serve_helpers import FV_UNIT, TOKENS, returns, run_cli, seed_warehouse
from store_helpers import write_return

from gbvstats.store.warehouse import Actor, Refusal, StoreError, Warehouse

NSC = Actor("NSC consolidation team", "NSC", 3)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return returns(tmp_path_factory.mktemp("serve_store_returns"))


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return seed_warehouse(tmp_path_factory.mktemp("serve_store_seed"))


@pytest.fixture
def wh(seed, tmp_path, registry) -> Warehouse:
    return Warehouse(seed.copy_to(tmp_path / "wh"), registry)


def rows(wh: Warehouse, sql: str, params=None) -> list[tuple]:
    return [tuple(r) for r in wh.query(sql, params).itertuples(index=False)]


def test_only_a_hash_of_each_token_is_stored(seed, wh):
    stored = wh.query("SELECT * FROM api_tokens")
    dump = stored.to_csv() + wh.query("SELECT * FROM audit_log").to_csv()
    for token in seed.tokens.values():
        assert token.startswith("gbv_") and token not in dump
        assert hashlib.sha256(token.encode()).hexdigest() in set(stored["token_sha256"])
    assert set(stored["label"]) == {label for _, label, _ in TOKENS.values()}


def test_a_token_resolves_to_its_row_and_nothing_else_does(seed, wh):
    info = wh.resolve_token(seed.tokens["moi"])
    assert (info.label, info.agency, info.role) == ("MoI statistics unit", "MOI", "submitter")
    assert wh.resolve_token(seed.tokens["nsc"]).role == "reviewer"
    assert wh.resolve_token(seed.tokens["gone"]) is None  # revoked
    token = seed.tokens["moi"]
    for wrong in ("", "gbv_", token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x",
                  "gbv_00000000_" + token.split("_", 2)[2], "Bearer " + token):
        assert wh.resolve_token(wrong) is None, wrong


def test_token_create_refuses_bad_agency_role_and_duplicate_labels(wh):
    with pytest.raises(StoreError) as exc:
        wh.create_token("MOH", "Health")
    assert exc.value.key == "token_agency" and exc.value.code == 2
    with pytest.raises(StoreError) as exc:
        wh.create_token("MOI", "x", role="owner")
    assert exc.value.key == "token_role"
    with pytest.raises(StoreError) as exc:
        wh.create_token("MOI", "  mOi statistics   UNIT ")
    assert exc.value.key == "token_label"
    with pytest.raises(StoreError) as exc:
        wh.create_token("MOI", "   ")
    assert exc.value.key == "token_label_empty"
    # a revoked token's label may be given again; revoking by label then takes the live one
    token, tid = wh.create_token("moi", "Old MoI laptop")
    assert wh.resolve_token(token).agency == "MOI"
    assert wh.revoke_token("old moi laptop") == tid
    with pytest.raises(StoreError) as exc:
        wh.revoke_token(str(tid))
    assert exc.value.key == "token_revoked"


def test_token_commands(tmp_path):
    warehouse = str(tmp_path / "w.duckdb")
    code, out, err = run_cli("token", "create", "--agency", "GPO", "--label", "GPO statistics unit",
                             "--warehouse", warehouse)
    assert code == 0, err
    token = out.strip()
    assert token.startswith("gbv_") and "\n" not in token  # stdout is the token alone
    assert "cannot be shown again" in err
    code, out, _ = run_cli("token", "list", "--json", "--warehouse", warehouse)
    [row] = json.loads(out)
    assert (row["label"], row["agency"], row["role"], row["revoked_at"]) == (
        "GPO statistics unit", "GPO", "submitter", None)
    assert token not in out
    code, _, err = run_cli("token", "create", "--agency", "GPO", "--label", "x", "--role", "boss",
                           "--warehouse", warehouse, lang="ru")
    assert code == 2 and "нет роли boss" in err
    code, out, _ = run_cli("token", "revoke", "GPO statistics unit", "--warehouse", warehouse)
    assert code == 0 and "revoked" in out
    assert Warehouse(warehouse).resolve_token(token) is None


def test_a_locked_period_refuses_a_local_submit_until_unlocked(wh, files, tmp_path):
    first = wh.submit(files["good"], "MOI", "MoI statistics unit")
    assert first.outcome == "accepted"
    wh.lock(2024, "moi", "moi-fv", NSC, "published")
    refused = wh.submit(files["fixed"], "MOI")
    assert (refused.outcome, refused.exit_code, refused.submission_id) == ("locked", 1, None)
    [locked] = [f for f in refused.findings if f["code"] == "GBV-W030"]
    assert locked["params"]["locked_by"] == "NSC consolidation team"
    assert wh.submit(files["good"], "MOI").outcome == "duplicate"  # the same bytes: nothing changes
    # a file with errors is still told its errors, and that the period is locked
    bad = wh.submit(files["bad"], "MOI")
    assert bad.outcome == "rejected" and {"GBV-R001", "GBV-W030"} <= {f["code"] for f in bad.findings}
    assert wh.submit(files["q2"], "MOI").outcome == "locked"  # every period of the year
    # another year of the same form is open
    earlier = write_return(tmp_path / "fv-2023-q4.xlsx", "MOI-FV", FV_UNIT, "2023-Q4")
    assert wh.submit(earlier, "MOI").outcome == "accepted"
    assert rows(wh, "SELECT count(*) FROM submissions") == [(2,)]
    events = rows(wh, "SELECT event, agency, COALESCE(actor, '-'), COALESCE(token_id, 0) FROM audit_log "
                      "WHERE event IN ('locked', 'refused_locked') ORDER BY event_id")
    assert events == [("locked", "NSC", "NSC consolidation team", 3),
                      ("refused_locked", "MOI", "-", 0), ("refused_locked", "MOI", "-", 0)]
    with pytest.raises(Refusal) as exc:
        wh.lock(2024, "MOI", "MOI-FV", NSC)
    assert exc.value.finding.code == "GBV-W034"
    wh.unlock(2024, "MOI", "MOI-FV", NSC)
    assert wh.submit(files["fixed"], "MOI").revision == 2
    with pytest.raises(Refusal) as exc:
        wh.unlock(2024, "MOI", "MOI-FV", NSC)
    assert exc.value.finding.code == "GBV-W035"
    with pytest.raises(Refusal) as exc:
        wh.lock(2024, "MOI", "JD-CASES", NSC)
    assert exc.value.finding.code == "GBV-W036"


def test_local_submit_into_a_locked_period_exits_1_with_the_message(wh, files):
    wh.lock(2024, "MOI", "MOI-FV", NSC)
    where = ("--warehouse", str(wh.path))
    code, out, err = run_cli("submit", str(files["good"]), "--agency", "MOI", *where)
    assert code == 1, out + err
    assert "locked" in out and "nothing stored" in out
    code, _, err = run_cli("lock", "--year", "2024", "--agency", "MOI", "--form", "MOI-FV",
                           "--by", "A. Asanova", *where, lang="ru")
    assert code == 1 and "уже закрыта" in err
    code, out, err = run_cli("unlock", "--year", "2024", "--agency", "MOI", "--form", "MOI-FV",
                             "--by", "A. Asanova", *where)
    assert code == 0 and "unlocked" in out, err
    assert run_cli("submit", str(files["good"]), "--agency", "MOI", *where)[0] == 0
    code, out, _ = run_cli("review", "1", "--return", "--by", "A. Asanova", *where)
    assert code == 1 and "GBV-W032" not in out  # the message, not the code
    code, out, _ = run_cli("review", "1", "--accept", "--by", "A. Asanova", *where)
    assert code == 0 and "accepted" in out
    assert wh.history("MOI-FV", FV_UNIT, "2024-Q1")["reviewer"].tolist() == ["A. Asanova"]


def test_decisions_need_the_current_revision_a_comment_to_return_and_an_open_period(wh, files):
    first = wh.submit(files["bad"], "MOI")
    assert first.outcome == "rejected"
    good = wh.submit(files["good"], "MOI")
    with pytest.raises(Refusal) as exc:
        wh.review(good.submission_id, "returned", "   ", NSC)
    assert exc.value.finding.code == "GBV-W032"
    wh.review(good.submission_id, "returned", "Line 03: ages do not add up", NSC)
    fixed = wh.submit(files["fixed"], "MOI")
    with pytest.raises(Refusal) as exc:
        wh.review(good.submission_id, "accepted", None, NSC)
    assert exc.value.finding.code == "GBV-W031"
    assert exc.value.finding.params["current"] == fixed.submission_id
    wh.review(fixed.submission_id, "accepted", None, NSC)
    wh.lock(2024, "MOI", "MOI-FV", NSC)
    with pytest.raises(Refusal) as exc:
        wh.review(fixed.submission_id, "returned", "late change", NSC)
    assert exc.value.finding.code == "GBV-W033"
    with pytest.raises(StoreError) as exc:
        wh.review(999, "accepted", None, NSC)
    assert exc.value.key == "no_submission"
    history = wh.history("MOI-FV", FV_UNIT, "2024-Q1")
    assert list(history["review"]) == ["returned", "accepted"]
    assert list(history["review_comment"].fillna("")) == ["Line 03: ages do not add up", ""]
    assert set(history["reviewer"]) == {"NSC consolidation team"}
    audit = rows(wh, "SELECT event, submission_id, agency, actor, token_id, detail->>'decision' "
                     "FROM audit_log WHERE event = 'reviewed' ORDER BY event_id")
    assert audit == [("reviewed", good.submission_id, "NSC", "NSC consolidation team", 3, "returned"),
                     ("reviewed", fixed.submission_id, "NSC", "NSC consolidation team", 3, "accepted")]


def test_status_shows_decisions_and_locks(wh, files):
    sid = wh.submit(files["good"], "MOI").submission_id
    wh.review(sid, "accepted", None, NSC)
    wh.lock(2024, "MOI", "MOI-FV", NSC)
    status = wh.status()
    row = status[status["form"] == "MOI-FV"].iloc[0]
    assert (row["nsc_accepted"], row["nsc_returned"], bool(row["locked"])) == (1, 0, True)


def test_accepted_only_sees_the_latest_revision_the_nsc_accepted(wh, files):
    sql = "SELECT period, submission_id FROM current_submissions ORDER BY period"
    first = wh.submit(files["good"], "MOI")
    q2 = wh.submit(files["q2"], "MOI")
    with wh.reader() as con:
        con.execute("SET VARIABLE accepted_only = true")
        assert con.execute(sql).fetchall() == []  # nothing accepted by the NSC yet
    wh.review(first.submission_id, "accepted", None, NSC)
    second = wh.submit(files["fixed"], "MOI")  # a new revision, not yet decided
    with wh.reader() as con:
        assert con.execute(sql).fetchall() == [("2024-Q1", second.submission_id), ("2024-Q2", q2.submission_id)]
        con.execute("SET VARIABLE accepted_only = true")
        assert con.execute(sql).fetchall() == [("2024-Q1", first.submission_id)]
        assert con.execute("SELECT DISTINCT submission_id FROM facts").fetchall() == [(first.submission_id,)]
    wh.review(second.submission_id, "returned", "Line 03", NSC)
    with wh.reader() as con:
        con.execute("SET VARIABLE accepted_only = true")
        assert con.execute(sql).fetchall() == [("2024-Q1", first.submission_id)]


def test_consolidate_accepted_only(wh, files):
    sid = wh.submit(files["good"], "MOI").submission_id
    wh.submit(files["q2"], "MOI")
    code, _, err = run_cli("consolidate", "--year", "2024", "--accepted-only", "--warehouse", str(wh.path),
                           lang="ru")  # returns stored, none accepted by the NSC: no blank tables
    assert code == 2 and "НСК ещё не принял ни одного отчёта за 2024 год" in err
    assert rows(wh, "SELECT count(*) FROM consolidation_runs") == [(0,)]
    wh.review(sid, "accepted", None, NSC)
    code, out, err = run_cli("consolidate", "--year", "2024", "--accepted-only", "--json",
                             "--warehouse", str(wh.path))
    assert code == 0, err
    report = json.loads(out)
    assert report["accepted_only"] is True and report["tables"]
    runs = rows(wh, "SELECT detail->>'accepted_only' FROM consolidation_runs")
    assert runs == [("true",)]
    [(reports,)] = rows(wh, "SELECT reports FROM ind01_family_violence "
                            "WHERE year = 2024 AND area = 'KG' AND reports IS NOT NULL")
    with wh.reader() as con:  # the indicator counts the accepted quarter only
        accepted, both = con.execute(
            "SELECT sum(value) FILTER (WHERE submission_id = ?), sum(value) FROM facts "
            "WHERE element = 'fv_reports' AND year = 2024", [sid]).fetchall()[0]
    assert reports == accepted < both
    assert len(rows(wh, "SELECT DISTINCT submission_id FROM facts")) == 2  # the variable did not linger


def test_rebuild_replays_tokens_decisions_and_locks(wh, seed, files, tmp_path):
    wh.submit(files["bad"], "MOI", "MoI statistics unit")
    sid = wh.store_reports([(files["good"], "MOI", "MoI statistics unit", None, seed.ids["moi"],
                             _report(files["good"], wh))])[0].submission_id
    wh.review(sid, "returned", "Проверьте строку 03", NSC)
    fixed = wh.submit(files["fixed"], "MOI")
    wh.review(fixed.submission_id, "accepted", None, NSC)
    wh.lock(2024, "MOI", "MOI-FV", NSC, "closed")
    wh.lock(2023, "MOI", "MOI-FV", NSC)
    wh.unlock(2023, "MOI", "MOI-FV", NSC)
    wh.touch_token(seed.ids["moi"], "10.0.0.7")
    wh.revoke_token("JD statistics unit", by="admin")
    from gbvstats.store.fsck import fsck

    assert [f.code for f in fsck(wh, deep=True).problems] == []  # every event kind known
    rebuilt = Warehouse(tmp_path / "rebuilt.duckdb")
    wh.rebuild(rebuilt.path)
    before, after = wh.checksum(), rebuilt.checksum()
    assert before == after
    for table in ("api_tokens", "reviews", "period_locks", "audit_log"):
        assert before[table] == after[table] and not before[table].startswith("0:"), table
    assert "token_use" not in before  # when a token was last used is not a recorded event
    assert rebuilt.resolve_token(seed.tokens["moi"]).label == "MoI statistics unit"
    assert rebuilt.resolve_token(seed.tokens["jd"]) is None
    assert rows(rebuilt, "SELECT token_id FROM audit_log WHERE submission_id = ? AND event = 'accepted'",
                [sid]) == [(seed.ids["moi"],)]


def _report(path, wh):
    from gbvstats.check.validate import validate_file

    return validate_file(path, wh.reg)


def test_a_refused_attempt_keeps_its_findings_whole_for_any_language(wh, files):
    from gbvstats.catalogue import Finding

    receipt = wh.submit(files["bad"], "MOI")
    [detail] = [json.loads(d) for (d,) in rows(wh, "SELECT detail FROM audit_log WHERE event = 'rejected'")]
    [finding] = [Finding.from_dict(f) for f in detail["findings"] if f["code"] == "GBV-R001"]
    assert (finding.sheet, finding.cell) == ("T1", "C6")
    assert receipt.event_id is not None
    assert "строк" in finding.message("ru") and finding.message("en") != finding.message("ru")


def test_the_held_connection_gives_way_to_a_waiting_local_writer(wh, files):
    """The server keeps its connection while busy (here: 60 s), but a local submit that waits
    for the lock gets it at once rather than after its timeout."""
    import time

    from store_helpers import cli

    with wh.held(linger=60, max_hold=120):
        assert wh.tokens() is not None  # the held connection is open, with the lock
        started = time.monotonic()
        run = cli("submit", str(files["good"]), "--agency", "MOI", "--warehouse", str(wh.path),
                  env={"GBVSTATS_LOCK_TIMEOUT": "20", "GBVSTATS_LANG": "en"})
        assert run.returncode == 0, run.stdout + run.stderr
        assert time.monotonic() - started < 20
        assert wh.query("SELECT count(*) AS n FROM submissions")["n"][0] == 1  # open again, sees it


def test_review_and_serve_usage_errors_in_the_users_language(wh, tmp_path):
    code, _, err = run_cli("review", "1", "--warehouse", str(wh.path), lang="ky")
    assert code == 2 and "--accept же --return бирин көрсөтүңүз" in err
    code, _, err = run_cli("serve", "--ssl-certfile", str(tmp_path / "c.pem"), "--warehouse", str(wh.path),
                           lang="ru")
    assert code == 2 and "указываются вместе" in err


def test_the_calendar_judges_lateness_by_a_declared_date_of_receipt(wh, files):
    from datetime import date

    from gbvstats.serve.data import calendar

    wh.submit(files["good"], "MOI", received_on=date(2024, 4, 10))  # due 2024-04-15
    wh.submit(files["q2"], "MOI")  # received today: long after 2024-07-15
    late = {r["period"]: r["late"] for r in calendar(wh, 2024, "MOI")
            if (r["form"], r["unit"]) == ("MOI-FV", FV_UNIT)}
    assert (late["2024-Q1"], late["2024-Q2"]) == (False, True)
