"""Synthetic vote matrices with known structure, shared by the consensus tests."""

import numpy as np

from deliberation.consensus.matrix import VoteMatrix


def opposed_camps(
    per_camp: int, comments: int, *, noise: float = 0.1, fill: float = 1.0, seed: int = 0
) -> tuple[VoteMatrix, np.ndarray]:
    """Two camps that vote opposite ways on every divisive comment, plus two common-ground
    comments everyone agrees with. Returns the matrix and each participant's camp (0/1)."""
    rng = np.random.default_rng(seed)
    stance = rng.choice([-1.0, 1.0], size=comments)
    camps = np.repeat([0, 1], per_camp)
    values = np.where(camps[:, None] == 0, stance, -stance)
    flips = rng.random(values.shape) < noise
    values = np.where(flips, -values, values)
    values[:, :2] = 1.0  # common ground
    missing = rng.random(values.shape) > fill
    missing[:, :9] = False  # everyone votes enough to be placed
    values[missing] = np.nan
    participants = tuple(f"p{i}" for i in range(len(camps)))
    return VoteMatrix(participants, tuple(f"c{j}" for j in range(comments)), values), camps
