"""The server's JSON API through FastAPI's TestClient: every status code it answers, the
idempotent upload, agency scoping, locks, decisions, the audit trail, TLS and limits."""

from __future__ import annotations

import fcntl
import io
import json
import re
from pathlib import Path

import pytest
from serve_helpers import FV_UNIT, bearer, https_client, returns, seed_warehouse

from gbvstats.serve.app import ServeConfig, create_app
from gbvstats.store.warehouse import Warehouse


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return returns(tmp_path_factory.mktemp("serve_api_returns"))


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return seed_warehouse(tmp_path_factory.mktemp("serve_api_seed"))


@pytest.fixture
def make(seed, tmp_path):
    """make(**config) -> (client, warehouse path): a fresh copy of the seeded warehouse served."""
    opened = []

    def start(client_kw: dict | None = None, **config):
        path = seed.copy_to(tmp_path / f"wh{len(opened)}")
        config.setdefault("linger", 0.2)
        app = create_app(ServeConfig(path, **config))
        client = https_client(app, **(client_kw or {}))
        client.__enter__()
        opened.append(client)
        return client, path

    yield start
    for client in opened:
        client.__exit__(None, None, None)


def upload(client, token, path, endpoint="/api/v1/submissions", **kw):
    with open(path, "rb") as fh:
        return client.post(endpoint, headers=bearer(token), files={"file": (path.name, fh)}, **kw)


def db(path, sql, params=None):
    return [tuple(r) for r in Warehouse(path).query(sql, params).itertuples(index=False)]


def test_whoami_names_the_token_holder(make, seed):
    client, _ = make()
    r = client.get("/api/v1/whoami", headers=bearer(seed.tokens["moi"]))
    assert r.status_code == 200
    assert r.json()["identity"] == {"token_id": seed.ids["moi"], "label": "MoI statistics unit",
                                    "agency": "MOI", "role": "submitter"}
    assert r.json()["server"]["actions"] == ["submit", "validate"]
    assert client.get("/api/v1/whoami", headers=bearer(seed.tokens["nsc"])).json()["server"]["actions"] == [
        "completeness", "lock", "read_all", "review", "validate"]


