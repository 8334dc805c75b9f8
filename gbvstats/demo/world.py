"""The synthetic world behind the demo data.

Latent counts per reporting unit and quarter are drawn first, then every agency's form is
derived from them (`demo.py`), so the forms agree the way real returns do: totals add
up, rayons sum to oblasts, and counts fall through the justice chain.

National anchors are the published MoI figures (DOMAIN.md): domestic-violence cases
registered and restraining orders issued, 3,524 and 3,358 in 2015, 7,178 and 7,114 in
2018; 2019: 3,932 protection orders of which 295 extended. Everything else is
plausible, not real.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

# National anchors: exact where published, interpolated or extrapolated otherwise.
FV_REPORTS = {2015: 3524, 2016: 4410, 2017: 5583, 2018: 7178, 2019: 7706, 2020: 8931,
              2021: 9025, 2022: 9744, 2023: 10211, 2024: 10686, 2025: 11103, 2026: 11540}
ORDERS = {2015: 3358, 2016: 4188, 2017: 5410, 2018: 7114, 2019: 3932, 2020: 5105,
          2021: 5864, 2022: 6420, 2023: 6975, 2024: 7411, 2025: 7790, 2026: 8102}
ORDERS_EXTENDED_2019 = 295

# Population at the start of 2026 (DOMAIN.md), by oblast-level SDMX area code.
POPULATION_2026 = {"KG11": 1_358_661, "KG21": 484_937, "KG08": 983_664, "KG06": 1_438_459,
                   "KG03": 1_379_916, "KG05": 605_283, "KG02": 554_296, "KG04": 316_182,
                   "KG07": 282_931}
POPULATION_GROWTH = 0.019  # a year, used to go back from 2026
# Family-violence reporting relative to population: higher in the capital and the north.
REGIONAL_FACTOR = {"KG11": 1.35, "KG21": 1.1, "KG08": 1.2, "KG06": 0.75, "KG03": 0.8,
                   "KG05": 0.7, "KG02": 1.15, "KG04": 0.95, "KG07": 1.0}
SEASON = (0.22, 0.25, 0.28, 0.25)  # share of a year's reports by quarter


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights` into integers that sum exactly to it
    (largest remainder)."""
    if total == 0 or not weights:
        return [0] * len(weights)
    wsum = sum(weights)
    if wsum <= 0:
        weights, wsum = [1.0] * len(weights), float(len(weights))
    raw = [total * w / wsum for w in weights]
    floors = [int(x) for x in raw]
    rest = total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - floors[i], -i), reverse=True)
    for i in order[:rest]:
        floors[i] += 1
    return floors


def rng_for(seed: int, *key: object) -> random.Random:
    """A random stream that depends only on the seed and the key, so any one cell can be
    regenerated without drawing all the others first."""
    digest = hashlib.sha256(repr((seed, *key)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def jitter(rng: random.Random, weights: list[float], spread: float = 0.25) -> list[float]:
    return [w * rng.uniform(1 - spread, 1 + spread) for w in weights]


def share(total: int, fraction: float, rng: random.Random, spread: float = 0.2) -> int:
    """A part of `total` near `fraction`, never above it."""
    return min(total, max(0, round(total * fraction * rng.uniform(1 - spread, 1 + spread))))


@dataclass(frozen=True)
class Unit:
    soate: str
    area: str  # SDMX code of its oblast-level unit
    oblast: str  # SOATE of its oblast-level unit
    weight: float  # share of the oblast's population


class World:
    """Latent counts, deterministic for a seed."""

    def __init__(self, registry, seed: int = 2018):
        self.seed = seed
        self.registry = registry
        territories = {c.code: c for c in registry.territories().codes}
        self.oblasts = {c.code: c.sdmx_code for c in registry.units("oblast")}
        self.districts: list[Unit] = []
        for code in registry.units("district"):
            oblast = registry.oblast_of(code.code)
            rng = rng_for(seed, "weight", code.code)
            town = getattr(territories[code.code], "level", "") == "city"
            weight = rng.uniform(0.4, 1.0) if town else rng.uniform(0.7, 1.6)
            self.districts.append(Unit(code.code, self.oblasts[oblast], oblast, weight))
        for oblast in self.oblasts:  # weights as shares of the oblast
            members = [u for u in self.districts if u.oblast == oblast]
            total = sum(u.weight for u in members)
            for i, u in enumerate(self.districts):
                if u.oblast == oblast:
                    self.districts[i] = Unit(u.soate, u.area, u.oblast, u.weight / total)

    def population(self, area: str, year: int) -> int:
        return round(POPULATION_2026[area] / (1 + POPULATION_GROWTH) ** (2026 - year))

    def _oblast_weights(self, year: int) -> dict[str, float]:
        return {code: self.population(area, year) * REGIONAL_FACTOR[area]
                for code, area in self.oblasts.items()}

    def national(self, series: dict[int, int], year: int, quarter: int) -> int:
        return allocate(series[year], list(SEASON))[quarter - 1]

    def by_district(self, name: str, series: dict[int, int], year: int,
                    quarter: int) -> dict[str, int]:
        """A national quarterly figure spread exactly over oblasts, then districts."""
        total = self.national(series, year, quarter)
        weights = self._oblast_weights(year)
        rng = rng_for(self.seed, name, year, quarter)
        oblast_codes = list(weights)
        per_oblast = allocate(total, jitter(rng, [weights[c] for c in oblast_codes], 0.1))
        out: dict[str, int] = {}
        for code, n in zip(oblast_codes, per_oblast, strict=True):
            members = [u for u in self.districts if u.oblast == code]
            parts = allocate(n, jitter(rng, [u.weight for u in members], 0.3))
            out.update({u.soate: p for u, p in zip(members, parts, strict=True)})
        return out

    def fv_reports(self, year: int, quarter: int) -> dict[str, int]:
        return self.by_district("fv_reports", FV_REPORTS, year, quarter)

    def orders(self, year: int, quarter: int) -> dict[str, int]:
        return self.by_district("orders", ORDERS, year, quarter)
