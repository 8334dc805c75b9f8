"""The warm validation path gives exactly what a cold evaluation gives.

`validate_files` keeps, for the life of the process, each form version's compiled rules
and their `rule_meta` / `rule_items` as Arrow tables, one DuckDB connection, and runs a
few returns' rule query on one thread (what makes one upload to the server cheap). The
reference here does everything afresh for each file: rules compiled again, the generic
`evaluate` on a new DuckDB connection over pandas frames, as `check_groups` did before.
Findings (code, severity, sheet, cell, cells, rule, params, messages) and the rule result
rows must be the same, one file at a time, again when warm, and in one batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from messy_helpers import edit, good_file, setter, truncated
from rules_helpers import CLEAN_FV2, cells_frame, rule, with_rules
from templates_helpers import distinct_values, filled_file

from gbvstats.check import rules as engine
from gbvstats.check.validate import REFUSED_VALUES, ValidationReport, period_open, validate_files
from gbvstats.collect.reader import read_workbook, type_results
from gbvstats.schema.model import Registry

TALAS = "41707000000000"


def cold(path: Path, reg: Registry) -> ValidationReport:
    """One file validated with nothing reused from an earlier call."""
    import duckdb

    report = ValidationReport(**read_workbook(path, reg, typed=False).__dict__)
    period_open(report, datetime.now(UTC).replace(tzinfo=None))
    type_results([report])
    form = report.form
    if form is None or report.cells is None or not len(report.cells):
        return report
    compiled = engine.compile_rules([r for r in form.rules if r.kind in engine.INTRA_KINDS],
                                    lambda code: form)
    for item in compiled.items:
        item["form"] = form.key
    scopes = pd.DataFrame({"scope_id": ["0"], "form": [form.key]})
    cells = engine._scoped_cells(form, [("0", report.cells, path.name)])
    con = duckdb.connect()
    try:
        results = engine.evaluate(con, compiled, scopes, cells)
    finally:
        con.close()
    refused = {f"{f.sheet}!{f.cell}" for f in report.findings if f.code in REFUSED_VALUES}
    engine._mark_refused(results, {"0": refused})
    report.rule_results = results.reset_index(drop=True)
    report.findings.extend(engine.findings_from_results(
        results, {r.id: r for r in form.rules}, path.name))
    return report


def same(warm: ValidationReport, ref: ValidationReport, batch: bool = False) -> None:
    """The same verdict, findings in every language and rule result rows; in a batch a
    text column's dtype follows the whole batch (a column blank in one file's rows is a
    string column when another file has text there), so only the values are compared."""
    assert warm.verdict == ref.verdict, warm.path
    for lang in ("en", "ru", "ky"):
        assert [f.to_dict(lang) for f in warm.findings] == [f.to_dict(lang) for f in ref.findings], warm.path
    if ref.rule_results is None:
        assert warm.rule_results is None, warm.path
    else:
        # the scope is the file's position in its call: the cold one has one file
        got = warm.rule_results.reset_index(drop=True).drop(columns="scope_id")
        want = ref.rule_results.drop(columns="scope_id")
        if batch:
            got, want = _values(got), _values(want)
        pd.testing.assert_frame_equal(got, want)


def _values(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(object)
    return frame.where(frame.notna(), None)


def compare(paths: list[Path], reg: Registry) -> dict[str, int]:
    """Every file checked cold, warm alone (twice, other forms in between) and in one
    batch; returns how many findings of each severity the corpus gave (so a test can
    see that the corpus has errors and warnings at all)."""
    refs = [cold(p, reg) for p in paths]
    for _ in range(2):
        for path, ref in zip(paths, refs, strict=True):
            same(validate_files([path], reg)[0], ref)
    for warm, ref in zip(validate_files(paths, reg), refs, strict=True):
        same(warm, ref, batch=True)
    counts = {"error": 0, "warning": 0, "info": 0, "rule_findings": 0}
    for ref in refs:
        for key, n in ref.counts().items():
            counts[key] += n
        counts["rule_findings"] += sum(1 for f in ref.findings if f.rule_id)
    return counts


@pytest.fixture(scope="module")
def corpus(registry: Registry, tmp_path_factory) -> list[Path]:
    """A year of one oblast's demo returns of every agency with the generator's planted
    defects, a return of every form version filled with distinct values, and MOI-FV v2 returns damaged by hand:
    a rule broken, refused cells (negative, text, decimal) in and out of rules, an extra
    sheet, a blank required cell, a truncated file."""
    from gbvstats.demo.generate import generate

    root = tmp_path_factory.mktemp("warm")
    entries = generate([2024], root / "demo", 7, registry, oblasts=[TALAS], workers=1)
    paths = [root / "demo" / e.file for e in entries if (root / "demo" / e.file).exists()]
    for form in registry.versions():
        # distinct values: every form version's rules evaluated, many of them failing
        paths.append(filled_file(form, root / f"{form.form}-v{form.version}.xlsx", distinct_values(form)))
    good = good_file(registry.get("MOI-FV", 2), root / "fv2.xlsx")
    damaged = {"rule": setter("T1", C6=70), "negative": setter("T5", D9=-2),
               "text_total": setter("T1", C6="many"), "decimal_part": setter("T1", C7=2.5),
               "blank": setter("T1", C7=None),
               "extra_sheet": lambda wb: wb.create_sheet("Notes").cell(1, 1, "x")}
    for name, change in damaged.items():
        paths.append(edit(good, root / f"{name}.xlsx", change))
    paths.append(truncated(good, root / "truncated.xlsx"))
    return paths


def test_warm_path_gives_the_cold_findings(corpus: list[Path], registry: Registry) -> None:
    counts = compare(corpus, registry)
    # the corpus exercises failing rules, refused cells and warnings, not only clean returns
    assert counts["error"] > 0 and counts["warning"] > 0 and counts["rule_findings"] > 0, counts


def test_cache_follows_the_schema_content_not_its_key(registry: Registry) -> None:
    """Two versions of MOI-FV v2 with the same key but other rules, checked one after the
    other in one process, each get their own rules' results."""
    form = registry.get("MOI-FV", 2)
    cells = cells_frame(form, {**CLEAN_FV2, ("T1", "01", 1): 22})
    strict = with_rules(form, [rule("W-1", "balance", expr="T1/01/1 = T1/02..06/1")])
    loose = with_rules(form, [rule("W-2", "inequality", expr="T1/01/1 >= T1/02..06/1")])
    for _ in range(2):
        for version, status in ((strict, "fail"), (loose, "pass"), (form, None)):
            results, _ = engine.check_submission(version, cells)
            if status:
                assert results["status"].tolist() == [status]
            else:
                assert "W-1" not in set(results["rule_id"]) and "W-2" not in set(results["rule_id"])


@pytest.mark.slow
def test_warm_path_gives_the_cold_findings_for_a_whole_year(registry: Registry, tmp_path: Path) -> None:
    """Every return of a whole demo year (every oblast, every agency, planted defects)."""
    from gbvstats.demo.generate import generate

    entries = generate([2024], tmp_path / "demo", 2018, registry)
    paths = [tmp_path / "demo" / e.file for e in entries if (tmp_path / "demo" / e.file).exists()]
    counts = compare(paths, registry)
    assert counts["error"] > 0 and counts["rule_findings"] > 0, counts


def test_threads_validating_at_once_get_their_own_results(corpus: list[Path], registry: Registry) -> None:
    """The server validates in its own thread while another (a rebuild, a second server
    thread) may validate too: each thread's query sees only its own cells."""
    from concurrent.futures import ThreadPoolExecutor

    paths = corpus[:: max(1, len(corpus) // 24)]
    refs = {p: cold(p, registry) for p in paths}
    with ThreadPoolExecutor(4) as pool:
        for _ in range(2):
            warm = list(pool.map(lambda p: validate_files([p], registry)[0], paths))
            for report in warm:
                same(report, refs[report.path])
