"""What happens at a table: chat, the table facilitator's ideas and their submission, and
calls for help to the lead facilitator."""

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from deliberation.accounts.models import User
from deliberation.core import audit
from deliberation.core.errors import DomainError, IllegalTransition, NotFound
from deliberation.core.realtime import emit_after_commit
from deliberation.core.sanitize import plain_text
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.roundtables import permissions
from deliberation.roundtables.models import (
    ChatMessage,
    Idea,
    Participant,
    ParticipantRole,
    Phase,
    RoundtableSession,
    RoundtableTable,
    SessionState,
    insert_ignoring_duplicates,
    row_of_session,
    rows_inserted,
)
from deliberation.roundtables.payloads import chat_fields, chat_payload, idea_payload
from deliberation.roundtables.rooms import NAMESPACE, staff_room, table_room

CHAT_MAX_CHARS = 500
IDEA_MAX_CHARS = 300


def written_text(text: str, limit: int, *, empty: str, too_long: str) -> str:
    """A message or idea as stored (plain text, trimmed); refused if empty or over `limit`."""
    body = plain_text(text).strip()
    if not body:
        raise DomainError(empty, code="empty")
    if len(body) > limit:
        raise DomainError(too_long, code="too_long")
    return body


def session_tables(session_id: int) -> list[RoundtableTable]:
    """The session's tables by number."""
    return list(
        db.session.scalars(
            select(RoundtableTable)
            .where(RoundtableTable.session_id == session_id)
            .order_by(RoundtableTable.number)
        )
    )


def get_table(session: RoundtableSession, table_id: int) -> RoundtableTable:
    """A table of this session, or NotFound."""
    missing = NotFound(_("No such table in this session."), code="no_such_table")
    return row_of_session(RoundtableTable, session.id, table_id, missing)


def send_chat(
    session: RoundtableSession, participant: Participant, text: str, client_id: str
) -> dict[str, Any]:
    """Post to one's own table; only that table and the lead and theme team see it."""
    if session.state != SessionState.RUNNING:
        raise IllegalTransition(_("Table chat opens when the session starts."), code="not_running")
    if participant.table_id is None:
        raise DomainError(_("You do not have a seat at a table yet."), code="not_seated")
    return _post_chat(session, participant.table_id, participant.user_id, text, client_id)


def lead_chat(
    actor: User, session: RoundtableSession, table: RoundtableTable, text: str, client_id: str
) -> dict[str, Any]:
    """The lead posts in any table's chat (after answering its call for help, say); the
    table and the staff see it like any message of the table."""
    permissions.require_lead(actor, session)
    if session.state != SessionState.RUNNING:
        raise IllegalTransition(_("Table chat opens when the session starts."), code="not_running")
    return _post_chat(session, table.id, actor.id, text, client_id)


def _post_chat(
    session: RoundtableSession, table_id: int, author_id: int, text: str, client_id: str
) -> dict[str, Any]:
    """Store a message of a table's chat once (a repeat of its client id gets the same
    answer) and send it to the table and the staff after the commit."""
    body = written_text(
        text,
        CHAT_MAX_CHARS,
        empty=_("Write a message first."),
        too_long=_("A chat message holds at most %(n)d characters.", n=CHAT_MAX_CHARS),
    )
    created_at = utcnow()
    inserted = db.session.execute(
        insert_ignoring_duplicates(ChatMessage).values(
            session_id=session.id,
            table_id=table_id,
            author_id=author_id,
            client_id=client_id,
            body=body,
            is_broadcast=False,
            created_at=created_at,
        )
    ).all()
    if not inserted:  # a repeat of a message already posted (UNIQUE decided): same answer
        return chat_payload(
            db.session.scalars(
                select(ChatMessage).where(
                    ChatMessage.author_id == author_id, ChatMessage.client_id == client_id
                )
            ).one()
        )
    # Built from what was just written, not read back: one query less per message.
    author = db.session.get(User, author_id)  # the sender, already loaded with the login
    payload = chat_fields(
        inserted[0].id, table_id, client_id, author.display_name, author_id, body, created_at
    )
    # One broadcast to both rooms (a socket in both gets it once): one message through Redis.
    emit_after_commit(
        "chat_message",
        payload,
        to=[table_room(session.id, table_id), staff_room(session.id)],
        namespace=NAMESPACE,
    )
    return payload


