"""Reads of the summaries feature: the summary document of an item, its cache state, pseudonyms."""

import hashlib
import hmac
import json
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from deliberation.accounts.models import CategoryRequest, CategoryRequestState, MemberCategory
from deliberation.agendas import queries as agenda_queries
from deliberation.agendas.models import AgendaItem, Comment, Reaction
from deliberation.consensus import VoteMatrix, summarize
from deliberation.consensus.summary import ConsensusSummary
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.roundtables.results import item_results
from deliberation.summaries.models import (
    ImportedComment,
    ImportedParticipant,
    PolisImport,
    SummaryCache,
)
from deliberation.voting import queries as voting_queries
from deliberation.voting.models import BallotState, Vote

#: Summaries of items with at most this many reactions are computed inside a page request
#: (a few hundredths of a second); bigger ones by the import command or the periodic job, and
#: pages show the last cached summary meanwhile.
INLINE_COMPUTE_LIMIT = 5_000
GROUP_LETTERS = "ABCDEFGHIJ"
SCHEMA_VERSION = 1


def group_name(index: int) -> str:
    return GROUP_LETTERS[index] if index < len(GROUP_LETTERS) else str(index + 1)


def fingerprint(item_id: int) -> str:
    """Changes whenever a reaction, a comment or its moderation changes on the item."""
    count, latest = db.session.execute(
        select(func.count(Reaction.id), func.max(Reaction.updated_at)).where(
            Reaction.item_id == item_id
        )
    ).one()
    hidden = db.session.scalar(
        select(func.count(Comment.id)).where(
            Comment.item_id == item_id,
            (Comment.hidden_at.is_not(None)) | (Comment.deleted_at.is_not(None)),
        )
    )
    seq = db.session.scalar(select(AgendaItem.event_seq).where(AgendaItem.id == item_id))
    return f"v{SCHEMA_VERSION}:{count}:{latest}:{hidden}:{seq}"


def reaction_count(item_id: int) -> int:
    return db.session.scalar(select(func.count(Reaction.id)).where(Reaction.item_id == item_id))


def polis_import_of(item_id: int) -> PolisImport | None:
    return db.session.scalar(select(PolisImport).where(PolisImport.item_id == item_id))


def _pseudonyms(item_id: int, user_ids: list[int]) -> dict[int, str | int]:
    """Pol.is participant id for imported people; otherwise a keyed hash, stable per item,
    that reveals neither the account id nor who it is."""
    imported = polis_import_of(item_id)
    names: dict[int, str | int] = {}
    if imported is not None:
        for user_id, polis_id in db.session.execute(
            select(ImportedParticipant.user_id, ImportedParticipant.polis_participant_id).where(
                ImportedParticipant.import_id == imported.id
            )
        ):
            names[user_id] = polis_id
    key = current_app.config["SECRET_KEY"].encode()
    for user_id in user_ids:
        if user_id not in names:
            digest = hmac.new(key, f"summary:{item_id}:{user_id}".encode(), hashlib.sha256)
            names[user_id] = "m-" + digest.hexdigest()[:12]
    return names


def _polis_comment_ids(item_id: int) -> dict[int, int]:
    imported = polis_import_of(item_id)
    if imported is None:
        return {}
    return dict(
        db.session.execute(
            select(ImportedComment.comment_id, ImportedComment.polis_comment_id).where(
                ImportedComment.import_id == imported.id
            )
        ).all()
    )


def ballot_breakdown(item_id: int) -> dict[str, Any] | None:
    """The item's ballot: the frozen result once closed, else turnout (and counts if live).

    Counts by member category and division come with turnout of each group's eligible; groups
    under the voting feature's minimum size show turnout only, so no choice can be linked.
    """
    ballot = voting_queries.ballot_for_item(item_id)
    if ballot is None:
        return None
    if ballot.state == BallotState.CLOSED and ballot.result:
        detail: dict[str, Any] = dict(ballot.result)
    elif ballot.results_live:
        detail = voting_queries.tally(ballot)
    else:
        detail = voting_queries.turnout(ballot)
    return {
        **detail,
        "ballot_id": ballot.id,
        "state": ballot.state.value,
        "options": [{"key": key, "label": label} for key, label in ballot.labelled_options()],
    }


