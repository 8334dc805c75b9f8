"""The web page through FastAPI's TestClient: sessions and their cookie, CSRF, scoping,
escaping of everything a user wrote, languages. (The browser test drives the same pages in
chromium; these run everywhere.)"""

from __future__ import annotations

import re

import pytest
from serve_helpers import https_client, returns, seed_warehouse

from gbvstats.serve.app import ServeConfig, create_app
from gbvstats.store.warehouse import Warehouse


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return returns(tmp_path_factory.mktemp("serve_pages_returns"))


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return seed_warehouse(tmp_path_factory.mktemp("serve_pages_seed"))


@pytest.fixture
def site(seed, tmp_path):
    path = seed.copy_to(tmp_path / "wh")
    with https_client(create_app(ServeConfig(path, linger=0.2))) as client:
        yield client, path


def csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def sign_in(client, token: str) -> str:
    """Sign in; the CSRF token of the signed-in pages."""
    client.cookies.clear()
    pre = csrf(client.get("/sign-in").text)
    r = client.post("/sign-in", data={"token": token, "csrf": pre}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/home", r.text
    return csrf(client.get("/home?year=2024").text)


def test_signing_in_makes_a_strict_httponly_session(site, seed):
    client, _ = site
    assert client.get("/home", follow_redirects=False).headers["location"] == "/sign-in"
    pre = csrf(client.get("/sign-in").text)
    forged = client.post("/sign-in", data={"token": seed.tokens["moi"], "csrf": "forged"})
    assert forged.status_code == 403 and "GBV-A008" in forged.text
    wrong = client.post("/sign-in", data={"token": "gbv_0123abcd_" + "F" * 43, "csrf": pre})
    assert wrong.status_code == 401 and "not recognised" in wrong.text and "set-cookie" not in {
        k.lower() for k in wrong.headers if "gbvstats_session" in wrong.headers.get(k, "")}
    r = client.post("/sign-in", data={"token": seed.tokens["moi"], "csrf": pre}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "gbvstats_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" in cookie
    assert seed.tokens["moi"] not in cookie


def test_posts_need_the_sessions_csrf_token(site, seed, files):
    client, path = site
    token = sign_in(client, seed.tokens["moi"])
    with open(files["good"], "rb") as fh:
        r = client.post("/upload", data={"csrf": "nope", "action": "send"}, files={"file": ("a.xlsx", fh)})
    assert r.status_code == 403 and "GBV-A008" in r.text
    r = client.post("/sign-out", data={"csrf": token}, follow_redirects=False)
    assert r.headers["location"] == "/sign-in?out=1"
    r = client.post("/sign-out", data={"csrf": token})
    assert r.status_code == 401 and "/sign-in" in r.text  # the session is gone
    assert Warehouse(path).query("SELECT count(*) AS n FROM submissions")["n"][0] == 0


def test_a_revoked_token_ends_its_session(site, seed):
    client, path = site
    sign_in(client, seed.tokens["jd"])
    assert client.get("/home?year=2024").status_code == 200
    Warehouse(path).revoke_token("JD statistics unit", by="admin")  # while the server runs
    assert client.get("/home?year=2024", follow_redirects=False).headers["location"] == "/sign-in"


def test_check_only_shows_the_cells_and_stores_nothing(site, seed, files):
    client, path = site
    token = sign_in(client, seed.tokens["moi"])
    with open(files["bad"], "rb") as fh:
        r = client.post("/upload?lang=ru", data={"csrf": token, "action": "check"},
                        files={"file": (files["bad"].name, fh)})
    assert r.status_code == 200
    assert "Ошибок: 1" in r.text and '<td class="cell">T1!C6<br>' in r.text
    assert Warehouse(path).query("SELECT count(*) AS n FROM audit_log WHERE event = 'rejected'")["n"][0] == 0


def test_everything_a_user_wrote_stays_text(site, seed, files):
    client, path = site
    token = sign_in(client, seed.tokens["moi"])
    evil = "<img src=x onerror=alert(1)> Tom & Jerry's отчёт.xlsx"
    with open(files["bad"], "rb") as fh:
        r = client.post("/upload", data={"csrf": token, "action": "send"}, files={"file": (evil, fh)})
    assert r.status_code == 200 and "/attempts/" in str(r.url)
    assert "<img" not in r.text  # < > are not kept in a file name, & and ' are, escaped
    assert "_img src=x onerror=alert(1)_ Tom &amp; Jerry&#39;s отчёт.xlsx" in r.text
    with open(files["good"], "rb") as fh:  # a name with directories keeps its base name only
        r = client.post("/upload", data={"csrf": token, "action": "send"},
                        files={"file": ("../../etc/moi.xlsx", fh)})
    sid = int(re.search(r"/submissions/(\d+)", str(r.url))[1])
    assert Warehouse(path).query("SELECT file_name FROM submissions")["file_name"].tolist() == ["moi.xlsx"]
    nsc = sign_in(client, seed.tokens["nsc"])
    note = '</textarea><script>alert("x")</script> строка 03'
    r = client.post(f"/submissions/{sid}/review", data={"csrf": nsc, "decision": "returned", "comment": note})
    assert r.status_code == 200
    assert "<script>" not in r.text and "&lt;/textarea&gt;&lt;script&gt;" in r.text
    sign_in(client, seed.tokens["moi"])
    calendar = client.get("/home?year=2024").text
    assert "<script>" not in calendar and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; строка 03" in calendar


def test_agencies_see_only_their_own_and_reviewers_act(site, seed, files):
    client, _ = site
    token = sign_in(client, seed.tokens["moi"])
    with open(files["good"], "rb") as fh:
        r = client.post("/upload", data={"csrf": token, "action": "send"}, files={"file": ("moi.xlsx", fh)})
    sid = int(re.search(r"/submissions/(\d+)", str(r.url))[1])
    r = client.post("/locks", data={"csrf": token, "year": 2024, "agency": "MOI", "form": "MOI-FV",
                                    "action": "lock"})
    assert r.status_code == 403 and "GBV-A003" in r.text
    assert 'action="/submissions/' not in client.get(f"/submissions/{sid}").text  # no decision form
    sign_in(client, seed.tokens["jd"])
    r = client.get(f"/submissions/{sid}?lang=ky")
    assert r.status_code == 403 and "GBV-A004" in r.text and 'lang="ky"' in r.text
    assert client.get(f"/submissions/{sid}/feedback.xlsx").status_code == 403
    assert client.get("/submissions/999").status_code == 404
    nsc = sign_in(client, seed.tokens["nsc"])
    home = client.get("/home?year=2024").text
    assert f'href="/submissions/{sid}"' in home  # awaiting a decision
    one = client.get("/home?year=2024&agency=moi&lang=ky")
    assert one.status_code == 200 and "2024 отчёттуулук календары: MOI" in one.text
    assert "<th scope=\"col\">Күтүлөт</th>" in one.text  # completeness headers in Kyrgyz
    client.get("/home?lang=en")  # back to English for what follows
    r = client.post("/locks", data={"csrf": nsc, "year": 2024, "agency": "MOI", "form": "MOI-FV",
                                    "action": "lock", "comment": "final"})
    assert r.status_code == 200 and "MOI-FV (MOI) 2024: locked." in r.text
    page = client.get(f"/submissions/{sid}").text
    assert "decisions cannot change until it is unlocked" in page
    r = client.post(f"/submissions/{sid}/review", data={"csrf": nsc, "decision": "accepted"})
    assert r.status_code == 409 and "is locked" in r.text


def test_the_language_is_asked_then_remembered(site, seed):
    client, _ = site
    r = client.get("/sign-in?lang=ky")
    assert 'lang="ky"' in r.text and "Кирүү" in r.text
    assert "gbvstats_lang=ky" in r.headers["set-cookie"]
    assert 'lang="ky"' in client.get("/sign-in").text
    client.cookies.clear()
    assert 'lang="ru"' in client.get("/sign-in", headers={"Accept-Language": "ru-RU,ru"}).text
