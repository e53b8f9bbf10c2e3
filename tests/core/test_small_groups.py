"""The small-group rule (core/small_groups.py): no published breakdown lets anyone work out how
a member category of one to four voters voted, directly or as the total minus the others."""

from hypothesis import given
from hypothesis import strategies as st

from deliberation.core.small_groups import (
    MIN_GROUP,
    OTHER_GROUPS,
    fold_small_groups,
    groups_to_combine,
)

ORDER = ["citizen", "welfare_organisation", "expert", "civil_servant"]


def choices(yes: int, no: int) -> dict[str, int]:
    return {"yes": yes, "no": no}


def test_groups_big_enough_are_shown_as_they_are():
    by_group = {"citizen": choices(4, 6), "expert": choices(5, 0)}
    shown, note = fold_small_groups(by_group, {"citizen": 10, "expert": 5}, order=ORDER)
    assert shown == by_group and list(shown) == ["citizen", "expert"]
    assert note == {"minimum": MIN_GROUP, "combined": [], "withheld": False}


def test_small_groups_are_added_up_as_other_categories():
    by_group = {
        "civil_servant": choices(0, 2),
        "citizen": choices(7, 3),
        "expert": choices(3, 0),
    }
    voters = {"citizen": 10, "expert": 3, "civil_servant": 2}
    shown, note = fold_small_groups(by_group, voters, order=ORDER)
    assert shown == {"citizen": choices(7, 3), OTHER_GROUPS: choices(3, 2)}
    assert list(shown) == ["citizen", OTHER_GROUPS]  # the given order, "other" last
    assert note == {"minimum": 5, "combined": ["expert", "civil_servant"], "withheld": False}


def test_a_lone_voter_takes_the_next_smallest_category_with_them():
    # Showing citizens and welfare organisations would give the expert's vote away as the
    # total minus theirs: the smaller of the two joins the expert.
    by_group = {
        "citizen": choices(9, 1),
        "welfare_organisation": choices(6, 0),
        "expert": choices(0, 1),
    }
    voters = {"citizen": 10, "welfare_organisation": 6, "expert": 1}
    shown, note = fold_small_groups(by_group, voters, order=ORDER)
    assert shown == {"citizen": choices(9, 1), OTHER_GROUPS: choices(6, 1)}
    assert note["combined"] == ["welfare_organisation", "expert"] and not note["withheld"]


def test_nothing_is_broken_down_when_no_split_is_safe():
    one_big = {"citizen": choices(20, 0), "expert": choices(0, 1)}
    shown, note = fold_small_groups(one_big, {"citizen": 20, "expert": 1}, order=ORDER)
    assert shown == {} and note == {"minimum": 5, "combined": [], "withheld": True}
    all_small = {c: choices(1, 1) for c in ORDER}
    shown, note = fold_small_groups(all_small, dict.fromkeys(ORDER, 2), order=ORDER)
    assert shown == {} and note["withheld"]
    assert fold_small_groups({}, {}) == ({}, {"minimum": 5, "combined": [], "withheld": False})


def test_nested_counts_of_agree_polls_add_up():
    stances = {"agree": 1, "disagree": 2, "pass": 0}
    by_group = {
        "citizen": {"7": {"agree": 5, "disagree": 0, "pass": 0}},
        "expert": {"7": stances},
        "civil_servant": {"7": stances},
    }
    voters = {"citizen": 5, "expert": 3, "civil_servant": 3}
    shown, _note = fold_small_groups(by_group, voters, order=ORDER)
    assert shown[OTHER_GROUPS] == {"7": {"agree": 2, "disagree": 4, "pass": 0}}
    assert by_group["expert"] == {"7": stances}  # the input is not changed


@given(st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=4))
def test_no_published_figure_isolates_fewer_than_the_minimum(sizes):
    voters = {group: n for group, n in zip(ORDER, sizes, strict=False) if n}
    by_group = {group: {"votes": n} for group, n in voters.items()}
    shown, note = fold_small_groups(by_group, voters, order=ORDER)
    published = {g: c["votes"] for g, c in shown.items()}
    # every column published counts at least the minimum of voters, and the columns add up to
    # the total: nothing is left for "the total minus the others" to reveal
    assert all(n >= MIN_GROUP for n in published.values())
    assert not published or sum(published.values()) == sum(voters.values())
    assert note["withheld"] == (not published and bool(voters))
    if OTHER_GROUPS in published:
        assert published[OTHER_GROUPS] == sum(voters[g] for g in note["combined"])
    assert groups_to_combine(voters) >= {g for g, n in voters.items() if n < MIN_GROUP}
