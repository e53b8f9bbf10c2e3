"""The participant × comment vote matrix: agree 1, disagree -1, pass 0, missing NaN."""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

AGREE = 1
DISAGREE = -1
PASS = 0
#: Pol.is places a participant once they have voted on this many comments (or on all of them).
MIN_VOTES_TO_PLACE = 7


@dataclass(frozen=True)
class VoteMatrix:
    """Votes of participants (rows) on comments (columns); NaN where a participant did not vote."""

    participants: tuple[Hashable, ...]
    comments: tuple[Hashable, ...]
    #: float array, shape (participants, comments), values 1, -1, 0 or NaN.
    values: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.participants), len(self.comments))
        if self.values.shape != shape:
            raise ValueError(f"vote matrix has shape {self.values.shape}, expected {shape}")
        if len(set(self.participants)) != len(self.participants):
            raise ValueError("participant ids repeat")
        if len(set(self.comments)) != len(self.comments):
            raise ValueError("comment ids repeat")
        seen = self.values[~np.isnan(self.values)]
        if not np.isin(seen, (AGREE, DISAGREE, PASS)).all():
            raise ValueError("votes must be 1 (agree), -1 (disagree), 0 (pass) or missing")

    @classmethod
    def from_votes(
        cls,
        votes: Iterable[tuple[Hashable, Hashable, int]],
        comments: Sequence[Hashable] = (),
    ) -> "VoteMatrix":
        """Build from (participant, comment, vote) triples; a later triple replaces an earlier one.

        `comments` lists comments that exist even if nobody voted on them.
        """
        latest: dict[tuple[Hashable, Hashable], int] = {}
        for participant, comment, vote in votes:
            latest[(participant, comment)] = int(vote)
        participant_ids = list(dict.fromkeys(p for p, _ in latest))
        comment_ids = list(dict.fromkeys([*comments, *(c for _, c in latest)]))
        row = {p: i for i, p in enumerate(participant_ids)}
        column = {c: j for j, c in enumerate(comment_ids)}
        values = np.full((len(participant_ids), len(comment_ids)), np.nan)
        if latest:
            rows = np.fromiter((row[p] for p, _ in latest), dtype=np.intp, count=len(latest))
            cols = np.fromiter((column[c] for _, c in latest), dtype=np.intp, count=len(latest))
            values[rows, cols] = np.fromiter(latest.values(), dtype=float, count=len(latest))
        return cls(tuple(participant_ids), tuple(comment_ids), values)

    @property
    def voted(self) -> np.ndarray:
        """Boolean mask of the cells that hold a vote (agree, disagree or pass)."""
        return ~np.isnan(self.values)

    def votes_per_participant(self) -> np.ndarray:
        return self.voted.sum(axis=1)

    def without_comments(self, moderated_out: Iterable[Hashable]) -> "VoteMatrix":
        """The matrix without the columns of comments that moderators removed."""
        removed = set(moderated_out)
        keep = np.array([c not in removed for c in self.comments], dtype=bool)
        return VoteMatrix(
            self.participants,
            tuple(c for c, k in zip(self.comments, keep, strict=True) if k),
            self.values[:, keep],
        )

    def placeable(self) -> np.ndarray:
        """Rows of participants with at least min(7, number of comments) votes."""
        needed = min(MIN_VOTES_TO_PLACE, len(self.comments))
        return self.votes_per_participant() >= max(needed, 1)

    def canonical(self) -> "VoteMatrix":
        """The same votes with participants and comments sorted by id, so that nothing
        downstream (tie-breaks included) depends on the order the votes arrived in."""
        rows = sorted(range(len(self.participants)), key=lambda i: _sort_key(self.participants[i]))
        cols = sorted(range(len(self.comments)), key=lambda j: _sort_key(self.comments[j]))
        return VoteMatrix(
            tuple(self.participants[i] for i in rows),
            tuple(self.comments[j] for j in cols),
            self.values[np.ix_(rows, cols)],
        )

    def rows(self, mask: np.ndarray) -> "VoteMatrix":
        """The matrix restricted to the participants selected by a boolean mask."""
        return VoteMatrix(
            tuple(p for p, k in zip(self.participants, mask, strict=True) if k),
            self.comments,
            self.values[mask],
        )


def _sort_key(identifier: Hashable) -> tuple[str, object]:
    """Sort ids of one type naturally (numbers as numbers), mixed types by type name."""
    if isinstance(identifier, int | float | str):
        return (type(identifier).__name__, identifier)
    return (type(identifier).__name__, repr(identifier))
