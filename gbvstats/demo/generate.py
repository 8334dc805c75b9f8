"""Demo data: the workbooks every agency would have returned, 2015 onwards.

`generate(years, out, seed)` writes one filled template per form version valid in each
period, per reporting unit and period, plus `manifest.json` listing every file with the
date its agency sent it and any planted defect. Numbers come from `demo_world.World`, so
forms agree across agencies; a few returns are wrong or messy on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

from gbvstats.collect.templates import fill_template, save, values_by_element
from gbvstats.demo.world import YEARS as WORLD_YEARS
from gbvstats.demo.world import World, allocate, allocate_capped, binomial, jitter, rng_for, share
from gbvstats.periods import Period, parse_period, periods_of_year
from gbvstats.schema.model import FormVersion, Registry, registry

Values = dict[tuple[str, int], int]  # (element, column) -> count


@dataclass
class Entry:
    file: str
    agency: str
    form: str
    version: int
    unit: str
    period: str
    submitted_at: str
    defect: str | None = None


def split(total: int, weights, rng, spread: float = 0.2) -> list[int]:
    return allocate(total, jitter(rng, list(weights), spread))


# Family-violence victims (MOI-FV v2): shares used to break a district's quarter down.
FV_AGE = {"F": (0.07, 0.91, 0.02), "M": (0.36, 0.62, 0.02)}  # under 18, 18 and over, not recorded
FV_ADULT_BANDS = (0.06, 0.31, 0.29, 0.18, 0.16)  # 18-20, 21-30, 31-40, 41-50, 51 and over
FV_EDUCATION = (0.47, 0.17, 0.13, 0.05, 0.13, 0.05)  # ISCED 3, 5, 6, 7, other or none, not recorded
FV_ACTIVITY = (0.32, 0.44, 0.04, 0.11, 0.06, 0.03)  # working, not working, students, retired, other, n.r.
FV_AGE_LINES = ("fv_victims_y0t20", "fv_victims_y21t30", "fv_victims_y31t40", "fv_victims_y41t50",
                "fv_victims_yge51", "fv_victims_age_unk")
FV_EDU_LINES = ("fv_victims_isced3", "fv_victims_isced5", "fv_victims_isced6", "fv_victims_isced7",
                "fv_victims_edu_oth", "fv_victims_edu_unk")
FV_ACT_LINES = ("fv_victims_working", "fv_victims_not_working", "fv_victims_students",
                "fv_victims_retired", "fv_victims_act_oth", "fv_victims_act_unk")


def _fv_victims(v: Values, victims: int, female: int, r) -> None:
    """MOI-FV v2 tables 2 and 6 for one district and quarter: victims by sex, children and
    adults (age not recorded included), the NSC's age bands, education and activity;
    minors who witnessed; victims referred. Every breakdown adds up to its total."""
    by_sex = {"F": female, "M": victims - female}
    col = {"F": 2, "M": 3}
    adult_col, child_col = {"F": 4, "M": 5}, {"F": 6, "M": 7}
    v[("fv_victims", 1)] = victims
    for line in (*FV_AGE_LINES, *FV_EDU_LINES, *FV_ACT_LINES):
        v[(line, 1)] = 0
    witness, referred = {}, {}
    for sex, n in by_sex.items():
        children, adults, unknown = split(n, FV_AGE[sex], r, 0.3)
        v[("fv_victims", col[sex])] = n
        v[("fv_victims", adult_col[sex])] = adults
        v[("fv_victims", child_col[sex])] = children
        young, *older = split(adults, FV_ADULT_BANDS, r, 0.2)
        for line, x in zip(FV_AGE_LINES, (children + young, *older, unknown), strict=True):
            v[(line, col[sex])] = x
        # children have not finished a level of education: "other or none"; most study
        edu = split(adults + unknown, FV_EDUCATION, r, 0.2)
        edu[4] += children
        act = split(adults + unknown, FV_ACTIVITY, r, 0.2)
        pupils = binomial(children, 0.85, r)
        act[2] += pupils
        act[4] += children - pupils
        for lines, parts in ((FV_EDU_LINES, edu), (FV_ACT_LINES, act)):
            for line, x in zip(lines, parts, strict=True):
                v[(line, col[sex])] = x
        witness[sex] = binomial(children, 0.6, r)  # minors who witnessed are victims (Law No. 63)
        referred[sex] = [binomial(x, 0.4, r) for x in (adults, children, unknown)]
    for line in (*FV_AGE_LINES, *FV_EDU_LINES, *FV_ACT_LINES):
        v[(line, 1)] = v[(line, 2)] + v[(line, 3)]
    v.update({("fv_victims_witness", 1): witness["F"] + witness["M"],
              ("fv_victims_witness", 2): witness["F"], ("fv_victims_witness", 3): witness["M"],
              ("fv_victims_witness", 6): witness["F"], ("fv_victims_witness", 7): witness["M"]})
    for sex in ("F", "M"):
        adults, children, unknown = referred[sex]
        v[("fv_victims_referred", col[sex])] = adults + children + unknown
        v[("fv_victims_referred", adult_col[sex])] = adults
        v[("fv_victims_referred", child_col[sex])] = children
    v[("fv_victims_referred", 1)] = v[("fv_victims_referred", 2)] + v[("fv_victims_referred", 3)]


# Victims of trafficking (MOI-TIP): shares used to break an oblast's quarter down.
TIP_SEX = (0.64, 0.345, 0.015)  # female, male, sex not recorded
TIP_AGE = {"F": (0.8, 0.15, 0.05), "M": (0.84, 0.11, 0.05)}  # adults, children, age not recorded
TIP_ADULT_BANDS = (0.46, 0.3, 0.15, 0.09)  # 18-29, 30-39, 40-49, 50 and over
TIP_UNKNOWN_SEX_AGE = (0.15, 0.3, 0.15, 0.1, 0.05, 0.25)  # the six lines of table 3
TIP_BREAKDOWNS = ((("sx", "fl", "og", "op", "unk"), (0.42, 0.44, 0.01, 0.08, 0.05)),
                  (("nat", "for"), (0.93, 0.07)), (("dom", "abr"), (0.25, 0.75)))
TIP_AGE_LINES = ("tip_victims_y0t17", "tip_victims_y18t29", "tip_victims_y30t39",
                 "tip_victims_y40t49", "tip_victims_yge50", "tip_victims_age_unk")


def _tip_victims(v: Values, victims: int, r) -> None:
    """MOI-TIP tables 2 and 3 for one oblast and quarter: victims by sex and age (not
    recorded included), form of exploitation (not recorded included), citizenship,
    place, referrals, and by age group; every breakdown adds up to its total."""
    female, male, unknown_sex = split(victims, TIP_SEX, r, 0.3)
    cols: dict[int, int] = {8: unknown_sex}
    bands: dict[str, list[int]] = {}
    for sex, n, first in (("F", female, 2), ("M", male, 3)):
        adults, children, unknown = split(n, TIP_AGE[sex], r, 0.3)
        cols.update({first: adults, first + 2: children, first + 4: unknown})
        bands[sex] = [children, *split(adults, TIP_ADULT_BANDS, r, 0.3), unknown]
    bands["U"] = split(unknown_sex, TIP_UNKNOWN_SEX_AGE, r, 0.3)
    v[("tip_victims", 1)] = victims
    for c, n in cols.items():
        v[("tip_victims", c)] = n
    for lines, weights in TIP_BREAKDOWNS:
        per_col = {c: split(n, weights, r) for c, n in cols.items()}
        for i, ln in enumerate(lines):
            for c in cols:
                v[(f"tip_victims_{ln}", c)] = per_col[c][i]
            v[(f"tip_victims_{ln}", 1)] = sum(per_col[c][i] for c in cols)
    referred = {c: binomial(n, 0.85, r) for c, n in cols.items()}
    if victims and not any(referred.values()):  # every identified victim is offered help
        referred[max(cols, key=cols.get)] = 1
    v[("tip_victims_referred", 1)] = sum(referred.values())
    for c, n in referred.items():
        v[("tip_victims_referred", c)] = n
    for i, line in enumerate(TIP_AGE_LINES):
        parts = [bands["F"][i], bands["M"][i], bands["U"][i]]
        v[(line, 1)] = sum(parts)
        for c, x in zip((2, 3, 4), parts, strict=True):
            v[(line, c)] = x


class Generator:
    def __init__(self, reg: Registry, seed: int):
        self.reg = reg
        self.seed = seed
        self.world = World(reg, seed)
        self._cache: dict[tuple, dict[str, Values]] = {}
        self.makers: dict[str, Callable[[FormVersion, str, Period], Values]] = {
            "MOI-FV": self.moi_fv, "MOI-GBV": self.moi_gbv, "MOI-TIP": self.moi_tip,
            "GPO-CASES": self.gpo, "JD-CASES": self.jd, "NSC-POP": self.nsc_pop,
            "MLSP-SP": self.mlsp,
        }

    def rng(self, *key):
        return rng_for(self.seed, *key)

    # --- MoI, district level --------------------------------------------------------

    def district_fv(self, year: int, quarter: int) -> dict[str, Values]:
        """MOI-FV values of every district for a quarter (cached: other forms derive from it)."""
        key = ("fv", year, quarter)
        if key not in self._cache:
            reports = self.world.fv_reports(year, quarter)
            orders = self.world.orders(year, quarter)
            victims, female = self.world.fv_victims(year, quarter)
            if year <= 2018:
                self._cache[key] = {u: self._fv_v1(u, year, quarter, reports[u], orders[u],
                                                   victims[u], female[u]) for u in reports}
            else:
                extended = self.world.orders_extended(year, quarter)
                self._cache[key] = {u: self._fv_v2(u, year, quarter, reports[u], orders[u],
                                                   extended[u], victims[u], female[u])
                                    for u in reports}
        return self._cache[key]

    def _fv_v1(self, unit, year, quarter, reports, orders, victims, female) -> Values:
        r = self.rng("fv1", unit, year, quarter)
        perpetrators = share(reports, 0.97, r, 0.03)
        return {("dv_cases", 1): reports, ("dv_restraining_orders", 1): orders,
                ("dv_criminal_cases", 1): binomial(reports, 0.12, r),
                ("dv_victims", 1): victims, ("dv_victims", 2): female,
                ("dv_perpetrators", 1): perpetrators,
                ("dv_perpetrators", 2): share(perpetrators, 0.05, r, 0.5)}

    def _fv_v2(self, unit, year, quarter, reports, orders, extended, victims, female) -> Values:
        r = self.rng("fv2", unit, year, quarter)
        v: Values = {("fv_reports", 1): reports}
        for el, n in zip(("fv_reports_phy", "fv_reports_psy", "fv_reports_eco", "fv_reports_neg",
                          "fv_reports_sex"), split(reports, (0.42, 0.38, 0.08, 0.07, 0.05), r), strict=True):
            v[(el, 1)] = n
        _fv_victims(v, victims, female, r)
        perp = share(reports, 0.96, r, 0.03)
        men = share(perp, 0.93, r, 0.03)
        for c, n in enumerate((perp, perp - men, men, perp - men, men, 0, 0), start=1):
            v[("fv_perpetrators", c)] = n  # perpetrators are adults
        v.update({("tpo_issued", 1): orders, ("tpo_extended", 1): extended,
                  ("tpo_violated", 1): binomial(orders, 0.16, r)})
        protocols = share(reports, 0.45, r, 0.2)
        v.update({("art70_protocols", 1): protocols, ("art70_to_court", 1): binomial(protocols, 0.85, r)})
        opened = share(reports, 0.14, r, 0.3)
        groups = ("fv_cases_hom", "fv_cases_sas", "fv_cases_mas", "fv_cases_sexv", "fv_cases_oth")
        parts = split(opened, (0.01, 0.08, 0.55, 0.06, 0.30), r)
        v[("fv_cases", 1)] = opened
        sent_total = 0
        for el, n in zip(groups, parts, strict=True):
            sent = binomial(n, 0.8, r)  # the rest stay under investigation or are closed
            v[(el, 1)], v[(el, 2)] = n, sent
            sent_total += sent
        v[("fv_cases", 2)] = sent_total
        return v

    def moi_fv(self, form: FormVersion, unit: str, p: Period) -> Values:
        return self.district_fv(p.year, p.index)[unit]

    def oblast_fv(self, unit: str, p: Period, element: str, col: int = 1) -> int:
        """A MOI-FV figure summed over the districts of an oblast-level unit."""
        return sum(v.get((element, col), 0) for u, v in self.district_fv(p.year, p.index).items()
                   if self.reg.oblast_of(u) == unit)

    # --- MoI, oblast level ----------------------------------------------------------

    def moi_gbv(self, form: FormVersion, unit: str, p: Period) -> Values:
        key = ("gbv", unit, p)
        if key in self._cache:
            return self._cache[key]
        r = self.rng("gbv", unit, str(p))
        fv = lambda el: self.oblast_fv(unit, p, el)  # noqa: E731
        crimes = {"hom": fv("fv_cases_hom") + r.randint(0, 1), "sas": fv("fv_cases_sas"),
                  "mas": fv("fv_cases_mas"), "rap": share(fv("fv_cases_sexv"), 0.6, r),
                  "sxa": fv("fv_cases_sexv"), "fma": r.randint(0, 4), "ema": r.randint(0, 2),
                  "har": r.randint(0, 6)}
        crimes["sxa"] -= min(crimes["sxa"], crimes["rap"])
        v: Values = {}
        total = sum(crimes.values())
        sums = [0] * 6
        rel_sums = [0] * 6
        sus_sums = [0] * 3
        for g, n in crimes.items():
            el = f"gbv_crimes_{g}"
            v[(el, 1)] = n
            weights = {"ema": (0.0, 0.0, 0.8, 0.2),  # minors only
                       "hom": (0.9, 0.0, 0.1, 0.0)}.get(g, (0.86, 0.04, 0.08, 0.02))  # women and girls
            victims = n
            parts = split(victims, weights, r) if victims else [0, 0, 0, 0]
            v[(el, 2)] = victims
            for c, x in zip(range(3, 7), parts, strict=True):
                v[(el, c)] = x
            rel = split(victims, (0.55, 0.25, 0.12, 0.05, 0.03), r) if victims else [0] * 5
            v[(f"gbv_victims_rel_{g}", 1)] = victims
            for c, x in zip(range(2, 7), rel, strict=True):
                v[(f"gbv_victims_rel_{g}", c)] = x
            sus = share(n, 0.9, r, 0.1)
            women = share(sus, 0.06, r, 0.5)
            v.update({(f"gbv_suspects_{g}", 1): sus, (f"gbv_suspects_{g}", 2): sus - women,
                      (f"gbv_suspects_{g}", 3): women})
            for i in range(6):
                sums[i] += v[(el, i + 1)]
                rel_sums[i] += v[(f"gbv_victims_rel_{g}", i + 1)]
            for i in range(3):
                sus_sums[i] += v[(f"gbv_suspects_{g}", i + 1)]
        for i in range(6):
            v[("gbv_crimes", i + 1)] = sums[i]
            v[("gbv_victims_rel", i + 1)] = rel_sums[i]
        for i in range(3):
            v[("gbv_suspects", i + 1)] = sus_sums[i]
        assert v[("gbv_crimes", 1)] == total
        self._cache[key] = v
        return v

    def moi_tip(self, form: FormVersion, unit: str, p: Period) -> Values:
        key = ("tip", unit, p)
        if key in self._cache:
            return self._cache[key]
        r = self.rng("tip", unit, str(p))
        scale = self.world.population(self.reg.territories().get(unit).sdmx_code, p.year) / 7e6
        victims = max(0, round(r.gauss(22 * scale, 2 * scale + 0.8)))
        v: Values = {}
        _tip_victims(v, victims, r)
        for e in ("sx", "fl", "og", "op"):  # a case for every form with victims
            n_victims = v[(f"tip_victims_{e}", 1)]
            cases = max(1, round(n_victims * r.uniform(0.3, 0.6))) if n_victims else 0
            sus = cases + binomial(cases, 0.5, r)  # trafficking is often done by groups
            women = binomial(sus, 0.35, r)
            v.update({(f"tip_cases_{e}", 1): cases, (f"tip_cases_{e}", 2): sus,
                      (f"tip_cases_{e}", 3): sus - women, (f"tip_cases_{e}", 4): women})
        for c in (1, 2, 3, 4):
            v[("tip_cases", c)] = sum(v[(f"tip_cases_{e}", c)] for e in ("sx", "fl", "og", "op"))
        self._cache[key] = v
        return v

    # --- prosecutors, courts --------------------------------------------------------

    GROUPS = ("hom", "sas", "mas", "rap", "fma", "ema", "tip", "oth")

    def _received_by_gpo(self, unit: str, p: Period) -> dict[str, int]:
        fv = lambda el: self.oblast_fv(unit, p, el, 2)  # noqa: E731 - sent to the prosecutor
        gbv = self.moi_gbv(None, unit, p)
        tip = self.moi_tip(None, unit, p)
        return {"hom": fv("fv_cases_hom"), "sas": fv("fv_cases_sas"), "mas": fv("fv_cases_mas"),
                "rap": fv("fv_cases_sexv"), "fma": gbv[("gbv_crimes_fma", 1)],
                "ema": gbv[("gbv_crimes_ema", 1)], "tip": tip[("tip_cases", 1)],
                "oth": fv("fv_cases_oth")}

    # persons charged per case sent to court, by offence group: trafficking and rape are
    # often committed by several persons
    CO_ACCUSED = {"tip": 0.5, "rap": 0.15}

    def gpo(self, form: FormVersion, unit: str, p: Period) -> Values:
        """Prosecutors receive the cases investigators sent (same quarter, so the
        reconciliation holds), then send some to court, terminate others (many by
        reconciliation of the parties), return a few: each case by chance, so small
        counts fall apart too."""
        key = ("gpo", unit, p)
        if key in self._cache:
            return self._cache[key]
        r = self.rng("gpo", unit, str(p))
        v: Values = {}
        for g, received in self._received_by_gpo(unit, p).items():
            to_court = binomial(received, 0.68, r)
            terminated = binomial(received - to_court, 0.7, r)
            reconc = binomial(terminated, 0.6, r)
            returned = binomial(received - to_court - terminated, 0.3, r)
            el = f"gpo_cases_{g}"
            for c, x in enumerate((received, to_court, terminated, reconc, returned), start=1):
                v[(el, c)] = x
            charged = to_court + binomial(to_court, self.CO_ACCUSED.get(g, 0.05), r)
            women = binomial(charged, 0.06 if g != "tip" else 0.35, r)
            v.update({(f"gpo_charged_{g}", 1): charged, (f"gpo_charged_{g}", 2): charged - women,
                      (f"gpo_charged_{g}", 3): women})
        for c in range(1, 6):
            v[("gpo_cases", c)] = sum(v[(f"gpo_cases_{g}", c)] for g in self.GROUPS)
        for c in range(1, 4):
            v[("gpo_charged", c)] = sum(v[(f"gpo_charged_{g}", c)] for g in self.GROUPS)
        self._cache[key] = v
        return v

    def jd(self, form: FormVersion, unit: str, p: Period) -> Values:
        """Courts receive the cases sent to court; of the persons charged most are
        convicted in the quarter, a few acquitted, the rest still on trial."""
        r = self.rng("jd", unit, str(p))
        g = self.gpo(None, unit, p)
        v: Values = {}
        for grp in self.GROUPS:
            received = g[(f"gpo_cases_{grp}", 2)]
            decided = binomial(received, 0.88, r)
            el = f"jd_cases_{grp}"
            v.update({(el, 1): received, (el, 2): decided, (el, 3): binomial(decided, 0.12, r)})
            charged = g[(f"gpo_charged_{grp}", 1)]
            convicted = binomial(charged, 0.78, r)
            acquitted = binomial(charged - convicted, 0.1, r)
            women = binomial(convicted, 0.06 if grp != "tip" else 0.3, r)
            acq_w = binomial(acquitted, 0.1, r)
            pe = f"jd_persons_{grp}"
            v.update({(pe, 1): convicted, (pe, 2): convicted - women, (pe, 3): women,
                      (pe, 4): acquitted, (pe, 5): acquitted - acq_w, (pe, 6): acq_w})
        for c in range(1, 4):
            v[("jd_cases", c)] = sum(v[(f"jd_cases_{x}", c)] for x in self.GROUPS)
        for c in range(1, 7):
            v[("jd_persons", c)] = sum(v[(f"jd_persons_{x}", c)] for x in self.GROUPS)
        convicted = v[("jd_persons", 1)]
        v[("jd_sentenced", 1)] = convicted
        for el, n in zip(("jd_sentence_pri", "jd_sentence_pro", "jd_sentence_fin", "jd_sentence_cwk"),
                         split(convicted, (0.45, 0.3, 0.15, 0.1), r), strict=True):
            v[(el, 1)] = n
        heard = binomial(self.oblast_fv(unit, p, "art70_to_court"), 0.95, r)
        sanctioned = binomial(heard, 0.9, r)
        v.update({("art70_heard", 1): heard, ("art70_sanctioned", 1): sanctioned})
        for el, n in zip(("art70_csv", "art70_arrest", "art70_fine"),
                         split(sanctioned, (0.5, 0.3, 0.2), r), strict=True):
            v[(el, 1)] = n
        measures = binomial(heard, 0.05, r) if p.year >= 2025 else 0
        v.update({("court_restrictions", 1): measures,
                  ("court_restrictions_em", 1): binomial(measures, 0.4, r)})
        return v

    # --- NSC and MLSP ---------------------------------------------------------------

    POP_AGES = ("pop_y0t14", "pop_y15t17", "pop_y18t29", "pop_y30t39", "pop_y40t59", "pop_y60t999")
    POP_SHARES = (0.325, 0.055, 0.2, 0.15, 0.19, 0.08)
    POP_FEMALE = (0.487, 0.488, 0.495, 0.505, 0.52, 0.58)  # women's share of each age group

    def nsc_pop(self, form: FormVersion, unit: str, p: Period) -> Values:
        """The population of the world (national figures anchored), by sex and age."""
        r = self.rng("pop", unit, p.year)
        area = self.reg.territories().get(unit).sdmx_code
        total, women = self.world.population(area, p.year), self.world.women(area, p.year)
        parts = split(total, self.POP_SHARES, r, 0.03)
        female = allocate_capped(women, [n * f for n, f in zip(parts, self.POP_FEMALE, strict=True)], parts)
        v: Values = {("pop", 1): total, ("pop", 2): women, ("pop", 3): total - women}
        for el, n, w in zip(self.POP_AGES, parts, female, strict=True):
            v.update({(el, 1): n, (el, 2): w, (el, 3): n - w})
        return v

    def mlsp(self, form: FormVersion, unit: str, p: Period) -> Values:
        r = self.rng("mlsp", unit, str(p))
        v: Values = {}
        victims = [self.oblast_fv(unit, p, "fv_victims", c) for c in range(4, 8)]  # women .. boys
        referred_police = [share(self.oblast_fv(unit, p, "fv_victims_referred", c), 0.85, r, 0.1)
                           for c in range(4, 8)]
        clients = [max(rp, share(n, 0.4, r, 0.2)) for rp, n in zip(referred_police, victims, strict=True)]
        crisis = [share(n, 0.6, r, 0.2) for n in clients]
        for el, cols in (("mlsp_fv_clients", clients), ("mlsp_fv_referred_by_police", referred_police),
                         ("mlsp_fv_crisis_centres", crisis)):
            v[(el, 1)] = sum(cols)
            for c, x in zip(range(2, 6), cols, strict=True):
                v[(el, c)] = x
        for el, rate in (("psy", 0.7), ("leg", 0.4), ("shl", 0.1), ("med", 0.15)):
            cols = [share(n, rate, r, 0.2) for n in clients]
            v[(f"mlsp_fv_service_{el}", 1)] = sum(cols)
            for c, x in zip(range(2, 6), cols, strict=True):
                v[(f"mlsp_fv_service_{el}", c)] = x
        perps = self.oblast_fv(unit, p, "fv_perpetrators", 5)  # men
        men = share(perps, 0.06, r, 0.4)
        women = share(men, 0.04, r, 1.0)
        for el, rate in (("cp_referred", 1.0), ("cp_started", 0.8), ("cp_completed", 0.65)):
            men, women = share(men, rate, r, 0.1), share(women, rate, r, 0.1)
            v.update({(el, 1): men + women, (el, 2): men, (el, 3): women})
        tip = self.moi_tip(None, unit, p)
        assisted = [share(tip[("tip_victims_referred", c)], 0.9, r, 0.1) for c in range(2, 6)]
        v[("mlsp_tip_assisted", 1)] = sum(assisted)
        for c, x in zip(range(2, 6), assisted, strict=True):
            v[("mlsp_tip_assisted", c)] = x
        per_col = [split(n, (0.45, 0.45, 0.02, 0.08), r) for n in assisted]
        for i, e in enumerate(("sx", "fl", "og", "op")):
            parts = [pc[i] for pc in per_col]
            v[(f"mlsp_tip_{e}", 1)] = sum(parts)
            for c, x in zip(range(2, 6), parts, strict=True):
                v[(f"mlsp_tip_{e}", c)] = x
        for e, rate in (("rep", 0.6), ("shl", 0.5), ("rei", 0.4)):
            cols = [share(n, rate, r, 0.2) for n in assisted]
            v[(f"mlsp_tip_{e}", 1)] = sum(cols)
            for c, x in zip(range(2, 6), cols, strict=True):
                v[(f"mlsp_tip_{e}", c)] = x
        return v

    # --- returns ----------------------------------------------------------------------

    def returns(self, years: list[int]) -> list[tuple[FormVersion, str, Period]]:
        out = []
        for year in years:
            for form in self.reg.versions():
                for p in periods_of_year(year, form.periodicity):
                    if form.valid_for(p):
                        out.extend((form, u.code, p) for u in self.reg.units(form.level))
        return out

    def values(self, form: FormVersion, unit: str, p: Period) -> dict[tuple[str, str, int], int]:
        by_element = self.makers[form.form](form, unit, p)
        inputs = {(c.table, c.line, c.column) for c in form.cells() if c.input}
        return {k: x for k, x in values_by_element(form, by_element).items() if k in inputs}


def submitted_on(seed: int, unit: str, p: Period, late: bool = False) -> date:
    r = rng_for(seed, "sent", unit, str(p))
    return p.end + timedelta(days=40 if late else r.randint(2, 14))


def generate(years: list[int], out: Path, seed: int = 2018, reg: Registry | None = None,
             forms: list[str] | None = None, oblasts: list[str] | None = None,
             defects: bool = True, workers: int | None = None) -> list[Entry]:
    """Write the demo workbooks and manifest; returns the manifest entries.
    `forms` and `oblasts` (SOATE of oblast-level units) limit the output, `defects=False`
    writes clean returns only (tests). Years are written in parallel processes."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    outside = sorted(set(years) - set(WORLD_YEARS))
    if outside:
        raise ValueError(f"the demo world has figures for {WORLD_YEARS[0]}-{WORLD_YEARS[-1]}, "
                         f"not for {', '.join(map(str, outside))}")
    reg = reg or registry()
    todo = [(f, u, p) for f, u, p in Generator(reg, seed).returns(years)
            if (not forms or f.form in forms) and (not oblasts or reg.oblast_of(u) in oblasts)]
    planted = _choose_defects(todo, seed) if defects else {}
    missing = [{"form": f.form, "unit": u, "period": str(p)} for f, u, p in todo
               if planted.get((f.form, u, str(p))) == "missing"]
    tasks = [(seed, out, [(f.form, f.version, u, str(p), planted.get((f.form, u, str(p))))
                          for f, u, p in todo if p.year == year]) for year in years]
    workers = min(workers or os.cpu_count() or 1, len(tasks))
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            chunks = list(pool.map(_write_returns, tasks))
    else:
        chunks = [_write_returns(task, reg) for task in tasks]
    entries = sorted((e for chunk in chunks for e in chunk), key=lambda e: (e.submitted_at, e.file))
    (out / "manifest.json").write_text(json.dumps(
        {"seed": seed, "years": years, "oblasts": oblasts, "schemas": schemas_fingerprint(reg),
         "missing": missing,
         "files": [asdict(e) for e in entries]}, ensure_ascii=False, indent=1), encoding="utf-8")
    return entries


