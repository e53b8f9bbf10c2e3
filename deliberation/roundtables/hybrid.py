"""Hybrid roundtables: table kinds, paper participants entered by a table facilitator (their
ideas and their poll votes, each audited with the facilitator as witness), the refusal of
table-level counts, and who took part how (online, in the hall, on paper).

Paper votes go through `polls.cast_poll_vote`, the one home of the vote rules; this module
adds only what paper needs: who may enter for whom, and the slip's number.
"""

from collections.abc import Hashable
from functools import partial
from typing import Any

from flask import Flask, current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from deliberation.accounts.models import Division, MemberCategory, User
from deliberation.core import audit
from deliberation.core.coalesce import Coalescer
from deliberation.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied
from deliberation.core.realtime import emit_after_commit
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.roundtables import permissions, polls, slips, tallies
from deliberation.roundtables.models import (
    Idea,
    Participant,
    ParticipantRole,
    Poll,
    PollState,
    PollVote,
    RoundtableSession,
    RoundtableTable,
    SessionState,
    TableKind,
    TakesPart,
    insert_ignoring_duplicates,
)
from deliberation.roundtables.rooms import (
    NAMESPACE,
    call_after_commit,
    field_office_room,
    projector_room,
    staff_room,
    table_room,
)
from deliberation.roundtables.tables import get_table, store_idea, written_text

NAME_MAX_CHARS = 120
#: Payload keys that would carry a count for a whole table ("7 agree"): never accepted.
COUNT_KEYS = frozenset({"count", "counts", "tally", "total", "votes", "agree", "disagree"})


# --- who may enter for paper participants ---------------------------------------------------


def require_paper_clerk(
    user: User, session: RoundtableSession, clerk: Participant | None, table_id: int | None
) -> None:
    if not permissions.serves_table(user, session, clerk, table_id):
        raise PermissionDenied(
            _("Only this table's facilitator, the lead or field-office staff enter paper."),
            code="not_table_facilitator",
        )


def refuse_table_count(data: dict[str, Any]) -> None:
    """No show of hands: a count for a table ("7 agree") is refused; equal weight means one
    entry per named person, each with their slip."""
    if COUNT_KEYS & set(data):
        raise DomainError(
            _(
                "A count for the table is not accepted: enter one vote for each paper "
                "participant, with the number of their slip."
            ),
            code="no_table_counts",
        )


# --- table kinds ----------------------------------------------------------------------------


def set_table_kind(
    actor: User, session: RoundtableSession, table: RoundtableTable, kind: TableKind
) -> dict[str, Any]:
    """The lead says whether a table is online, in the hall, or mixed."""
    permissions.require_lead(actor, session)
    elsewhere = [how for how in TakesPart if not how.seats_at(kind)]
    if elsewhere:
        crowd = db.session.scalar(
            select(func.count(Participant.id)).where(
                Participant.table_id == table.id, Participant.takes_part.in_(elsewhere)
            )
        )
        if crowd:
            raise DomainError(
                _("People at table %(n)d take part another way: make it mixed.", n=table.number),
                code="table_kind_in_use",
            )
    table.kind = kind
    audit.record(
        "roundtable.table_kind", "roundtable", session.id, actor_id=actor.id,
        table=table.number, kind=kind.value,
    )  # fmt: skip
    emit_after_commit(
        "people_changed", {"session_id": session.id}, to=staff_room(session.id), namespace=NAMESPACE
    )
    changed = {"session_id": session.id, "table_id": table.id, "number": table.number,
               "kind": kind.value}  # fmt: skip
    # field-office staff's "hall table you enter for" list follows without a reload
    emit_after_commit(
        "table_kind_changed", changed, to=field_office_room(session.id), namespace=NAMESPACE
    )
    return {"table_id": table.id, "number": table.number, "kind": kind.value}


def create_hall_tables(session: RoundtableSession, count: int) -> list[RoundtableTable]:
    """The session form's "tables in the hall": that many hall tables, numbered from 1."""
    if not 0 <= count <= 500:
        raise DomainError(_("A hall holds between 0 and 500 tables."), code="bad_hall_tables")
    made = [RoundtableTable(session_id=session.id, number=n, kind=TableKind.HALL)
            for n in range(1, count + 1)]  # fmt: skip
    db.session.add_all(made)
    return made


