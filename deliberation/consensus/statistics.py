"""Per-group comment statistics, representativeness, group-informed consensus, divisiveness."""

from dataclasses import dataclass

import numpy as np

#: One-sided z for 90 % confidence.
Z_90 = 1.2816
MAX_REPRESENTATIVE = 5
MAX_CONSENSUS = 10
MAX_DIVISIVE = 10


@dataclass(frozen=True)
class GroupVoteCounts:
    """Vote counts of each group (rows) on each comment (columns)."""

    agree: np.ndarray
    disagree: np.ndarray
    passed: np.ndarray

    @property
    def seen(self) -> np.ndarray:
        return self.agree + self.disagree + self.passed

    @property
    def agree_probability(self) -> np.ndarray:
        """(agree + 1) / (seen + 2): the smoothed share that agrees."""
        return (self.agree + 1) / (self.seen + 2)

    @property
    def disagree_probability(self) -> np.ndarray:
        return (self.disagree + 1) / (self.seen + 2)


@dataclass(frozen=True)
class Representative:
    """A comment that sets a group apart from the rest of the room."""

    comment_index: int
    #: "agree" or "disagree": how the group differs.
    direction: str
    #: the group's smoothed probability of voting that way.
    probability: float
    #: the same for everyone outside the group.
    rest_probability: float
    #: two-proportion z statistic, group against the rest.
    z: float


@dataclass(frozen=True)
class Ranked:
    """A comment with its score in a ranking (consensus or divisiveness)."""

    comment_index: int
    score: float


def count_votes(values: np.ndarray, labels: np.ndarray, group_count: int) -> GroupVoteCounts:
    """Count agree/disagree/pass per group and comment for placed participants."""
    membership = np.zeros((len(labels), group_count))
    membership[np.arange(len(labels)), labels] = 1.0
    agree = membership.T @ (values == 1)
    disagree = membership.T @ (values == -1)
    passed = membership.T @ (values == 0)
    return GroupVoteCounts(agree.astype(int), disagree.astype(int), passed.astype(int))


def rest_of_room(counts: GroupVoteCounts) -> GroupVoteCounts:
    """For each group, the counts of every other group together."""
    return GroupVoteCounts(
        counts.agree.sum(axis=0) - counts.agree,
        counts.disagree.sum(axis=0) - counts.disagree,
        counts.passed.sum(axis=0) - counts.passed,
    )


def proportion_z(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Pol.is' one-proportion test (with pseudocounts) that a share is above one half."""
    s, n = successes + 1.0, trials + 1.0
    return 2.0 * np.sqrt(n) * (s / n - 0.5)


def two_proportion_z(
    success_in: np.ndarray, trials_in: np.ndarray, success_out: np.ndarray, trials_out: np.ndarray
) -> np.ndarray:
    """Two-proportion z-test, pseudocounts +1 as in Pol.is: is the group share above the rest?"""
    s1, n1, s2, n2 = success_in + 1.0, trials_in + 1.0, success_out + 1.0, trials_out + 1.0
    pooled = (s1 + s2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    difference = s1 / n1 - s2 / n2
    safe = np.where(variance > 0, variance, 1.0)
    return np.where(variance > 0, difference / np.sqrt(safe), 0.0)


def representative_comments(counts: GroupVoteCounts) -> list[list[Representative]]:
    """Each group's most representative comments, significant at 90 % against the rest.

    A comment represents a group's agreement when the group agrees more often than not
    (one-proportion test) and more often than the rest of the room (two-proportion test), both at
    90 %; likewise for disagreement. Ranked by ratio × z × probability × proportion z (Pol.is).
    """
    rest = rest_of_room(counts)
    result: list[list[Representative]] = []
    sides = {
        "agree": (counts.agree, rest.agree, counts.agree_probability, rest.agree_probability),
        "disagree": (
            counts.disagree,
            rest.disagree,
            counts.disagree_probability,
            rest.disagree_probability,
        ),
    }
    scored: dict[str, tuple[np.ndarray, ...]] = {}
    for side, (mine, theirs, probability, rest_probability) in sides.items():
        z = two_proportion_z(mine, counts.seen, theirs, rest.seen)
        majority_z = proportion_z(mine, counts.seen)
        significant = (z > Z_90) & (majority_z > Z_90)
        metric = (probability / rest_probability) * z * probability * majority_z
        scored[side] = (significant, metric, probability, rest_probability, z)
    for group in range(counts.agree.shape[0]):
        candidates: list[tuple[float, int, Representative]] = []
        for side, (significant, metric, probability, rest_probability, z) in scored.items():
            for comment in np.flatnonzero(significant[group]):
                candidates.append(
                    (
                        float(metric[group, comment]),
                        int(comment),
                        Representative(
                            comment_index=int(comment),
                            direction=side,
                            probability=float(probability[group, comment]),
                            rest_probability=float(rest_probability[group, comment]),
                            z=float(z[group, comment]),
                        ),
                    )
                )
        candidates.sort(key=lambda item: (-item[0], item[1]))
        chosen: list[Representative] = []
        taken: set[int] = set()
        for _, comment, representative in candidates:
            if comment not in taken:
                chosen.append(representative)
                taken.add(comment)
            if len(chosen) == MAX_REPRESENTATIVE:
                break
        result.append(chosen)
    return result


def group_informed_consensus(probabilities: np.ndarray) -> np.ndarray:
    """Per comment, the product over groups of the group's smoothed probability."""
    return np.prod(probabilities, axis=0)


def _ranked(scores: np.ndarray, eligible: np.ndarray, limit: int) -> list[Ranked]:
    indices = np.flatnonzero(eligible)
    order = sorted(indices, key=lambda i: (-round(float(scores[i]), 12), int(i)))
    return [Ranked(int(i), float(scores[i])) for i in order[:limit]]


def consensus_statements(counts: GroupVoteCounts, direction: str) -> list[Ranked]:
    """Comments every group leans the same way on ("agree" or "disagree"), best first."""
    probabilities = (
        counts.agree_probability if direction == "agree" else counts.disagree_probability
    )
    scores = group_informed_consensus(probabilities)
    every_group = (probabilities > 0.5).all(axis=0)
    return _ranked(scores, every_group, MAX_CONSENSUS)


def divisive_comments(counts: GroupVoteCounts) -> list[Ranked]:
    """Comments on which some group mostly agrees and another mostly disagrees, most split first.

    Score: the strongest agreeing group's agree probability times the strongest disagreeing
    group's disagree probability.
    """
    agree_p, disagree_p = counts.agree_probability, counts.disagree_probability
    agreeing = (agree_p > 0.5) & (agree_p > disagree_p)
    disagreeing = (disagree_p > 0.5) & (disagree_p > agree_p)
    split = agreeing.any(axis=0) & disagreeing.any(axis=0)
    best_agree = np.where(agreeing, agree_p, 0.0).max(axis=0, initial=0.0)
    best_disagree = np.where(disagreeing, disagree_p, 0.0).max(axis=0, initial=0.0)
    return _ranked(best_agree * best_disagree, split, MAX_DIVISIVE)