def schemas_fingerprint(reg: Registry) -> str:
    """Changes whenever any form version changes: demo data of older schemas is stale."""
    import hashlib

    return hashlib.sha256("".join(f.schema_hash for f in reg.versions()).encode()).hexdigest()[:16]


def _write_returns(task, reg: Registry | None = None) -> list[Entry]:
    """Write the returns of one task (seed, out, [(form, version, unit, period, defect)])."""
    seed, out, items = task
    reg = reg or registry()
    gen = Generator(reg, seed)
    entries: list[Entry] = []
    for form_code, version, unit, period, defect in items:
        if defect == "missing":  # never sent: completeness must find it
            continue
        form, p = reg.get(form_code, version), parse_period(period)
        values = gen.values(form, unit, p)
        name = f"{p.year}/{form.agency}/{form.form}_v{form.version}_{unit}_{p}.xlsx"
        sent = submitted_on(seed, unit, p, late=defect == "late")
        _write(form, _damaged(values, defect), unit, p, out / name)
        entries.append(Entry(name, form.agency, form.form, form.version, unit, str(p),
                             sent.isoformat(), defect))
        if defect in ("arithmetic_slip", "corrected_resubmission"):
            # the agency's corrected file, sent nine days later; for a corrected
            # resubmission the figures stay and the header (contact) changes
            rev = name.replace(".xlsx", "_rev2.xlsx")
            _write(form, values, unit, p, out / rev, contact="corrected by the statistics unit")
            entries.append(Entry(rev, form.agency, form.form, form.version, unit, str(p),
                                 (sent + timedelta(days=9)).isoformat(), "correction"))
    return entries


