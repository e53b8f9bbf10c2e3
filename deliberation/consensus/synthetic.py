"""Synthetic vote matrices of a given size and density, for the benchmark."""

import numpy as np

from deliberation.consensus.matrix import VoteMatrix


def synthetic_matrix(
    participants: int, comments: int, *, density: float = 0.1, camps: int = 3, seed: int = 0
) -> VoteMatrix:
    """A participant × comment matrix about `density` filled, with `camps` opinion camps."""
    rng = np.random.default_rng(seed)
    camp = rng.integers(0, camps, size=participants)
    stance = rng.choice([-1.0, 0.0, 1.0], p=[0.4, 0.2, 0.4], size=(camps, comments))
    values = stance[camp]
    noise = rng.random(values.shape) < 0.25
    values[noise] = rng.choice([-1.0, 0.0, 1.0], size=int(noise.sum()))
    # Real conversations: a few heavy voters, many light ones.
    activity = np.clip(rng.pareto(1.5, size=participants) + 0.3, 0, 10)
    activity *= density / activity.mean()
    filled = rng.random(values.shape) < np.clip(activity, 0, 1)[:, None]
    values[~filled] = np.nan
    return VoteMatrix(tuple(range(participants)), tuple(range(comments)), values)
