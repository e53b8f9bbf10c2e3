"""A whole session over real Socket.IO test clients: seating, phases, timers, tables, themes."""

from datetime import timedelta

from sqlalchemy import func, select

from deliberation.core.audit import AuditEntry
from deliberation.db import utcnow
from deliberation.extensions import db, socketio
from deliberation.roundtables import sessions
from deliberation.roundtables.models import ChatMessage, Participant, ParticipantRole, Phase
from deliberation.roundtables.rooms import NAMESPACE
from tests.roundtables.helpers import build_session, cid, emit, joined, received, session_of


def seat_everyone(app, people=20, facilitators=2, **kwargs):
    with app.app_context():
        info = build_session(participants=people, facilitators=facilitators, **kwargs)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    ack = emit(lead, "seat_room", {"session_id": sid})
    assert ack["ok"], ack
    return info, sid, lead


def test_seating_balances_and_facilitators_spread(app):
    info, sid, lead = seat_everyone(app, people=30, facilitators=2)
    with app.app_context():
        rows = db.session.scalars(select(Participant).where(Participant.session_id == sid)).all()
        by_table: dict = {}
        for p in rows:
            by_table.setdefault(p.table_id, []).append(p)
        assert None not in by_table
        assert len(by_table) == 3
        for members in by_table.values():
            citizens = [m for m in members if m.role == ParticipantRole.PARTICIPANT]
            assert len(citizens) == 10
            assert len({m.member_category for m in citizens}) == 4
    overview = emit(lead, "console", {"session_id": sid})["console"]
    flagged = [t["number"] for t in overview["tables"] if t["no_facilitator"]]
    assert flagged == [3]
    assert all(len(t["facilitators"]) == 1 for t in overview["tables"] if t["number"] != 3)


def test_join_returns_seat_and_late_arrival_takes_emptiest_seat(app):
    info, sid, lead = seat_everyone(app, people=19, facilitators=0)
    client, ack = joined(app, info["people"][0], sid)
    assert ack["seat"]["table_number"] in (1, 2)
    assert ack["snapshot"]["seq"] >= 1
    # Someone new arrives after seating: the table with 9 people gets them.
    with app.app_context():
        from tests.factories import make_user

        newcomer = make_user().id
        counts = dict(
            db.session.execute(
                select(Participant.table_id, func.count())
                .where(Participant.session_id == sid)
                .group_by(Participant.table_id)
            ).all()
        )
    emptiest = min(counts, key=lambda t: (counts[t], t))
    _, ack = joined(app, newcomer, sid)
    assert ack["seat"]["table_id"] == emptiest
    # A reload (new socket) returns the same person to the same seat.
    _, again = joined(app, newcomer, sid)
    assert again["seat"] == ack["seat"]


def test_phase_change_reaches_everyone_and_timer_is_server_side(app):
    info, sid, lead = seat_everyone(app, people=20, facilitators=2)
    clients = [joined(app, uid, sid)[0] for uid in info["people"][:5]]
    for c in clients:
        received(c)
    ack = emit(lead, "session_start", {"session_id": sid})
    assert ack["ok"] and ack["state"]["phase"] == "briefing"
    ack = emit(lead, "phase_set", {"session_id": sid, "phase": "discussion", "duration_s": 600})
    assert ack["ok"], ack
    for c in clients:
        phases = [e["args"][0] for e in received(c, "phase")]
        assert phases[-1]["phase"] == "discussion"
        assert 598 <= phases[-1]["remaining_s"] <= 600
        assert phases[-1]["ends_at"]
    # Pause, extend, resume: the clock lives on the server.
    assert emit(lead, "timer", {"session_id": sid, "action": "pause"})["state"]["paused"]
    ack = emit(lead, "timer", {"session_id": sid, "action": "extend", "seconds": 60})
    assert 658 <= ack["state"]["remaining_s"] <= 660
    ack = emit(lead, "timer", {"session_id": sid, "action": "resume"})
    assert not ack["state"]["paused"] and ack["state"]["ends_at"]
    # The scheduler ends an expired phase: the room moves on to submissions.
    with app.app_context():
        session_of(sid).phase_ends_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert sessions.end_expired_phases() == 1
        db.session.commit()
        assert session_of(sid).phase == Phase.SUBMISSIONS
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("roundtable.%"))
        ).all()
        assert actions.count("roundtable.phase") == 3
    assert received(clients[0], "phase")[-1]["args"][0]["phase"] == "submissions"
    # End now: submissions -> synthesis.
    ack = emit(lead, "timer", {"session_id": sid, "action": "end"})
    assert ack["state"]["phase"] == "synthesis"
    # A reload after all this shows the same phase and timer.
    snap = emit(clients[1], "snapshot", {"session_id": sid})["snapshot"]
    assert snap["phase"] == "synthesis" and snap["seq"] == ack["state"]["seq"]


