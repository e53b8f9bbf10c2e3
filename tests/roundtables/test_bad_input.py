"""Every bad input of the issue: refused with an `error` event and an error ack, nothing changes."""

import pytest
from sqlalchemy import func, select

from deliberation.extensions import db, socketio
from deliberation.roundtables.models import ChatMessage, Idea, PollVote, RoundtableSession, Theme
from deliberation.roundtables.rooms import NAMESPACE
from loadtest import payloads
from tests.roundtables.helpers import build_session, cid, emit, joined, received
from tests.roundtables.test_polls import poll_phase


def state_of(app, sid):
    with app.app_context():
        session = db.session.get(RoundtableSession, sid)
        counts = tuple(
            db.session.scalar(select(func.count(model.id)))
            for model in (ChatMessage, Idea, Theme, PollVote)
        )
        return (session.state, session.phase, session.seq, session.phase_ends_at, counts)


def assert_refused(client, ack, code):
    assert ack["ok"] is False and ack["error"] == code, ack
    errors = received(client, "error")
    assert errors and errors[-1]["args"][0]["error"] == code
    assert errors[-1]["args"][0]["message"]


@pytest.fixture
def running(app):
    info, sid, lead, poll = poll_phase(app, people=20, facilitators=2)
    citizen, seat = joined(app, info["people"][0], sid)
    received(citizen)
    return {"info": info, "sid": sid, "lead": lead, "poll": poll, "citizen": citizen,
            "seat": seat["seat"]}  # fmt: skip


LEAD_EVENTS = [
    ("phase_set", {"phase": "results"}),
    ("timer", {"action": "extend", "seconds": 600}),
    ("timer", {"action": "end"}),
    ("broadcast", {"text": "hi all"}),
    ("seat_room", {}),
    ("session_close", {}),
    ("lobby_open", {}),
    ("poll_open", {"kind": "question", "question": "?", "options": ["a", "b"]}),
    ("help_clear", {"table_id": 1}),
]


@pytest.mark.parametrize(("event", "extra"), LEAD_EVENTS)
def test_citizen_cannot_send_lead_events(app, running, event, extra):
    before = state_of(app, running["sid"])
    ack = emit(running["citizen"], event, {"session_id": running["sid"], **extra})
    assert_refused(running["citizen"], ack, "not_lead")
    assert state_of(app, running["sid"]) == before


def test_citizen_cannot_close_the_poll_or_move_people(app, running):
    before = state_of(app, running["sid"])
    ack = emit(running["citizen"], "poll_close",
               {"session_id": running["sid"], "poll_id": running["poll"]["id"]})  # fmt: skip
    assert_refused(running["citizen"], ack, "not_lead")
    ack = emit(running["citizen"], "move_participant", {
        "session_id": running["sid"], "participant_id": running["seat"]["participant_id"],
        "table_id": running["seat"]["table_id"]})  # fmt: skip
    assert_refused(running["citizen"], ack, "not_lead")
    assert state_of(app, running["sid"]) == before


@pytest.mark.parametrize(
    ("event", "extra", "code"),
    [
        ("idea_add", {"text": "mine", "client_id": "abcdefgh12"}, "not_table_facilitator"),
        ("ideas_submit", {}, "not_table_facilitator"),
        ("theme_create", {"name": "T", "idea_ids": []}, "not_theme_team"),
        ("theme_merge", {"theme_id": 1, "into_id": 2}, "not_theme_team"),
        ("themes_publish", {}, "not_theme_team"),
        ("console", {}, "not_theme_team"),
    ],
)
def test_citizen_cannot_act_as_facilitator_or_theme_team(app, running, event, extra, code):
    before = state_of(app, running["sid"])
    payload = {"session_id": running["sid"], "table_id": running["seat"]["table_id"], **extra}
    assert_refused(running["citizen"], emit(running["citizen"], event, payload), code)
    assert state_of(app, running["sid"]) == before


def test_joining_another_tables_room_or_another_session(app, running):
    with app.app_context():
        other = build_session(participants=2, facilitators=0, state="scheduled")
        closed = build_session(participants=2, facilitators=0)
        session = db.session.get(RoundtableSession, closed["session_id"])
        session.close()
        db.session.commit()
    citizen, sid = running["citizen"], running["sid"]
    other_table = running["seat"]["table_id"] + 1
    ack = emit(citizen, "join", {"session_id": sid, "table_id": other_table})
    assert_refused(citizen, ack, "not_your_table")
    assert_refused(citizen, emit(citizen, "join", {"session_id": other["session_id"]}), "not_open")
    assert_refused(
        citizen, emit(citizen, "join", {"session_id": closed["session_id"]}), "session_closed"
    )
    # Acting in a session the socket has not joined.
    ack = emit(citizen, "chat_send", {"session_id": other["session_id"], "text": "hi",
                                      "client_id": cid()})  # fmt: skip
    assert_refused(citizen, ack, "not_joined")
    # The refused joins changed nothing: the person is still in their own table's room.
    neighbour = [
        c for c in (joined(app, uid, sid)[0] for uid in running["info"]["people"][1:])
        if emit(c, "snapshot", {"session_id": sid})["snapshot"]["seat"]["table_id"]
        == running["seat"]["table_id"]
    ][0]  # fmt: skip
    received(citizen)
    emit(neighbour, "chat_send", {"session_id": sid, "text": "still here?", "client_id": cid()})
    assert [e["args"][0]["body"] for e in received(citizen, "chat_message")] == ["still here?"]


