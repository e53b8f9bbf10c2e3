"""Reads about ballots that pages, sockets, the close job and proposals share."""

import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, select

from deliberation.accounts.models import Division, MemberCategory, User, division_memberships
from deliberation.agendas.models import AgendaItem
from deliberation.core.errors import NotFound
from deliberation.core.small_groups import MIN_GROUP, groups_to_combine
from deliberation.extensions import db
from deliberation.voting.models import Ballot, BallotState, Vote, VoteChannel, ballot_divisions

#: A group (category or division) with fewer voters than this shows turnout but no choices,
#: so a breakdown never reveals how one or two identifiable people voted. The same minimum as
#: room polls' breakdowns: the rule lives in `core.small_groups`.
MIN_GROUP_FOR_CHOICES = MIN_GROUP


def get_ballot(ballot_id: int) -> Ballot:
    ballot = db.session.get(Ballot, ballot_id)
    if ballot is None:
        raise NotFound("There is no such ballot.")
    return ballot


def ballot_for_item(item_id: int) -> Ballot | None:
    return db.session.scalar(select(Ballot).where(Ballot.item_id == item_id))


def recent_ballots(page: int = 1, per_page: int = 20):
    """Ballots newest first, paginated: open ones first."""
    query = select(Ballot).order_by(
        (Ballot.state == BallotState.CLOSED).asc(), Ballot.closes_at.desc(), Ballot.id.desc()
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def is_eligible(ballot: Ballot, user: User) -> bool:
    """May this person vote on this ballot (active account, and in a listed division if any)?"""
    if not user.is_active_account:
        return False
    if ballot.open_to_all:
        return True
    allowed = {division.id for division in ballot.divisions}
    return any(division.id in allowed for division in user.divisions)


def eligible_user_ids(ballot: Ballot) -> Select:
    """A SELECT of the ids of everyone eligible for the ballot (for counting and joins)."""
    query = select(User.id).where(User.is_active_account.is_(True))
    if not ballot.open_to_all:
        query = query.where(
            exists().where(
                and_(
                    division_memberships.c.user_id == User.id,
                    division_memberships.c.division_id.in_(
                        select(ballot_divisions.c.division_id).where(
                            ballot_divisions.c.ballot_id == ballot.id
                        )
                    ),
                )
            )
        )
    return query


def eligible_count(ballot: Ballot) -> int:
    return db.session.scalar(select(func.count()).select_from(eligible_user_ids(ballot).subquery()))


def vote_counts(ballot_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Vote.choice, func.count()).where(Vote.ballot_id == ballot_id).group_by(Vote.choice)
    )
    return {choice: count for choice, count in rows}


def votes_cast(ballot_id: int) -> int:
    return db.session.scalar(select(func.count()).where(Vote.ballot_id == ballot_id)) or 0


def current_receipt(ballot_id: int, voter_id: int) -> str | None:
    """The receipt of this person's current vote (shown only to them)."""
    return db.session.scalar(
        select(Vote.receipt).where(Vote.ballot_id == ballot_id, Vote.voter_id == voter_id)
    )


def current_channel(ballot_id: int, voter_id: int) -> VoteChannel | None:
    """How this person's current vote came in (online or paper), or None before they vote."""
    return db.session.scalar(
        select(Vote.channel).where(Vote.ballot_id == ballot_id, Vote.voter_id == voter_id)
    )


def paper_votes(ballot_id: int) -> int:
    """How many of the ballot's votes are paper ballots (an index count, apart from the tally)."""
    return (
        db.session.scalar(
            select(func.count()).where(
                Vote.ballot_id == ballot_id, Vote.channel == VoteChannel.PAPER
            )
        )
        or 0
    )


def channel_split(voted: int, paper: int) -> dict[str, int]:
    """Votes by how they came in: {"online": n, "paper": n}."""
    return {VoteChannel.ONLINE.value: voted - paper, VoteChannel.PAPER.value: paper}