def test_chat_stays_within_its_table_and_reaches_staff(app):
    info, sid, lead = seat_everyone(app, people=20, facilitators=2)
    emit(lead, "session_start", {"session_id": sid})
    emit(lead, "phase_set", {"session_id": sid, "phase": "discussion"})
    seats = {}
    for uid in info["people"]:
        client, ack = joined(app, uid, sid)
        seats.setdefault(ack["seat"]["table_id"], []).append(client)
    (t1, table1), (t2, table2) = sorted(seats.items())
    for c in table1 + table2 + [lead]:
        received(c)
    ack = emit(
        table1[0],
        "chat_send",
        {"session_id": sid, "text": "<b>Hello</b> table", "client_id": cid()},
    )
    # kept as typed (each page shows it as text): tag-looking text is not lost
    assert ack["ok"] and ack["message"]["body"] == "<b>Hello</b> table"
    for c in table1:
        assert [e["args"][0]["body"] for e in received(c, "chat_message")] == ["<b>Hello</b> table"]
    for c in table2:
        assert received(c, "chat_message") == []
    assert [e["args"][0]["table_id"] for e in received(lead, "chat_message")] == [t1]
    # Repeating the same client id posts nothing new.
    same = cid()
    first = emit(table2[0], "chat_send", {"session_id": sid, "text": "once", "client_id": same})
    second = emit(table2[0], "chat_send", {"session_id": sid, "text": "once", "client_id": same})
    assert first["message"]["id"] == second["message"]["id"]
    # Reconnect catch-up: a new socket for a table-2 person gets table 2's recent chat only.
    snap = emit(table2[1], "snapshot", {"session_id": sid})["snapshot"]
    assert [m["body"] for m in snap["chat"]] == ["once"]


def test_ideas_become_themes_and_the_room_sees_them(app):
    info, sid, lead = seat_everyone(app, people=20, facilitators=2, theme_team=1)
    team, _ = joined(app, info["team"][0], sid)
    fac, fack = joined(app, info["facilitators"][0], sid)
    table_id = fack["seat"]["table_id"]
    emit(lead, "session_start", {"session_id": sid})
    emit(lead, "phase_set", {"session_id": sid, "phase": "discussion"})
    ids = []
    for text in ("More benches in parks", "Longer library hours"):
        ack = emit(
            fac,
            "idea_add",
            {"session_id": sid, "table_id": table_id, "text": text, "client_id": cid()},
        )
        assert ack["ok"], ack
        ids.append(ack["idea"]["id"])
    refused = emit(fac, "ideas_submit", {"session_id": sid, "table_id": table_id})
    assert refused["error"] == "wrong_phase"
    emit(lead, "phase_set", {"session_id": sid, "phase": "submissions"})
    received(team)
    assert emit(fac, "ideas_submit", {"session_id": sid, "table_id": table_id})["submitted"] == 2
    submitted = received(team, "ideas_submitted")
    assert [i["id"] for i in submitted[0]["args"][0]["ideas"]] == ids
    emit(lead, "phase_set", {"session_id": sid, "phase": "synthesis"})
    a = emit(team, "theme_create", {"session_id": sid, "name": "Public space", "idea_ids": ids[:1]})
    b = emit(team, "theme_create", {"session_id": sid, "name": "Libraries", "idea_ids": ids[1:]})
    assert a["ok"] and b["ok"]
    renamed = emit(
        team, "theme_update", {"session_id": sid, "theme_id": a["theme"]["id"], "name": "Parks"}
    )
    assert renamed["theme"]["name"] == "Parks"
    merged = emit(
        team,
        "theme_merge",
        {"session_id": sid, "theme_id": b["theme"]["id"], "into_id": a["theme"]["id"]},
    )
    assert sorted(merged["theme"]["idea_ids"]) == sorted(ids)
    person, _ = joined(app, info["people"][0], sid)
    received(person)
    ack = emit(team, "themes_publish", {"session_id": sid})
    assert ack["ok"]
    themes = received(person, "themes")[0]["args"][0]["themes"]
    assert [t["name"] for t in themes] == ["Parks"]
    assert themes[0]["tables"]


