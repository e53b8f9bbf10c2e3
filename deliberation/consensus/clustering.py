"""Opinion groups, Pol.is style: up to 100 base clusters, then 2-5 groups of base clusters.

The number of groups is chosen by silhouette with one rule for every conversation: start from
two groups; a larger k replaces the current choice only when its silhouette beats it by at least
`SILHOUETTE_MARGIN` (Pol.is instead keeps a k only after it has won several recomputations in a
row; a margin is the static equivalent). Every step is deterministic and independent of the order
of participants: points are deduplicated and sorted before any k-means runs with a fixed seed.
"""

from dataclasses import dataclass, field

import numpy as np

MAX_BASE_CLUSTERS = 100
MIN_GROUPS = 2
MAX_GROUPS = 5
#: A larger number of groups must beat the current choice's silhouette by this much.
SILHOUETTE_MARGIN = 0.05
BASE_RESTARTS = 10
GROUP_RESTARTS = 50
SEED = 0


@dataclass(frozen=True)
class Clustering:
    """Which group each participant falls in, and how the number of groups was chosen."""

    #: group index per participant, 0 = largest group.
    labels: np.ndarray
    #: shape (groups, 2): each group's centre on the map.
    centers: np.ndarray
    #: silhouette of each k tried, on the base clusters.
    silhouettes: dict[int, float] = field(default_factory=dict)
    base_clusters: int = 0

    @property
    def group_count(self) -> int:
        return len(self.centers)


def max_group_count(base_clusters: int) -> int:
    """Pol.is' bound on k: at most 5, at most 2 + base clusters / 12, fewer than base clusters."""
    return min(MAX_GROUPS, base_clusters - 1, 2 + base_clusters // 12)


def choose_group_count(silhouettes: dict[int, float]) -> int:
    """The smallest k, unless a larger one clearly beats it (see SILHOUETTE_MARGIN)."""
    chosen = min(silhouettes)
    for k in sorted(silhouettes):
        if silhouettes[k] >= silhouettes[chosen] + SILHOUETTE_MARGIN:
            chosen = k
    return chosen


def _sorted_rows(points: np.ndarray) -> np.ndarray:
    """Indices that sort 2-D points by x, then y."""
    return np.lexsort((points[:, 1], points[:, 0]))


def _base_clusters(
    points: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centres, weights, label per point) of up to MAX_BASE_CLUSTERS base clusters."""
    if len(points) <= MAX_BASE_CLUSTERS:
        return points, weights.astype(float), np.arange(len(points))
    # Imported when first needed: scikit-learn takes about a second to import, which every
    # server process (and each worker restart) would otherwise pay before serving anything.
    from sklearn.cluster import KMeans

    model = KMeans(MAX_BASE_CLUSTERS, n_init=BASE_RESTARTS, random_state=SEED)
    model.fit(points, sample_weight=weights)
    order = _sorted_rows(model.cluster_centers_)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = rank[model.labels_]
    centers = model.cluster_centers_[order]
    base_weights = np.bincount(labels, weights=weights, minlength=len(centers))
    used = base_weights > 0
    remap = np.cumsum(used) - 1
    return centers[used], base_weights[used], remap[labels]


def weighted_kmeans(
    points: np.ndarray, weights: np.ndarray, k: int, restarts: int, seed: int
) -> tuple[np.ndarray, float]:
    """Best of `restarts` weighted k-means++ / Lloyd runs on a few points (the base clusters).

    Plain numpy: on about a hundred points this is much faster than scikit-learn's per-call
    overhead, and deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    best_labels, best_inertia = np.zeros(len(points), dtype=int), np.inf
    for _ in range(restarts):
        centers = points[[rng.choice(len(points), p=weights / weights.sum())]]
        for _ in range(1, k):  # k-means++: far points are likelier next centres
            distance = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(-1).min(1)
            chance = weights * distance
            if chance.sum() <= 0:
                break
            centers = np.vstack([centers, points[rng.choice(len(points), p=chance / chance.sum())]])
        labels = np.zeros(len(points), dtype=int)
        for _ in range(100):
            distance = ((points[:, None, :] - centers[None, :, :]) ** 2).sum(-1)
            new_labels = distance.argmin(1)
            if _ > 0 and np.array_equal(new_labels, labels):
                break
            labels = new_labels
            for g in range(len(centers)):
                members = labels == g
                if members.any():
                    centers[g] = np.average(points[members], axis=0, weights=weights[members])
        inertia = float((weights * ((points - centers[labels]) ** 2).sum(-1)).sum())
        if inertia < best_inertia - 1e-12:
            best_labels, best_inertia = labels, inertia
    return best_labels, best_inertia


def cluster_groups(coordinates: np.ndarray) -> Clustering | None:
    """Opinion groups of participants on the map, or None when there is no structure to find."""
    if len(coordinates) == 0:
        return None
    points, inverse, counts = np.unique(
        coordinates, axis=0, return_inverse=True, return_counts=True
    )
    inverse = inverse.reshape(-1)
    centers, weights, base_of_point = _base_clusters(points, counts)
    if len(centers) == MIN_GROUPS:
        # Exactly two distinct opinions: they are the groups (silhouette is undefined here).
        return _canonical(coordinates, base_of_point[inverse], {}, len(centers))
    top = max_group_count(len(centers))
    if top < MIN_GROUPS:
        return None
    from sklearn.metrics import silhouette_score  # see _base_clusters

    silhouettes: dict[int, float] = {}
    partitions: dict[int, np.ndarray] = {}
    for k in range(MIN_GROUPS, top + 1):
        labels, _inertia = weighted_kmeans(centers, weights, k, GROUP_RESTARTS, SEED)
        if len(np.unique(labels)) < 2:
            continue
        silhouettes[k] = float(silhouette_score(centers, labels))
        partitions[k] = labels
    if not silhouettes:
        return None
    k = choose_group_count(silhouettes)
    participant_labels = partitions[k][base_of_point][inverse]
    return _canonical(coordinates, participant_labels, silhouettes, len(centers))


def _canonical(
    coordinates: np.ndarray, labels: np.ndarray, silhouettes: dict[int, float], base: int
) -> Clustering:
    """Renumber groups: largest first, ties broken by the centre's position."""
    present = np.unique(labels)
    sizes = np.array([np.sum(labels == g) for g in present])
    centers = np.array([coordinates[labels == g].mean(axis=0) for g in present])
    order = np.lexsort((np.round(centers[:, 1], 6), np.round(centers[:, 0], 6), -sizes))
    new_label = np.empty(labels.max() + 1, dtype=int)
    new_label[present[order]] = np.arange(len(order))
    return Clustering(
        labels=new_label[labels],
        centers=centers[order],
        silhouettes=silhouettes,
        base_clusters=base,
    )