def recent_paper_entries(limit: int = 10) -> list[Any]:
    """The latest paper ballots entered, newest first, for the field-office page: the ballot,
    voter, slip, check and who entered it, never the choice or the receipt."""
    voter = User.__table__.alias("voter")
    staff = User.__table__.alias("staff")
    return list(
        db.session.execute(
            select(
                Vote.ballot_id,
                AgendaItem.title,
                Vote.slip_number,
                Vote.identity_check,
                voter.c.display_name.label("voter_name"),
                staff.c.display_name.label("staff_name"),
            )
            .join(Ballot, Ballot.id == Vote.ballot_id)
            .join(AgendaItem, AgendaItem.id == Ballot.item_id)
            .join(voter, voter.c.id == Vote.voter_id)
            .outerjoin(staff, staff.c.id == Vote.checked_by_id)
            .where(Vote.channel == VoteChannel.PAPER)
            .order_by(Vote.id.desc())
            .limit(limit)
        )
    )


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def outcome(ballot: Ballot, counts: dict[str, int], voted: int, eligible: int) -> dict[str, Any]:
    """Quorum, threshold and adoption for these counts, by the ballot's rules."""
    quorum_met = voted > 0 and voted * 100 >= ballot.quorum_percent * eligible
    winner: str | None = None
    if ballot.uses_default_options:
        decisive = counts.get("yes", 0) + counts.get("no", 0)
        share = _percent(counts.get("yes", 0), decisive) if decisive else None
        threshold_met = bool(decisive) and (
            counts.get("yes", 0) * 100 > ballot.threshold_percent * decisive
        )
        if threshold_met:
            winner = "yes"
    else:
        ranked = sorted(((counts.get(k, 0), k) for k in ballot.option_keys), reverse=True)
        top_count, top_key = ranked[0] if ranked else (0, None)
        tie = len(ranked) > 1 and ranked[1][0] == top_count
        share = _percent(top_count, voted) if voted else None
        threshold_met = (
            bool(voted) and not tie and top_count * 100 > ballot.threshold_percent * voted
        )
        if threshold_met:
            winner = top_key
    return {
        "quorum_met": quorum_met,
        "threshold_met": threshold_met,
        "adopted": quorum_met and threshold_met,
        "leading_share_percent": share,
        "winner": winner,
    }


def _group_rows(
    voted_rows: dict[Any, dict[str, int]],
    eligible_rows: dict[Any, int],
    hidden: set[Any] | None = None,
) -> list[dict[str, Any]]:
    """One row per group with its turnout; choices only for a group of at least the minimum
    of voters that is not in `hidden`."""
    rows = []
    for key in sorted(set(voted_rows) | set(eligible_rows), key=str):
        counts = voted_rows.get(key, {})
        voted = sum(counts.values())
        eligible = eligible_rows.get(key, 0)
        shown = voted >= MIN_GROUP_FOR_CHOICES and key not in (hidden or set())
        rows.append(
            {
                "key": key,
                "eligible": eligible,
                "voted": voted,
                "turnout_percent": _percent(voted, eligible),
                "counts": counts if shown else None,
            }
        )
    return rows


def _eligible_breakdown(ballot: Ballot) -> tuple[int, dict[str, int], dict[int, int]]:
    """How many are eligible: in all, by member category and by division."""
    if ballot.open_to_all:
        # Every active member: plain scans, no per-person subquery (fast at 100,000 people).
        by_category = {
            MemberCategory(category).value: count
            for category, count in db.session.execute(
                select(User.member_category, func.count())
                .where(User.is_active_account.is_(True))
                .group_by(User.member_category)
            )
        }
        by_division = dict(
            db.session.execute(
                select(division_memberships.c.division_id, func.count()).group_by(
                    division_memberships.c.division_id
                )
            ).all()
        )
        for division_id, inactive in db.session.execute(
            select(division_memberships.c.division_id, func.count())
            .join(User, User.id == division_memberships.c.user_id)
            .where(User.is_active_account.is_(False))
            .group_by(division_memberships.c.division_id)
        ):
            by_division[division_id] -= inactive
        return sum(by_category.values()), by_category, by_division
    eligible_ids = eligible_user_ids(ballot).subquery()
    by_category = {
        MemberCategory(category).value: count
        for category, count in db.session.execute(
            select(User.member_category, func.count())
            .where(User.id.in_(select(eligible_ids.c.id)))
            .group_by(User.member_category)
        )
    }
    by_division = dict(
        db.session.execute(
            select(division_memberships.c.division_id, func.count())
            .where(division_memberships.c.user_id.in_(select(eligible_ids.c.id)))
            .group_by(division_memberships.c.division_id)
        ).all()
    )
    return sum(by_category.values()), by_category, by_division


