"""Writes of the summaries feature: importing Pol.is conversations, refreshing cached summaries."""

import json
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import Division, MemberCategory, User
from deliberation.agendas.models import AgendaItem, Comment, Reaction, ReactionValue
from deliberation.agendas.services import place_in_thread
from deliberation.core import audit
from deliberation.core.sanitize import render_markdown
from deliberation.core.scheduler import periodic
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.summaries import queries
from deliberation.summaries.models import (
    ImportedComment,
    ImportedParticipant,
    PolisImport,
    SummaryCache,
)
from deliberation.summaries.polis_files import ATTRIBUTION, PolisExport

IMPORT_DIVISION_SLUG = "polis-imports"
#: Password hash no password can match: imported participants can never log in.
UNUSABLE_PASSWORD = "!imported-polis-participant"  # noqa: S105
IMPORTED_EMAIL_DOMAIN = "imported.invalid"
REACTION_BY_VOTE = {1: ReactionValue.AGREE, -1: ReactionValue.DISAGREE, 0: ReactionValue.PASS}
BATCH = 5000
#: Stored on hidden imported comments (data, kept in the export's language).
MODERATED_OUT_REASON = "Moderated out in the original Pol.is conversation."

Progress = Callable[[int], None]


def _import_division(slug: str | None) -> Division:
    """The division that receives imported conversations (created on first use)."""
    slug = slug or IMPORT_DIVISION_SLUG
    division = db.session.scalar(select(Division).where(Division.slug == slug))
    if division is None:
        division = Division(
            slug=slug, name_en="Imported conversations", name_ko="가져온 대화", is_active=True
        )
        db.session.add(division)
        db.session.flush()
    return division


def _milliseconds(timestamp: int | None) -> datetime:
    if timestamp is None:
        return utcnow()
    return datetime.fromtimestamp(timestamp / 1000, tz=UTC)


def _attribution(export: PolisExport) -> str:
    url = export.summary.get("url", "").strip()
    source = f" Source: {url}" if url else ""
    return f"{ATTRIBUTION}{source}"


def import_polis_export(
    export: PolisExport,
    *,
    division_slug: str | None = None,
    actor_id: int | None = None,
    progress: Progress | None = None,
) -> tuple[AgendaItem, bool]:
    """Load a validated Pol.is export as an agenda item; the same export again changes nothing.

    Returns the item and whether it was created now. Flushes only: the caller commits once.
    """
    existing = db.session.scalar(select(PolisImport).where(PolisImport.digest == export.digest))
    if existing is not None:
        return db.session.get(AgendaItem, existing.item_id), False
    advance = progress or (lambda _steps: None)
    division = _import_division(division_slug)
    description = export.summary.get("conversation-description", "").strip()
    item = AgendaItem(
        division_id=division.id,
        author_id=None,
        title=export.title[:200],
        body=description,
        attribution=_attribution(export),
    )
    db.session.add(item)
    db.session.flush()
    item.start_discussion()
    record = PolisImport(
        item_id=item.id,
        digest=export.digest,
        source_url=export.summary.get("url", "").strip()[:500],
        folder_name=export.directory.name[:200],
        participants=len(export.participants),
        votes=len(export.votes),
    )
    db.session.add(record)
    db.session.flush()
    users = _create_participants(record, export.participants)
    advance(len(export.participants))
    comments = _create_comments(item, record, export, users)
    advance(len(export.comments))
    _create_reactions(item, export, users, comments, advance)
    audit.record(
        "summaries.import_polis",
        "agenda_item",
        item.id,
        actor_id=actor_id,
        digest=export.digest,
        participants=record.participants,
        votes=record.votes,
        moderated_out=len(export.moderated_out),
    )
    return item, True


def _create_participants(record: PolisImport, participants: list[int]) -> dict[int, int]:
    """One anonymous, inactive account per Pol.is participant; returns polis id -> user id."""
    prefix = f"polis-{record.id}-"
    rows = [
        {
            "email": f"{prefix}{pid}@{IMPORTED_EMAIL_DOMAIN}",
            "display_name": f"Pol.is participant {pid}",
            "password_hash": UNUSABLE_PASSWORD,
            "preferred_language": "en",
            "member_category": MemberCategory.CITIZEN,
            "is_active_account": False,
        }
        for pid in participants
    ]
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(User), rows[start : start + BATCH])
    users: dict[int, int] = {}
    for user_id, email in db.session.execute(
        select(User.id, User.email).where(User.email.like(f"{prefix}%@{IMPORTED_EMAIL_DOMAIN}"))
    ):
        users[int(email[len(prefix) :].split("@", 1)[0])] = user_id
    db.session.execute(
        insert(ImportedParticipant),
        [
            {"import_id": record.id, "polis_participant_id": pid, "user_id": uid}
            for pid, uid in users.items()
        ],
    )
    return users


