"""Outlier rules in every direction, on small synthetic `series_facts`:
- history: this year against last year times the change common to all units;
- within_year: a unit's quarter against its own other quarters of the same year;
- cross_section: a unit's rate per 100,000 against its peers in the same quarter.
All score on the square-root scale (a count's own noise) plus the spread between units,
with a minimum base so small counts never alarm."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from gbvstats.consolidate import outliers
from gbvstats.consolidate.reconcile import _history, reconcile
from gbvstats.schema.model import ControlRule as Rule

MSG = {"en": "x", "ru": "x", "ky": "x"}
RULE = Rule(id="OUT-T", kind="history", severity="warning", cells="MOI-FV:T1/01/1",
            z_threshold=5, min_base=20, message=MSG)
TALAS = "41707000000000"
# oblast-level units (SOATE) with their population
OBLASTS = {"41702000000000": 530_000, "41703000000000": 1_300_000, "41704000000000": 300_000,
           "41705000000000": 570_000, "41706000000000": 1_360_000, TALAS: 270_000,
           "41708000000000": 930_000, "41711000000000": 1_280_000, "41721000000000": 460_000}
SEASON = (0.22, 0.25, 0.28, 0.25)


def connection(rows: list[dict]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    frame = pd.DataFrame(rows)
    con.register("facts_df", frame)
    con.execute("CREATE VIEW series_facts AS SELECT * FROM facts_df")
    return con


def fact(form, tbl, line, col, element, unit, period, value):
    return {"form": form, "tbl": tbl, "line": line, "col": col, "element": element,
            "unit": unit, "period": period, "year": int(period[:4]), "value": value,
            "addr": f"{tbl}!C6@{unit}@{period}"}


# --- history ---------------------------------------------------------------------------


def yearly(values: dict[str, tuple[int, int]]) -> duckdb.DuckDBPyConnection:
    """Per unit, MOI-FV reports for 2023 and 2024."""
    return connection([fact("MOI-FV", "T1", "01", 1, "fv_reports", unit, str(year), value)
                       for unit, (before, now) in values.items()
                       for year, value in ((2023, before), (2024, now))])


STEADY = {f"U{i:02d}": (100 + 7 * i, int((100 + 7 * i) * (1.05 + 0.03 * (i % 4)))) for i in range(12)}


def statuses(con, rule=RULE) -> dict[str, str]:
    out = _history(con, rule, 2024)
    return dict(zip(out["scope_id"].str.split("|").str[0], out["status"], strict=True))


def test_history_steady_units_pass():
    assert set(statuses(yearly(STEADY)).values()) == {"pass"}


def test_history_a_unit_reporting_ten_times_more_is_flagged():
    result = _history(yearly({**STEADY, "JUMP": (100, 1000)}), RULE, 2024)
    row = result[result.scope_id == "JUMP|2024"].iloc[0]
    assert row.status == "fail"
    assert (row.left_value, row.right_value, row.imbalance) == (1000, 100, 900)
    assert "z = " in row.reason and row.cells == ["T1!C6@JUMP@2024"] and row.z > 5
    assert set(result[result.scope_id != "JUMP|2024"].status) == {"pass"}


@pytest.mark.parametrize("before,now,expected", [(30, 99, "pass"), (30, 100, "fail")])
def test_history_minimum_base_keeps_small_counts_quiet(before, now, expected):
    # under the base on both sides: never an alarm, however large the relative change
    rule = RULE.model_copy(update={"min_base": 100})
    assert statuses(yearly({**STEADY, "SMALL": (before, now)}), rule)["SMALL"] == expected


def test_history_counting_noise_of_small_counts_is_not_an_outlier():
    # 12 -> 25 doubles, but a count of 12 varies by about sqrt(12) on its own
    assert statuses(yearly({**STEADY, "NOISY": (12, 25)}))["NOISY"] == "pass"


def test_history_units_moving_alike_all_pass_and_too_few_are_not_evaluable():
    flat = {f"U{i}": (50, 50) for i in range(5)}
    assert set(statuses(yearly(flat)).values()) == {"pass"}
    rule = RULE.model_copy(update={"min_peers": 6})
    assert set(statuses(yearly(flat), rule).values()) == {"not_evaluable"}


# --- within the year -------------------------------------------------------------------


def quarterly(levels: dict[str, int], override: dict[tuple[str, int], int] | None = None,
              year: int = 2024) -> duckdb.DuckDBPyConnection:
    """Per unit, four quarters following the shared season, with some noise."""
    rows = []
    for n, (unit, level) in enumerate(levels.items()):
        for q, share in enumerate(SEASON, start=1):
            value = round(level * 4 * share * (1 + 0.06 * ((n + q) % 3 - 1)))
            value = (override or {}).get((unit, q), value)
            rows.append(fact("MOI-FV", "T1", "01", 1, "fv_reports", unit, f"{year}-Q{q}", value))
    return connection(rows)


DISTRICTS = {f"4170{i:02d}000000{j:02d}": 15 + 9 * i + 4 * j for i in range(6) for j in range(4)}
WITHIN = Rule(id="OUT-W", kind="within_year", severity="warning", cells="MOI-FV:T1/01/1",
              z_threshold=5, min_base=20, message=MSG)


def within(con, registry, rule=WITHIN, year=2024) -> pd.DataFrame:
    return outliers.within_year(con, rule, registry, year)


def test_within_year_seasonal_quarters_pass(registry):
    result = within(quarterly(DISTRICTS), registry)
    assert len(result) == 4 * len(DISTRICTS)
    assert set(result.status) == {"pass"}, result[result.status != "pass"].reason.tolist()


def test_within_year_a_return_in_the_wrong_unit_is_flagged_in_the_first_year(registry):
    unit = next(iter(DISTRICTS))
    normal = round(DISTRICTS[unit] * 4 * SEASON[1])
    result = within(quarterly(DISTRICTS, {(unit, 2): normal * 10}), registry)
    failed = result[result.status == "fail"]
    assert failed.scope_id.tolist() == [f"{unit}|2024-Q2"]
    row = failed.iloc[0]
    assert row.kind == "within_year" and row.left_value == normal * 10
    assert abs(row.right_value - normal) <= 0.2 * normal  # the unit's usual level
    assert "other periods of 2024" in row.reason and row.z > 5


def test_within_year_small_counts_never_alarm(registry):
    units = {**DISTRICTS, "41709900000001": 1}
    result = within(quarterly(units, {("41709900000001", 3): 15}), registry)
    assert set(result[result.scope_id.str.startswith("41709900000001")].status) == {"pass"}


def test_within_year_needs_other_periods(registry):
    rows = [fact("MOI-FV", "T1", "01", 1, "fv_reports", "U1", "2024-Q1", 500),
            fact("MOI-FV", "T1", "01", 1, "fv_reports", "U1", "2024-Q2", 50)]
    result = within(connection(rows), registry)
    assert set(result.status) == {"not_evaluable"}
    assert "other periods reported: 1" in result.reason.iloc[0]


def test_within_year_a_single_unit_is_still_checked(registry):
    # no seasonal factor from one unit: its own outlier must not become the "season"
    result = within(quarterly({TALAS: 10}, {(TALAS, 2): 100}), registry)
    assert result.set_index("scope_id").status[f"{TALAS}|2024-Q2"] == "fail"


# --- across units ----------------------------------------------------------------------


CROSS = Rule(id="OUT-C", kind="cross_section", severity="warning", cells="MOI-FV:T1/01/1",
             denominator="NSC-POP:T1/01/1", z_threshold=5, min_base=20, min_peers=5, message=MSG)


def cross_rows(rates: dict[str, float], year: int = 2024, district: bool = False) -> list[dict]:
    """Quarterly counts at the given rate per 100,000 per quarter, and the population."""
    rows = []
    for n, (oblast, pop) in enumerate(OBLASTS.items()):
        rows.append(fact("NSC-POP", "T1", "01", 1, "pop", oblast, str(year), pop))
        for q in range(1, 5):
            count = round(pop * rates.get(oblast, 30) / 1e5 * (1 + 0.05 * ((n + q) % 3 - 1)))
            if district and DISTRICT_OF[oblast]:  # the oblast's count in two district returns
                half = count // 2
                for k, part in enumerate((half, count - half), start=1):
                    rows.append(fact("MOI-FV", "T1", "01", 1, "fv_reports",
                                     DISTRICT_OF[oblast][k - 1], f"{year}-Q{q}", part))
            else:
                rows.append(fact("MOI-FV", "T1", "01", 1, "fv_reports", oblast, f"{year}-Q{q}", count))
    return rows


DISTRICT_OF: dict[str, list[str]] = {}  # two district-level units of each oblast


@pytest.fixture(scope="module", autouse=True)
def districts(registry):
    for oblast in OBLASTS:
        # (Osh city reports as one unit: it has no districts)
        DISTRICT_OF[oblast] = [u.code for u in registry.units("district")
                               if registry.oblast_of(u.code) == oblast and u.code != oblast][:2]


def cross(rows, registry, rule=CROSS) -> pd.DataFrame:
    return outliers.cross_section(connection(rows), rule, registry, 2024)


REGIONAL = dict(zip(OBLASTS, (30, 24, 33, 21, 22, 30, 36, 40, 33), strict=True))


def test_cross_section_regional_differences_pass(registry):
    result = cross(cross_rows(REGIONAL), registry)
    assert len(result) == 4 * len(OBLASTS) and set(result.status) == {"pass"}


def test_cross_section_a_unit_ten_times_its_peers_is_flagged(registry):
    rows = cross_rows(REGIONAL)
    for r in rows:
        if r["unit"] == TALAS and r["period"] == "2024-Q3" and r["form"] == "MOI-FV":
            r["value"] *= 10
    result = cross(rows, registry)
    failed = result[result.status == "fail"]
    assert failed.scope_id.tolist() == [f"{TALAS}|2024-Q3"]
    assert "per 100,000" in failed.reason.iloc[0] and "national median" in failed.reason.iloc[0]


def test_cross_section_sums_district_returns_to_the_population_level(registry):
    result = cross(cross_rows(REGIONAL, district=True), registry)
    assert set(result.scope_id.str.split("|").str[0]) == set(OBLASTS)  # rates of oblasts
    assert "sum of 2 returns" in result.set_index("scope_id").reason[f"{TALAS}|2024-Q1"]


def test_cross_section_without_population_or_peers_is_not_evaluable(registry):
    rows = [r for r in cross_rows(REGIONAL) if not (r["form"] == "NSC-POP" and r["unit"] == TALAS)]
    result = cross(rows, registry).set_index("scope_id")
    assert result.status[f"{TALAS}|2024-Q1"] == "not_evaluable"
    assert "no population" in result.reason[f"{TALAS}|2024-Q1"]
    few = [r for r in cross_rows(REGIONAL) if r["unit"] in list(OBLASTS)[:3]]
    assert set(cross(few, registry).status) == {"not_evaluable"}


def test_outlier_rules_run_in_reconcile_with_their_catalogue_codes(registry):
    """reconcile() evaluates every outlier kind and stores its score; a broken rule is an
    error row, never a silent skip."""
    from gbvstats.check.rules import FAIL_CODE

    assert (FAIL_CODE["within_year"], FAIL_CODE["cross_section"]) == ("GBV-R011", "GBV-R012")
    con = quarterly(DISTRICTS)
    con.execute("CREATE VIEW series_cells AS SELECT form, unit, period, year, tbl, line, col, "
                "value, addr FROM facts_df")
    con.execute("CREATE TABLE rule_results (run_id INTEGER, year INTEGER, scope_id VARCHAR, "
                "rule_id VARCHAR, kind VARCHAR, severity VARCHAR, status VARCHAR, reason VARCHAR, "
                "item_label VARCHAR, left_value HUGEINT, right_value HUGEINT, imbalance HUGEINT, "
                "tolerance DOUBLE, cells VARCHAR[], agencies VARCHAR, score DOUBLE)")
    con.execute("CREATE TABLE rule_agencies (rule_id VARCHAR, agency VARCHAR)")
    broken = Rule(id="OUT-B", kind="within_year", severity="warning", cells="MOI-FV:T9/01/1",
                  message=MSG)
    out = reconcile(con, registry, 2024, 1, [WITHIN, broken])
    stored = con.execute("SELECT rule_id, status, count(*), count(score) FROM rule_results "
                         "GROUP BY ALL ORDER BY 1").fetchall()
    assert stored == [("OUT-B", "error", 1, 0), ("OUT-W", "pass", 96, 96)]
    assert "T9" in out[out.rule_id == "OUT-B"].reason.iloc[0]
