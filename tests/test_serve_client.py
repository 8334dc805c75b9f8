"""`gbvstats submit --to URL` and friends against a real `gbvstats serve` process on loopback:
the same receipts, JSON and exit codes as a local submit, the marked workbook saved beside a
file with findings, retries while the server is busy, clear messages for 401/403/413 and an
unreachable server, and no token in the server's log."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openpyxl import load_workbook
from serve_helpers import FV_UNIT, ServerProcess, ThreadServer, returns, run_cli, seed_warehouse
from store_helpers import GBVSTATS

from gbvstats.store.warehouse import Warehouse


@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    return seed_warehouse(tmp_path_factory.mktemp("serve_client_seed"))


@pytest.fixture
def files(tmp_path):
    return returns(tmp_path / "returns")


@pytest.fixture
def server(seed, tmp_path):
    with ThreadServer(seed.copy_to(tmp_path / "wh"), linger=0.2) as running:
        yield running


def test_a_return_sent_refused_corrected_accepted_and_decided(seed, files, tmp_path):
    """The whole story against a real server process, whose log must not hold a token."""
    with ServerProcess(seed.copy_to(tmp_path / "wh")) as server:
        url, moi, nsc = server.url, seed.tokens["moi"], seed.tokens["nsc"]
        code, out, err = run_cli("submit", str(files["bad"]), "--to", url, token=moi)
        assert code == 1, out + err
        assert "rejected — 1 error(s); nothing stored" in out
        assert "T1!C6" in out and "GBV-R001" in out  # the findings, printed
        marked = files["bad"].with_name(files["bad"].stem + ".feedback.xlsx")
        assert marked.is_file() and marked.name in err
        assert "GBV-R001" in load_workbook(marked)["T1"]["C6"].comment.text
        token_file = tmp_path / "moi.token"
        token_file.write_text(moi + "\n")
        token_file.chmod(0o600)
        code, out, err = run_cli("submit", str(files["fixed"]), "--to", url, "--token-file", str(token_file),
                                 "--json", token=None)
        assert code == 0, err
        [receipt] = json.loads(out)
        assert (receipt["outcome"], receipt["revision"], receipt["exit_code"]) == ("accepted", 1, 0)
        assert receipt["file"] == files["fixed"].name
        assert not files["fixed"].with_name(files["fixed"].stem + ".feedback.xlsx").exists()  # no findings
        code, out, _ = run_cli("submit", str(files["fixed"]), "--to", url, token=moi)
        assert code == 0 and f"already received as submission {receipt['submission_id']}" in out
        code, out, err = run_cli("review", str(receipt["submission_id"]), "--return", "--comment",
                                 "Line 03: victims by age do not add up", "--to", url, token=nsc)
        assert code == 0, err
        code, out, _ = run_cli("submit", str(files["good"]), "--to", url, token=moi)
        assert code == 0 and "revision 2" in out and "replaces submission" in out
        sid = receipt["submission_id"] + 1
        assert run_cli("review", str(sid), "--accept", "--to", url, token=nsc)[0] == 0
        code, _, err = run_cli("lock", "--year", "2024", "--agency", "MOI", "--form", "MOI-FV", "--to", url,
                               token=nsc)
        assert code == 0, err
        code, out, _ = run_cli("submit", str(files["q2"]), "--to", url, token=moi, lang="ru")
        assert code == 1 and "закрыт" in out
    wh = Warehouse(server.warehouse)
    history = wh.history("MOI-FV", FV_UNIT, "2024-Q1")
    assert list(history["review"]) == ["returned", "accepted"]
    events = [tuple(r) for r in wh.query(
        "SELECT event, agency, actor FROM audit_log WHERE event NOT LIKE 'token%' ORDER BY event_id"
    ).itertuples(index=False)]
    assert events == [("rejected", "MOI", "MoI statistics unit"), ("accepted", "MOI", "MoI statistics unit"),
                      ("reviewed", "NSC", "NSC consolidation team"), ("accepted", "MOI", "MoI statistics unit"),
                      ("reviewed", "NSC", "NSC consolidation team"), ("locked", "NSC", "NSC consolidation team"),
                      ("refused_locked", "MOI", "MoI statistics unit")]
    log = server.log()
    assert "POST /api/v1/submissions" in log
    for token in seed.tokens.values():
        assert token not in log and token[13:] not in log  # never logged (the secret after gbv_<key>_)


def test_remote_receipts_are_the_local_ones(server, seed, files, tmp_path):
    both = (str(files["good"]), str(files["jd"]))
    code, out, _ = run_cli("submit", *both, "--agency", "MOI", "--json", "--warehouse", str(tmp_path / "l.duckdb"))
    rcode, rout, _ = run_cli("submit", *both, "--to", server.url, "--json", token=seed.tokens["moi"])
    assert (code, rcode) == (1, 1)
    mine, theirs = json.loads(out), json.loads(rout)
    assert [r["outcome"] for r in mine] == [r["outcome"] for r in theirs] == ["accepted", "refused_agency"]
    for a, b in zip(mine, theirs, strict=True):
        assert set(a) == set(b)
        for key in ("file", "sha256", "form", "unit", "period", "revision", "exit_code", "counts"):
            assert a[key] == b[key], key
        assert [f["code"] for f in a["findings"]] == [f["code"] for f in b["findings"]]


def test_validate_to_checks_without_storing(server, seed, files, tmp_path):
    code, out, err = run_cli("validate", str(files["bad"]), "--to", server.url, "--feedback",
                             str(tmp_path / "fb.xlsx"), token=seed.tokens["moi"], lang="ky")
    assert code == 1, err
    assert "T1!C6" in out and "ката" in out
    assert load_workbook(tmp_path / "fb.xlsx")["T1"]["C6"].comment is not None
    code, out, _ = run_cli("validate", str(files["good"]), "--to", server.url, "--json", token=seed.tokens["moi"])
    assert code == 0 and json.loads(out)[0]["verdict"] == "ok"
    code, _, _ = run_cli("validate", str(tmp_path / "nope.xlsx"), "--to", server.url, token=seed.tokens["moi"])
    assert code == 2
    assert Warehouse(server.warehouse).query("SELECT count(*) AS n FROM submissions")["n"][0] == 0


def test_clear_messages_for_401_403_and_a_wrong_agency(server, seed, files, tmp_path):
    good, url = str(files["good"]), server.url
    code, _, err = run_cli("submit", good, "--to", url, token="gbv_0123abcd_" + "C" * 43)
    assert code == 2 and "GBV-A002" in err and "not recognised" in err
    code, _, err = run_cli("submit", good, "--to", url, token=seed.tokens["gone"], lang="ru")
    assert code == 2 and "токен не распознан" in err
    code, _, err = run_cli("submit", good, "--to", url, token=seed.tokens["nsc"])
    assert code == 2 and "GBV-A003" in err and "not sent (1)" in err
    code, out, _ = run_cli("submit", good, "--to", url, token=seed.tokens["jd"])
    assert code == 1 and "belongs to another agency" in out
    code, _, err = run_cli("submit", good, "--agency", "MOI", "--to", url, token=seed.tokens["jd"])
    assert code == 2 and "the token belongs to JD" in err
    code, _, err = run_cli("submit", good, "--to", url)
    assert code == 2 and "GBV-A032" in err
    bad_file = tmp_path / "token.txt"
    bad_file.write_text("password123")
    code, _, err = run_cli("submit", good, "--to", url, "--token-file", str(bad_file))
    assert code == 2 and "GBV-A033" in err
    code, _, err = run_cli("submit", good, "--to", url, "--warehouse", "x.duckdb", token=seed.tokens["moi"])
    assert code == 2


def test_a_declared_date_of_receipt_is_for_local_loads_only(files):
    code, _, err = run_cli("submit", str(files["good"]), "--to", "http://127.0.0.1:9", "--received-on",
                           "2025-01-20", token="gbv_0123abcd_" + "D" * 43)
    assert code == 2 and "--received-on is for loading earlier years' returns" in err
    assert "cannot reach" not in err  # refused before any connection


def test_a_file_over_the_servers_limit_is_refused_with_413s_message(seed, files, tmp_path):
    with ThreadServer(seed.copy_to(tmp_path / "wh"), max_file_bytes=5 * 1024) as server:
        code, out, _ = run_cli("submit", str(files["good"]), "--to", server.url, token=seed.tokens["moi"])
        assert code == 2 and "larger than the server accepts (5 KB)" in out
        assert "POST /api/v1/submissions" not in server.log.getvalue()  # refused before sending


class _SmallProxy(BaseHTTPRequestHandler):
    """A reverse proxy with a small body limit (nginx's client_max_body_size): it answers
    whoami like the server behind it, and every upload with its own 413 page."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = json.dumps({"identity": {"label": "MoI statistics unit", "agency": "MOI", "role": "submitter"},
                           "server": {"version": "x", "max_file_bytes": 20 * 1024 * 1024, "actions": ["submit"]}})
        self._answer(200, "application/json", body)

    def do_POST(self):  # noqa: N802
        self._answer(413, "text/html", "<html><body><h1>413 Request Entity Too Large</h1>nginx</body></html>")

    def _answer(self, status: int, media: str, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_a_proxys_own_413_page_is_said_so_and_the_next_file_is_still_sent(files):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _SmallProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}"
        code, _, err = run_cli("submit", str(files["good"]), str(files["q2"]), "--to", url,
                               token="gbv_0123abcd_" + "E" * 43)
        assert code == 2
        assert err.count("GBV-A037") == 2  # each file tried: a smaller one might pass
        assert f"{files['good'].name} (" in err and "before it reached gbvstats serve" in err
        code, _, err = run_cli("submit", str(files["good"]), "--to", url, token="gbv_0123abcd_" + "E" * 43,
                               lang="ky")
        assert code == 2 and "проксинин чегин" in err
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_an_unreachable_server_is_said_so(files):
    code, _, err = run_cli("submit", str(files["good"]), "--to", "http://127.0.0.1:9",
                           token="gbv_0123abcd_" + "D" * 43)
    assert code == 2
    assert "GBV-A030" in err and "cannot reach the server http://127.0.0.1:9" in err