def _create_comments(
    item: AgendaItem, record: PolisImport, export: PolisExport, users: dict[int, int]
) -> dict[int, Comment]:
    """Top-level comments in the order they were written; moderated-out ones hidden."""
    hidden_reason = MODERATED_OUT_REASON
    comments: dict[int, Comment] = {}
    for polis_comment in sorted(export.comments, key=lambda c: (c.timestamp, c.id)):
        created = _milliseconds(polis_comment.timestamp)
        comment = Comment(
            item_id=item.id,
            author_id=users.get(polis_comment.author) if polis_comment.author is not None else None,
            body=polis_comment.body,
            body_html=str(render_markdown(polis_comment.body)),
            created_at=created,
            depth=0,
        )
        if polis_comment.moderated_out:
            comment.hidden_at = created
            comment.hidden_reason = hidden_reason
        comments[polis_comment.id] = comment
    db.session.add_all(comments.values())
    db.session.flush()
    for comment in comments.values():
        for key, value in place_in_thread(comment.id, None).items():
            setattr(comment, key, value)
    db.session.execute(
        insert(ImportedComment),
        [
            {"import_id": record.id, "polis_comment_id": cid, "comment_id": comment.id}
            for cid, comment in comments.items()
        ],
    )
    db.session.flush()
    return comments


def _create_reactions(
    item: AgendaItem,
    export: PolisExport,
    users: dict[int, int],
    comments: dict[int, Comment],
    advance: Progress,
) -> None:
    """Each participant's latest vote becomes their reaction; comment counts follow."""
    tallies: Counter[tuple[int, int]] = Counter()
    rows: list[dict[str, Any]] = []
    for vote in export.votes:
        comment = comments[vote.comment]
        value = REACTION_BY_VOTE[vote.vote]
        tallies[(comment.id, vote.vote)] += 1
        rows.append(
            {
                "comment_id": comment.id,
                "user_id": users[vote.participant],
                "item_id": item.id,
                "value": value,
                "updated_at": _milliseconds(vote.timestamp),
            }
        )
        if len(rows) == BATCH:
            db.session.execute(insert(Reaction), rows)
            advance(len(rows))
            rows = []
    if rows:
        db.session.execute(insert(Reaction), rows)
        advance(len(rows))
    db.session.execute(
        update(Comment),
        [
            {
                "id": comment.id,
                "agree_count": tallies[(comment.id, 1)],
                "disagree_count": tallies[(comment.id, -1)],
                "pass_count": tallies[(comment.id, 0)],
            }
            for comment in comments.values()
        ],
    )


# --- Cached summaries ---------------------------------------------------------------------------


def _cache_row(item_id: int) -> SummaryCache:
    """The item's cache row, created empty if missing (a concurrent creator wins gracefully)."""
    cache = db.session.scalar(select(SummaryCache).where(SummaryCache.item_id == item_id))
    if cache is not None:
        return cache
    cache = SummaryCache(item_id=item_id, fingerprint="", data="", compute_seconds=0.0)
    try:
        with db.session.begin_nested():
            db.session.add(cache)
            db.session.flush()
    except IntegrityError:
        cache = db.session.scalar(select(SummaryCache).where(SummaryCache.item_id == item_id))
    return cache


def refresh_summary(item_id: int) -> SummaryCache:
    """Compute the item's summary now and store it (replacing a stale one)."""
    fingerprint = queries.fingerprint(item_id)
    started = time.perf_counter()
    document = queries.compute_summary_document(item_id)
    seconds = time.perf_counter() - started
    cache = _cache_row(item_id)
    cache.fingerprint = fingerprint
    cache.data = json.dumps(document, ensure_ascii=False)
    cache.computed_at = utcnow()
    cache.compute_seconds = seconds
    db.session.flush()
    return cache


def refresh_stale_summaries(limit: int = 5) -> list[int]:
    """Recompute up to `limit` cached summaries whose reactions changed; returns their items."""
    refreshed = []
    for item_id, fingerprint in db.session.execute(
        select(SummaryCache.item_id, SummaryCache.fingerprint).order_by(SummaryCache.computed_at)
    ):
        if len(refreshed) >= limit:
            break
        if queries.fingerprint(item_id) != fingerprint:
            refresh_summary(item_id)
            refreshed.append(item_id)
    return refreshed


@periodic("summaries.refresh_stale", 15.0)
def refresh_stale_summaries_job() -> None:
    """Recompute summaries whose reactions changed, outside any page request."""
    refresh_stale_summaries()


def request_summary(item_id: int) -> SummaryCache:
    """Ask the periodic job to compute an item's summary (an empty placeholder row)."""
    return _cache_row(item_id)


def summary_for_view(item_id: int) -> tuple[dict[str, Any] | None, str]:
    """The summary a page shows and its state: "fresh", "stale" (being recomputed) or "pending".

    Small items are computed on the spot (well under a second); larger ones by the periodic
    job, so no page request ever waits for a long computation.
    """
    document, cache, fresh = queries.cached_summary(item_id)
    if fresh:
        return document, "fresh"
    if queries.reaction_count(item_id) <= queries.INLINE_COMPUTE_LIMIT:
        return json.loads(refresh_summary(item_id).data), "fresh"
    if cache is None:
        request_summary(item_id)
    return document, ("stale" if document is not None else "pending")
