"""Madang's opinion groups against the groups Pol.is itself assigned, on real conversations."""

from dataclasses import dataclass

import pytest

from deliberation.consensus import summarize
from deliberation.summaries.polis_files import read_polis_export
from tests.summaries.polis_data import ASSERTED, REPORTED, polis_data_dir

MIN_ARI = 0.75


@dataclass
class Agreement:
    conversation: str
    placed_both: int
    ours: int
    theirs: int | None
    ari: float


def agreement(conversation: str) -> Agreement:
    # Imported here: scikit-learn's import (about a second) would cost every test process
    # that collects this module, not just the one that runs it.
    from sklearn.metrics import adjusted_rand_score

    export = read_polis_export(polis_data_dir() / conversation)
    summary = summarize(export.vote_matrix(), export.moderated_out)
    ours, theirs = [], []
    for participant in summary.placed:
        polis_group = export.polis_groups.get(participant.participant)
        if polis_group is not None and participant.group is not None:
            ours.append(participant.group)
            theirs.append(polis_group)
    ari = adjusted_rand_score(theirs, ours) if ours else float("nan")
    return Agreement(conversation, len(ours), len(summary.groups), export.polis_group_count, ari)


@pytest.fixture(scope="module")
def table():
    rows = [agreement(name) for name in ASSERTED + REPORTED]
    print("\nconversation                   placed  groups ours/theirs   ARI")
    for row in rows:
        note = "" if row.conversation in ASSERTED else "  (reported only)"
        print(
            f"{row.conversation:<30} {row.placed_both:>6}  {row.ours:>4} / {row.theirs:<6}"
            f"  {row.ari:6.3f}{note}"
        )
    return {row.conversation: row for row in rows}


@pytest.mark.parametrize("conversation", ASSERTED)
def test_same_groups_as_polis(table, conversation):
    row = table[conversation]
    assert row.placed_both > 100
    assert row.ours == row.theirs
    assert row.ari >= MIN_ARI


@pytest.mark.parametrize("conversation", REPORTED)
def test_reported_conversations_are_summarised(table, conversation):
    row = table[conversation]
    assert row.placed_both > 0 and row.ours >= 2


@pytest.mark.slow
def test_every_conversation_imported_into_madang_agrees_with_polis(app):
    """End to end: import each export into the database, summarise the item, compare."""
    from sklearn.metrics import adjusted_rand_score

    from deliberation.extensions import db
    from deliberation.summaries.queries import compute_summary_document
    from deliberation.summaries.services import import_polis_export

    rows = []
    with app.app_context():
        for name in ASSERTED + REPORTED:
            export = read_polis_export(polis_data_dir() / name)
            item, created = import_polis_export(export)
            db.session.commit()
            assert created
            document = compute_summary_document(item.id)
            ours, theirs = [], []
            for participant in document["participants"]:
                polis_group = export.polis_groups.get(participant["id"])
                if polis_group is not None and participant["group"] is not None:
                    ours.append(participant["group"])
                    theirs.append(polis_group)
            rows.append(
                (name, len(ours), len(document["groups"]), export.polis_group_count,
                 adjusted_rand_score(theirs, ours))
            )  # fmt: skip
    print("\nimported: conversation, placed, groups ours/theirs, ARI")
    for row in rows:
        print(f"  {row[0]:<30} {row[1]:>5} {row[2]} / {row[3]}  {row[4]:.3f}")
    for name, placed, ours, theirs, ari in rows:
        if name in ASSERTED:
            assert ours == theirs and ari >= MIN_ARI, name
        else:
            assert placed > 0
