"""Opinion groups: base clusters, the choice of k, determinism."""

import numpy as np

from deliberation.consensus.clustering import (
    SILHOUETTE_MARGIN,
    choose_group_count,
    cluster_groups,
    max_group_count,
)


def blobs(centers, per, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    points = np.vstack([rng.normal(c, spread, size=(per, 2)) for c in centers])
    labels = np.repeat(np.arange(len(centers)), per)
    return points, labels


def same_partition(a, b) -> bool:
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def test_larger_k_needs_to_clearly_beat_fewer_groups():
    assert choose_group_count({2: 0.40, 3: 0.44, 4: 0.41}) == 2
    assert choose_group_count({2: 0.40, 3: 0.40 + SILHOUETTE_MARGIN, 4: 0.46}) == 3
    assert choose_group_count({2: 0.30, 3: 0.33, 4: 0.40}) == 4


def test_max_group_count_follows_polis():
    assert max_group_count(100) == 5
    assert max_group_count(24) == 4
    assert max_group_count(3) == 2
    assert max_group_count(2) == 1  # two distinct opinions are handled apart


def test_three_separated_blobs_give_three_groups_largest_first():
    points, truth = blobs([(0, 0), (6, 0), (0, 6)], per=40)
    points = np.vstack([points, points[:10] + 0.01])  # make group 0 the largest
    truth = np.concatenate([truth, truth[:10]])
    clustering = cluster_groups(points)
    assert clustering.group_count == 3
    assert same_partition(clustering.labels, truth)
    assert np.sum(clustering.labels == 0) == 50


def test_many_points_use_one_hundred_base_clusters():
    points, truth = blobs([(0, 0), (8, 8)], per=300)
    clustering = cluster_groups(points)
    assert clustering.base_clusters == 100
    assert clustering.group_count == 2
    assert same_partition(clustering.labels, truth)


def test_identical_points_have_no_groups():
    assert cluster_groups(np.zeros((30, 2))) is None
    assert cluster_groups(np.empty((0, 2))) is None


def test_same_input_same_result():
    points, _ = blobs([(0, 0), (3, 1), (1, 4)], per=80, spread=1.2, seed=3)
    first, second = cluster_groups(points), cluster_groups(points)
    np.testing.assert_array_equal(first.labels, second.labels)
    assert first.silhouettes == second.silhouettes


def test_two_distinct_opinions_are_two_groups():
    points = np.array([[1.0, 0.0]] * 5 + [[-1.0, 0.0]] * 3)
    clustering = cluster_groups(points)
    assert clustering.group_count == 2
    assert clustering.labels.tolist() == [0] * 5 + [1] * 3
