"""`gbvstats publish --audit`, the audit inside `publish`, and the disclosure settings."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from publish_helpers import home_with, make_warehouse

from gbvstats.publish import sdc
from gbvstats.publish.tables import PublishError, publish

ROOT = Path(__file__).resolve().parent.parent
GBVSTATS = str(ROOT / ".venv" / "bin" / "gbvstats")


def run_cli(*args, home: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"GBVSTATS_HOME": str(home), "GBVSTATS_LANG": "en"}
    return subprocess.run([GBVSTATS, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    db, pipes = make_warehouse(tmp)
    return db, home_with(pipes, tmp), tmp


def test_audit_writes_nothing_and_reports_each_table(small):
    db, home, tmp = small
    run = run_cli("publish", "--year", "2024", "--audit", "--warehouse", str(db), "--lang", "en", home=home)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("ind01_family_violence: ") and "0 exact, 0 under-protected" in lines[0]
    assert lines[-1].startswith("2024: no suppressed count can be computed")
    assert not (tmp / "published").exists()
    data = json.loads(run_cli("publish", "--year", "2024", "--audit", "--json", "--warehouse", str(db),
                              home=home).stdout)
    assert data["safe"] and data["year"] == 2024 and data["threshold"] == 4
    assert set(data["tables"]) == {"ind01_family_violence", "ind05_trafficking"}
    cell = data["cells"][0]
    assert set(cell) == {"table", "cell", "value", "lower", "upper", "width", "required_width", "status"}
    assert cell["table"] == "ind01_family_violence" and cell["cell"]["column"] == "victims"
    assert data["tables"]["ind05_trafficking"]["confidential"] == sum(
        c["table"] == "ind05_trafficking" for c in data["cells"])


def test_audit_and_publish_usage_errors(small):
    db, home, tmp = small
    none = run_cli("publish", "--year", "2001", "--audit", "--warehouse", str(db), home=home)
    assert none.returncode == 1 and "2001" in none.stderr
    no_out = run_cli("publish", "--year", "2024", "--warehouse", str(db), home=home)
    assert no_out.returncode == 2 and "--out" in no_out.stderr and "Traceback" not in no_out.stderr
    span = run_cli("publish", "--years", "2024", "--audit", "--warehouse", str(db), home=home)
    assert span.returncode == 0 and "2024: no suppressed count" in span.stdout, span.stderr
    both = run_cli("publish", "--years", "2024,2001", "--audit", "--warehouse", str(db), home=home)
    assert both.returncode == 1 and "2001" in both.stderr and "Traceback" not in both.stderr
    neither = run_cli("publish", "--audit", "--warehouse", str(db), home=home)
    assert neither.returncode == 2 and "--years" in neither.stderr


def test_invalid_settings_stop_publication(small, tmp_path):
    db, home, _ = small
    (home / "schemas").mkdir(exist_ok=True)
    settings = home / "schemas" / "disclosure.yaml"
    shipped = settings.read_text(encoding="utf-8")
    settings.write_text("threshold: 4\nprotection:\n  threshold_multiple: lots\n", encoding="utf-8")
    try:
        for extra in (["--audit"], ["--out", str(tmp_path / "out")]):
            run = run_cli("publish", "--year", "2024", *extra, "--warehouse", str(db), home=home)
            assert run.returncode == 2, run.stderr
            assert "GBV-D005" in run.stderr and str(settings) in run.stderr
            assert "protection.threshold_multiple" in run.stderr and "Traceback" not in run.stderr
        assert not (tmp_path / "out").exists()
        settings.write_text("threshold: 2\n", encoding="utf-8")  # a valid file is used
        data = json.loads(run_cli("publish", "--year", "2024", "--audit", "--json", "--warehouse", str(db),
                                  home=home).stdout)
        assert data["threshold"] == 2 and all(c["value"] <= 2 for c in data["cells"])
    finally:
        settings.write_text(shipped, encoding="utf-8")  # the other tests use the shipped settings


def test_publish_refuses_a_pattern_the_audit_rejects(small, tmp_path, monkeypatch):
    db, home, _ = small
    monkeypatch.setenv("GBVSTATS_HOME", str(home))
    monkeypatch.setattr(sdc, "secondary_lp", lambda model, confidential, *a, **k: set(confidential))
    out = tmp_path / "out"
    with pytest.raises(PublishError) as err:
        publish(db, 2024, out, ("en",), lang="ru")
    assert err.value.code == 1 and not out.exists()
    text = str(err.value)
    assert text.startswith("2024: проверка раскрытия не пройдена")
    assert "GBV-D001" in text and "ind01_family_violence: victims [area=" in text


def test_the_manifest_says_what_was_audited(small, tmp_path, monkeypatch):
    db, home, _ = small
    monkeypatch.setenv("GBVSTATS_HOME", str(home))
    publish(db, 2024, tmp_path / "out", ("en",))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    disclosure = manifest["disclosure"]
    assert disclosure["safe"] and disclosure["required_width"] == {"threshold_multiple": 1.0, "value_percent": 50.0}
    ind05 = disclosure["tables"]["ind05_trafficking"]
    assert ind05["confidential"] > 0 and ind05["exact"] == ind05["under_protected"] == 0
    assert manifest["tables"]["ind05_trafficking"]["suppressed_cells"] == 2 * (ind05["confidential"] + ind05["secondary"])