# --- paper participants ---------------------------------------------------------------------


def register_paper_participant(
    actor: User,
    session: RoundtableSession,
    clerk: Participant | None,
    table: RoundtableTable,
    *,
    name: str,
    member_category: MemberCategory | str,
    division_id: int | None = None,
    member: User | None = None,
    client_id: str | None = None,
    same_name_confirmed: bool = False,
) -> Participant:
    """A facilitator enters a person at the table who has no device: a paper participant
    with no login; or a member's account (no device with them), who then cannot also take
    part online: one entry per person. A name already entered at the table is held back
    until the facilitator confirms it is another person (namesakes sit at one table too)."""
    require_paper_clerk(actor, session, clerk, table.id)
    earlier = _registered_as(session, client_id)
    if earlier is not None:  # a resend after a reconnect: the same answer, nothing new
        return earlier
    if session.state == SessionState.CLOSED:
        raise IllegalTransition(_("This session has closed."), code="session_closed")
    if not TakesPart.PAPER.seats_at(table.kind):
        raise DomainError(
            _("Table %(n)d is an online table: paper participants sit at hall or mixed "
              "tables.", n=table.number),
            code="online_table",
        )  # fmt: skip
    try:
        category = MemberCategory(member_category)
    except ValueError:
        raise DomainError(_("Choose a member category."), code="bad_category") from None
    if division_id is not None:
        division = db.session.get(Division, division_id)
        if division is None or not division.is_active:
            raise DomainError(_("Choose a division from the list."), code="bad_division")
    if member is not None:
        _refuse_second_entry(session, member)
        name = member.display_name
    written = written_text(
        name,
        NAME_MAX_CHARS,
        empty=_("Write the person's name."),
        too_long=_("A name holds at most %(n)d characters.", n=NAME_MAX_CHARS),
    )
    if not same_name_confirmed:
        _hold_a_name_already_at_the_table(session, table, written)
    result = db.session.execute(
        insert_ignoring_duplicates(Participant).values(
            session_id=session.id,
            user_id=member.id if member else None,
            takes_part=TakesPart.PAPER,
            display_name=written,
            client_id=client_id,
            role=ParticipantRole.PARTICIPANT,
            table_id=table.id,
            member_category=category,
            division_id=division_id,
            registered_at=utcnow(),
        )
    )
    ids = [row[0] for row in result]
    if not ids:  # UNIQUE decided: the same resend at this very moment, or the member
        earlier = _registered_as(session, client_id)  # registered online just now
        if earlier is not None:
            return earlier
        _refuse_second_entry(session, member)  # type: ignore[arg-type]  # only members collide
    person = db.session.get(Participant, ids[0])
    audit.record(
        "roundtable.paper_register", "roundtable", session.id, actor_id=actor.id,
        witness=actor.id, participant=person.id, table=table.number,
        member=member.id if member else None,
    )  # fmt: skip
    _paper_changed(session, table.id)
    participation_changed(session.id)
    return person


def _hold_a_name_already_at_the_table(
    session: RoundtableSession, table: RoundtableTable, name: str
) -> None:
    """A paper participant of this name (any case) already at the table: most likely the same
    person entered twice, who would then have two votes; the facilitator confirms otherwise."""
    same = db.session.scalar(
        select(func.count(Participant.id)).where(
            Participant.session_id == session.id,
            Participant.table_id == table.id,
            Participant.takes_part == TakesPart.PAPER,
            func.lower(Participant.display_name) == name.lower(),
        )
    )
    if same:
        raise DomainError(
            _("%(name)s is already registered at this table. If this is another person with "
              "the same name, press Register on paper again.", name=name),
            code="same_name_at_table",
        )  # fmt: skip


def _registered_as(session: RoundtableSession, client_id: str | None) -> Participant | None:
    if not client_id:
        return None
    return db.session.scalar(
        select(Participant).where(
            Participant.session_id == session.id, Participant.client_id == client_id
        )
    )


