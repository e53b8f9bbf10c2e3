"""Builders for roundtable tests: a session with people, and logged-in Socket.IO test clients."""

import itertools
import uuid
from collections.abc import Sequence

from sqlalchemy import select

from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.extensions import db, socketio
from deliberation.roundtables import polls, sessions
from deliberation.roundtables.models import (
    Participant,
    ParticipantRole,
    Phase,
    Poll,
    PollKind,
    RoundtableSession,
)
from deliberation.roundtables.rooms import NAMESPACE
from tests.factories import make_division, make_user

CATEGORIES = list(MemberCategory)
_ids = itertools.count(1)


def cid() -> str:
    return uuid.uuid4().hex


def build_session(
    participants: int = 20,
    facilitators: int = 2,
    table_size: int = 10,
    theme_team: int = 0,
    state: str = "lobby",
    categories: Sequence[MemberCategory] = tuple(CATEGORIES),
) -> dict:
    """A session with a lead, table facilitators, a theme team and registered participants;
    participant i has member category `categories[i % len(categories)]`."""
    divisions = [make_division() for _ in range(3)]
    lead = make_user(Role.FACILITATOR, name="Lead")
    session = sessions.create_session(
        lead, division=divisions[0], title="Budget roundtable", table_size=table_size
    )
    if state != "scheduled":
        session.open_lobby()
    people = []
    for i in range(participants):
        user = make_user(
            category=categories[i % len(categories)],
            divisions=[divisions[i % len(divisions)]],
            commit=False,
        )
        sessions.register(session, user)
        people.append(user)
    table_facilitators = []
    for _ in range(facilitators):
        user = make_user(Role.FACILITATOR, commit=False)
        sessions.register(session, user, ParticipantRole.TABLE_FACILITATOR)
        table_facilitators.append(user)
    team = []
    for _ in range(theme_team):
        user = make_user(commit=False)
        participant = sessions.register(session, user)
        participant.role = ParticipantRole.THEME_TEAM
        team.append(user)
    db.session.commit()
    return {
        "session_id": session.id,
        "lead_id": lead.id,
        "people": [u.id for u in people],
        "facilitators": [u.id for u in table_facilitators],
        "team": [u.id for u in team],
        "division_id": divisions[0].id,
    }


def socket_for(app, user_id: int):
    """A Socket.IO test client carrying this person's real Flask-Login session cookie."""
    with app.app_context():
        user = db.session.get(User, user_id)
        cookie_id = user.get_id()
    http = app.test_client()
    with http.session_transaction() as flask_session:
        flask_session["_user_id"] = cookie_id
        flask_session["_fresh"] = True
    client = socketio.test_client(app, flask_test_client=http, namespace=NAMESPACE)
    assert client.is_connected(NAMESPACE)
    return client


def emit(client, event: str, data=None):
    return client.emit(event, data, namespace=NAMESPACE, callback=True)


def received(client, name: str | None = None) -> list:
    events = client.get_received(NAMESPACE)
    return [e for e in events if name is None or e["name"] == name]


def joined(app, user_id: int, session_id: int):
    client = socket_for(app, user_id)
    ack = emit(client, "join", {"session_id": session_id})
    assert ack["ok"], ack
    return client, ack


def session_of(session_id: int) -> RoundtableSession:
    return db.session.get(RoundtableSession, session_id)


def table_facilitator(session_id: int) -> Participant | None:
    """The session's (first) table facilitator."""
    return db.session.scalar(
        select(Participant).where(
            Participant.session_id == session_id,
            Participant.role == ParticipantRole.TABLE_FACILITATOR,
        )
    )


def seated_room_in_poll_phase(participants: int) -> tuple[RoundtableSession, User, list[int]]:
    """A running session, seated (one facilitator), in its room poll phase; returns the
    session, its lead and the participants' user ids."""
    built = build_session(participants=participants, facilitators=1)
    session = db.session.get(RoundtableSession, built["session_id"])
    lead = db.session.get(User, built["lead_id"])
    sessions.start_session(lead, session)  # seats the room
    for phase in (Phase.DISCUSSION, Phase.SUBMISSIONS, Phase.SYNTHESIS, Phase.POLL):
        sessions.set_phase(lead, session, phase)
    return session, lead, built["people"]


def open_poll_in_a_seated_room(participants: int) -> tuple[RoundtableSession, Poll, list[int]]:
    """`seated_room_in_poll_phase` with a yes/no room poll open (committed); returns the
    session, the poll and the participants' user ids."""
    session, lead, people = seated_room_in_poll_phase(participants)
    poll = polls.open_poll(lead, session, PollKind.QUESTION, "Parks first?", ["Yes", "No"])
    db.session.commit()
    return session, poll, people
