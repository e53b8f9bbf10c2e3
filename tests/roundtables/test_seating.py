"""The pure seating function: balanced tables at 100 and 1,000 people, deterministic."""

import random

import pytest

from deliberation.roundtables.seating import (
    Seatable,
    assign_facilitators,
    assign_tables,
    balance_report,
    emptiest_table,
    place_groups,
)

CATEGORIES = ["citizen"] * 5 + ["welfare_organisation"] * 2 + ["expert", "civil_servant"]


def room(n: int, seed: int) -> list[Seatable]:
    rng = random.Random(seed)
    divisions = [*range(1, 11), None]
    return [Seatable(i, rng.choice(CATEGORIES), rng.choice(divisions)) for i in range(1, n + 1)]


@pytest.mark.parametrize("n", [100, 1000])
def test_every_table_mirrors_the_room(n):
    people = room(n, seed=n)
    tables = assign_tables(people, 10)
    assert len(tables) == n // 10
    assert sorted(i for t in tables for i in t) == [p.person_id for p in people]
    assert {len(t) for t in tables} == {10}
    report = balance_report(tables, people)
    # No table is more than one person away from its fair share of any member category,
    # nor two away for any division.
    assert report["category"] < 1.0
    assert report["division"] < 2.0


def test_rare_groups_are_spread_not_bunched():
    people = [Seatable(i, "citizen", 1) for i in range(1, 91)]
    people += [Seatable(100 + i, "expert", 2) for i in range(10)]
    tables = assign_tables(people, 10)
    experts_per_table = [sum(1 for i in t if i >= 100) for t in tables]
    assert experts_per_table == [1] * 10


def test_sizes_differ_by_at_most_one_and_seating_is_deterministic():
    people = room(103, seed=7)
    tables = assign_tables(people, 10)
    assert len(tables) == 11
    assert max(map(len, tables)) - min(map(len, tables)) <= 1
    assert assign_tables(list(reversed(people)), 10) == tables


def test_facilitators_spread_one_per_table_and_missing_ones_flagged():
    assert assign_facilitators([9, 3, 5], 5) == [3, 5, 9, None, None]
    assert assign_facilitators([1, 2, 3, 4], 2) == [1, 2]


def test_late_arrival_goes_to_the_emptiest_table():
    assert emptiest_table({10: 9, 11: 7, 12: 7}, 10) == 11
    assert emptiest_table({10: 10, 11: 10}, 10) is None
    assert assign_tables([], 10) == []


def test_hall_groups_take_hall_tables_then_mixed_and_online_groups_the_rest():
    kinds = ["online", "hall", "mixed", "hall", "online"]
    placed = place_groups(kinds, {"hall": 3, "online": 3})
    # hall people: both hall tables, then the mixed one; never an online table
    assert placed["hall"] == [1, 3, 2]
    # online people: both online tables, and a new one (the mixed table is taken)
    assert placed["online"] == [0, 4, None]
    assert place_groups(kinds, {"online": 1}) == {"online": [0]}
    assert place_groups([], {"hall": 2}) == {"hall": [None, None]}