def test_bad_votes(app, running):
    citizen, sid, poll = running["citizen"], running["sid"], running["poll"]
    option = poll["options"][0]["id"]
    before = state_of(app, sid)
    bad = {"session_id": sid, "poll_id": poll["id"], "option_id": 999999, "client_id": cid()}
    assert_refused(citizen, emit(citizen, "poll_vote", bad), "no_such_option")
    bad = {"session_id": sid, "poll_id": 424242, "option_id": option, "client_id": cid()}
    assert_refused(citizen, emit(citizen, "poll_vote", bad), "no_such_poll")
    bad = {"session_id": sid, "poll_id": poll["id"], "option_id": option, "client_id": "short"}
    assert_refused(citizen, emit(citizen, "poll_vote", bad), "bad_payload")
    assert_refused(citizen, emit(citizen, "poll_vote", ["not", "an", "object"]), "bad_payload")
    assert state_of(app, sid) == before
    ok = {"session_id": sid, "poll_id": poll["id"], "option_id": option, "client_id": cid()}
    assert emit(citizen, "poll_vote", ok)["ok"]
    twice = {**ok, "client_id": cid()}
    assert_refused(citizen, emit(citizen, "poll_vote", twice), "already_voted")
    emit(running["lead"], "poll_close", {"session_id": sid, "poll_id": poll["id"]})
    late, _ = joined(app, running["info"]["people"][1], sid)
    received(late)
    after_close = {**ok, "client_id": cid()}
    assert_refused(late, emit(late, "poll_vote", after_close), "poll_closed")
    change = {**ok, "client_id": cid(), "change": True}
    assert_refused(citizen, emit(citizen, "poll_vote", change), "poll_closed")
    with app.app_context():
        assert db.session.scalar(select(func.count(PollVote.id))) == 1


def test_facilitator_ideas_outside_submissions_or_for_another_table(app):
    with app.app_context():
        info = build_session(participants=20, facilitators=2)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    emit(lead, "seat_room", {"session_id": sid})
    fac, ack = joined(app, info["facilitators"][0], sid)
    own = ack["seat"]["table_id"]
    emit(lead, "session_start", {"session_id": sid})
    idea = {"session_id": sid, "table_id": own, "text": "An idea", "client_id": cid()}
    assert_refused(fac, emit(fac, "idea_add", idea), "wrong_phase")  # still the briefing
    emit(lead, "phase_set", {"session_id": sid, "phase": "discussion"})
    assert_refused(fac, emit(fac, "idea_add", {**idea, "table_id": own + 1}), "not_your_table")
    assert emit(fac, "idea_add", idea)["ok"]
    ack = emit(fac, "ideas_submit", {"session_id": sid, "table_id": own + 1})
    assert_refused(fac, ack, "not_your_table")
    assert_refused(fac, emit(fac, "ideas_submit", {"session_id": sid, "table_id": own}),
                   "wrong_phase")  # fmt: skip
    with app.app_context():
        assert (
            db.session.scalar(select(func.count(Idea.id)).where(Idea.submitted_at.is_not(None)))
            == 0
        )


def test_long_and_flooding_chat_is_refused_per_person(app):
    with app.app_context():
        info = build_session(participants=20, facilitators=0)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    emit(lead, "seat_room", {"session_id": sid})
    emit(lead, "session_start", {"session_id": sid})
    tables: dict = {}
    for uid in info["people"]:
        client, ack = joined(app, uid, sid)
        tables.setdefault(ack["seat"]["table_id"], []).append(client)
    (_, first), (_, second) = sorted(tables.items())
    flooder = first[0]
    long = {"session_id": sid, "text": "x" * 501, "client_id": cid()}
    assert_refused(flooder, emit(flooder, "chat_send", long), "too_long")
    acks = [emit(flooder, "chat_send", {"session_id": sid, "text": f"spam {i}", "client_id": cid()})
            for i in range(12)]  # fmt: skip
    assert [a["ok"] for a in acks].count(True) == 8
    assert_refused(flooder, acks[-1], "rate_limited")
    # Another table (and another person at the same table) is unaffected.
    assert emit(second[0], "chat_send", {"session_id": sid, "text": "calm", "client_id": cid()})[
        "ok"
    ]
    assert emit(first[1], "chat_send", {"session_id": sid, "text": "me too", "client_id": cid()})[
        "ok"
    ]
    with app.app_context():
        assert db.session.scalar(select(func.count(ChatMessage.id))) == 10


def test_anonymous_sockets_are_refused(app):
    client = socketio.test_client(app, flask_test_client=app.test_client(), namespace=NAMESPACE)
    assert not client.is_connected(NAMESPACE)
    bad = socketio.test_client(app, namespace=NAMESPACE, auth={"projector": "guess"})
    assert not bad.is_connected(NAMESPACE)