def category_verification(item_id: int) -> dict[str, Any]:
    """How many of the item's voters took part under each member category, as their votes were
    cast. Citizen is everyone's default; every other category was confirmed by an administrator
    (or a division coordinator) or imported from the council roster, so all of them are verified.
    Voters whose request still waits were counted as citizens."""
    ballot = voting_queries.ballot_for_item(item_id)
    voters = {category.value: 0 for category in MemberCategory}
    pending = 0
    if ballot is not None:
        for category, count in db.session.execute(
            select(Vote.voter_category, func.count())
            .where(Vote.ballot_id == ballot.id)
            .group_by(Vote.voter_category)
        ):
            voters[MemberCategory(category).value] = count
        pending = (
            db.session.scalar(
                select(func.count(Vote.id))
                .join(CategoryRequest, CategoryRequest.user_id == Vote.voter_id)
                .where(
                    Vote.ballot_id == ballot.id,
                    Vote.voter_category == MemberCategory.CITIZEN,
                    CategoryRequest.state == CategoryRequestState.PENDING,
                )
            )
            or 0
        )
    verified = {key: count for key, count in voters.items() if key != MemberCategory.CITIZEN}
    return {
        "ballot_voters_by_category": voters,
        "verified_by_category": verified,
        "verified": sum(verified.values()),
        "pending_requests_counted_as_citizens": pending,
        #: A vote keeps the category it was cast under; a later change does not rewrite it.
        "categories_as_cast": True,
    }


def roundtable_results(item_id: int) -> list[dict[str, Any]]:
    """Roundtable sessions about the item (linked to it, or whose theme became it): each
    session's room polls with tallies overall and by member category (closed polls only;
    small categories combined), and its themes with their table origins; every entry has a
    `source` link to the session's results page. Counts only. Read fresh on every view, in a
    fixed handful of queries (one when none)."""
    return item_results(item_id)