def request_help(session: RoundtableSession, participant: Participant) -> dict[str, Any]:
    """Anyone at a table can ask the lead for help; the table is flagged on the console."""
    if participant.table_id is None:
        raise DomainError(_("You do not have a seat at a table yet."), code="not_seated")
    table = get_table(session, participant.table_id)
    table.help_requested_at = utcnow()
    payload = {"session_id": session.id, "table_id": table.id, "number": table.number, "help": True}
    emit_after_commit("help_flag", payload, to=staff_room(session.id), namespace=NAMESPACE)
    emit_after_commit(
        "help_flag", payload, to=table_room(session.id, table.id), namespace=NAMESPACE
    )
    return payload


def clear_help(actor: User, session: RoundtableSession, table: RoundtableTable) -> dict[str, Any]:
    """The lead answers a table's call for help: the flag clears and the table is told the
    lead is on the way (`lead_on_the_way`); the lead may then read and post in its chat."""
    permissions.require_lead(actor, session)
    answered = table.help_requested_at is not None
    table.help_requested_at = None
    audit.record("roundtable.help_answered", "roundtable", session.id, actor_id=actor.id,
                 table=table.id)  # fmt: skip
    payload = {"session_id": session.id, "table_id": table.id, "number": table.number}
    payload["help"] = False
    payload["lead_on_the_way"] = answered
    emit_after_commit("help_flag", payload, to=staff_room(session.id), namespace=NAMESPACE)
    emit_after_commit(
        "help_flag", payload, to=table_room(session.id, table.id), namespace=NAMESPACE
    )
    return payload


def add_idea(
    session: RoundtableSession,
    participant: Participant | None,
    table_id: int,
    text: str,
    client_id: str,
) -> dict[str, Any]:
    """The table facilitator records one of the table's ideas for this round."""
    permissions.require_table_facilitator(participant, table_id)
    if participant is None:  # for the type checker: the check above raised already
        raise DomainError(code="forbidden")
    return store_idea(session, table_id, participant.user_id, text, client_id)


def store_idea(
    session: RoundtableSession,
    table_id: int,
    author_id: int | None,
    text: str,
    client_id: str,
    for_participant_id: int | None = None,
) -> dict[str, Any]:
    """Store one of a table's ideas for this round (the rules of every idea: the phase, the
    text, the round's limit, a repeat's same answer); `for_participant_id` names the paper
    participant whose idea the facilitator wrote down. The caller has checked who may."""
    if session.phase not in (Phase.DISCUSSION, Phase.SUBMISSIONS):
        raise IllegalTransition(
            _("Ideas are recorded during table discussion and submissions."), code="wrong_phase"
        )
    body = written_text(
        text,
        IDEA_MAX_CHARS,
        empty=_("Write the idea first."),
        too_long=_("An idea holds at most %(n)d characters.", n=IDEA_MAX_CHARS),
    )
    existing = db.session.scalar(
        select(Idea).where(Idea.table_id == table_id, Idea.client_id == client_id)
    )
    if existing is not None:  # a repeat: same answer, before the per-round limit is counted
        return idea_payload(existing)
    count = db.session.scalar(
        select(func.count(Idea.id)).where(
            Idea.table_id == table_id, Idea.round_no == session.round_no
        )
    )
    if (count or 0) >= session.ideas_per_round:
        raise DomainError(
            _("A table records at most %(n)d ideas a round.", n=session.ideas_per_round),
            code="too_many_ideas",
        )
    inserted = rows_inserted(
        db.session.execute(
            insert_ignoring_duplicates(Idea).values(
                session_id=session.id,
                table_id=table_id,
                round_no=session.round_no,
                author_id=author_id,
                for_participant_id=for_participant_id,
                client_id=client_id,
                body=body,
                created_at=utcnow(),
            )
        )
    )
    idea = db.session.scalar(
        select(Idea).where(Idea.table_id == table_id, Idea.client_id == client_id)
    )
    if inserted != 1:  # the same client id at the same moment: UNIQUE decided
        return idea_payload(idea)
    payload = idea_payload(idea)
    emit_after_commit("idea", payload, to=table_room(session.id, table_id), namespace=NAMESPACE)
    return payload


