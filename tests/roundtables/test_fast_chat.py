"""The table chat's hot path (roundtables/fast_chat.py): a seated person's plain line is
written by the batch writer, with no login load and no request context; a line whose checks
fail (moved to another table, logged out elsewhere, session closed, a repeat) takes the
ordinary path and gets its usual answer."""

from sqlalchemy import event, func, select

from deliberation.accounts import services as accounts
from deliberation.accounts.models import User
from deliberation.extensions import db
from deliberation.roundtables import sessions, tables
from deliberation.roundtables.models import ChatMessage, Participant, RoundtableSession
from tests.roundtables.helpers import build_session, cid, emit, joined, received


def running_room(app, participants: int = 12) -> dict:
    with app.app_context():
        info = build_session(participants=participants, facilitators=2, table_size=6)
        session = db.session.get(RoundtableSession, info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        sessions.start_session(lead, session)
        db.session.commit()
        info["table_of"] = dict(
            db.session.execute(
                select(Participant.user_id, Participant.table_id).where(
                    Participant.session_id == session.id
                )
            ).all()
        )
    info["sockets"] = [joined(app, uid, info["session_id"])[0] for uid in info["people"]]
    for client in info["sockets"]:
        received(client)
    return info


def line(info: dict, text: str = "Hello table", client_id: str | None = None) -> dict:
    """What the browser sends (loadtest.payloads.chat_send)."""
    return {"session_id": info["session_id"], "text": text, "client_id": client_id or cid()}


def statements_during(app, action) -> tuple[object, list[str]]:
    """Every statement while `action` runs (the batch writer runs in a task of its own)."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return result, statements


def messages(app, session_id: int) -> list[tuple[int, str]]:
    with app.app_context():
        return list(
            db.session.execute(
                select(ChatMessage.table_id, ChatMessage.body)
                .where(ChatMessage.session_id == session_id)
                .order_by(ChatMessage.id)
            ).all()
        )


def test_a_plain_line_is_one_insert_and_reaches_its_table_only(app):
    info = running_room(app)
    writer = info["sockets"][0]
    ack, statements = statements_during(app, lambda: emit(writer, "chat_send", line(info)))
    assert ack["ok"], ack
    # No login load (the ordinary path reads the whole person, roles and all), and the line
    # written by the batch writer in one INSERT.
    assert not any("users.email" in s for s in statements), statements
    inserts = [s for s in statements if s.startswith("INSERT INTO roundtable_chat_messages")]
    assert len(inserts) == 1, statements
    table = info["table_of"][info["people"][0]]
    assert ack["message"]["table_id"] == table
    with app.app_context():
        author = db.session.get(User, info["people"][0]).display_name
    assert ack["message"]["author"] == author
    for uid, client in zip(info["people"][1:], info["sockets"][1:], strict=True):
        bodies = [e["args"][0]["body"] for e in received(client, "chat_message")]
        assert bodies == (["Hello table"] if info["table_of"][uid] == table else []), uid
    assert messages(app, info["session_id"]) == [(table, "Hello table")]


def test_a_repeat_gets_the_same_answer_and_one_row(app):
    info = running_room(app)
    writer, client_id = info["sockets"][0], cid()
    first = emit(writer, "chat_send", line(info, client_id=client_id))
    again = emit(writer, "chat_send", line(info, client_id=client_id))
    assert first["ok"] and again["ok"]
    assert again["message"]["id"] == first["message"]["id"]
    assert len(messages(app, info["session_id"])) == 1


def test_someone_moved_to_another_table_speaks_at_the_new_one(app):
    """The socket's seat still names the old table until the page rejoins: the INSERT's check
    fails, and the ordinary path posts at the table the person sits at now."""
    info = running_room(app, participants=11)  # tables of 6 and 5: room for one more
    seated = [info["table_of"][uid] for uid in info["people"]]
    index = next(i for i, t in enumerate(seated) if seated.count(t) == 6)
    mover = info["people"][index]
    old = info["table_of"][mover]
    with app.app_context():
        session = db.session.get(RoundtableSession, info["session_id"])
        person = db.session.scalar(
            select(Participant).where(
                Participant.session_id == session.id, Participant.user_id == mover
            )
        )
        new = next(t for t in tables.session_tables(session.id) if t.id != old)
        sessions.move_participant(db.session.get(User, info["lead_id"]), session, person, new)
        db.session.commit()
        new_id = new.id
    ack = emit(info["sockets"][index], "chat_send", line(info, "moved"))
    assert ack["ok"], ack
    assert ack["message"]["table_id"] == new_id
    assert messages(app, info["session_id"]) == [(new_id, "moved")]


def test_logged_out_elsewhere_is_refused_and_nothing_is_written(app):
    info = running_room(app)
    with app.app_context():
        accounts.end_all_sessions(db.session.get(User, info["people"][0]))
        db.session.commit()
    ack = emit(info["sockets"][0], "chat_send", line(info))
    assert ack["ok"] is False and ack["error"] == "unauthenticated", ack
    assert messages(app, info["session_id"]) == []


def test_a_closed_session_refuses_in_the_readers_words(app):
    info = running_room(app)
    with app.app_context():
        session = db.session.get(RoundtableSession, info["session_id"])
        sessions.close_session(db.session.get(User, info["lead_id"]), session)
        db.session.commit()
    ack = emit(info["sockets"][0], "chat_send", line(info))
    assert ack["ok"] is False and ack["error"] == "not_running", ack
    assert ack["message"] == "Table chat opens when the session starts."
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(ChatMessage))
    assert count == 0
