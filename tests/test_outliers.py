"""History/outlier rules: year-on-year change per unit, modified z-score on the median
absolute deviation across units, with a minimum base so small counts never alarm."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from gbvstats.consolidate.reconcile import _history
from gbvstats.schema.model import Rule

RULE = Rule(id="OUT-T", kind="history", severity="warning", cells="MOI-FV:T1/01/1",
            z_threshold=3.5, min_base=20, message={"en": "x", "ru": "x", "ky": "x"})


def series(values: dict[str, tuple[int, int]]) -> duckdb.DuckDBPyConnection:
    """A `series_facts` view holding, per unit, reports for 2023 and 2024."""
    rows = []
    for unit, (before, now) in values.items():
        for year, value in ((2023, before), (2024, now)):
            rows.append({"form": "MOI-FV", "tbl": "T1", "line": "01", "col": 1,
                         "element": "fv_reports", "unit": unit, "year": year, "value": value,
                         "addr": f"T1!C6@{unit}"})
    con = duckdb.connect()
    con.register("facts_df", pd.DataFrame(rows))
    con.execute("CREATE VIEW series_facts AS SELECT * FROM facts_df")
    return con


STEADY = {f"U{i:02d}": (100 + i, 104 + i + (i % 3)) for i in range(12)}


def statuses(con) -> dict[str, str]:
    out = _history(con, RULE, 2024)
    return dict(zip(out["scope_id"].str.split("|").str[0], out["status"], strict=True))


def test_steady_units_pass():
    assert set(statuses(series(STEADY)).values()) == {"pass"}


def test_a_unit_reporting_ten_times_more_is_flagged():
    result = _history(series({**STEADY, "JUMP": (100, 1000)}), RULE, 2024)
    row = result[result.scope_id == "JUMP|2024"].iloc[0]
    assert row.status == "fail"
    assert (row.left_value, row.right_value, row.imbalance) == (1000, 100, 900)
    assert "z = " in row.reason and row.cells == ["T1!C6@JUMP"]
    assert set(result[result.scope_id != "JUMP|2024"].status) == {"pass"}


@pytest.mark.parametrize("before,now,expected", [(3, 19, "pass"), (3, 20, "fail")])
def test_minimum_base_keeps_small_counts_quiet(before, now, expected):
    # both years under the base: never an alarm, however large the relative change
    assert statuses(series({**STEADY, "SMALL": (before, now)}))["SMALL"] == expected


def test_identical_changes_everywhere_are_not_evaluable():
    flat = {f"U{i}": (50, 50) for i in range(5)}
    assert set(statuses(series(flat)).values()) == {"not_evaluable"}
