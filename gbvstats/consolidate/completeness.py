"""Completeness and timeliness: which returns of a year are missing, refused, accepted, late."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from gbvstats.paths import load_yaml, schemas_dir, sql_dir
from gbvstats.periods import periods_of_year
from gbvstats.schema.model import Registry

if TYPE_CHECKING:
    import pandas as pd


@cache
def _sql(name: str) -> str:
    return (sql_dir() / "consolidate" / name).read_text(encoding="utf-8")


def due_days() -> dict[str, int]:
    path = schemas_dir() / "reporting.yaml"
    config = load_yaml(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {"month": 15, "quarter": 15, "year": 15, **(config or {}).get("due_days", {})}


def expected_returns(reg: Registry, year: int, agency: str | None = None) -> pd.DataFrame:
    """Every (form, unit, period) of the year that some agency owes, with its due date."""
    import pandas as pd

    days = due_days()
    rows = []
    for form in reg.versions():
        if agency and form.agency != agency.upper():
            continue
        for p in periods_of_year(year, form.periodicity):
            if form.valid_for(p):
                due = p.due(days[form.periodicity])
                rows.extend({"agency": form.agency, "form": form.form, "unit": u.code,
                             "period": str(p), "due": due} for u in reg.units(form.level))
    return pd.DataFrame(rows, columns=["agency", "form", "unit", "period", "due"])


def completeness(con, reg: Registry, year: int, agency: str | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(detail per expected return, summary per agency and form) over connection `con`."""
    con.register("expected", expected_returns(reg, year, agency))
    try:
        detail = con.execute(_sql("completeness.sql")).df()
    finally:
        con.unregister("expected")
    con.register("completeness", detail)
    try:
        summary = con.execute(_sql("completeness_summary.sql")).df()
    finally:
        con.unregister("completeness")
    return detail, summary


def store(con, year: int, detail: pd.DataFrame) -> None:
    con.execute("DELETE FROM completeness_results WHERE year = ?", [year])
    con.register("detail", detail.assign(year=year))
    try:
        con.execute("INSERT INTO completeness_results BY NAME SELECT * FROM detail")
    finally:
        con.unregister("detail")
