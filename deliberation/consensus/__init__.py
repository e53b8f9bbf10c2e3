"""Opinion groups and consensus statistics: pure computation on plain arrays, no Flask.

Modules: `matrix` (the vote matrix and who is placed), `pca` (the opinion map), `clustering`
(opinion groups), `statistics` (per-group votes, representativeness, consensus, divisiveness),
`summary` (all of it for one conversation).
"""

from deliberation.consensus.matrix import VoteMatrix
from deliberation.consensus.summary import ConsensusSummary, summarize

__all__ = ["ConsensusSummary", "VoteMatrix", "summarize"]