def test_help_flags_the_table_on_the_console(app):
    info, sid, lead = seat_everyone(app, people=10, facilitators=1)
    person, ack = joined(app, info["people"][0], sid)
    received(lead)
    assert emit(person, "help_request", {"session_id": sid})["ok"]
    flag = received(lead, "help_flag")[0]["args"][0]
    assert flag["help"] and flag["table_id"] == ack["seat"]["table_id"]
    console = emit(lead, "console", {"session_id": sid})["console"]
    assert console["tables"][0]["help"]
    assert console["tables"][0]["connected"] == 1  # the person who asked is connected
    # The snapshot a console takes after a reconnect counts them too; one process, no Redis.
    snapshot = emit(lead, "snapshot", {"session_id": sid})["snapshot"]
    assert [t["connected"] for t in snapshot["console"]["tables"]] == [1]
    assert socketio.server.namespace_handlers[NAMESPACE].connected._refreshing is None
    assert emit(lead, "help_clear", {"session_id": sid, "table_id": flag["table_id"]})["ok"]
    assert not emit(lead, "console", {"session_id": sid})["console"]["tables"][0]["help"]


def test_lead_moves_a_person_who_is_told_to_rejoin(app):
    info, sid, lead = seat_everyone(app, people=18, facilitators=0)
    person, ack = joined(app, info["people"][0], sid)
    other = [
        t["id"]
        for t in emit(lead, "console", {"session_id": sid})["console"]["tables"]
        if t["id"] != ack["seat"]["table_id"]
    ][0]
    received(person)
    moved = emit(
        lead,
        "move_participant",
        {"session_id": sid, "participant_id": ack["seat"]["participant_id"], "table_id": other},
    )
    assert moved["ok"], moved
    assert received(person, "seat_changed")
    again = emit(person, "join", {"session_id": sid})
    assert again["seat"]["table_id"] == other


def test_broadcast_reaches_every_table(app):
    info, sid, lead = seat_everyone(app, people=20, facilitators=0)
    a, _ = joined(app, info["people"][0], sid)
    b, _ = joined(app, info["people"][-1], sid)
    received(a), received(b)
    assert emit(lead, "broadcast", {"session_id": sid, "text": "Five minutes left"})["ok"]
    for c in (a, b):
        assert received(c, "broadcast")[0]["args"][0]["body"] == "Five minutes left"
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 0


def test_broadcasts_are_kept_and_the_console_lists_them_after_a_reload(app):
    info, sid, lead = seat_everyone(app, people=20, facilitators=0)
    for text in ("Welcome, everyone", "Five minutes left", "   "):
        emit(lead, "broadcast", {"session_id": sid, "text": text})
    lead.disconnect(NAMESPACE)
    # The lead's console, opened again: the history, newest first; the blank one was refused.
    again, ack = joined(app, info["lead_id"], sid)
    console = emit(again, "console", {"session_id": sid})["console"]
    assert [b["body"] for b in console["broadcasts"]] == ["Five minutes left", "Welcome, everyone"]
    assert console["broadcasts"][0]["author"] == "Lead"
    with app.app_context():
        logged = db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == "roundtable.broadcast")
        )
        assert logged == 2


def test_the_same_chat_sent_twice_at_once_is_stored_once(app):
    import threading

    info, sid, lead = seat_everyone(app, people=10, facilitators=0)
    emit(lead, "session_start", {"session_id": sid})
    a, _ = joined(app, info["people"][0], sid)
    b, _ = joined(app, info["people"][0], sid)  # the same person in a second tab
    same = cid()
    acks: list = []

    def send(client):
        acks.append(emit(client, "chat_send", {"session_id": sid, "text": "hi", "client_id": same}))

    threads = [threading.Thread(target=send, args=(c,)) for c in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert [ack["ok"] for ack in acks] == [True, True]
    assert acks[0]["message"]["id"] == acks[1]["message"]["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 1
