"""Reporting periods: `2024` (year), `2024-Q1` (quarter), `2024-03` (month)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

PERIODICITIES = ("year", "quarter", "month")
_PATTERNS = {
    "year": re.compile(r"^(\d{4})$"),
    "quarter": re.compile(r"^(\d{4})-Q([1-4])$"),
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
}


@dataclass(frozen=True, order=True)
class Period:
    year: int
    periodicity: str
    index: int  # 1 for a year, 1..4 for a quarter, 1..12 for a month

    def __str__(self) -> str:
        if self.periodicity == "year":
            return f"{self.year}"
        if self.periodicity == "quarter":
            return f"{self.year}-Q{self.index}"
        return f"{self.year}-{self.index:02d}"

    @property
    def start(self) -> date:
        month = {"year": 1, "quarter": 3 * self.index - 2, "month": self.index}[self.periodicity]
        return date(self.year, month, 1)

    @property
    def end(self) -> date:
        months = {"year": 12, "quarter": 3, "month": 1}[self.periodicity]
        m0 = self.start.month - 1 + months
        first_after = date(self.year + m0 // 12, m0 % 12 + 1, 1)
        return first_after - timedelta(days=1)

    def within(self, first: Period | None, last: Period | None) -> bool:
        """True when this period lies inside [first, last] (open ends allowed)."""
        return (first is None or self.start >= first.start) and (last is None or self.end <= last.end)

    def due(self, days_after_end: int = 15) -> date:
        return self.end + timedelta(days=days_after_end)


def parse_period(text: str) -> Period:
    text = str(text).strip()
    for periodicity, pattern in _PATTERNS.items():
        m = pattern.match(text)
        if m:
            index = int(m.group(2)) if periodicity != "year" else 1
            return Period(int(m.group(1)), periodicity, index)
    raise ValueError(f"{text!r} is not a period like 2024, 2024-Q1 or 2024-03")


def periods_of_year(year: int, periodicity: str) -> list[Period]:
    count = {"year": 1, "quarter": 4, "month": 12}[periodicity]
    return [Period(year, periodicity, i) for i in range(1, count + 1)]