def _refuse_second_entry(session: RoundtableSession, member: User) -> None:
    existing = db.session.scalar(
        select(Participant).where(
            Participant.session_id == session.id, Participant.user_id == member.id
        )
    )
    if existing is None:
        return
    if existing.takes_part == TakesPart.PAPER:
        raise DomainError(
            _("%(name)s is already entered on paper in this session.", name=member.display_name),
            code="already_on_paper",
        )
    raise DomainError(
        _("%(name)s already takes part online in this session: one entry per person.",
          name=member.display_name),
        code="already_online",
    )  # fmt: skip


def refuse_online_if_on_paper(participant: Participant | None) -> None:
    """A member entered on paper takes part through their facilitator, not online too."""
    if participant is not None and participant.takes_part == TakesPart.PAPER:
        number = participant.table.number if participant.table else "-"
        raise DomainError(
            _("You are entered on paper at table %(n)s: your facilitator records your ideas "
              "and votes. One entry per person.", n=number),
            code="takes_part_on_paper",
        )  # fmt: skip


def get_paper_participant(session: RoundtableSession, participant_id: int) -> Participant:
    """A paper participant of this session, or NotFound."""
    person = db.session.get(Participant, participant_id)
    if person is None or person.session_id != session.id or person.takes_part != TakesPart.PAPER:
        raise NotFound(_("No such paper participant."), code="no_such_participant")
    return person


def record_paper_idea(
    actor: User,
    session: RoundtableSession,
    clerk: Participant | None,
    person: Participant,
    text: str,
    client_id: str,
) -> dict[str, Any]:
    """The facilitator writes down a paper participant's idea, as one of the table's ideas."""
    require_paper_clerk(actor, session, clerk, person.table_id)
    if person.table_id is None:
        raise DomainError(_("This person has no table."), code="not_seated")
    before = db.session.scalar(
        select(Idea.id).where(Idea.table_id == person.table_id, Idea.client_id == client_id)
    )
    idea = store_idea(session, person.table_id, actor.id, text, client_id, person.id)
    if before is None:
        audit.record(
            "roundtable.paper_idea", "roundtable", session.id, actor_id=actor.id,
            witness=actor.id, participant=person.id, idea=idea["id"],
        )  # fmt: skip
        _paper_changed(session, person.table_id)
    return idea


