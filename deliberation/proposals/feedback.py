"""Reads about citizens' judgements and the divisions' accountability figures, shared by the
proposal page, the queue and the accountability pages (writes are in judgements.py)."""

import csv
import io
import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import aliased

from deliberation.accounts.models import Division, MemberCategory
from deliberation.agendas.models import FlagStatus
from deliberation.core.small_groups import fold_small_groups
from deliberation.db import as_utc, utcnow
from deliberation.extensions import db
from deliberation.proposals.models import (
    AWAITING_RESPONSE,
    IMPLEMENTATION_DONE,
    Judgement,
    JudgementFlag,
    JudgementReply,
    JudgementStep,
    Proposal,
    Satisfaction,
)

#: The queue's satisfaction filter (judgements of each proposal's current step).
SATISFACTION_FILTERS = ("", "mostly_satisfied", "mostly_not", "unjudged", "contested")
CATEGORY_ORDER = [category.value for category in MemberCategory]


def _empty_counts() -> dict[str, int]:
    return {value.value: 0 for value in Satisfaction}


def current_step(proposal: Proposal) -> JudgementStep:
    """The step the queue shows: the implementation once done, else the answer."""
    if proposal.state in IMPLEMENTATION_DONE:
        return JudgementStep.IMPLEMENTATION
    return JudgementStep.ANSWER


def _step_results(rows: list[tuple[str, str, int]]) -> dict[str, Any]:
    """Counts overall and by member category (small-group rule) from (category, value, n)."""
    counts = _empty_counts()
    by_category: dict[str, dict[str, int]] = {}
    voters: dict[str, int] = {}
    for category, value, n in rows:
        counts[value] += n
        by_category.setdefault(category, _empty_counts())[value] += n
        voters[category] = voters.get(category, 0) + n
    shown, note = fold_small_groups(by_category, voters, order=CATEGORY_ORDER)
    total = sum(counts.values())
    return {
        "total": total,
        "counts": counts,
        "satisfied_percent": round(100 * counts["satisfied"] / total, 1) if total else None,
        "by_category": shown,
        "small_groups": note,
    }


def judgement_results(proposal_id: int) -> dict[str, dict[str, Any]]:
    """For each step, how many judged it satisfied / partly / not, overall and by category."""
    rows = db.session.execute(
        select(Judgement.step, Judgement.member_category, Judgement.value, func.count())
        .where(Judgement.proposal_id == proposal_id)
        .group_by(Judgement.step, Judgement.member_category, Judgement.value)
    ).all()
    results = {}
    for step in JudgementStep:
        step_rows = [(c.value, v.value, n) for s, c, v, n in rows if s == step]
        results[step.value] = _step_results(step_rows)
    return results


def own_judgements(user_id: int, proposal_id: int) -> dict[str, Judgement]:
    """The viewer's own judgements of a proposal, by step."""
    judgements = db.session.scalars(
        select(Judgement).where(Judgement.user_id == user_id, Judgement.proposal_id == proposal_id)
    )
    return {j.step.value: j for j in judgements}