def roundtables_snapshot(roundtables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The roundtable part of a frozen summary: closed polls with their counts (already under
    the small-group rule) and the themes' support and origins, without the ideas' text."""
    frozen = []
    for session in roundtables:
        polls = [poll for poll in session["polls"] if poll["state"] == "closed"]
        themes = [
            {key: value for key, value in theme.items() if key != "ideas"}
            for theme in session["themes"]
        ]
        if polls or themes:
            frozen.append({**session, "polls": polls, "themes": themes})
    return frozen


#: How many statements of each kind a proposal keeps from the summary at adoption.
SNAPSHOT_STATEMENTS = 5


def summary_snapshot(item_id: int) -> dict[str, Any]:
    """The summary frozen on a proposal at adoption: groups, common ground, what divides and
    the roundtables about the item (closed polls only, small categories combined).

    Uses the cached summary when it is fresh; the per-participant map and per-comment table
    stay on the live summary page, so the frozen copy stays small.
    """
    document, _cache, fresh = cached_summary(item_id)
    if document is None or not fresh:
        document = compute_summary_document(item_id)
    return {
        "participation": document.get("participation"),
        "status": document.get("status"),
        "groups": [{"group": g["group"], "size": g["size"]} for g in document.get("groups", [])],
        "consensus_agree": document.get("consensus", {}).get("agree", [])[:SNAPSHOT_STATEMENTS],
        "divisive": document.get("divisive", [])[:SNAPSHOT_STATEMENTS],
        "roundtables": roundtables_snapshot(document.get("roundtables") or []),
        "categories": document.get("categories"),
    }


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _group_views(statistics) -> list[dict[str, Any]]:
    return [
        {
            "group": group_name(g),
            "agree": s["agree"],
            "disagree": s["disagree"],
            "pass": s["pass"],
            "seen": s["seen"],
            "agree_percent": _percent(s["agree"], s["seen"]),
            "disagree_percent": _percent(s["disagree"], s["seen"]),
            "agree_probability": round(s["agree_probability"], 4),
            "disagree_probability": round(s["disagree_probability"], 4),
        }
        for g, s in enumerate(statistics.groups)
    ]


def build_document(
    item: AgendaItem, summary: ConsensusSummary, texts: dict[int, str], names, polis_ids
) -> dict[str, Any]:
    """The plain-data summary of an item: what pages, CSV, JSON and the CLI all show."""
    stats = {s.comment: s for s in summary.comment_statistics}

    def comment_entry(comment_id: int, **extra: Any) -> dict[str, Any]:
        s = stats[comment_id]
        return {
            "comment_id": comment_id,
            "polis_comment_id": polis_ids.get(comment_id),
            "text": texts.get(comment_id, ""),
            "agree": s.agree,
            "disagree": s.disagree,
            "pass": s.passed,
            "groups": _group_views(s),
            **extra,
        }

    return {
        "schema": SCHEMA_VERSION,
        "item": {"id": item.id, "title": item.title, "attribution": item.attribution},
        "computed_at": utcnow().isoformat(),
        "status": summary.status,
        "reason": summary.reason,
        "participation": agenda_queries.discussion_statistics(item.id),
        "analysis": {
            "participants_voting": summary.participants,
            "participants_placed": summary.participants_placed,
            "comments_analysed": summary.comments,
            "votes_analysed": summary.votes,
            "base_clusters": summary.base_clusters,
            "silhouettes": {str(k): round(v, 4) for k, v in summary.silhouettes.items()},
            "explained_variance": [round(v, 4) for v in summary.explained_variance],
            "method": (
                "PCA (2 components, mean imputation, sparse-voter scaling) of the agree/disagree/"
                "pass matrix; up to 100 base clusters grouped by k-means, k from 2 to 5 by "
                "silhouette; group-informed consensus; two-proportion z-tests at 90 %."
            ),
        },
        "groups": [
            {
                "group": group_name(g.index),
                "size": g.size,
                "center": [round(g.center[0], 4), round(g.center[1], 4)],
                "representative": [
                    comment_entry(
                        r.comment,
                        direction=r.direction,
                        group_probability=round(r.probability, 4),
                        rest_probability=round(r.rest_probability, 4),
                        z=round(r.z, 3),
                    )
                    for r in g.representative
                ],
            }
            for g in summary.groups
        ],
        "consensus": {
            "agree": [
                comment_entry(r.comment, score=round(r.score, 4)) for r in summary.consensus_agree
            ],
            "disagree": [
                comment_entry(r.comment, score=round(r.score, 4))
                for r in summary.consensus_disagree
            ],
        },
        "divisive": [comment_entry(r.comment, score=round(r.score, 4)) for r in summary.divisive],
        "participants": [
            {
                "id": names[p.participant],
                "group": group_name(p.group) if p.group is not None else None,
                "x": round(p.x, 4),
                "y": round(p.y, 4),
            }
            for p in summary.placed
        ],
        "comments": [comment_entry(s.comment) for s in summary.comment_statistics],
        "ballot": ballot_breakdown(item.id),
        "categories": category_verification(item.id),
        "roundtables": roundtable_results(item.id),
    }


def compute_summary_document(item_id: int) -> dict[str, Any]:
    """Compute the summary from the item's current reactions (may take up to about a second)."""
    item = db.session.get(AgendaItem, item_id)
    data = agenda_queries.reaction_matrix(item_id)
    texts = {c["id"]: c["body"] for c in agenda_queries.visible_comment_texts(item_id)}
    matrix = VoteMatrix.from_votes(data["votes"], comments=sorted(texts))
    summary = summarize(matrix, moderated_out=data["moderated_out"])
    names = _pseudonyms(item_id, list(matrix.participants))
    document = build_document(item, summary, texts, names, _polis_comment_ids(item_id))
    document["moderated_out"] = len(data["moderated_out"])
    return document


def cached_summary(item_id: int) -> tuple[dict[str, Any] | None, SummaryCache | None, bool]:
    """(document, cache row, fresh?) from the cache; document None when none was computed."""
    cache = db.session.scalar(select(SummaryCache).where(SummaryCache.item_id == item_id))
    if cache is None or not cache.data:
        return None, cache, False
    document = json.loads(cache.data)
    # Ballots and roundtables move on their own clock: read them fresh, never from the cache.
    document["ballot"] = ballot_breakdown(item_id)
    document["categories"] = category_verification(item_id)
    document["roundtables"] = roundtable_results(item_id)
    return document, cache, cache.fingerprint == fingerprint(item_id)
