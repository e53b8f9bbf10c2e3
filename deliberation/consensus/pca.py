"""Two-component PCA of a vote matrix with mean imputation and sparse-voter scaling."""

from dataclasses import dataclass

import numpy as np

#: Decimal places kept in map coordinates: floating-point noise below this never moves a group.
COORDINATE_DECIMALS = 9


@dataclass(frozen=True)
class Projection:
    """Each participant's position on the opinion map and the PCA it came from."""

    #: shape (participants, 2)
    coordinates: np.ndarray
    #: shape (2, comments): the comment loadings of the two components.
    components: np.ndarray
    #: shape (comments,): each comment's mean vote, used for imputation and centring.
    center: np.ndarray
    #: share of the variance each component explains.
    explained_variance_ratio: np.ndarray


def column_means(values: np.ndarray) -> np.ndarray:
    """Each comment's mean vote over those who voted on it (0 where nobody did)."""
    voted = ~np.isnan(values)
    counts = voted.sum(axis=0)
    sums = np.where(voted, values, 0.0).sum(axis=0)
    return np.divide(sums, counts, out=np.zeros(values.shape[1]), where=counts > 0)


def _top_components(centred: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact leading principal axes (rows) and their eigenvalues, largest first.

    Uses whichever of the covariance or the Gram matrix is smaller; exact, so the result does
    not depend on the order of participants or comments.
    """
    n_rows, n_cols = centred.shape
    use_covariance = n_cols <= n_rows
    scatter = centred.T @ centred if use_covariance else centred @ centred.T
    size = scatter.shape[0]
    wanted = min(n_components, size)
    # Imported here: scipy.linalg takes 0.17 s to import, which every server process and
    # test server paid at start-up for a page most of them never draw.
    from scipy.linalg import eigh  # noqa: PLC0415

    eigenvalues, vectors = eigh(scatter, subset_by_index=[size - wanted, size - 1])
    eigenvalues, vectors = np.clip(eigenvalues[::-1], 0.0, None), vectors[:, ::-1]
    if use_covariance:
        return vectors.T, eigenvalues
    axes = (centred.T @ vectors).T
    norms = np.linalg.norm(axes, axis=1, keepdims=True)
    axes = np.divide(axes, norms, out=np.zeros_like(axes), where=norms > 1e-12)
    return axes, eigenvalues


def _orient(axis: np.ndarray, projected: np.ndarray) -> float:
    """+1 or -1: a sign convention that does not depend on row or column order."""
    for statistic in (
        np.sum(projected**3),
        np.sum(axis**3),
        projected[np.argmax(np.abs(np.round(projected, COORDINATE_DECIMALS)))]
        if projected.size
        else 0.0,
    ):
        rounded = round(float(statistic), 6)
        if rounded != 0:
            return 1.0 if rounded > 0 else -1.0
    return 1.0


def project(values: np.ndarray, n_components: int = 2) -> Projection:
    """PCA of a vote matrix (NaN = no vote) to `n_components` axes.

    Missing votes are imputed with the comment's mean. A participant's position is scaled by
    sqrt(comments / comments they voted on), so sparse voters are not pulled to the centre.
    """
    n_participants, n_comments = values.shape
    center = column_means(values)
    voted = ~np.isnan(values)
    centred = np.where(voted, values - center, 0.0)
    components = np.zeros((n_components, n_comments))
    eigenvalues = np.zeros(n_components)
    if n_participants and n_comments:
        axes, found = _top_components(centred, n_components)
        components[: len(axes)] = axes
        eigenvalues[: len(found)] = found
    raw = centred @ components.T
    for index in range(n_components):
        if _orient(components[index], raw[:, index]) < 0:
            components[index] *= -1
            raw[:, index] *= -1
    counts = voted.sum(axis=1)
    scale = np.sqrt(n_comments / np.maximum(counts, 1)) if n_comments else np.ones(len(counts))
    coordinates = np.round(raw * scale[:, None], COORDINATE_DECIMALS)
    total = float(np.sum(centred**2))
    ratio = eigenvalues / total if total > 0 else np.zeros(n_components)
    return Projection(coordinates, components, center, ratio)