def _draft_idea(
    session: RoundtableSession, participant: Participant | None, idea_id: int
) -> Idea | None:
    """The table facilitator's own table's idea, still a draft this round (None if gone)."""
    idea = db.session.get(Idea, idea_id)
    if idea is None or idea.session_id != session.id:
        permissions.require_table_facilitator(
            participant, participant.table_id if participant else None
        )
        return None
    permissions.require_table_facilitator(participant, idea.table_id)
    if session.phase not in (Phase.DISCUSSION, Phase.SUBMISSIONS):
        raise IllegalTransition(
            _("Ideas are recorded during table discussion and submissions."), code="wrong_phase"
        )
    if idea.submitted_at is not None:
        raise IllegalTransition(
            _("This idea was submitted to the theme team; it can no longer change."),
            code="already_submitted",
        )
    return idea


def edit_idea(
    session: RoundtableSession, participant: Participant | None, idea_id: int, text: str
) -> dict[str, Any]:
    """The table facilitator rewords a draft idea before the table submits it."""
    idea = _draft_idea(session, participant, idea_id)
    if idea is None:
        raise NotFound(_("This idea was deleted."), code="no_such_idea")
    idea.body = written_text(
        text,
        IDEA_MAX_CHARS,
        empty=_("Write the idea first."),
        too_long=_("An idea holds at most %(n)d characters.", n=IDEA_MAX_CHARS),
    )
    db.session.flush()
    audit.record(
        "roundtable.idea_edit", "roundtable", session.id, actor_id=idea_author(participant),
        idea=idea.id,
    )  # fmt: skip
    payload = idea_payload(idea)
    emit_after_commit(
        "idea", payload, to=table_room(session.id, idea.table_id), namespace=NAMESPACE
    )
    return payload


def delete_idea(
    session: RoundtableSession, participant: Participant | None, idea_id: int
) -> dict[str, Any]:
    """The table facilitator deletes a draft idea (its place in the round's limit is freed).
    Deleting an idea already gone answers the same (a resend after a reconnect)."""
    idea = _draft_idea(session, participant, idea_id)
    payload: dict[str, Any] = {"session_id": session.id, "idea_id": idea_id}
    if idea is None:
        return payload
    payload["table_id"] = idea.table_id
    db.session.delete(idea)
    db.session.flush()
    audit.record(
        "roundtable.idea_delete", "roundtable", session.id, actor_id=idea_author(participant),
        idea=idea_id,
    )  # fmt: skip
    emit_after_commit(
        "idea_deleted", payload, to=table_room(session.id, payload["table_id"]), namespace=NAMESPACE
    )
    return payload


def idea_author(participant: Participant | None) -> int | None:
    return participant.user_id if participant else None


def submit_ideas(
    session: RoundtableSession, participant: Participant | None, table_id: int
) -> dict[str, Any]:
    """The table facilitator sends the round's ideas to the theme team (submissions phase)."""
    permissions.require_table_facilitator(participant, table_id)
    if participant is None:  # for the type checker: the check above raised already
        raise DomainError(code="forbidden")
    if session.phase != Phase.SUBMISSIONS:
        raise IllegalTransition(
            _("Ideas are submitted in the table submissions phase."), code="wrong_phase"
        )
    ideas = list(
        db.session.scalars(
            select(Idea).where(
                Idea.table_id == table_id,
                Idea.round_no == session.round_no,
                Idea.submitted_at.is_(None),
            )
        )
    )
    if not ideas:
        raise DomainError(_("There are no new ideas to submit."), code="nothing_to_submit")
    now = utcnow()
    for idea in ideas:
        idea.submitted_at = now
    payloads = [idea_payload(idea) for idea in ideas]
    audit.record(
        "roundtable.submit_ideas",
        "roundtable",
        session.id,
        actor_id=participant.user_id,
        table=table_id,
        ideas=len(ideas),
    )
    message = {"session_id": session.id, "table_id": table_id, "ideas": payloads}
    emit_after_commit("ideas_submitted", message, to=staff_room(session.id), namespace=NAMESPACE)
    emit_after_commit(
        "ideas_submitted", message, to=table_room(session.id, table_id), namespace=NAMESPACE
    )
    return {"submitted": len(ideas)}


def table_facilitator_name(session_id: int, table_id: int) -> str | None:
    """The name the room shows as its table's facilitator (the first, if several)."""
    # One query for the name alone: every join's snapshot asks (hundreds at once after a
    # worker restart), and loading the person would load their roles and divisions too.
    return db.session.scalar(
        select(User.display_name)
        .join(Participant, Participant.user_id == User.id)
        .where(
            Participant.session_id == session_id,
            Participant.table_id == table_id,
            Participant.role == ParticipantRole.TABLE_FACILITATOR,
        )
        .order_by(Participant.id)
        .limit(1)
    )