def tally(ballot: Ballot) -> dict[str, Any]:
    """Counts overall, by member category and by division, with turnout of each group's eligible.

    Categories are the voters' categories when they voted; divisions are their current ones.
    """
    counts: dict[str, int] = {}
    by_category: dict[str, dict[str, int]] = {}
    for choice, category, count in db.session.execute(
        select(Vote.choice, Vote.voter_category, func.count())
        .where(Vote.ballot_id == ballot.id)
        .group_by(Vote.choice, Vote.voter_category)
    ):
        counts[choice] = counts.get(choice, 0) + count
        by_category.setdefault(MemberCategory(category).value, {})[choice] = count
    voted = sum(counts.values())
    eligible, eligible_by_category, eligible_by_division = _eligible_breakdown(ballot)

    by_division: dict[int, dict[str, int]] = {}
    for division_id, choice, count in db.session.execute(
        select(division_memberships.c.division_id, Vote.choice, func.count())
        .join(division_memberships, division_memberships.c.user_id == Vote.voter_id)
        .where(Vote.ballot_id == ballot.id)
        .group_by(division_memberships.c.division_id, Vote.choice)
    ):
        by_division.setdefault(division_id, {})[choice] = count
    division_rows = [
        row
        for row in _group_rows(by_division, eligible_by_division)
        if row["eligible"] or row["voted"]
    ]
    names = {
        d.id: (d.slug, d.name_en, d.name_ko)
        for d in db.session.scalars(
            select(Division).where(Division.id.in_([row["key"] for row in division_rows]))
        )
    }
    # Paper ballots by division: turnout only, as by category below.
    paper_by_division = dict(
        db.session.execute(
            select(division_memberships.c.division_id, func.count())
            .select_from(Vote)
            .join(division_memberships, division_memberships.c.user_id == Vote.voter_id)
            .where(Vote.ballot_id == ballot.id, Vote.channel == VoteChannel.PAPER)
            .group_by(division_memberships.c.division_id)
        ).all()
    )
    for row in division_rows:
        slug, name_en, name_ko = names.get(row["key"], ("", "", ""))
        row.update(
            slug=slug, name_en=name_en, name_ko=name_ko, paper=paper_by_division.get(row["key"], 0)
        )

    # Paper ballots by category: turnout only (how many came in on paper), never choices.
    paper_by_category = {
        MemberCategory(category).value: count
        for category, count in db.session.execute(
            select(Vote.voter_category, func.count())
            .where(Vote.ballot_id == ballot.id, Vote.channel == VoteChannel.PAPER)
            .group_by(Vote.voter_category)
        )
    }
    category_rows = _group_rows(
        by_category,
        eligible_by_category,
        hidden=groups_to_combine({k: sum(c.values()) for k, c in by_category.items()}),
    )
    for row in category_rows:
        row["paper"] = paper_by_category.get(row["key"], 0)

    return {
        "options": ballot.option_keys,
        "counts": {key: counts.get(key, 0) for key in ballot.option_keys},
        "by_channel": channel_split(voted, sum(paper_by_category.values())),
        "voted": voted,
        "eligible": eligible,
        "turnout_percent": _percent(voted, eligible),
        **outcome(ballot, counts, voted, eligible),
        # Categories split the voters: the exact total minus the categories shown would give a
        # small one away, so the next smallest hides its choices too (core.small_groups).
        # Paper ballots are in these counts like any vote.
        "by_category": category_rows,
        "by_division": division_rows,
    }


