"""The whole summary, including the "not enough data for groups" states."""

import json

import numpy as np

from deliberation.consensus import VoteMatrix, summarize
from deliberation.consensus.summary import (
    REASON_NO_DIFFERENCES,
    REASON_NO_VOTES,
    REASON_TOO_FEW_PARTICIPANTS,
    STATUS_NOT_ENOUGH_DATA,
    STATUS_OK,
)
from tests.consensus.planted import opposed_camps


def test_two_camps_summary():
    matrix, camps = opposed_camps(30, 20, noise=0.05, fill=0.8)
    summary = summarize(matrix)
    assert summary.status == STATUS_OK
    assert len(summary.groups) == 2
    assert summary.participants_placed == 60
    group_of = {p.participant: p.group for p in summary.placed}
    for camp in (0, 1):
        members = {group_of[f"p{i}"] for i in np.flatnonzero(camps == camp)}
        assert len(members) == 1
    assert {r.comment for r in summary.consensus_agree[:2]} == {"c0", "c1"}
    assert summary.divisive and summary.divisive[0].comment not in ("c0", "c1")
    assert all(g.representative for g in summary.groups)
    json.dumps(summary.to_dict())  # plain data


def test_moderated_out_comment_leaves_the_summary():
    matrix, _ = opposed_camps(10, 10)
    summary = summarize(matrix, moderated_out={"c0"})
    assert summary.comments == 9
    assert "c0" not in {s.comment for s in summary.comment_statistics}


def test_no_reactions():
    summary = summarize(VoteMatrix.from_votes([], comments=[1, 2]))
    assert summary.status == STATUS_NOT_ENOUGH_DATA
    assert summary.reason == REASON_NO_VOTES
    assert summary.groups == [] and summary.placed == []


def test_one_participant():
    summary = summarize(VoteMatrix.from_votes([("solo", c, 1) for c in range(10)]))
    assert summary.status == STATUS_NOT_ENOUGH_DATA
    assert summary.reason == REASON_TOO_FEW_PARTICIPANTS
    assert summary.participants_placed == 1


def test_everyone_agreeing_has_no_groups_but_shows_common_ground():
    votes = [(p, c, 1) for p in range(20) for c in range(8)]
    summary = summarize(VoteMatrix.from_votes(votes))
    assert summary.status == STATUS_NOT_ENOUGH_DATA
    assert summary.reason == REASON_NO_DIFFERENCES
    assert len(summary.consensus_agree) == 8
    assert summary.divisive == []


def test_unplaced_participants_still_count_in_comment_totals():
    matrix, _ = opposed_camps(10, 10)
    extra = VoteMatrix(
        (*matrix.participants, "late"),
        matrix.comments,
        np.vstack([matrix.values, [1] + [np.nan] * 9]),
    )
    summary = summarize(extra)
    assert summary.participants == 21 and summary.participants_placed == 20
    assert summary.comment_statistics[0].agree == 21