def test_the_client_retries_while_the_server_is_busy(seed, files, tmp_path):
    warehouse = seed.copy_to(tmp_path / "wh")
    with ThreadServer(warehouse, lock_timeout=0.3, linger=0.05) as server:
        holding = threading.Event()

        def hold_the_lock() -> None:  # a local load holding the writer lock until a 503 went out
            with open(warehouse.with_name(warehouse.name + ".lock"), "a+") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                holding.set()
                deadline = time.monotonic() + 60
                while " 503" not in server.log.getvalue() and time.monotonic() < deadline:
                    time.sleep(0.05)

        time.sleep(0.5)  # the server has let go of the lock since it started
        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        holding.wait(10)
        code, out, err = run_cli("submit", str(files["good"]), "--to", server.url, token=seed.tokens["moi"])
        holder.join()
        assert code == 0, out + err
        assert "the server is busy; trying again" in err
        assert "accepted as submission 1" in out
        assert " 503" in server.log.getvalue()


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl is needed to make a test certificate")
def test_served_over_https_with_uvicorns_certificate_options(seed, files, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                           "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                           "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, check=False)
    assert made.returncode == 0, made.stderr
    with ServerProcess(seed.copy_to(tmp_path / "wh"), "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        code, out, err = run_cli("submit", str(files["good"]), "--to", server.url, token=seed.tokens["moi"],
                                 env={"SSL_CERT_FILE": str(cert)})
        assert code == 0 and "accepted as submission 1" in out, out + err
        code, _, err = run_cli("ping", "--to", server.url)  # the certificate is not trusted here
        assert code == 2 and "GBV-A030" in err and "CERTIFICATE_VERIFY_FAILED" in err


def test_one_server_per_warehouse(seed, tmp_path):
    with ServerProcess(seed.copy_to(tmp_path / "wh")) as first:
        second = subprocess.run([GBVSTATS, "serve", "--port", "0", "--warehouse", str(first.warehouse)],
                                capture_output=True, text=True, timeout=120, check=False,
                                env={**os.environ, "GBVSTATS_LANG": "en"})
        assert second.returncode == 2
        assert "another gbvstats serve is already running" in second.stderr
        assert "Traceback" not in second.stderr
        assert run_cli("ping", "--to", first.url)[0] == 0  # the first one is untouched