def enter_paper_vote(
    actor: User,
    session: RoundtableSession,
    clerk: Participant | None,
    person: Participant,
    poll_id: int,
    slip_text: str,
    client_id: str,
    *,
    option_id: int | None = None,
    stances: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The facilitator enters a paper participant's vote from their slip: one per person per
    poll, the slip printed for this table, never a slip already entered in the poll."""
    require_paper_clerk(actor, session, clerk, person.table_id)
    table = get_table(session, person.table_id) if person.table_id else None
    if table is None:
        raise DomainError(_("This person has no table."), code="not_seated")
    parsed = slips.parse_slip(slip_text)
    if parsed is None:
        raise DomainError(
            _("Write the slip's number as printed on it, like %(example)s.",
              example=slips.slip_number(table.number, 13)),
            code="bad_slip",
        )  # fmt: skip
    if parsed[0] != table.number:
        raise DomainError(
            _("Slip %(slip)s was printed for table %(other)d, not table %(n)d.",
              slip=slips.normalised_slip(slip_text), other=parsed[0], n=table.number),
            code="slip_other_table",
        )  # fmt: skip
    slip_no = slips.slip_number(*parsed)
    poll = polls.get_poll_for_vote(session.id, poll_id)
    try:
        vote = polls.cast_poll_vote(
            poll, person, client_id, option_id=option_id, stances=stances,
            slip_no=slip_no, witness_id=actor.id,
        )  # fmt: skip
    except DomainError as error:
        if error.code == "already_voted":
            raise DomainError(
                _("%(name)s's vote in this poll is already entered.", name=person.name),
                code="already_voted",
            ) from None
        raise
    if polls.is_new_vote(vote):
        app = current_app._get_current_object()
        call_after_commit(lambda: tallies.mark_dirty(app, poll.id, session.id, new_votes=1))
        _paper_changed(session, person.table_id)
    return vote


def _paper_changed(session: RoundtableSession, table_id: int | None) -> None:
    """The table's panel and the console refresh their lists and counts."""
    payload = {"session_id": session.id, "table_id": table_id}
    if table_id is not None:
        emit_after_commit(
            "paper_changed", payload, to=table_room(session.id, table_id), namespace=NAMESPACE
        )
    emit_after_commit("paper_changed", payload, to=staff_room(session.id), namespace=NAMESPACE)
    emit_after_commit(
        "people_changed", {"session_id": session.id}, to=staff_room(session.id), namespace=NAMESPACE
    )


# --- reads ----------------------------------------------------------------------------------


def paper_participants(session: RoundtableSession, table_id: int) -> list[dict[str, Any]]:
    """A table's paper participants for its panel: name, category, division, ideas written
    down for them, and their slip in the open poll (if entered)."""
    people = list(
        db.session.scalars(
            select(Participant)
            .where(
                Participant.session_id == session.id,
                Participant.table_id == table_id,
                Participant.takes_part == TakesPart.PAPER,
            )
            .order_by(Participant.id)
        )
    )
    ids = [p.id for p in people]
    ideas = dict(
        db.session.execute(
            select(Idea.for_participant_id, func.count(Idea.id))
            .where(Idea.for_participant_id.in_(ids))
            .group_by(Idea.for_participant_id)
        ).all()
    )
    poll = db.session.scalar(
        select(Poll).where(Poll.session_id == session.id, Poll.state == PollState.OPEN)
    )
    slips_in_poll: dict[int, str | None] = {}
    if poll is not None and ids:
        slips_in_poll = dict(
            db.session.execute(
                select(PollVote.participant_id, PollVote.slip_no).where(
                    PollVote.poll_id == poll.id, PollVote.participant_id.in_(ids)
                )
            ).all()
        )
    divisions = {d.id: d for d in db.session.scalars(select(Division))} if people else {}
    locale = _locale()
    return [
        {
            "id": p.id,
            "name": p.name,
            "member_category": p.member_category.value,
            "category_label": p.member_category.label,
            "division": divisions[p.division_id].name_for(locale)
            if p.division_id in divisions
            else None,
            "ideas": ideas.get(p.id, 0),
            "voted": p.id in slips_in_poll,
            "slip_no": slips_in_poll.get(p.id),
        }
        for p in people
    ]


def _locale() -> str:
    return str(get_locale() or "en")


def takes_part_counts(session_id: int) -> dict[str, int]:
    """Participants (voters, not staff) by how they take part: online, hall, paper."""
    counts = dict.fromkeys((t.value for t in TakesPart), 0)
    for how, count in db.session.execute(
        select(Participant.takes_part, func.count(Participant.id))
        .where(
            Participant.session_id == session_id,
            Participant.role == ParticipantRole.PARTICIPANT,
        )
        .group_by(Participant.takes_part)
    ):
        counts[TakesPart(how).value] = count
    return counts


def _broadcast_participation(app: Flask, session_id: Hashable) -> None:
    sid = int(session_id)  # type: ignore[call-overload]
    with app.app_context():
        try:
            counts = takes_part_counts(sid)
        finally:
            db.session.remove()
    socketio.emit(
        "participation",
        {"session_id": sid, "participants": counts},
        to=[staff_room(sid), projector_room(sid)],
        namespace=NAMESPACE,
    )


#: Who takes part how, to the console and the projectors: at most once a second per session
#: (a lobby filling with 5,000 people registers hundreds a second).
participation_broadcasts = Coalescer(1.0, _broadcast_participation, quiet_s=0.05)


def participation_changed(session_id: int) -> None:
    """Someone was registered (online, in the hall, on paper): tell the console and the
    projectors the new split once the registration commits."""
    app = current_app._get_current_object()
    call_after_commit(partial(participation_broadcasts.touch, app, session_id))


def participation(session_id: int) -> dict[str, Any]:
    """Who took part how, for the console, the projector and the results page (each poll's
    votes by how people took part are in its tally: `by_takes_part`)."""
    return {
        "participants": takes_part_counts(session_id),
        "labels": {t.value: t.label for t in TakesPart},
    }
