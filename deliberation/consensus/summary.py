"""The whole consensus summary of one conversation, as plain data."""

from collections.abc import Hashable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from deliberation.consensus.clustering import cluster_groups
from deliberation.consensus.matrix import VoteMatrix
from deliberation.consensus.pca import project
from deliberation.consensus.statistics import (
    GroupVoteCounts,
    consensus_statements,
    count_votes,
    divisive_comments,
    representative_comments,
)

#: Fewer placed participants than this: no opinion groups are formed.
MIN_PARTICIPANTS_FOR_GROUPS = 4

STATUS_OK = "ok"
STATUS_NOT_ENOUGH_DATA = "not_enough_data"
REASON_NO_VOTES = "no_votes"
REASON_TOO_FEW_PARTICIPANTS = "too_few_participants"
REASON_NO_DIFFERENCES = "no_differences"


@dataclass(frozen=True)
class PlacedParticipant:
    participant: Hashable
    group: int | None
    x: float
    y: float


@dataclass(frozen=True)
class RepresentativeComment:
    comment: Hashable
    direction: str
    probability: float
    rest_probability: float
    z: float


@dataclass(frozen=True)
class OpinionGroup:
    index: int
    size: int
    center: tuple[float, float]
    representative: list[RepresentativeComment]


@dataclass(frozen=True)
class CommentStatistics:
    """How everyone, and each group, voted on one comment."""

    comment: Hashable
    agree: int
    disagree: int
    passed: int
    #: per group: {"agree", "disagree", "pass", "seen", "agree_probability", ...}.
    groups: list[dict[str, float]]

    @property
    def seen(self) -> int:
        return self.agree + self.disagree + self.passed


@dataclass(frozen=True)
class RankedComment:
    comment: Hashable
    score: float


@dataclass(frozen=True)
class ConsensusSummary:
    status: str
    reason: str | None
    participants: int
    participants_placed: int
    comments: int
    votes: int
    placed: list[PlacedParticipant]
    groups: list[OpinionGroup]
    comment_statistics: list[CommentStatistics]
    consensus_agree: list[RankedComment]
    consensus_disagree: list[RankedComment]
    divisive: list[RankedComment]
    #: silhouette per number of groups tried, and how many base clusters there were.
    silhouettes: dict[int, float] = field(default_factory=dict)
    base_clusters: int = 0
    explained_variance: tuple[float, float] = (0.0, 0.0)

    @property
    def has_groups(self) -> bool:
        return self.status == STATUS_OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data (ids as given, floats rounded for stable output)."""
        data = asdict(self)
        data["silhouettes"] = {str(k): round(v, 6) for k, v in self.silhouettes.items()}
        return _rounded(data)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _comment_statistics(
    matrix: VoteMatrix, counts: GroupVoteCounts | None
) -> list[CommentStatistics]:
    values = matrix.values
    agree = (values == 1).sum(axis=0)
    disagree = (values == -1).sum(axis=0)
    passed = (values == 0).sum(axis=0)
    result = []
    for j, comment in enumerate(matrix.comments):
        per_group: list[dict[str, float]] = []
        if counts is not None:
            for g in range(counts.agree.shape[0]):
                per_group.append(
                    {
                        "agree": int(counts.agree[g, j]),
                        "disagree": int(counts.disagree[g, j]),
                        "pass": int(counts.passed[g, j]),
                        "seen": int(counts.seen[g, j]),
                        "agree_probability": float(counts.agree_probability[g, j]),
                        "disagree_probability": float(counts.disagree_probability[g, j]),
                    }
                )
        result.append(
            CommentStatistics(comment, int(agree[j]), int(disagree[j]), int(passed[j]), per_group)
        )
    return result


def summarize(matrix: VoteMatrix, moderated_out: Iterable[Hashable] = ()) -> ConsensusSummary:
    """Opinion groups, consensus, divisive and representative comments of one conversation.

    Runs single-threaded: BLAS and OpenMP thread pools spin badly on a busy machine (measured
    0.6 s single-threaded against 4-9 s with threads on 2 shared cores), and a web server
    process should not grab every core for one summary.
    """
    with threadpool_limits(limits=1):
        return _summarize(matrix, moderated_out)


def _summarize(matrix: VoteMatrix, moderated_out: Iterable[Hashable]) -> ConsensusSummary:
    matrix = matrix.without_comments(moderated_out).canonical()
    votes = int(matrix.voted.sum())
    placed_matrix = matrix.rows(matrix.placeable())
    base = {
        "participants": len(matrix.participants),
        "participants_placed": len(placed_matrix.participants),
        "comments": len(matrix.comments),
        "votes": votes,
    }
    projection = project(placed_matrix.values)
    coordinates = projection.coordinates
    clustering = None
    reason = None
    if votes == 0:
        reason = REASON_NO_VOTES
    elif len(placed_matrix.participants) < MIN_PARTICIPANTS_FOR_GROUPS:
        reason = REASON_TOO_FEW_PARTICIPANTS
    else:
        clustering = cluster_groups(coordinates)
        if clustering is None:
            reason = REASON_NO_DIFFERENCES
    explained = tuple(float(v) for v in projection.explained_variance_ratio[:2])
    if clustering is None:
        # No groups: the whole room counts as one group for the consensus lists.
        room = count_votes(placed_matrix.values, np.zeros(len(coordinates), dtype=int), 1)
        return ConsensusSummary(
            status=STATUS_NOT_ENOUGH_DATA,
            reason=reason,
            placed=[
                PlacedParticipant(p, None, float(x), float(y))
                for p, (x, y) in zip(placed_matrix.participants, coordinates, strict=True)
            ],
            groups=[],
            comment_statistics=_comment_statistics(matrix, None),
            consensus_agree=_named(matrix, consensus_statements(room, "agree")),
            consensus_disagree=_named(matrix, consensus_statements(room, "disagree")),
            divisive=[],
            explained_variance=explained,  # type: ignore[arg-type]
            **base,
        )
    counts = count_votes(placed_matrix.values, clustering.labels, clustering.group_count)
    representatives = representative_comments(counts)
    groups = [
        OpinionGroup(
            index=g,
            size=int(np.sum(clustering.labels == g)),
            center=(float(clustering.centers[g, 0]), float(clustering.centers[g, 1])),
            representative=[
                RepresentativeComment(
                    matrix.comments[r.comment_index],
                    r.direction,
                    r.probability,
                    r.rest_probability,
                    r.z,
                )
                for r in representatives[g]
            ],
        )
        for g in range(clustering.group_count)
    ]
    return ConsensusSummary(
        status=STATUS_OK,
        reason=None,
        placed=[
            PlacedParticipant(p, int(g), float(x), float(y))
            for p, g, (x, y) in zip(
                placed_matrix.participants, clustering.labels, coordinates, strict=True
            )
        ],
        groups=groups,
        comment_statistics=_comment_statistics(matrix, counts),
        consensus_agree=_named(matrix, consensus_statements(counts, "agree")),
        consensus_disagree=_named(matrix, consensus_statements(counts, "disagree")),
        divisive=_named(matrix, divisive_comments(counts)),
        silhouettes=clustering.silhouettes,
        base_clusters=clustering.base_clusters,
        explained_variance=explained,  # type: ignore[arg-type]
        **base,
    )


def _named(matrix: VoteMatrix, ranked: list) -> list[RankedComment]:
    return [RankedComment(matrix.comments[r.comment_index], r.score) for r in ranked]