def test_missing_wrong_and_revoked_tokens_are_401(make, seed):
    client, _ = make()
    r = client.get("/api/v1/whoami")
    assert r.status_code == 401 and r.json()["error"]["code"] == "GBV-A001"
    assert r.headers["www-authenticate"].startswith("Bearer")
    for token in (seed.tokens["gone"], seed.tokens["moi"][:-2], "gbv_0123abcd_" + "A" * 43):
        r = client.get("/api/v1/whoami", headers=bearer(token), params={"lang": "ru"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "GBV-A002"
        assert "токен не распознан" in r.json()["error"]["message"]
    # a token in the query string is not a token
    assert client.get(f"/api/v1/whoami?token={seed.tokens['moi']}").status_code == 401


def test_submit_201_then_the_same_file_200_with_the_existing_receipt(make, seed, files):
    client, path = make()
    r = upload(client, seed.tokens["moi"], files["good"])
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["outcome"], first["exit_code"], first["revision"]) == ("accepted", 0, 1)
    assert first["file"] == files["good"].name
    assert first["links"]["feedback"] == f"/api/v1/submissions/{first['submission_id']}/feedback.xlsx"
    again = upload(client, seed.tokens["moi"], files["good"])
    assert again.status_code == 200
    assert (again.json()["outcome"], again.json()["duplicate_of"]) == ("duplicate", first["submission_id"])
    assert again.json()["form"] == first["form"] and again.json()["period"] == "2024-Q1"
    assert db(path, "SELECT count(*) FROM submissions") == [(1,)]
    # the audit row names the token's holder, whatever the request claims
    with open(files["q2"], "rb") as fh:
        r = client.post("/api/v1/submissions", headers=bearer(seed.tokens["moi"]),
                        data={"by": "Someone Else", "agency": "JD"}, files={"file": (files["q2"].name, fh)})
    assert r.status_code == 201
    assert db(path, "SELECT event, agency, actor, token_id FROM audit_log WHERE event = 'accepted' "
                    "ORDER BY event_id") == [
        ("accepted", "MOI", "MoI statistics unit", seed.ids["moi"])] * 2
    assert db(path, "SELECT DISTINCT submitted_by FROM submissions") == [("MoI statistics unit",)]


def test_a_return_with_an_error_is_422_with_the_cell_and_a_marked_workbook(make, seed, files):
    from openpyxl import load_workbook

    client, path = make()
    r = upload(client, seed.tokens["moi"], files["bad"], params={"lang": "ru"})
    assert r.status_code == 422
    receipt = r.json()
    assert (receipt["outcome"], receipt["exit_code"], receipt["submission_id"]) == ("rejected", 1, None)
    [error] = [f for f in receipt["findings"] if f["severity"] == "error"]
    assert (error["code"], error["sheet"], error["cell"]) == ("GBV-R001", "T1", "C6")
    assert "строк" in error["message"]
    attempt = client.get(receipt["links"]["attempt"], headers=bearer(seed.tokens["moi"]))
    assert attempt.status_code == 200
    assert attempt.json()["outcome"] == "rejected" and attempt.json()["file_name"] == files["bad"].name
    marked = client.get(receipt["links"]["feedback"], headers=bearer(seed.tokens["moi"]), params={"lang": "ky"})
    assert marked.status_code == 200
    assert marked.headers["content-type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(marked.content))
    cell = wb["T1"]["C6"]
    assert cell.fill.fgColor.rgb.endswith("FFC7CE") and "GBV-R001" in cell.comment.text
    assert db(path, "SELECT count(*) FROM submissions") == [(0,)]
    assert db(path, "SELECT event, actor FROM audit_log WHERE event = 'rejected'") == [
        ("rejected", "MoI statistics unit")]


def test_dry_run_validate_stores_nothing(make, seed, files):
    client, path = make()
    before = db(path, "SELECT count(*) FROM audit_log")
    r = upload(client, seed.tokens["moi"], files["bad"], "/api/v1/validate")
    assert r.status_code == 200
    assert r.json()["verdict"] == "errors" and r.json()["file"] == files["bad"].name
    assert {f["cell"] for f in r.json()["findings"]} == {"C6"}
    assert upload(client, seed.tokens["moi"], files["good"], "/api/v1/validate").json()["verdict"] == "ok"
    assert db(path, "SELECT count(*) FROM audit_log") == before
    assert db(path, "SELECT count(*) FROM submissions") == [(0,)]


def test_another_agencys_form_or_data_is_403(make, seed, files):
    client, path = make()
    refused = upload(client, seed.tokens["moi"], files["jd"])
    assert refused.status_code == 403 and refused.json()["outcome"] == "refused_agency"
    assert "GBV-W001" in {f["code"] for f in refused.json()["findings"]}
    assert db(path, "SELECT event, agency, actor FROM audit_log WHERE event = 'refused_agency'") == [
        ("refused_agency", "MOI", "MoI statistics unit")]
    assert upload(client, seed.tokens["moi"], files["jd"], "/api/v1/validate").status_code == 403
    sid = upload(client, seed.tokens["moi"], files["good"]).json()["submission_id"]
    jd = bearer(seed.tokens["jd"])
    for url in (f"/api/v1/submissions/{sid}", f"/api/v1/submissions/{sid}/feedback.xlsx",
                f"/api/v1/attempts/{refused.json()['event_id']}",
                "/api/v1/calendar?year=2024&agency=MOI", "/api/v1/submissions?agency=MOI"):
        r = client.get(url, headers=jd)
        assert r.status_code == 403 and r.json()["error"]["code"] == "GBV-A004", url
    assert client.get("/api/v1/submissions", headers=jd).json()["submissions"] == []
    # MoI's stored file sent by JD is not "already received" (that would tell JD about it)
    resent = upload(client, seed.tokens["jd"], files["good"])
    assert resent.status_code == 403 and resent.json()["outcome"] == "refused_agency"
    assert resent.json()["duplicate_of"] is None
    assert {r["agency"] for r in client.get("/api/v1/calendar?year=2024", headers=jd).json()["returns"]} == {"JD"}
    assert client.get(f"/api/v1/submissions/{sid}", headers=bearer(seed.tokens["nsc"])).status_code == 200


def test_roles_are_403_outside_their_actions(make, seed, files):
    client, _ = make()
    sid = upload(client, seed.tokens["moi"], files["good"]).json()["submission_id"]
    moi, nsc = bearer(seed.tokens["moi"]), bearer(seed.tokens["nsc"])
    r = client.post(f"/api/v1/submissions/{sid}/review", headers=moi, json={"decision": "accepted"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "GBV-A003"
    assert client.get("/api/v1/completeness?year=2024", headers=moi).status_code == 403
    assert client.post("/api/v1/locks", headers=moi, json={"year": 2024, "agency": "MOI",
                                                            "form": "MOI-FV"}).status_code == 403
    assert upload(client, seed.tokens["nsc"], files["q2"]).status_code == 403  # reviewers do not submit
    assert client.get("/api/v1/tokens", headers=nsc).status_code == 403
    tokens = client.get("/api/v1/tokens", headers=bearer(seed.tokens["admin"]))
    assert tokens.status_code == 200
    assert seed.tokens["moi"] not in tokens.text and "token_sha256" not in tokens.text
    assert client.get("/api/v1/completeness?year=2024", headers=nsc).status_code == 200


def test_unknown_ids_are_404(make, seed):
    client, _ = make()
    for url, code in (("/api/v1/submissions/999", "GBV-A010"), ("/api/v1/attempts/999", "GBV-A011"),
                      ("/api/v1/submissions/999/feedback.xlsx", "GBV-A010")):
        r = client.get(url, headers=bearer(seed.tokens["nsc"]))
        assert r.status_code == 404 and r.json()["error"]["code"] == code
    r = client.post("/api/v1/submissions/999/review", headers=bearer(seed.tokens["nsc"]),
                    json={"decision": "accepted"})
    assert r.status_code == 404
    assert client.get("/api/v1/nothing", headers=bearer(seed.tokens["nsc"])).status_code == 404


def test_a_locked_period_is_409_until_unlocked(make, seed, files):
    client, path = make()
    nsc, moi = bearer(seed.tokens["nsc"]), seed.tokens["moi"]
    r = client.post("/api/v1/locks", headers=nsc, json={"year": 2024, "agency": "moi", "form": "moi-fv",
                                                        "comment": "published"})
    assert r.status_code == 201
    locked = upload(client, moi, files["good"], params={"lang": "ky"})
    assert locked.status_code == 409 and locked.json()["outcome"] == "locked"
    [w030] = [f for f in locked.json()["findings"] if f["code"] == "GBV-W030"]
    assert "жабык" in w030["message"] and "NSC consolidation team" in w030["message"]
    again = client.post("/api/v1/locks", headers=nsc, json={"year": 2024, "agency": "MOI", "form": "MOI-FV"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "GBV-W034"
    wrong = client.post("/api/v1/locks", headers=nsc, json={"year": 2024, "agency": "MOI", "form": "JD-CASES"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "GBV-W036"
    locks = client.get("/api/v1/locks?year=2024", headers=bearer(moi)).json()["locks"]
    assert {(k["form"], k["locked"]) for k in locks} >= {("MOI-FV", True)} and {k["agency"] for k in locks} == {"MOI"}
    calendar = client.get("/api/v1/calendar?year=2024", headers=bearer(moi)).json()["returns"]
    assert all(r["locked"] for r in calendar if r["form"] == "MOI-FV")
    [row] = [r for r in calendar if (r["form"], r["unit"], r["period"]) == ("MOI-FV", FV_UNIT, "2024-Q1")]
    # refused for the lock, not for errors: still missing (and locked), not "refused (errors)"
    assert (row["state"], row["refused_attempts"]) == ("missing", 1)
    assert client.delete("/api/v1/locks/2024/MOI/MOI-FV", headers=nsc).status_code == 200
    assert client.delete("/api/v1/locks/2024/MOI/MOI-FV", headers=nsc).status_code == 409
    assert upload(client, moi, files["good"]).status_code == 201
    assert db(path, "SELECT event, actor, token_id FROM audit_log WHERE event IN ('locked', 'unlocked') "
                    "ORDER BY event_id") == [("locked", "NSC consolidation team", seed.ids["nsc"]),
                                              ("unlocked", "NSC consolidation team", seed.ids["nsc"])]


def test_a_return_needs_a_comment_and_the_agency_sees_it(make, seed, files):
    client, path = make()
    moi, nsc = bearer(seed.tokens["moi"]), bearer(seed.tokens["nsc"])
    sid = upload(client, seed.tokens["moi"], files["good"]).json()["submission_id"]
    r = client.post(f"/api/v1/submissions/{sid}/review", headers=nsc, json={"decision": "returned"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "GBV-W032"
    r = client.post(f"/api/v1/submissions/{sid}/review", headers=nsc, json={"decision": "maybe"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "GBV-A013"
    r = client.post(f"/api/v1/submissions/{sid}/review", headers=nsc,
                    json={"decision": "returned", "comment": "Строка 03: возраст не сходится"})
    assert r.status_code == 200 and r.json()["submission"]["review"] == "returned"
    [row] = [x for x in client.get("/api/v1/calendar?year=2024", headers=moi).json()["returns"]
             if x["unit"] == FV_UNIT and x["period"] == "2024-Q1" and x["form"] == "MOI-FV"]
    assert (row["state"], row["review_comment"], row["submission_id"]) == (
        "returned", "Строка 03: возраст не сходится", sid)
    detail = client.get(f"/api/v1/submissions/{sid}", headers=moi).json()
    assert detail["review"] == "returned" and detail["reviews"][0]["reviewer"] == "NSC consolidation team"
    fixed = upload(client, seed.tokens["moi"], files["fixed"]).json()
    assert (fixed["revision"], fixed["supersedes"]) == (2, sid)
    chain = client.get(f"/api/v1/submissions/{fixed['submission_id']}", headers=moi).json()["revisions"]
    assert [(c["revision"], c["review"]) for c in chain] == [(1, "returned"), (2, None)]
    pending = client.get("/api/v1/submissions?state=pending&year=2024", headers=nsc).json()["submissions"]
    assert [s["submission_id"] for s in pending] == [fixed["submission_id"]]
    r = client.post(f"/api/v1/submissions/{sid}/review", headers=nsc, json={"decision": "accepted"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "GBV-W031"
    r = client.post(f"/api/v1/submissions/{fixed['submission_id']}/review", headers=nsc,
                    json={"decision": "accepted"})
    assert r.status_code == 200
    [row] = [x for x in client.get("/api/v1/calendar?year=2024", headers=moi).json()["returns"]
             if x["unit"] == FV_UNIT and x["period"] == "2024-Q1" and x["form"] == "MOI-FV"]
    assert row["state"] == "accepted"


def test_uploads_over_the_limit_are_413(make, seed, files):
    client, path = make(max_file_bytes=4096)
    moi = bearer(seed.tokens["moi"])
    r = upload(client, seed.tokens["moi"], files["good"])  # a workbook over the limit
    assert r.status_code == 413 and r.json()["error"]["code"] == "GBV-A005"
    # a body over the limit is refused before it is parsed: by its Content-Length, or by
    # counting when it has none (without the limit this one would be a 400: no file)
    boundary = "gbvtest"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n").encode() \
        + b"x" * 600_000 + f"\r\n--{boundary}--\r\n".encode()
    form = {**moi, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = client.post("/api/v1/submissions", headers=form, content=body)
    assert r.status_code == 413 and r.json()["error"]["code"] == "GBV-A005"

    def chunks():
        for i in range(0, len(body), 16384):
            yield body[i:i + 16384]

    r = client.post("/api/v1/submissions", headers=form, content=chunks())
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert r.status_code == 413 and r.json()["error"]["code"] == "GBV-A005"
    small = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n"
             f"--{boundary}--\r\n").encode()
    assert client.post("/api/v1/submissions", headers=form, content=small).status_code == 400
    assert db(path, "SELECT count(*) FROM audit_log WHERE event NOT LIKE 'token%'") == [(0,)]


def test_a_request_without_a_file_is_400_and_bad_parameters_422(make, seed):
    client, _ = make()
    moi = bearer(seed.tokens["moi"])
    r = client.post("/api/v1/submissions", headers=moi, data={"nothing": "here"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "GBV-A009"
    r = client.post("/api/v1/submissions", headers=moi, content=b"not a form")
    assert r.status_code == 400
    r = client.get("/api/v1/calendar?year=twenty", headers=moi)
    assert r.status_code == 422 and r.json()["error"]["code"] == "GBV-A013"
    assert "year" in r.json()["error"]["message"]


def test_repeated_wrong_tokens_from_one_address_are_429(make, seed):
    client, _ = make(fail_limit=3, fail_block=30)
    for _ in range(3):
        assert client.get("/api/v1/whoami", headers=bearer("gbv_0123abcd_" + "B" * 43)).status_code == 401
    r = client.get("/api/v1/whoami", headers=bearer(seed.tokens["moi"]))
    assert r.status_code == 429 and r.json()["error"]["code"] == "GBV-A006"
    assert 0 < int(r.headers["retry-after"]) <= 30


def test_plain_http_from_another_machine_is_refused(make, seed):
    moi = bearer(seed.tokens["moi"])
    remote, _ = make(client_kw={"base_url": "http://testserver"})  # the test client is not loopback
    r = remote.get("/api/v1/whoami", headers=moi)
    assert r.status_code == 403 and r.json()["error"]["code"] == "GBV-A007"
    assert "set-cookie" not in r.headers
    assert remote.get("/sign-in").status_code == 403
    assert remote.get("/static/style.css").status_code == 200
    local, _ = make(client_kw={"base_url": "http://testserver", "client": ("127.0.0.1", 50000)})
    assert local.get("/api/v1/whoami", headers=moi).status_code == 200
    # a proxy on this machine that is not --trusted-proxy relays requests from anywhere
    relayed = local.get("/api/v1/whoami", headers={**moi, "X-Forwarded-For": "192.0.2.7"})
    assert relayed.status_code == 403 and relayed.json()["error"]["code"] == "GBV-A007"
    insecure, _ = make(client_kw={"base_url": "http://testserver"}, insecure_http=True)
    assert insecure.get("/api/v1/whoami", headers=moi).status_code == 200
    proxied, _ = make(client_kw={"base_url": "http://testserver", "client": ("10.0.0.2", 1)},
                      trusted_proxies=frozenset({"10.0.0.2"}))
    r = proxied.get("/api/v1/whoami", headers={**moi, "X-Forwarded-Proto": "https",
                                                 "X-Forwarded-For": "192.0.2.7"})
    assert r.status_code == 200 and r.headers["strict-transport-security"]
    assert proxied.get("/api/v1/whoami", headers=moi).status_code == 403  # the proxy said http
    spoofed, _ = make(client_kw={"base_url": "http://testserver", "client": ("10.0.0.9", 1)},
                      trusted_proxies=frozenset({"10.0.0.2"}))
    assert spoofed.get("/api/v1/whoami", headers={**moi, "X-Forwarded-Proto": "https"}).status_code == 403


def test_a_busy_warehouse_is_503_with_retry_after(make, seed, files):
    import time

    client, path = make(lock_timeout=0.3, linger=0.05)
    assert client.get("/api/v1/whoami", headers=bearer(seed.tokens["moi"])).status_code == 200
    time.sleep(0.5)  # the server lets go of the writer lock when idle
    with open(path.with_name(path.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # another writer: a local load, say
        r = upload(client, seed.tokens["moi"], files["good"])
        assert r.status_code == 503 and r.json()["error"]["code"] == "GBV-A012"
        assert int(r.headers["retry-after"]) > 0
        fcntl.flock(fh, fcntl.LOCK_UN)
    assert upload(client, seed.tokens["moi"], files["good"]).status_code == 201
    assert db(path, "SELECT count(*) FROM submissions") == [(1,)]


def test_messages_follow_lang_then_accept_language(make, seed):
    client, _ = make()
    ky = client.get("/api/v1/whoami", headers={"Accept-Language": "ky-KG,ru;q=0.8"})
    assert "токен жок" in ky.json()["error"]["message"]
    ru = client.get("/api/v1/whoami", headers={"Accept-Language": "de, ru;q=0.5"})
    assert "нет токена" in ru.json()["error"]["message"]
    en = client.get("/api/v1/whoami?lang=en", headers={"Accept-Language": "ru"})
    assert en.json()["error"]["message"].startswith("no token")


def test_openapi_is_served_and_the_cdn_documentation_pages_are_off(make):
    client, _ = make()
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    assert {"/api/v1/submissions", "/api/v1/validate", "/api/v1/calendar", "/api/v1/completeness",
            "/api/v1/submissions/{sid}/feedback.xlsx"} <= set(spec.json()["paths"])
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(page).status_code == 404


def test_every_answer_has_a_strict_content_security_policy(make, seed):
    client, _ = make()
    for url in ("/sign-in", "/api/v1/whoami", "/openapi.json", "/static/style.css"):
        r = client.get(url, headers=bearer(seed.tokens["moi"]))
        assert "default-src 'self'" in r.headers["content-security-policy"], url
        assert r.headers["x-content-type-options"] == "nosniff"
    css = client.get("/static/style.css").text
    page = client.get("/sign-in").text
    for text in (css, page):
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I)  # nothing from another host
        assert "@import" not in text and "<script" not in text


def test_token_last_use_is_recorded(make, seed):
    client, path = make()
    client.get("/api/v1/whoami", headers=bearer(seed.tokens["jd"]))
    frame = Warehouse(path).tokens()
    row = frame[frame["label"] == "JD statistics unit"].iloc[0]
    assert row["last_used_at"] is not None and row["last_address"] == "testclient"


def test_reviewer_lists_completeness_and_submissions_of_every_agency(make, seed, files):
    client, _ = make()
    upload(client, seed.tokens["moi"], files["good"])
    nsc = bearer(seed.tokens["nsc"])
    summary = client.get("/api/v1/completeness?year=2024", headers=nsc).json()["summary"]
    [fv] = [s for s in summary if s["form"] == "MOI-FV"]
    assert fv["received"] == 1
    listed = client.get("/api/v1/submissions?year=2024&form=moi-fv", headers=nsc).json()["submissions"]
    assert [s["agency"] for s in listed] == ["MOI"]
    assert client.get("/api/v1/submissions?year=2023", headers=nsc).json()["submissions"] == []
    attempts = client.get("/api/v1/attempts", headers=nsc).json()["attempts"]
    assert attempts == []
    body = json.dumps(client.get("/api/v1/calendar?year=2024", headers=nsc).json())
    assert '"agency": "JD"' in body and '"agency": "MOI"' in body


def test_a_request_that_gave_up_does_not_stop_the_intake(seed, files, tmp_path):
    """A client that stops waiting (its future cancelled) leaves the worker going; its file is
    stored all the same, and found again by its hash."""
    import shutil

    from gbvstats.serve.auth import Identity
    from gbvstats.serve.intake import Intake, Job, RefusedFiles, Spooled

    wh = Warehouse(seed.copy_to(tmp_path / "wh"))
    moi = Identity(seed.ids["moi"], "MoI statistics unit", "MOI", "submitter")

    def job(path):
        folder = tmp_path / "spool" / path.stem
        folder.mkdir(parents=True)
        copy = Path(shutil.copy(path, folder / path.name))
        return Job(Spooled(copy, "", copy.stat().st_size), moi, dry=False)

    with wh.held():
        intake = Intake(wh, RefusedFiles(tmp_path / "refused"))
        gone, waiting = job(files["good"]), job(files["q2"])
        gone.future.cancel()
        intake.start()
        intake.put(gone)
        intake.put(waiting)
        receipt, _ = waiting.future.result(timeout=120)
        intake.stop()
    assert receipt.outcome == "accepted"
    assert db(wh.path, "SELECT count(*) FROM submissions") == [(2,)]
