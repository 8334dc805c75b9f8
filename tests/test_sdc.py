"""Disclosure control: primary and secondary suppression, checked by an attacker that
recovers suppressed cells by subtraction from published totals."""

from __future__ import annotations

from publish_helpers import SMALL, attack, crossed_table, oblast_sex_table, trafficking_table

from gbvstats.publish import sdc

DIMS = ["area", "sex"]


def cell(frame, area, sex):
    return frame.index[(frame["area"] == area) & (frame["sex"] == sex)][0]


def test_primary_suppresses_small_counts_not_zeros():
    frame = oblast_sex_table(SMALL)
    _, flags = sdc.protect(frame, ["victims"])
    assert flags.loc[cell(frame, "KG02", "F"), "victims"]  # 3
    assert flags.loc[cell(frame, "KG05", "M"), "victims"]  # 2
    assert flags.loc[cell(frame, "KG08", "M"), "victims"]  # 4 = threshold
    assert not flags.loc[cell(frame, "KG04", "F"), "victims"]  # 0 is not sensitive
    assert not flags.loc[cell(frame, "KG11", "F"), "victims"]  # 120


def test_primary_only_is_recoverable_so_the_attacker_works():
    frame = oblast_sex_table(SMALL)
    naive = sdc.primary(frame["victims"].astype(float))
    found = attack(frame, "victims", naive, DIMS)
    kg02_f = cell(frame, "KG02", "F")
    assert found[kg02_f] == 3  # _T 43 minus M 40
    assert set(found) == set(frame.index[naive])


def test_secondary_suppression_leaves_nothing_recoverable():
    frame = oblast_sex_table(SMALL)
    published, flags = sdc.protect(frame, ["victims"])
    suppressed = flags["victims"]
    assert suppressed.sum() > sdc.primary(frame["victims"].astype(float)).sum()
    assert attack(frame, "victims", suppressed, DIMS) == {}
    assert published["victims"][suppressed].isna().all()
    assert published["victims"][~suppressed].notna().all()


def test_threshold_is_configurable():
    frame = oblast_sex_table(SMALL)
    _, at2 = sdc.protect(frame, ["victims"], threshold=2)
    _, at9 = sdc.protect(frame, ["victims"], threshold=9)
    assert not sdc.primary(frame["victims"], 2)[cell(frame, "KG02", "F")]
    assert sdc.primary(frame["victims"], 9)[cell(frame, "KG07", "F")]
    assert at2["victims"].sum() < at9["victims"].sum()
    for flags in (at2, at9):
        assert attack(frame, "victims", flags["victims"], DIMS) == {}


def test_four_dimensions_with_totals_and_rates():
    frame = trafficking_table()
    dims = ["area", "exploitation", "sex", "age"]
    assert sdc.primary(frame["victims"]).sum() >= 5
    naive = sdc.primary(frame["victims"].astype(float))
    assert attack(frame, "victims", naive, dims)  # primary alone leaks
    published, flags = sdc.protect(frame, ["victims"], {"victims_per_100k": "victims"})
    assert sdc.dimensions(frame, ["victims", "victims_per_100k"]) == dims
    assert attack(frame, "victims", flags["victims"], dims) == {}
    assert (flags["victims_per_100k"] == flags["victims"]).all()
    assert published.loc[flags["victims"], "victims_per_100k"].isna().all()
    zeros = frame["victims"] == 0
    assert published.loc[zeros & ~flags["victims"], "victims"].eq(0).all()


def test_custom_total_code():
    frame = oblast_sex_table(SMALL).replace({"sex": {"_T": "ALL"}})
    _, flags = sdc.protect(frame, ["victims"], totals={"sex": "ALL"})
    assert attack(frame, "victims", flags["victims"], DIMS, {"sex": "ALL"}) == {}
    _, wrong = sdc.protect(frame, ["victims"])  # 'ALL' unknown: sex lines not seen
    assert attack(frame, "victims", wrong["victims"], DIMS, {"sex": "ALL"})


def test_grand_total_without_margins():
    frame = crossed_table()
    dims = ["area", "exploitation", "sex", "age"]
    naive = sdc.primary(frame["victims"].astype(float))
    leaked = attack(frame, "victims", naive, dims)
    assert leaked and all(frame.loc[i, "victims"] == v for i, v in leaked.items())
    _, flags = sdc.protect(frame, ["victims"])
    assert attack(frame, "victims", flags["victims"], dims) == {}
    assert sdc.recover(frame, "victims", flags["victims"], dims) == {}


def test_label_columns_are_not_dimensions():
    frame = oblast_sex_table(SMALL)
    frame["sex_label"] = frame["sex"].map({"F": "women", "M": "men", "_T": "all"})
    frame["agency"] = "MOI"
    assert sdc.dimensions(frame, ["victims"]) == ["area", "sex"]
    _, flags = sdc.protect(frame, ["victims"])
    assert attack(frame, "victims", flags["victims"], ["area", "sex"]) == {}


def test_columns_that_add_up_on_each_row():
    frame = oblast_sex_table(SMALL).query("sex == '_T'").drop(columns="sex").reset_index(drop=True)
    frame["victims_women"] = [s // 3 for s in frame["victims"]]
    frame.loc[frame["area"] == "KG07", "victims_women"] = 2  # small: primary
    frame["victims_men"] = frame["victims"] - frame["victims_women"]
    counts = ["victims", "victims_women", "victims_men"]
    sums = {"victims": ["victims_women", "victims_men"]}
    _, naive = sdc.protect(frame, counts)
    kg07 = frame.index[frame["area"] == "KG07"][0]
    assert naive.loc[kg07, "victims_women"] and not naive.loc[kg07, "victims_men"]  # women = all - men
    _, flags = sdc.protect(frame, counts, sums=sums)
    equations = [(i, "victims", [(i, "victims_women"), (i, "victims_men")]) for i in frame.index]
    kg = frame.index[frame["area"] == "KG"][0]
    for col in counts:
        equations.append((kg, col, [(i, col) for i in frame.index if i != kg]))
    for row, col, parts in equations:
        hidden = [flags.loc[r, c] for r, c in [(row, col), *parts]]
        assert sum(hidden) != 1, (row, col)