def judgement_comments(proposal_id: int, page: int = 1, per_page: int = 20):
    """Comments left with judgements, newest first, paginated; a hidden one stays in place
    (the page shows the moderator's reason instead of its text)."""
    query = (
        select(Judgement)
        .where(Judgement.proposal_id == proposal_id, Judgement.comment != "")
        .order_by(Judgement.updated_at.desc(), Judgement.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def get_judgement(judgement_id: int) -> Judgement | None:
    return db.session.get(Judgement, judgement_id)


# --- replies under judgements' comments -------------------------------------------------------
#: Direct replies per page of a comment's thread (each shown with everything below it).
REPLIES_PER_PAGE = 20


def reply_counts(judgement_ids: list[int]) -> dict[int, int]:
    """How many replies (deleted ones excepted) each judgement's comment has."""
    if not judgement_ids:
        return {}
    rows = db.session.execute(
        select(JudgementReply.judgement_id, func.count())
        .where(JudgementReply.judgement_id.in_(judgement_ids), JudgementReply.deleted_at.is_(None))
        .group_by(JudgementReply.judgement_id)
    ).all()
    return dict(rows)


def reply_thread(judgement_id: int, page: int = 1, per_page: int = REPLIES_PER_PAGE):
    """A page of direct replies to a judgement's comment, oldest first, and for each of them
    the replies below it in reading order: (pagination, {root id: [(reply, children)]})."""
    roots = db.paginate(
        select(JudgementReply)
        .where(JudgementReply.judgement_id == judgement_id, JudgementReply.parent_id.is_(None))
        .order_by(JudgementReply.created_at, JudgementReply.id),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    root_ids = [root.id for root in roots.items]
    below = (
        db.session.scalars(
            select(JudgementReply)
            .where(JudgementReply.root_id.in_(root_ids), JudgementReply.parent_id.is_not(None))
            .order_by(JudgementReply.created_at, JudgementReply.id)
        ).all()
        if root_ids
        else []
    )
    children: dict[int, list[JudgementReply]] = {}
    for reply in below:
        children.setdefault(reply.parent_id, []).append(reply)
    return roots, children


def flagged_by(user_id: int, judgement_ids: list[int]) -> set[int]:
    """Which of these judgements' comments the person already flagged."""
    if not judgement_ids:
        return set()
    return set(
        db.session.scalars(
            select(JudgementFlag.judgement_id).where(
                JudgementFlag.user_id == user_id, JudgementFlag.judgement_id.in_(judgement_ids)
            )
        )
    )


def replies_flagged_by(user_id: int, judgement_id: int) -> set[int]:
    """Which replies of a comment's thread the person already flagged."""
    return set(
        db.session.scalars(
            select(JudgementFlag.reply_id)
            .join(JudgementReply, JudgementReply.id == JudgementFlag.reply_id)
            .where(JudgementFlag.user_id == user_id, JudgementReply.judgement_id == judgement_id)
        )
    )


def moderation_queue() -> list[dict[str, Any]]:
    """Judgement comments and replies with open flags, most flagged first, with the reasons
    given, for the facilitators' queue."""
    flags = db.session.scalars(
        select(JudgementFlag)
        .where(JudgementFlag.status == FlagStatus.OPEN)
        .order_by(JudgementFlag.created_at)
    ).all()
    entries: dict[tuple[str, int], dict[str, Any]] = {}
    for flag in flags:
        key = ("reply", flag.reply_id) if flag.reply_id else ("judgement", flag.judgement_id)
        entry = entries.setdefault(key, {"kind": key[0], "id": key[1], "reasons": []})
        entry["reasons"].append(flag.reason)
    for entry in entries.values():
        if entry["kind"] == "reply":
            reply = db.session.get(JudgementReply, entry["id"])
            entry.update(
                judgement=reply.judgement,
                author=reply.author,
                text=reply.body,
                hidden=reply.is_hidden,
                deleted=reply.is_deleted,
            )
        else:
            judgement = db.session.get(Judgement, entry["id"])
            entry.update(
                judgement=judgement,
                author=judgement.author,
                text=judgement.comment,
                hidden=judgement.comment_is_hidden,
                deleted=False,
            )
    return sorted(entries.values(), key=lambda e: -len(e["reasons"]))


# --- the queue -----------------------------------------------------------------------------
def _step_totals():
    """Per proposal: judgements of each step, and how many satisfied / not satisfied."""

    def count(step: JudgementStep, value: Satisfaction | None = None):
        condition = Judgement.step == step
        if value is not None:
            condition = condition & (Judgement.value == value)
        return func.count(Judgement.id).filter(condition)

    return (
        select(
            Judgement.proposal_id.label("proposal_id"),
            count(JudgementStep.ANSWER).label("answer_total"),
            count(JudgementStep.ANSWER, Satisfaction.SATISFIED).label("answer_satisfied"),
            count(JudgementStep.ANSWER, Satisfaction.NOT_SATISFIED).label("answer_not"),
            count(JudgementStep.IMPLEMENTATION).label("impl_total"),
            count(JudgementStep.IMPLEMENTATION, Satisfaction.SATISFIED).label("impl_satisfied"),
            count(JudgementStep.IMPLEMENTATION, Satisfaction.NOT_SATISFIED).label("impl_not"),
        )
        .group_by(Judgement.proposal_id)
        .subquery()
    )


def filter_by_satisfaction(query: Select, satisfaction: str) -> Select:
    """Narrow a query of proposals by how their current step was judged."""
    if satisfaction == "contested":
        return query.where(Proposal.contested_at.is_not(None))
    if satisfaction not in SATISFACTION_FILTERS or not satisfaction:
        return query
    totals = aliased(_step_totals(), name="step_totals")
    done = Proposal.state.in_(IMPLEMENTATION_DONE)
    total = func.coalesce(case((done, totals.c.impl_total), else_=totals.c.answer_total), 0)
    satisfied = func.coalesce(
        case((done, totals.c.impl_satisfied), else_=totals.c.answer_satisfied), 0
    )
    not_satisfied = func.coalesce(case((done, totals.c.impl_not), else_=totals.c.answer_not), 0)
    query = query.outerjoin(totals, totals.c.proposal_id == Proposal.id)
    if satisfaction == "mostly_satisfied":
        return query.where(total > 0, satisfied * 2 > total)
    if satisfaction == "mostly_not":
        return query.where(total > 0, not_satisfied * 2 > total)
    return query.where(Proposal.responded_at.is_not(None), total == 0)  # unjudged


def queue_satisfaction(proposals: list[Proposal]) -> dict[int, dict[str, Any]]:
    """For each proposal on a queue page: its current step's judgement counts."""
    if not proposals:
        return {}
    rows = db.session.execute(
        select(Judgement.proposal_id, Judgement.step, Judgement.value, func.count())
        .where(Judgement.proposal_id.in_([p.id for p in proposals]))
        .group_by(Judgement.proposal_id, Judgement.step, Judgement.value)
    ).all()
    result: dict[int, dict[str, Any]] = {}
    for proposal in proposals:
        step = current_step(proposal)
        counts = _empty_counts()
        for pid, s, value, n in rows:
            if pid == proposal.id and s == step:
                counts[value.value] += n
        result[proposal.id] = {"step": step, "counts": counts, "total": sum(counts.values())}
    return result


# --- accountability ------------------------------------------------------------------------
def _median_days(pairs: list[tuple[datetime, datetime]]) -> float | None:
    days = [
        (as_utc(answered) - as_utc(created)).total_seconds() / 86400 for created, answered in pairs
    ]
    return round(statistics.median(days), 1) if days else None


def division_accountability(division: Division, now: datetime | None = None) -> dict[str, Any]:
    """A division's public record: proposals received, answered on time or late, overdue,
    median days to answer, and how citizens judged the answers and the implementations."""
    now = now or utcnow()
    proposals = db.session.execute(
        select(
            Proposal.id,
            Proposal.state,
            Proposal.created_at,
            Proposal.due_at,
            Proposal.responded_at,
            Proposal.contested_at,
            Proposal.sent_back_item_id,
        ).where(Proposal.division_id == division.id)
    ).all()
    answered = [p for p in proposals if p.responded_at is not None]
    on_time = [p for p in answered if as_utc(p.responded_at) <= as_utc(p.due_at)]
    awaiting = [p for p in proposals if p.state in AWAITING_RESPONSE]
    overdue = [p for p in awaiting if now > as_utc(p.due_at)]
    rows = db.session.execute(
        select(Judgement.step, Judgement.member_category, Judgement.value, func.count())
        .join(Proposal, Proposal.id == Judgement.proposal_id)
        .where(Proposal.division_id == division.id)
        .group_by(Judgement.step, Judgement.member_category, Judgement.value)
    ).all()
    satisfaction = {
        step.value: _step_results([(c.value, v.value, n) for s, c, v, n in rows if s == step])
        for step in JudgementStep
    }
    return {
        "division": {"id": division.id, "slug": division.slug},
        "received": len(proposals),
        "answered": len(answered),
        "answered_on_time": len(on_time),
        "answered_late": len(answered) - len(on_time),
        "awaiting": len(awaiting) - len(overdue),
        "overdue": len(overdue),
        "median_days_to_answer": _median_days([(p.created_at, p.responded_at) for p in answered]),
        "contested": sum(1 for p in proposals if p.contested_at is not None),
        "sent_back": sum(1 for p in proposals if p.sent_back_item_id is not None),
        "satisfaction": satisfaction,
    }


def division_proposals(division_id: int, page: int = 1, per_page: int = 20):
    """A division's proposals, newest first, paginated."""
    query = (
        select(Proposal)
        .where(Proposal.division_id == division_id)
        .order_by(Proposal.created_at.desc(), Proposal.id.desc())
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def all_divisions_accountability() -> list[tuple[Division, dict[str, Any]]]:
    """Every active division's figures, for the overview table."""
    divisions = db.session.scalars(
        select(Division).where(Division.is_active.is_(True)).order_by(Division.id)
    )
    return [(division, division_accountability(division)) for division in divisions]


ACCOUNTABILITY_CSV_FIELDS = (
    "received",
    "answered",
    "answered_on_time",
    "answered_late",
    "awaiting",
    "overdue",
    "median_days_to_answer",
    "contested",
    "sent_back",
)


def accountability_csv(figures: dict[str, Any]) -> str:
    """The figures as CSV: one row per measure, then one per step and judgement."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["measure", "step", "value"])
    for field in ACCOUNTABILITY_CSV_FIELDS:
        value = figures[field]
        writer.writerow([field, "", "" if value is None else value])
    for step, results in figures["satisfaction"].items():
        for value, n in results["counts"].items():
            writer.writerow([f"judged_{value}", step, n])
        for category, counts in results["by_category"].items():
            for value, n in counts.items():
                writer.writerow([f"judged_{value}:{category}", step, n])
    return out.getvalue()
