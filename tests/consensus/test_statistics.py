"""Per-group statistics, representativeness, consensus and divisive comments."""

import numpy as np
import pytest

from deliberation.consensus.statistics import (
    consensus_statements,
    count_votes,
    divisive_comments,
    proportion_z,
    representative_comments,
    two_proportion_z,
)

# 8 participants in two groups of four; comments:
# 0: everyone agrees, 1: everyone disagrees, 2: group 0 agrees / group 1 disagrees,
# 3: group 0 passes or misses, group 1 agrees.
VALUES = np.array(
    [
        [1, -1, 1, 0],
        [1, -1, 1, np.nan],
        [1, -1, 1, 0],
        [1, -1, 1, np.nan],
        [1, -1, -1, 1],
        [1, -1, -1, 1],
        [1, -1, -1, 1],
        [1, -1, -1, 1],
    ]
)
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])


@pytest.fixture
def counts():
    return count_votes(VALUES, LABELS, 2)


def test_counts_and_smoothed_probabilities(counts):
    assert counts.agree[:, 0].tolist() == [4, 4]
    assert counts.passed[0, 3] == 2 and counts.seen[0, 3] == 2
    assert counts.agree_probability[0, 0] == pytest.approx(5 / 6)
    assert counts.agree_probability[0, 3] == pytest.approx(1 / 4)
    assert counts.disagree_probability[1, 2] == pytest.approx(5 / 6)


def test_z_tests():
    assert proportion_z(np.array([9.0]), np.array([9.0]))[0] > 1.28
    assert (
        two_proportion_z(np.array([10.0]), np.array([10.0]), np.array([0.0]), np.array([10.0]))[0]
        > 3
    )
    assert two_proportion_z(np.array([5.0]), np.array([10.0]), np.array([5.0]), np.array([10.0]))[
        0
    ] == pytest.approx(0)


def test_group_informed_consensus_ranks_common_ground(counts):
    agree = consensus_statements(counts, "agree")
    assert [r.comment_index for r in agree] == [0]
    assert agree[0].score == pytest.approx((5 / 6) ** 2)
    disagree = consensus_statements(counts, "disagree")
    assert [r.comment_index for r in disagree] == [1]


def test_divisive_comment_is_the_split_one(counts):
    assert [r.comment_index for r in divisive_comments(counts)] == [2]


def test_representative_comments_set_groups_apart():
    # Larger groups so the 90 % tests can be significant.
    values = np.repeat(VALUES, 5, axis=0)
    labels = np.repeat(LABELS, 5)
    representatives = representative_comments(count_votes(values, labels, 2))
    first = {(r.comment_index, r.direction) for r in representatives[0]}
    second = {(r.comment_index, r.direction) for r in representatives[1]}
    assert (2, "agree") in first and (2, "disagree") in second
    assert (3, "agree") in second
    assert all(c not in (0, 1) for c, _ in first | second)
    assert all(r.z > 1.2816 and r.probability > r.rest_probability for r in representatives[0])
