"""The small-group rule: no published breakdown shows how so few people voted that they could
be told apart.

Ballots (a group shows turnout only) and room polls (small member categories are added up
under "other categories") both apply it through this module, so the minimum and the
reasoning live in one place. Pure: no Flask, no database.
"""

from collections.abc import Mapping, Sequence
from typing import Any

#: A group (member category or division) with fewer voters than this never has its choices
#: shown on their own, so a breakdown cannot reveal how one or two identifiable people voted.
MIN_GROUP = 5
#: The key under which the combined counts of small member categories are published.
OTHER_GROUPS = "other"


def groups_to_combine(voters: Mapping[str, int], minimum: int = MIN_GROUP) -> set[str]:
    """The groups whose choices may not be shown on their own.

    Every group with fewer than `minimum` voters; and when those add up to more than none but
    fewer than `minimum`, also the next smallest groups until they do not: otherwise the
    overall count minus the groups shown would give the small ones away. The groups must not
    overlap (each voter in one group), as member categories do not.
    """
    combined = {group for group, count in voters.items() if count < minimum}
    hidden = sum(voters[group] for group in combined)
    shown = sorted((g for g in voters if g not in combined), key=lambda g: (voters[g], str(g)))
    for group in shown:
        if not 0 < hidden < minimum:
            break
        combined.add(group)
        hidden += voters[group]
    return combined


def _add(into: dict[str, Any], counts: Mapping[str, Any]) -> None:
    """Add nested counts ({option: n} or {option: {stance: n}}) into `into`, in place."""
    for key, value in counts.items():
        if isinstance(value, Mapping):
            _add(into.setdefault(key, {}), value)
        else:
            into[key] = into.get(key, 0) + value


def fold_small_groups(
    by_group: Mapping[str, Mapping[str, Any]],
    voters: Mapping[str, int],
    *,
    order: Sequence[str] = (),
    minimum: int = MIN_GROUP,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A breakdown safe to publish, and a note saying what was combined.

    Groups with at least `minimum` voters keep their counts (in `order`); the groups that
    `groups_to_combine` names are added up under `OTHER_GROUPS`. When every group would be
    combined, the "other" column would just repeat the overall counts (or, under the minimum,
    reveal a handful of people), so no breakdown is given at all: `withheld`.
    """
    rank = {group: n for n, group in enumerate(order)}
    groups = sorted(by_group, key=lambda g: (rank.get(g, len(rank)), str(g)))
    combine = groups_to_combine({g: voters.get(g, 0) for g in groups}, minimum)
    shown: dict[str, Any] = {g: by_group[g] for g in groups if g not in combine}
    combined = [g for g in groups if g in combine]
    withheld = bool(combined) and not shown
    if combined and shown:
        other: dict[str, Any] = {}
        for group in combined:
            _add(other, by_group[group])
        shown[OTHER_GROUPS] = other
    note = {"minimum": minimum, "combined": [] if withheld else combined, "withheld": withheld}
    return shown, note
