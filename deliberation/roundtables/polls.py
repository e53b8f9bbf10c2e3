"""Live room polls: opening and closing them, who may vote, casting and changing a vote, the
answer a voter gets, and the tally. Every path that records a vote (the socket handler, the
batch writer in `ballotbox`, the load rehearsal) calls these rules; none repeats them."""

import json
import threading
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    Text,
    and_,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from deliberation.accounts.models import MemberCategory, User
from deliberation.core import audit
from deliberation.core.errors import DomainError, IllegalTransition, NotFound
from deliberation.core.realtime import emit_after_commit
from deliberation.core.sanitize import plain_text
from deliberation.core.small_groups import MIN_GROUP, fold_small_groups
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.roundtables import permissions
from deliberation.roundtables.models import (
    STANCES,
    Participant,
    Phase,
    Poll,
    PollKind,
    PollOption,
    PollState,
    PollVote,
    RoundtableSession,
    SessionState,
    TakesPart,
    insert_ignoring_duplicates,
    row_of_session,
    rows_inserted,
    timer_duration,
)
from deliberation.roundtables.payloads import poll_payload
from deliberation.roundtables.rooms import NAMESPACE, session_room
from deliberation.roundtables.themes import current_themes

MAX_POLL_OPTIONS = 20
#: Member categories in the order tallies list them.
CATEGORY_ORDER = [category.value for category in MemberCategory]


# --- which polls ----------------------------------------------------------------------------


def open_polls(session_id: int) -> list[Poll]:
    """The session's open polls (at most one, but a close must catch every one)."""
    return list(
        db.session.scalars(
            select(Poll).where(Poll.session_id == session_id, Poll.state == PollState.OPEN)
        )
    )


def get_poll(session: RoundtableSession, poll_id: int) -> Poll:
    """A poll of this session, or NotFound."""
    return row_of_session(
        Poll, session.id, poll_id, NotFound(_("No such poll."), code="no_such_poll")
    )


def open_poll(
    actor: User,
    session: RoundtableSession,
    kind: PollKind,
    question: str,
    options: list[str] | None = None,
    duration_s: int | None = None,
) -> Poll:
    """The lead opens a room poll on the published themes (or a question with options)."""
    permissions.require_lead(actor, session)
    if session.state != SessionState.RUNNING:
        raise IllegalTransition(_("The session is not running."), code="not_running")
    if session.phase != Phase.POLL:
        raise IllegalTransition(_("Polls open in the room poll phase."), code="wrong_phase")
    if open_polls(session.id):
        raise IllegalTransition(_("Close the open poll first."), code="poll_open")
    question = plain_text(question).strip()
    if not question or len(question) > 300:
        raise DomainError(_("Write a question of at most 300 characters."), code="bad_question")
    poll = Poll(session_id=session.id, round_no=session.round_no, kind=kind, question=question)
    duration = timer_duration(duration_s)
    if duration:
        poll.closes_at = utcnow() + timedelta(seconds=duration)
    if kind == PollKind.QUESTION:
        labels = [plain_text(o).strip() for o in options or []]
        labels = [label for label in labels if label]
        if not 2 <= len(labels) <= MAX_POLL_OPTIONS or any(len(lb) > 200 for lb in labels):
            raise DomainError(_("A question needs 2 to 20 short options."), code="bad_options")
        poll.options = [PollOption(position=i, label=lb) for i, lb in enumerate(labels)]
    else:
        themes = current_themes(session, published_only=True)
        if not themes:
            raise DomainError(_("Publish the themes before the poll."), code="no_themes")
        poll.options = [
            PollOption(position=i, label=t.name, theme_id=t.id) for i, t in enumerate(themes)
        ]
    db.session.add(poll)
    db.session.flush()
    session.advance_seq()
    audit.record("roundtable.poll_open", "roundtable_poll", poll.id, actor_id=actor.id)
    emit_after_commit(
        "poll_opened", {**poll_payload(poll), "seq": session.seq},
        to=session_room(session.id), namespace=NAMESPACE,
    )  # fmt: skip
    return poll


