"""Property tests: order invariance and planted camps."""

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deliberation.consensus import VoteMatrix, summarize
from deliberation.consensus.synthetic import synthetic_matrix
from tests.consensus.planted import opposed_camps

SETTINGS = settings(
    max_examples=int(os.environ.get("CONSENSUS_EXAMPLES", 25)),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def comparable(summary):
    """What must not depend on row or column order (group numbering is canonical)."""
    return (
        summary.status,
        summary.participants_placed,
        sorted((p.participant, p.group) for p in summary.placed),
        [(g.index, g.size) for g in summary.groups],
        sorted(
            (s.comment, s.agree, s.disagree, s.passed, str(s.groups))
            for s in summary.comment_statistics
        ),
        [r.comment for r in summary.consensus_agree],
        [r.comment for r in summary.consensus_disagree],
        [r.comment for r in summary.divisive],
        [[r.comment for r in g.representative] for g in summary.groups],
    )


@st.composite
def vote_matrices(draw):
    participants = draw(st.integers(min_value=1, max_value=40))
    comments = draw(st.integers(min_value=1, max_value=15))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    camp = rng.integers(0, draw(st.integers(1, 3)), size=participants)
    stance = rng.choice([-1.0, 0.0, 1.0], size=(3, comments))
    values = stance[camp]
    noise = rng.random(values.shape) < draw(st.floats(0, 0.4))
    values[noise] = rng.choice([-1.0, 0.0, 1.0], size=int(noise.sum()))
    values[rng.random(values.shape) > draw(st.floats(0.3, 1.0))] = np.nan
    ids = tuple(f"p{i}" for i in range(participants))
    return VoteMatrix(ids, tuple(f"c{j}" for j in range(comments)), values)


@SETTINGS
@given(vote_matrices(), st.randoms(use_true_random=False))
def test_invariant_to_order_of_participants_and_comments(matrix, random):
    rows = list(range(len(matrix.participants)))
    columns = list(range(len(matrix.comments)))
    random.shuffle(rows)
    random.shuffle(columns)
    shuffled = VoteMatrix(
        tuple(matrix.participants[i] for i in rows),
        tuple(matrix.comments[j] for j in columns),
        matrix.values[np.ix_(rows, columns)],
    )
    original, permuted = summarize(matrix), summarize(shuffled)
    assert comparable(original) == comparable(permuted)
    position = {p.participant: (p.x, p.y) for p in original.placed}
    for p in permuted.placed:
        # The map may only be mirrored along an axis, never reshaped.
        np.testing.assert_allclose(np.abs(position[p.participant]), np.abs((p.x, p.y)), atol=1e-6)


@SETTINGS
@given(
    per_camp=st.integers(min_value=8, max_value=60),
    comments=st.integers(min_value=12, max_value=40),
    noise=st.floats(min_value=0.0, max_value=0.05),
    fill=st.floats(min_value=0.7, max_value=1.0),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_two_planted_opposed_camps_are_the_two_groups(per_camp, comments, noise, fill, seed):
    """Camps that disagree on every divisive comment, with a little noise (a participant's
    flipped votes never come near half of theirs), must come out as exactly the two groups."""
    # Imported here: scikit-learn's import (about a second) would cost every test process
    # that collects this module, not just the one that runs this test.
    from sklearn.metrics import adjusted_rand_score

    matrix, camps = opposed_camps(per_camp, comments, noise=noise, fill=fill, seed=seed)
    summary = summarize(matrix)
    assert len(summary.groups) == 2
    group_of = {p.participant: p.group for p in summary.placed}
    placed = [i for i, p in enumerate(matrix.participants) if p in group_of]
    labels = [group_of[matrix.participants[i]] for i in placed]
    assert adjusted_rand_score(camps[placed], labels) == 1.0


def test_order_invariance_with_more_than_one_hundred_base_points():
    """Past 100 distinct positions the base clusters come from k-means: still order-free."""
    matrix = synthetic_matrix(400, 120, density=0.3, seed=5)
    rng = np.random.default_rng(1)
    rows, columns = rng.permutation(400), rng.permutation(120)
    shuffled = VoteMatrix(
        tuple(matrix.participants[i] for i in rows),
        tuple(matrix.comments[j] for j in columns),
        matrix.values[np.ix_(rows, columns)],
    )
    original, permuted = summarize(matrix), summarize(shuffled)
    assert original.base_clusters == 100
    assert comparable(original) == comparable(permuted)
