"""The vote matrix, who gets placed, and the PCA behind the opinion map."""

import numpy as np
import pytest

from deliberation.consensus.matrix import VoteMatrix
from deliberation.consensus.pca import column_means, project


def test_latest_vote_stands_and_unvoted_comments_are_columns():
    matrix = VoteMatrix.from_votes(
        [("a", 1, 1), ("b", 1, -1), ("a", 1, -1), ("a", 2, 0)], comments=[1, 2, 3]
    )
    assert matrix.participants == ("a", "b")
    assert matrix.comments == (1, 2, 3)
    np.testing.assert_array_equal(matrix.values[0], [-1, 0, np.nan])
    np.testing.assert_array_equal(matrix.values[1], [-1, np.nan, np.nan])


def test_rejects_values_that_are_not_votes():
    with pytest.raises(ValueError, match="votes must be"):
        VoteMatrix(("a",), ("c",), np.array([[2.0]]))


def test_placed_after_min_of_seven_or_all_comments():
    votes = [("few", c, 1) for c in range(6)] + [("enough", c, 1) for c in range(7)]
    matrix = VoteMatrix.from_votes(votes, comments=range(20))
    assert matrix.placeable().tolist() == [False, True]
    small = VoteMatrix.from_votes([("a", 0, 1), ("a", 1, 1), ("b", 0, 1)], comments=[0, 1])
    assert small.placeable().tolist() == [True, False]


def test_moderated_out_comments_are_dropped():
    matrix = VoteMatrix.from_votes([("a", 1, 1), ("a", 2, -1)]).without_comments({2})
    assert matrix.comments == (1,)
    assert matrix.values.tolist() == [[1.0]]


def test_column_means_ignore_missing_votes():
    values = np.array([[1.0, np.nan], [-1.0, np.nan], [1.0, 1.0]])
    np.testing.assert_allclose(column_means(values), [1 / 3, 1.0])


def test_first_axis_separates_two_opposed_voters_and_sparse_voters_are_scaled():
    values = np.array(
        [
            [1, 1, 1, 1],
            [-1, -1, -1, -1],
            [1, 1, np.nan, np.nan],  # same opinions, half the votes
        ],
        dtype=float,
    )
    projection = project(values)
    x = projection.coordinates[:, 0]
    assert np.sign(x[0]) == -np.sign(x[1])
    assert np.sign(x[2]) == np.sign(x[0])
    # Without the sqrt(4/2) scaling the sparse voter would sit nearer the centre.
    centred = np.where(np.isnan(values), 0, values - projection.center)
    unscaled = centred[2] @ projection.components[0]
    assert x[2] == pytest.approx(unscaled * np.sqrt(2), abs=1e-8)
    assert projection.explained_variance_ratio[0] > 0.9


def test_projection_of_an_empty_matrix_is_empty():
    projection = project(np.empty((0, 3)))
    assert projection.coordinates.shape == (0, 2)