def close_poll(actor: User | None, poll: Poll) -> dict[str, Any]:
    """Close a poll (the lead, its timer or the phase ending); the final tally goes out."""
    # The poll's session always exists (foreign key); usually it is in the identity map.
    session = db.session.get(RoundtableSession, poll.session_id)
    if actor is not None:
        permissions.require_lead(actor, session)
    poll.close()
    session.advance_seq()
    audit.record(
        "roundtable.poll_close", "roundtable_poll", poll.id, actor_id=actor.id if actor else None
    )
    db.session.flush()
    tally = live_tally(poll)
    emit_after_commit(
        "poll_closed", {"poll_id": poll.id, "seq": session.seq, "tally": tally},
        to=session_room(session.id), namespace=NAMESPACE,
    )  # fmt: skip
    return tally


# --- the poll a vote names (cached) ---------------------------------------------------------


@dataclass(frozen=True)
class PollInfo:
    """What never changes about a poll once opened: cached so a vote needs no poll lookup."""

    id: int
    session_id: int
    kind: PollKind
    option_ids: frozenset[int]


#: Process-wide cache of PollInfo by (database URL, poll id); cleared when it grows large.
_POLL_INFO: dict[tuple[str, int], PollInfo] = {}


#: One lookup at a time fills the cache. On a process that did not open the poll, its first
#: votes arrive together (hundreds within milliseconds); unguarded, each missed the cache and
#: checked out a database connection of its own: a storm of new connections (the pool
#: overflows and discards them) that kept the batch writer waiting for one.
_POLL_INFO_FILL = threading.Lock()


def get_poll_for_vote(session_id: int, poll_id: int) -> PollInfo:
    """The poll a vote names, which must belong to the session the voter joined."""
    key = (str(db.engine.url), poll_id)
    info = _POLL_INFO.get(key)
    if info is None:
        with _POLL_INFO_FILL:
            info = _POLL_INFO.get(key)  # filled while this vote waited
            if info is None:
                poll = db.session.get(Poll, poll_id)
                if poll is None:
                    raise NotFound(_("No such poll."), code="no_such_poll")
                options = frozenset(o.id for o in poll.options)
                info = PollInfo(poll.id, poll.session_id, poll.kind, options)
                if len(_POLL_INFO) > 10_000:
                    _POLL_INFO.clear()
                _POLL_INFO[key] = info
    if info.session_id != session_id:
        raise NotFound(_("No such poll."), code="no_such_poll")
    return info


# --- the rules of a vote --------------------------------------------------------------------


def may_vote(voter: Any) -> bool:
    """Only seated participants vote in room polls (facilitators and theme team stay neutral).

    `voter` is a Participant or the socket's cached seat (`may_vote`, `table_id`).
    """
    return voter.may_vote and voter.table_id is not None


def poll_is_open(now: datetime) -> ColumnElement[bool]:
    """The poll is open: not closed by the lead, and its timer (if any) has not run out."""
    return and_(Poll.state == PollState.OPEN, or_(Poll.closes_at.is_(None), Poll.closes_at > now))


def _poll_is_open_clause(poll_id: int, now: datetime) -> Any:
    return select(Poll.id).where(Poll.id == poll_id, poll_is_open(now)).exists()


def validate_choice(
    poll: PollInfo, option_id: int | None, stances: dict[str, str] | None
) -> tuple[int | None, dict[str, str] | None]:
    """The choice as stored: an option of this poll, or (agree polls) a stance per theme."""
    if poll.kind == PollKind.AGREE:
        if not isinstance(stances, dict) or not stances:
            raise DomainError(_("Say agree, disagree or pass on a theme."), code="bad_choice")
        clean: dict[str, str] = {}
        for key, stance in stances.items():
            if not str(key).isdigit() or int(key) not in poll.option_ids or stance not in STANCES:
                raise DomainError(_("That choice is not on this poll."), code="no_such_option")
            clean[str(int(key))] = stance
        return None, clean
    if option_id is None or option_id not in poll.option_ids:
        raise DomainError(_("That choice is not on this poll."), code="no_such_option")
    return option_id, None


def repeat_or_refusal(counted_client_id: str | None, client_id: str) -> str:
    """A second vote in a poll: "repeat" when it carries the id of the vote already counted
    (the voter gets the same answer), otherwise "already_voted" (refused)."""
    return "repeat" if counted_client_id == client_id else "already_voted"


def refusal(code: str) -> DomainError:
    """The error a refused voter is sent, worded in the voter's language."""
    if code == "not_eligible":
        return DomainError(_("Only seated participants vote in room polls."), code=code)
    if code == "poll_closed":
        return IllegalTransition(_("This poll is closed."), code=code)
    if code == "already_voted":
        return DomainError(
            _("You have already voted in this poll. Change your vote instead."), code=code
        )
    if code == "no_vote":
        return DomainError(_("You have not voted yet."), code=code)
    return DomainError(_("Something went wrong. Please try again."), code="server_error")


