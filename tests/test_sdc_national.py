"""Primary suppression below national level only (schemas/disclosure.yaml `primary`):
national small counts are published, the oblast counts they sum stay protected against the
independent LP attacker (tests/sdc_helpers.py), national cells are hidden only when an
oblast needs them, and `national: true` restores the former policy."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
import sdc_helpers as H

from gbvstats.publish import relations, sdc, secondary
from gbvstats.publish.audit import DisclosureSettingsError, Protection, load_protection
from gbvstats.publish.relations import Declarations

OBLASTS = ["KG02", "KG03", "KG04", "KG05", "KG06"]


def area_sex(cells: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Oblast x sex (F, M) with the totals: national row KG and sex _T."""
    rows = []
    for area, (f, m) in cells.items():
        rows += [(area, "F", f), (area, "M", m), (area, "_T", f + m)]
    national = (sum(f for f, _ in cells.values()), sum(m for _, m in cells.values()))
    rows += [("KG", "F", national[0]), ("KG", "M", national[1]), ("KG", "_T", sum(national))]
    return pd.DataFrame(rows, columns=["area", "sex", "victims"])


def protect(frame: pd.DataFrame, protection: Protection) -> sdc.Protected:
    return sdc.protect_table("t", frame, Declarations(["victims"]), protection)


def cell(frame: pd.DataFrame, area: str, sex: str) -> int:
    return int(frame.index[(frame.area == area) & (frame.sex == sex)][0])


def attacked(frame: pd.DataFrame, done: sdc.Protected, national: bool = False) -> list[str]:
    targets, truth = H.targets_of("t", frame, ["victims"], national=national)
    assert targets
    found = H.attack([H.seen("t", done.frame, done.mask, ["victims"])], targets)
    return H.widths_ok(found, truth)


# four women in three oblasts: the national figure 4 is published, the oblasts' 2, 1, 1 hidden
SPREAD = {"KG02": (2, 30), "KG03": (1, 25), "KG04": (1, 40), "KG05": (0, 18), "KG06": (0, 22)}


def test_a_small_national_count_is_published_and_its_oblasts_stay_protected():
    frame = area_sex(SPREAD)
    done = protect(frame, Protection())
    hidden = done.mask["victims"]
    assert not hidden[cell(frame, "KG", "F")]  # national F = 4: published
    assert done.frame.loc[cell(frame, "KG", "F"), "victims"] == 4
    for area in ("KG02", "KG03", "KG04"):
        assert hidden[cell(frame, area, "F")]  # below national level: confidential
    assert done.audit.failures == [] and done.audit.summary()["confidential"] == 3
    assert attacked(frame, done) == []
    assert not hidden[frame.area == "KG"].any()  # nothing national hidden: the oblasts suffice


def test_the_national_figure_is_hidden_when_one_oblast_holds_it_all():
    """One non-zero oblast: the national figure would pin it, so it is hidden too."""
    frame = area_sex({"KG02": (3, 30), "KG03": (0, 25), "KG04": (0, 40), "KG05": (0, 18), "KG06": (0, 22)})
    done = protect(frame, Protection())
    hidden = done.mask["victims"]
    assert hidden[cell(frame, "KG02", "F")] and hidden[cell(frame, "KG", "F")]
    assert done.audit.failures == [] and attacked(frame, done) == []


def test_a_table_without_areas_is_national():
    frame = pd.DataFrame({"sex": ["F", "M", "_T"], "victims": [2, 40, 42]})
    done = protect(frame, Protection())
    assert not done.mask["victims"].any() and done.audit.summary()["confidential"] == 0
    assert protect(frame, Protection(primary_national=True)).mask["victims"].sum() == 2


def test_complementary_cells_are_subnational_before_national():
    """The cost of a national cell is `national_cost` times more: the cheapest pattern
    hides oblast cells rather than the national figure."""
    frame = area_sex(SPREAD)
    model = relations.build("t", frame, Declarations(["victims"]))
    prot = Protection()
    national = (cell(frame, "KG", "M"), "victims")
    oblast = (cell(frame, "KG05", "M"), "victims")
    plain = replace(prot, national_cost=1.0)
    assert secondary.cost(model, national, prot) == pytest.approx(10 * secondary.cost(model, national, plain))
    assert secondary.cost(model, oblast, prot) == secondary.cost(model, oblast, plain)


def test_national_true_restores_the_former_policy(tmp_path):
    settings = tmp_path / "disclosure.yaml"
    settings.write_text("threshold: 4\nprimary: {national: true}\n", encoding="utf-8")
    strict = load_protection(settings)
    assert strict.primary_national and strict.national_cost == Protection().national_cost
    frame = area_sex(SPREAD)
    done = protect(frame, strict)
    assert done.mask["victims"][cell(frame, "KG", "F")]  # the national 4 is confidential again
    assert done.audit.summary()["confidential"] == 4
    assert done.audit.failures == [] and attacked(frame, done, national=True) == []


def test_the_shipped_policy_and_bad_values(tmp_path):
    shipped = load_protection()
    assert not shipped.primary_national and shipped.national_cost == 10
    assert load_protection(tmp_path / "absent.yaml") == shipped == Protection()
    bad = tmp_path / "disclosure.yaml"
    for text, key in [("primary: {national: maybe}\n", "primary.national"),
                      ("primary: {national: 1}\n", "primary.national"),
                      ("primary: [national]\n", "primary"),
                      ("cost: {national_multiple: 0.5}\n", "cost.national_multiple"),
                      ("cost: {national_multiple: ten}\n", "cost.national_multiple")]:
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(DisclosureSettingsError) as err:
            load_protection(bad)
        assert err.value.key == key, text