def test_projector_link_is_read_only(app, running):
    with app.app_context():
        token = db.session.get(RoundtableSession, running["sid"]).projector_token
    projector = socketio.test_client(app, namespace=NAMESPACE, auth={"projector": token})
    assert projector.is_connected(NAMESPACE)
    snap = projector.emit("projector_snapshot", {}, namespace=NAMESPACE, callback=True)
    assert snap["ok"] and snap["snapshot"]["poll"]["id"] == running["poll"]["id"]
    assert snap["snapshot"]["chat"] == []
    before = state_of(app, running["sid"])
    projector.emit("phase_set", {"session_id": running["sid"], "phase": "results"},
                   namespace=NAMESPACE, callback=True)  # fmt: skip
    assert state_of(app, running["sid"]) == before


def test_plain_votes_skip_the_request_context_and_refusals_keep_the_voters_language(
    app, running, monkeypatch
):
    from deliberation.accounts.models import User
    from deliberation.roundtables.events import RoundtableNamespace

    handled_in_request_context = []
    full_path = RoundtableNamespace.on_poll_vote

    def counting(self, *args):
        handled_in_request_context.append(args)
        return full_path(self, *args)

    monkeypatch.setattr(RoundtableNamespace, "on_poll_vote", counting)
    sid, poll, info = running["sid"], running["poll"], running["info"]
    option = poll["options"][0]["id"]
    with app.app_context():
        korean = db.session.get(User, info["people"][1])
        korean.preferred_language = "ko"
        db.session.commit()
    voter, _ = joined(app, info["people"][1], sid)
    received(voter)
    # Exactly what the browser sends for a first vote (and what the rehearsal sends).
    plain = payloads.poll_vote(sid, poll["id"], option, cid())
    ack = emit(voter, "poll_vote", plain)
    assert ack["ok"] and ack["vote"]["option_id"] == option
    assert emit(voter, "poll_vote", plain)["vote"]["repeat"]  # a retry is idempotent
    assert handled_in_request_context == []  # the fast path served both
    twice = {**plain, "client_id": cid()}
    ack = emit(voter, "poll_vote", twice)
    assert ack["error"] == "already_voted"
    assert ack["message"] == "이미 이 투표에 참여했습니다. 대신 투표를 변경하세요."
    assert [e["args"][0]["error"] for e in received(voter, "error")] == ["already_voted"]
    # Unusual votes take the ordinary path: a change of vote, or an unknown option.
    assert emit(voter, "poll_vote", {**plain, "client_id": cid(), "change": True})["ok"]
    assert_refused(voter, emit(voter, "poll_vote", {**plain, "option_id": 999999}),
                   "no_such_option")  # fmt: skip
    assert len(handled_in_request_context) == 2
    # A login that ended (logout rotates the token) is refused inside the vote's batch.
    with app.app_context():
        db.session.get(User, info["people"][2]).session_token = "rotated-by-a-logout"
        db.session.commit()
    gone, _ = joined(app, info["people"][2], sid)
    with app.app_context():
        db.session.get(User, info["people"][2]).session_token = "rotated-again"
        db.session.commit()
    ack = emit(gone, "poll_vote", {**plain, "client_id": cid()})
    assert ack["error"] == "unauthenticated"
    assert not gone.is_connected(NAMESPACE)
    with app.app_context():
        votes = db.session.scalars(select(PollVote).where(PollVote.poll_id == poll["id"])).all()
        assert len(votes) == 1 and votes[0].option_id == option


def test_a_too_long_lead_chat_is_refused_in_the_leads_language(app, running):
    """The payload checks' messages are translated like every other socket refusal."""
    from deliberation.accounts.models import User
    from deliberation.roundtables.tables import CHAT_MAX_CHARS

    sid, info = running["sid"], running["info"]
    table_id = running["seat"]["table_id"]
    too_long = {"session_id": sid, "table_id": table_id, "text": "x" * (CHAT_MAX_CHARS + 1),
                "client_id": cid()}  # fmt: skip
    ack = emit(running["lead"], "lead_chat_send", too_long)
    assert ack["error"] == "too_long"
    assert ack["message"] == f"'text' is too long (at most {CHAT_MAX_CHARS} characters)."
    with app.app_context():
        db.session.get(User, info["lead_id"]).preferred_language = "ko"
        db.session.commit()
    korean, _ = joined(app, info["lead_id"], sid)
    ack = emit(korean, "lead_chat_send", {**too_long, "client_id": cid()})
    assert ack["message"] == f"'text'이(가) 너무 깁니다 (최대 {CHAT_MAX_CHARS}자)."
    ack = emit(korean, "lead_chat_send", {**too_long, "text": "Hello", "client_id": "short"})
    assert ack["message"] == "'client_id'은(는) 8자 이상이어야 합니다."
    ack = emit(korean, "lead_chat_send", {**too_long, "table_id": "1"})
    assert ack["message"] == "'table_id'은(는) 정수여야 합니다."
    ack = emit(korean, "lead_chat_send", "not an object")
    assert ack["message"] == "메시지 형식이 잘못되었습니다."