def require_may_vote(voter: Any) -> None:
    """Refuse anyone but a seated participant."""
    if not may_vote(voter):
        raise refusal("not_eligible")


def vote_answer(
    poll_id: int,
    option_id: int | None,
    stances: dict[str, str] | None,
    client_id: str,
    *,
    repeat: bool = False,
) -> dict[str, Any]:
    """What a voter's acknowledgement carries (and `repeat` when nothing new was recorded)."""
    answer: dict[str, Any] = {
        "poll_id": poll_id,
        "option_id": option_id,
        "stances": stances,
        "client_id": client_id,
    }
    if repeat:
        answer["repeat"] = True
    return answer


# --- casting and changing a vote ------------------------------------------------------------


def is_new_vote(answer: dict[str, Any], *, change: bool = False) -> bool:
    """Whether `cast_poll_vote`'s answer counts one more vote: not a change of a vote, not a
    repeat of one already counted."""
    return not change and not answer.get("repeat")


def cast_poll_vote(
    poll: PollInfo,
    participant: Any,
    client_id: str,
    *,
    option_id: int | None = None,
    stances: dict[str, str] | None = None,
    change: bool = False,
    slip_no: str | None = None,
    witness_id: int | None = None,
) -> dict[str, Any]:
    """One vote per participant per poll, equal weight; `change` replaces it until the close.

    A paper vote (entered by a facilitator for a paper participant, see `hybrid`) carries its
    `slip_no` and the `witness_id` who entered it: UNIQUE(poll, slip) stops a slip twice.

    `participant` is a Participant or the socket's cached seat (id, user_id, may_vote,
    table_id, member_category). The database decides, in one statement: the row goes in only
    while the poll is open, and UNIQUE(poll, participant) stops a second one. A second vote
    with a new id and without `change` is refused; a repeat of the same id gets the same answer.
    (New choose-one votes from sockets are written in batches by `ballotbox`, with these rules.)
    """
    require_may_vote(participant)
    option, clean = validate_choice(poll, option_id, stances)
    now = utcnow()
    category = MemberCategory(participant.member_category)
    if not change:
        values = select(
            literal(poll.id),
            literal(participant.id),
            literal(client_id),
            literal(option, Integer),
            literal(clean, JSON),
            literal(category, PollVote.__table__.c.member_category.type),
            literal(now, DateTime),
            literal(now, DateTime),
            literal(slip_no, PollVote.__table__.c.slip_no.type),
            literal(witness_id, Integer),
        ).where(_poll_is_open_clause(poll.id, now))
        inserted = rows_inserted(db.session.execute(
            insert_ignoring_duplicates().from_select(
                [
                    "poll_id", "participant_id", "client_id", "option_id", "stances",
                    "member_category", "created_at", "updated_at", "slip_no", "witness_id",
                ],
                values,
            )
        ))  # fmt: skip
        if inserted != 1:
            return _repeat_or_refuse(poll, participant, client_id, now, slip_no)
    else:
        existing = _vote_of(poll.id, participant.id)
        if existing is None:
            _refuse_if_closed(poll.id, now)
            raise refusal("no_vote")
        if existing.client_id == client_id:
            return _answer_of(existing, repeat=True)
        merged = {**(existing.stances or {}), **clean} if clean is not None else None
        changed = db.session.execute(
            update(PollVote)
            .where(PollVote.id == existing.id, _poll_is_open_clause(poll.id, now))
            .values(client_id=client_id, option_id=option, stances=merged, updated_at=now)
        ).rowcount
        if changed != 1:
            _refuse_if_closed(poll.id, now)
    paper = {} if slip_no is None else {"paper": True, "slip_no": slip_no, "witness": witness_id}
    audit.record(
        "roundtable.vote_change" if change else "roundtable.vote",
        "roundtable_poll",
        poll.id,
        # a paper vote's actor is its witness: the person has no login
        actor_id=witness_id if slip_no is not None else participant.user_id,
        participant=participant.id,
        **paper,
    )
    answer = vote_answer(poll.id, option, clean, client_id)
    if slip_no is not None:
        answer.update(slip_no=slip_no, paper=True)
    return answer


def _refuse_if_closed(poll_id: int, now: datetime) -> None:
    if not db.session.scalar(select(_poll_is_open_clause(poll_id, now))):
        raise refusal("poll_closed")


