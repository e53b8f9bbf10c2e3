"""Seating a room: pure, deterministic functions (no Flask, no database).

`assign_tables` puts people at tables of about `table_size` so that each table's mix of member
categories and divisions is as close as possible to the room's. `assign_facilitators` spreads
table facilitators evenly; `emptiest_table` places a late arrival.
"""

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from math import ceil


@dataclass(frozen=True)
class Seatable:
    """One person to seat: an id, a member category and (optionally) a division."""

    person_id: int
    category: Hashable
    division: Hashable | None = None


def table_count(people: int, table_size: int) -> int:
    """How many tables `people` need at `table_size` a table (at least one)."""
    if table_size < 1:
        raise ValueError("table_size must be positive")
    return max(1, ceil(people / table_size))


def assign_tables(people: Sequence[Seatable], table_size: int) -> list[list[int]]:
    """Seat everyone: a list of tables, each a list of person ids; sizes differ by at most one.

    Greedy balancing: people of the rarest (category, division) groups are placed first, each at
    the table that holds fewest of their category, then fewest of their division, then fewest
    people, then the lowest number. The same input always gives the same seating.
    """
    if not people:
        return []
    n_tables = table_count(len(people), table_size)
    base, extra = divmod(len(people), n_tables)
    capacity = [base + (1 if t < extra else 0) for t in range(n_tables)]

    strata = Counter((p.category, p.division) for p in people)
    category_sizes = Counter(p.category for p in people)
    ordered = sorted(
        people,
        key=lambda p: (
            category_sizes[p.category],
            repr(p.category),
            strata[(p.category, p.division)],
            repr(p.division),
            p.person_id,
        ),
    )
    tables: list[list[int]] = [[] for _ in range(n_tables)]
    by_category: list[Counter] = [Counter() for _ in range(n_tables)]
    by_division: list[Counter] = [Counter() for _ in range(n_tables)]
    for person in ordered:
        best = min(
            (t for t in range(n_tables) if len(tables[t]) < capacity[t]),
            key=lambda t: (
                by_category[t][person.category]
                + (by_division[t][person.division] if person.division is not None else 0),
                by_category[t][person.category],
                len(tables[t]),
                t,
            ),
        )
        tables[best].append(person.person_id)
        by_category[best][person.category] += 1
        if person.division is not None:
            by_division[best][person.division] += 1
    return [sorted(table) for table in tables]


#: Table kinds a group of people may sit at, best first ("hall" people: hall, then mixed).
SEATS_FOR = {"hall": ("hall", "mixed"), "online": ("online", "mixed")}


def place_groups(table_kinds: Sequence[str], needed: dict[str, int]) -> dict[str, list[int | None]]:
    """Which existing tables (by index into `table_kinds`) each group's tables go to: tables
    of the group's own kind first, then mixed ones, lowest index first; None where a new
    table of the group's kind is needed. Hall groups choose first (hall tables are fewer).
    The same input always gives the same answer."""
    free = list(range(len(table_kinds)))
    placed: dict[str, list[int | None]] = {}
    for group in sorted(needed, key=lambda g: (g != "hall", g)):
        chosen: list[int | None] = []
        for kind in SEATS_FOR[group]:
            for index in [i for i in free if table_kinds[i] == kind]:
                if len(chosen) < needed[group]:
                    chosen.append(index)
                    free.remove(index)
        chosen.extend([None] * (needed[group] - len(chosen)))
        placed[group] = chosen
    return placed


def assign_facilitators(facilitator_ids: Sequence[int], n_tables: int) -> list[int | None]:
    """One facilitator per table in turn (sorted ids); tables left without one get None.

    Extra facilitators beyond one per table are not assigned (they stay free to help).
    """
    ordered = sorted(facilitator_ids)
    return [ordered[t] if t < len(ordered) else None for t in range(n_tables)]


def emptiest_table(occupancy: dict[int, int], table_size: int) -> int | None:
    """The table (by id) with the fewest people and a free seat; ties go to the lowest id."""
    free = [(count, table_id) for table_id, count in occupancy.items() if count < table_size]
    return min(free)[1] if free else None


def balance_report(tables: Sequence[Sequence[int]], people: Sequence[Seatable]) -> dict[str, float]:
    """Largest gap, in people, between a table's count of a group and its fair share."""
    by_id = {p.person_id: p for p in people}
    total = len(people)
    room_cat = Counter(p.category for p in people)
    room_div = Counter(p.division for p in people if p.division is not None)
    worst_cat = worst_div = 0.0
    for table in tables:
        cats = Counter(by_id[i].category for i in table)
        divs = Counter(by_id[i].division for i in table if by_id[i].division is not None)
        for group, count in room_cat.items():
            worst_cat = max(worst_cat, abs(cats[group] - count * len(table) / total))
        for group, count in room_div.items():
            worst_div = max(worst_div, abs(divs[group] - count * len(table) / total))
    return {"category": round(worst_cat, 3), "division": round(worst_div, 3)}