def _damaged(values: dict, defect: str | None) -> dict:
    """What a return with a planted defect holds instead of the true values."""
    if defect == "arithmetic_slip":
        key = next(k for k in sorted(values) if k[1] != "01")
        return {**values, key: values[key] + 3}
    if defect == "numbers_as_text":
        return {k: (f"{x:,}".replace(",", "\u00a0") if x >= 1000 else str(x)) if i % 3 == 0 else x
                for i, (k, x) in enumerate(sorted(values.items()))}
    if defect == "wrong_unit":
        return {k: x * 10 for k, x in values.items()}
    return values


def _write(form, values, unit, p, path: Path, contact: str = "А. Асанова") -> None:
    wb = fill_template(form, values, unit, str(p), contact=contact, phone="+996 312 000000",
                       date=(p.end + timedelta(days=5)).isoformat())
    save(wb, path)


def _choose_defects(todo, seed: int) -> dict[tuple[str, str, str], str]:
    """A handful of realistic problems, spread over the last years generated."""
    r = rng_for(seed, "defects")
    last = max((p.year for _, _, p in todo), default=0)
    pool = [(f.form, u, str(p)) for f, u, p in todo if p.year >= last - 1 and f.periodicity == "quarter"]
    if len(pool) < 6:
        return {}
    picks = r.sample(pool, 6)
    kinds = ["arithmetic_slip", "wrong_unit", "numbers_as_text", "late", "missing", "corrected_resubmission"]
    return dict(zip(picks, kinds, strict=True))