def _vote_of(poll_id: int, participant_id: int | None) -> PollVote | None:
    return db.session.scalar(
        select(PollVote)
        .where(PollVote.poll_id == poll_id, PollVote.participant_id == participant_id)
        .execution_options(populate_existing=True)
    )


def _answer_of(vote: PollVote, *, repeat: bool) -> dict[str, Any]:
    answer = vote_answer(vote.poll_id, vote.option_id, vote.stances, vote.client_id, repeat=repeat)
    if vote.slip_no is not None:
        answer.update(slip_no=vote.slip_no, paper=True)
    return answer


def _repeat_or_refuse(
    poll: PollInfo, participant: Any, client_id: str, now: datetime, slip_no: str | None = None
) -> dict[str, Any]:
    existing = _vote_of(poll.id, participant.id)
    counted = existing.client_id if existing is not None else None
    if existing is not None and repeat_or_refusal(counted, client_id) == "repeat":
        return _answer_of(existing, repeat=True)
    _refuse_if_closed(poll.id, now)
    if existing is None and slip_no is not None:
        # the insert hit UNIQUE(poll, slip): this slip was entered for someone else
        raise DomainError(
            _("Slip %(slip)s was already entered in this poll.", slip=slip_no), code="slip_used"
        )
    raise refusal("already_voted")


def my_vote(poll: Poll, participant: Any) -> dict[str, Any] | None:
    """The participant's own vote in this poll (shown again after a reconnect)."""
    if participant is None:
        return None
    vote = _vote_of(poll.id, participant.id)
    return None if vote is None else _answer_of(vote, repeat=False)


def my_votes(poll: Poll, participant_ids: Collection[int]) -> dict[int, dict[str, Any]]:
    """`my_vote` for many participants in one query (the room's seating pushes snapshots)."""
    votes = db.session.scalars(
        select(PollVote).where(
            PollVote.poll_id == poll.id, PollVote.participant_id.in_(list(participant_ids))
        )
    )
    return {vote.participant_id: _answer_of(vote, repeat=False) for vote in votes}


# --- the tally ------------------------------------------------------------------------------


def _empty_tally(poll: Poll) -> dict[str, Any]:
    options = [str(o.id) for o in poll.options]
    if poll.kind == PollKind.AGREE:
        counts: dict[str, Any] = {oid: dict.fromkeys(STANCES, 0) for oid in options}
    else:
        counts = dict.fromkeys(options, 0)
    return {
        "poll_id": poll.id,
        "kind": poll.kind.value,
        "total": 0,
        "counts": counts,
        "by_category": {},
        "small_groups": {"minimum": MIN_GROUP, "combined": [], "withheld": False},
        #: votes by how the voter took part: online, in the hall, on paper
        "by_takes_part": dict.fromkeys((t.value for t in TakesPart), 0),
        "state": poll.state.value,
    }


def publish_breakdown(tally: dict[str, Any], voters: dict[str, int]) -> dict[str, Any]:
    """Apply the small-group rule to a tally's counts by member category, in place: every
    tally that leaves the server (live, results page, summary, proposal) comes through here.

    `voters` is how many voted in each category. Categories under the minimum are added up
    as "other categories" (or, with the next smallest, withheld); overall counts stay exact.
    """
    tally["by_category"], tally["small_groups"] = fold_small_groups(
        tally["by_category"], voters, order=CATEGORY_ORDER
    )
    return tally