def turnout(ballot: Ballot) -> dict[str, Any]:
    """Live turnout (and counts, when the ballot shows results live or has closed)."""
    if ballot.state == BallotState.CLOSED and ballot.result:
        result = ballot.result
        voted, eligible = result["voted"], result["eligible"]
        counts: dict[str, int] | None = result["counts"]
        # A result frozen before paper ballots existed has online votes only.
        by_channel = result.get("by_channel") or channel_split(voted, 0)
    else:
        counts = vote_counts(ballot.id)
        voted = sum(counts.values())
        eligible = eligible_count(ballot)
        counts = {key: counts.get(key, 0) for key in ballot.option_keys}
        by_channel = channel_split(voted, paper_votes(ballot.id))
    return {
        "ballot_id": ballot.id,
        "state": ballot.state.value,
        "by_channel": by_channel,
        "voted": voted,
        "eligible": eligible,
        "turnout_percent": _percent(voted, eligible),
        "counts": counts if ballot.shows_results() else None,
    }


@dataclass
class RowsPage:
    """One page of plain rows, with what the `pager` macro needs."""

    items: list[tuple[Any, ...]]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def published_receipts(ballot: Ballot, page: int = 1, per_page: int = 100) -> RowsPage:
    """After close: receipts with their choices and channels, in receipt order (no voter, no
    time), paginated."""
    page = max(1, page)
    rows = db.session.execute(
        select(Vote.receipt, Vote.choice, Vote.channel)
        .where(Vote.ballot_id == ballot.id)
        .order_by(Vote.receipt)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return RowsPage([tuple(row) for row in rows], page, per_page, votes_cast(ballot.id))


def iter_published_receipts(
    ballot: Ballot, batch: int = 5000
) -> Iterator[tuple[str, str, VoteChannel]]:
    """Every (receipt, choice, channel) of a ballot in receipt order, streamed in batches."""
    rows = (
        db.session.connection()
        .execution_options(yield_per=batch)
        .execute(
            select(Vote.receipt, Vote.choice, Vote.channel)
            .where(Vote.ballot_id == ballot.id)
            .order_by(Vote.receipt)
        )
    )
    yield from ((receipt, choice, channel) for receipt, choice, channel in rows)


def recount_from_receipts(ballot: Ballot) -> dict[str, int]:
    """Recompute the counts by option from the published receipts list alone."""
    counted = Counter(choice for _receipt, choice, _channel in iter_published_receipts(ballot))
    return {key: counted.get(key, 0) for key in ballot.option_keys} | {
        key: n for key, n in counted.items() if key not in ballot.option_keys
    }


def vote_for_receipt(ballot: Ballot, receipt: str) -> tuple[str, VoteChannel] | None:
    """The choice and channel recorded under a receipt of a closed ballot (None if no such
    current receipt)."""
    row = db.session.execute(
        select(Vote.choice, Vote.channel).where(
            Vote.ballot_id == ballot.id, Vote.receipt == receipt
        )
    ).first()
    return (row.choice, row.channel) if row else None


def due_ballots(now) -> list[Ballot]:
    """Ballots whose closing time has passed but are not closed yet."""
    return list(
        db.session.scalars(
            select(Ballot)
            .where(Ballot.state != BallotState.CLOSED, Ballot.closes_at <= now)
            .order_by(Ballot.closes_at)
        )
    )


def ballots_due_to_open(now) -> list[Ballot]:
    return list(
        db.session.scalars(
            select(Ballot).where(
                Ballot.state == BallotState.SCHEDULED,
                Ballot.opens_at <= now,
                Ballot.closes_at > now,
            )
        )
    )
