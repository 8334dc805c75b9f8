"""The synthetic world behind the demo data.

Latent counts per reporting unit and quarter are drawn first, then every agency's form is
derived from them (`generate.py`), so the forms agree the way real returns do: totals add
up, rayons sum to oblasts, and counts fall through the justice chain.

National anchors are the published figures (docs/DOMAIN.md), exact in every demo that
generates the whole country without planted defects in their year:
- family-violence reports registered (MoI) 2015: 3,524, 2018: 7,178;
- protection orders issued 2015: 3,358, 2018: 7,114, 2019: 3,932 of which 295 extended;
- family-violence victims (the NSC's public series) 2018: 7,178, of which women and girls
  6,562 and men and boys 616;
- resident population 2018: 6,516,831 of which women 3,294,395; at the start of 2026 by
  oblast as the NSC published it.
Reports and victims are separate series, spread differently over units: one report may
have several victims and another none identified. Everything else is plausible, not real.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

# National anchors: exact where published, interpolated or extrapolated otherwise.
FV_REPORTS = {2015: 3524, 2016: 4410, 2017: 5583, 2018: 7178, 2019: 7706, 2020: 8931,
              2021: 9025, 2022: 9744, 2023: 10211, 2024: 10686, 2025: 11103, 2026: 11540}
FV_VICTIMS = {2015: 3612, 2016: 4487, 2017: 5641, 2018: 7178, 2019: 7948, 2020: 9302,
              2021: 9338, 2022: 10151, 2023: 10598, 2024: 11155, 2025: 11562, 2026: 12050}
FV_VICTIMS_FEMALE = {2015: 3307, 2016: 4093, 2017: 5145, 2018: 6562, 2019: 7233, 2020: 8490,
                     2021: 8497, 2022: 9226, 2023: 9622, 2024: 10118, 2025: 10475, 2026: 10912}
ORDERS = {2015: 3358, 2016: 4188, 2017: 5410, 2018: 7114, 2019: 3932, 2020: 5105,
          2021: 5864, 2022: 6420, 2023: 6975, 2024: 7411, 2025: 7790, 2026: 8102}
ORDERS_EXTENDED = {2019: 295, 2020: 434, 2021: 557, 2022: 674, 2023: 802, 2024: 926,
                   2025: 1052, 2026: 1175}  # reported from form v2 (2019) on
YEARS = range(min(FV_REPORTS), max(FV_REPORTS) + 1)  # the years the world has figures for

# Population at the start of 2026 (DOMAIN.md), by oblast-level SDMX area code, and the
# national figures of 2018; years between are interpolated per oblast, others go on at
# each oblast's 2018-2026 growth.
POPULATION_2026 = {"KG11": 1_358_661, "KG21": 484_937, "KG08": 983_664, "KG06": 1_438_459,
                   "KG03": 1_379_916, "KG05": 605_283, "KG02": 554_296, "KG04": 316_182,
                   "KG07": 282_931}
POPULATION_2018 = 6_516_831
WOMEN_2018 = 3_294_395
# Growth 2018-2026 relative to the country's: the capital and Osh city grow faster.
POPULATION_DRIFT = {"KG11": 1.05, "KG21": 1.03, "KG08": 1.0, "KG06": 0.99, "KG03": 0.99,
                    "KG05": 0.985, "KG02": 0.985, "KG04": 0.98, "KG07": 0.985}
FEMALE_SHARE = {"KG11": 0.522, "KG21": 0.512, "KG08": 0.506, "KG06": 0.502, "KG03": 0.501,
                "KG05": 0.5, "KG02": 0.503, "KG04": 0.499, "KG07": 0.498}
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


def allocate_capped(total: int, weights: list[float], caps: list[int]) -> list[int]:
    """Like `allocate`, but no part above its cap (`total` at most the sum of the caps):
    what a capped part cannot take goes to the others, in proportion to their weights."""
    if total > sum(caps):
        raise ValueError(f"cannot put {total} into parts capped at {sum(caps)}")
    out = [0] * len(weights)
    free = [i for i, c in enumerate(caps) if c > 0]
    left = total
    while left and free:
        parts = allocate(left, [max(weights[i], 1e-9) for i in free])
        left = 0
        for i, n in zip(free, parts, strict=True):
            take = min(n, caps[i] - out[i])
            out[i] += take
            left += n - take
        free = [i for i in free if out[i] < caps[i]]
    return out


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


def binomial(n: int, p: float, rng: random.Random) -> int:
    """How many of `n` cases go on to the next stage, each with probability `p`: real
    attrition, so that small counts do not all round to the same number."""
    return sum(rng.random() < p for _ in range(n))


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
        self._cache: dict[tuple, dict[str, int]] = {}

    # --- population ---------------------------------------------------------------------

    def _population_2018(self) -> dict[str, int]:
        """2018 by oblast: the national figure spread as the oblasts stood, going back
        from 2026 at each one's growth."""
        areas = list(POPULATION_2026)
        national = (sum(POPULATION_2026.values()) / POPULATION_2018) ** (1 / 8)
        back = [POPULATION_2026[a] / (national * POPULATION_DRIFT[a] ** (1 / 8)) ** 8
                for a in areas]
        return dict(zip(areas, allocate(POPULATION_2018, back), strict=True))

    def population(self, area: str, year: int) -> int:
        """Resident population of an oblast-level area at the start of `year`."""
        p18, p26 = self._population_2018()[area], POPULATION_2026[area]
        growth = (p26 / p18) ** (1 / 8)
        if year <= 2018:
            return round(p18 / growth ** (2018 - year))
        if year >= 2026:
            return round(p26 * growth ** (year - 2026))
        return round(p18 * growth ** (year - 2018))

    def women(self, area: str, year: int) -> int:
        """Women at the start of `year`: the national share of 2018, spread over oblasts
        by their own shares (2018: 3,294,395 exactly)."""
        key = ("women", year)
        if key not in self._cache:
            areas = list(POPULATION_2026)
            pops = [self.population(a, year) for a in areas]
            national = round(sum(pops) * WOMEN_2018 / POPULATION_2018)
            parts = allocate(national, [p * FEMALE_SHARE[a] for a, p in zip(areas, pops, strict=True)])
            self._cache[key] = dict(zip(areas, parts, strict=True))
        return self._cache[key][area]

    # --- national series spread over units ----------------------------------------------

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

    def spread_over(self, name: str, series: dict[int, int], year: int, quarter: int,
                    basis: dict[str, int], ratio: tuple[float, float],
                    caps: dict[str, int] | None = None) -> dict[str, int]:
        """A national quarterly figure spread exactly over the districts in proportion to
        another count (`basis`) times a ratio drawn per district and quarter in `ratio`:
        correlated with the basis but not equal to it, zero where it is zero, and never
        above `caps`."""
        total = self.national(series, year, quarter)
        units = list(basis)
        rng = rng_for(self.seed, name, year, quarter)
        weights = [basis[u] * rng.uniform(*ratio) for u in units]
        limits = [caps[u] for u in units] if caps is not None else [total] * len(units)
        return dict(zip(units, allocate_capped(total, weights, limits), strict=True))

    def fv_reports(self, year: int, quarter: int) -> dict[str, int]:
        return self.by_district("fv_reports", FV_REPORTS, year, quarter)

    def fv_victims(self, year: int, quarter: int) -> tuple[dict[str, int], dict[str, int]]:
        """Victims and, of them, women and girls, per district: reports with several
        victims, and reports with no victim identified, so victims differ from reports
        in most units though the national totals are anchored."""
        key = ("victims", year, quarter)
        if key not in self._cache:
            reports = self.fv_reports(year, quarter)
            victims = self.spread_over("fv_victims", FV_VICTIMS, year, quarter, reports, (0.7, 1.35))
            female = self.spread_over("fv_victims_f", FV_VICTIMS_FEMALE, year, quarter, victims,
                                      (0.85, 1.0), caps=victims)
            self._cache[key] = victims, female
        return self._cache[key]

    def orders(self, year: int, quarter: int) -> dict[str, int]:
        return self.by_district("orders", ORDERS, year, quarter)

    def orders_extended(self, year: int, quarter: int) -> dict[str, int]:
        orders = self.orders(year, quarter)
        if year not in ORDERS_EXTENDED:
            return dict.fromkeys(orders, 0)
        return self.spread_over("orders_extended", ORDERS_EXTENDED, year, quarter, orders,
                                (0.5, 1.5), caps=orders)