def poll_tallies(polls: list[Poll]) -> dict[int, dict[str, Any]]:
    """Each poll's counts overall and by member category (choose-one/question: per option;
    agree: stances per theme), in one query however many polls and votes.

    Votes are counted by the database, grouped by poll, option, member category and (agree
    polls) the stances as text, so a thousand identical ballots come back as one row: the
    live tally is recomputed up to ten times a second while a poll is open. Counts by member
    category follow the small-group rule (`publish_breakdown`).
    """
    polls = list(polls)
    tallies = {poll.id: _empty_tally(poll) for poll in polls}
    if not tallies:
        return tallies
    voters: dict[int, dict[str, int]] = {poll_id: {} for poll_id in tallies}
    agree_polls = {p.id for p in polls if p.kind == PollKind.AGREE}
    # Stances matter only on agree polls: without one, grouping by them is wasted work (the
    # live tally of a choose-one poll runs up to ten times a second).
    stances: Any = cast(PollVote.stances, Text) if agree_polls else null()
    if len(polls) == 1:  # the live tally: one poll, no grouping by poll needed
        poll_id: Any = literal(polls[0].id, Integer)
        which = PollVote.poll_id == polls[0].id
        grouping = [PollVote.option_id, PollVote.member_category]
    else:
        poll_id = PollVote.poll_id
        which = PollVote.poll_id.in_(list(tallies))
        grouping = [PollVote.poll_id, PollVote.option_id, PollVote.member_category]
    grouped = db.session.execute(
        select(poll_id, PollVote.option_id, PollVote.member_category, stances, func.count())
        .where(which)
        .group_by(*grouping, *([stances] if agree_polls else []))
    )
    for poll_id, option, category, stances_text, count in grouped:
        tally = tallies[poll_id]
        options = tally["counts"]
        in_category = voters[poll_id]
        if poll_id in agree_polls:
            tally["total"] += count
            in_category[str(category)] = in_category.get(str(category), 0) + count
            by_category = tally["by_category"].setdefault(
                str(category), {oid: dict.fromkeys(STANCES, 0) for oid in options}
            )
            for oid, stance in (json.loads(stances_text) if stances_text else {}).items():
                if oid in options and stance in STANCES:
                    options[oid][stance] += count
                    by_category[oid][stance] += count
        elif str(option) in options:
            tally["total"] += count
            in_category[str(category)] = in_category.get(str(category), 0) + count
            options[str(option)] += count
            by_category = tally["by_category"].setdefault(str(category), dict.fromkeys(options, 0))
            by_category[str(option)] += count
    for poll_id, how, count in db.session.execute(
        select(PollVote.poll_id, Participant.takes_part, func.count())
        .join(Participant, Participant.id == PollVote.participant_id)
        .where(PollVote.poll_id.in_(list(tallies)))
        .group_by(PollVote.poll_id, Participant.takes_part)
    ):
        tallies[poll_id]["by_takes_part"][TakesPart(how).value] = count
    for poll_id, tally in tallies.items():
        publish_breakdown(tally, voters[poll_id])
    for poll in polls:
        # the session is in the identity map on every page; the live tally loads it once
        judge_tally(tallies[poll.id], poll, db.session.get(RoundtableSession, poll.session_id))
    return tallies


def option_support(tally: dict[str, Any], option_id: int | str) -> int:
    """The votes for an option that count towards passing (agree polls: its "agree")."""
    count = tally["counts"].get(str(option_id), 0)
    return count["agree"] if isinstance(count, dict) else count


def judge_tally(
    tally: dict[str, Any], poll: Poll, session: RoundtableSession | None
) -> dict[str, Any]:
    """Add the session's pass rule to a tally, in place: `threshold_percent`, `rule`
    ("at_least" or "more_than") and `passes` (option id -> whether its share of the votes
    passes, by `RoundtableSession.passes`), and `final` once the poll closed. The rule goes
    as data, never in words: a tally reaches the whole room, each page in its own language."""
    tally["final"] = poll.state == PollState.CLOSED
    if session is None:
        return tally
    tally["threshold_percent"] = session.threshold_percent
    tally["rule"] = session.pass_rule.value
    tally["passes"] = {
        key: session.passes(option_support(tally, key), tally["total"]) for key in tally["counts"]
    }
    return tally


def poll_tally(poll: Poll) -> dict[str, Any]:
    """One poll's tally, as `poll_tallies` counts it (the results page, adoption)."""
    return poll_tallies([poll])[poll.id]


#: What the live pages read of a tally (roundtable-poll.js, -projector.js, -console.js).
#: The breakdown by member category is for the results page and the officials' summary:
#: sent live, every phone of a hall decoded it with every tally for nothing (at 5,000 people
#: it was half of each 613-byte tally, and taking a tally in cost the rehearsal's one load
#: process 30 µs a copy instead of 24: docs/realtime.md, "The live tally's size").
LIVE_TALLY_FIELDS = (
    "poll_id",
    "total",
    "counts",
    "by_takes_part",
    "final",
    "threshold_percent",
    "rule",
    "passes",
)


def live_tally(poll: Poll) -> dict[str, Any]:
    """The tally a live page gets (broadcasts, the close, snapshots): `LIVE_TALLY_FIELDS`."""
    tally = poll_tally(poll)
    return {field: tally[field] for field in LIVE_TALLY_FIELDS if field in tally}
