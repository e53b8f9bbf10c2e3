"""The /agendas namespace with real Socket.IO test clients: rooms, live events, acks, errors,
idempotent retries, catch-up snapshots and rate limits."""

import html
import re

import pytest
from sqlalchemy import func, select

from deliberation.agendas import services
from deliberation.agendas.models import AgendaItem, Comment, ItemState
from deliberation.config import ProductionConfig
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db, socketio
from tests.agendas.conftest import login, user
from tests.agendas.helpers import client_id, make_item, post
from tests.conftest import csrf_token_from

NS = "/agendas"


def _socket(app, email: str):
    http = app.test_client()
    login(http, email)
    sock = socketio.test_client(app, flask_test_client=http, namespace=NS)
    assert sock.is_connected(NS)
    return sock


def _events(sock, name: str) -> list[dict]:
    return [m["args"][0] for m in sock.get_received(NS) if m["name"] == name]


def _join(sock, item_id: int, since: int | None = None) -> dict:
    return sock.emit("join", {"item_id": item_id, "since_seq": since}, namespace=NS, callback=True)


def test_anonymous_socket_is_refused(app, people, item):
    sock = socketio.test_client(app, flask_test_client=app.test_client(), namespace=NS)
    assert not sock.is_connected(NS)


def test_reply_reaches_everyone_in_the_room_with_sequence_numbers(app, people, item):
    alice, bob = _socket(app, "alice@example.org"), _socket(app, "bob@example.org")
    assert _join(alice, item)["ok"] and _join(bob, item)["seq"] == 0
    ack = alice.emit(
        "post_comment",
        {"item_id": item, "body": "Evening hours?", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"] and ack["created"]
    root = ack["comment"]["id"]
    created = _events(bob, "comment_created")
    assert created[0]["seq"] == 1 and created[0]["comment"]["author_name"] == "Alice Kim"
    reply = bob.emit(
        "post_comment",
        {"item_id": item, "parent_id": root, "body": "Yes, *please*", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    assert reply["ok"] and reply["comment"]["parent_id"] == root
    event = _events(alice, "comment_created")[-1]
    assert event["seq"] == 2 and "<em>please</em>" in event["comment"]["body_html"]
    react = alice.emit(
        "react",
        {"comment_id": reply["comment"]["id"], "value": "agree"},
        namespace=NS,
        callback=True,
    )
    assert react == {
        "ok": True,
        "comment_id": reply["comment"]["id"],
        "counts": {"agree": 1, "disagree": 0, "pass": 0},
        "mine": "agree",
    }
    changed = _events(bob, "reactions_changed")
    assert changed[-1]["seq"] == 3 and changed[-1]["counts"]["agree"] == 1


def test_retry_with_same_client_id_gets_same_answer(app, people, item):
    alice = _socket(app, "alice@example.org")
    _join(alice, item)
    payload = {"item_id": item, "body": "once", "client_id": client_id()}
    first = alice.emit("post_comment", payload, namespace=NS, callback=True)
    second = alice.emit("post_comment", payload, namespace=NS, callback=True)
    assert first["comment"]["id"] == second["comment"]["id"]
    assert first["created"] and not second["created"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Comment.id))) == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"body": "", "client_id": "abcdefgh1"}, "empty"),
        ({"body": "x" * 10_001, "client_id": "abcdefgh2"}, "too_long"),
        ({"body": "hi", "client_id": "short"}, "bad_payload"),
        ({"body": 5, "client_id": "abcdefgh3"}, "bad_payload"),
        ({"body": "hi", "parent_id": "1", "client_id": "abcdefgh4"}, "bad_payload"),
    ],
)
def test_bad_payloads_get_an_error_ack_and_change_nothing(app, people, item, payload, code):
    alice = _socket(app, "alice@example.org")
    ack = alice.emit("post_comment", {"item_id": item, **payload}, namespace=NS, callback=True)
    assert ack["ok"] is False and ack["error"] == code and ack["message"]
    errors = _events(alice, "error")
    assert errors and errors[-1]["event"] == "post_comment"
    with app.app_context():
        assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert alice.emit("post_comment", "not an object", namespace=NS, callback=True)["ok"] is False


def test_rules_hold_over_sockets(app, people, item):
    with app.app_context():
        other = make_item(user(people.alice), title="Other")
        foreign = post(user(people.alice), other, "elsewhere").id
        withdrawn = make_item(user(people.alice), state=ItemState.WITHDRAWN).id
        mine = post(user(people.alice), db.session.get(AgendaItem, item), "alice's").id
    bob = _socket(app, "bob@example.org")
    cross = bob.emit(
        "post_comment",
        {"item_id": item, "parent_id": foreign, "body": "x", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    assert cross["error"] == "bad_parent"
    closed = bob.emit(
        "post_comment",
        {"item_id": withdrawn, "body": "x", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    assert closed["error"] == "closed"
    edit = bob.emit(
        "edit_comment", {"comment_id": mine, "body": "hijack"}, namespace=NS, callback=True
    )
    assert edit["error"] == "forbidden"
    hide = bob.emit(
        "hide_comment", {"comment_id": mine, "reason": "no"}, namespace=NS, callback=True
    )
    assert hide["error"] == "forbidden"
    assert _join(bob, 4242)["error"] == "not_found"
    with app.app_context():
        assert db.session.get(Comment, mine).body == "alice's"


def test_flood_is_rate_limited_over_sockets(app, people, item):
    bob = _socket(app, "bob@example.org")
    acks = [
        bob.emit(
            "post_comment",
            {"item_id": item, "body": f"n{n}", "client_id": client_id()},
            namespace=NS,
            callback=True,
        )
        for n in range(12)
    ]
    assert [a["ok"] for a in acks] == [True] * 10 + [False] * 2
    assert acks[-1]["error"] == "rate_limited"
    with app.app_context():
        assert db.session.scalar(select(func.count(Comment.id))) == 10


def test_http_and_socket_share_one_rate_limit(app, people, item):
    with app.app_context():
        bob, the_item = user(people.bob), db.session.get(AgendaItem, item)
        for n in range(10):
            post(bob, the_item, f"http {n}")
    sock = _socket(app, "bob@example.org")
    ack = sock.emit(
        "post_comment",
        {"item_id": item, "body": "more", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    assert ack["error"] == "rate_limited"


def test_reconnect_catches_up_from_a_snapshot(app, people, item):
    alice = _socket(app, "alice@example.org")
    joined = _join(alice, item)
    seen_seq = joined["seq"]
    alice.disconnect(NS)
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        a = post(user(people.bob), the_item, "while you were away")
        services.react(user(people.bob), a.id, "agree")
        services.hide_comment(user(people.facilitator), a.id, "duplicate")
        db.session.commit()
        b = post(user(people.bob), the_item, "second")
        a_id, b_id = a.id, b.id
    again = _socket(app, "alice@example.org")
    snapshot = _join(again, item, seen_seq)
    assert snapshot["ok"] and not snapshot["reset"]
    assert snapshot["seq"] == 4
    by_id = {c["id"]: c for c in snapshot["comments"]}
    assert set(by_id) == {a_id, b_id}
    assert by_id[a_id]["status"] == "hidden" and by_id[a_id]["body_html"] == ""
    assert by_id[a_id]["hidden_reason"] == "duplicate"
    assert _join(again, item, 4)["comments"] == []
    gap = again.emit("snapshot", {"item_id": item, "since_seq": 3}, namespace=NS, callback=True)
    assert [c["id"] for c in gap["comments"]] == [b_id]


def test_edit_delete_and_item_changes_are_broadcast(app, people, item):
    alice, bob = _socket(app, "alice@example.org"), _socket(app, "bob@example.org")
    _join(bob, item)
    ack = alice.emit(
        "post_comment",
        {"item_id": item, "body": "draft", "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    cid = ack["comment"]["id"]
    edited = alice.emit(
        "edit_comment", {"comment_id": cid, "body": "final"}, namespace=NS, callback=True
    )
    assert edited["comment"]["edited"]
    alice.emit("delete_comment", {"comment_id": cid}, namespace=NS, callback=True)
    updates = _events(bob, "comment_updated")
    assert [u["comment"]["status"] for u in updates] == ["visible", "deleted"]
    assert (
        "final" in updates[0]["comment"]["body_html"] and updates[1]["comment"]["body_html"] == ""
    )
    with app.app_context():
        services.withdraw_item(user(people.facilitator), item)
        db.session.commit()
    changed = _events(bob, "item_changed")
    assert changed[-1]["item"]["state"] == "withdrawn"
    assert changed[-1]["item"]["accepts_comments"] is False


def test_repeated_delete_flag_and_hide_answer_the_same(app, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        mine = post(user(people.bob), the_item, "mine").id
        theirs = post(user(people.alice), the_item, "theirs").id
    bob, fac = _socket(app, "bob@example.org"), _socket(app, "fac@example.org")
    first = bob.emit("delete_comment", {"comment_id": mine}, namespace=NS, callback=True)
    again = bob.emit("delete_comment", {"comment_id": mine}, namespace=NS, callback=True)
    assert first == again and first["comment"]["status"] == "deleted"
    flag = {"comment_id": theirs, "reason": "spam"}
    f1 = bob.emit("flag", flag, namespace=NS, callback=True)
    f2 = bob.emit("flag", flag, namespace=NS, callback=True)
    assert f1["flag_id"] == f2["flag_id"] and f1["created"] and not f2["created"]
    hide = {"comment_id": theirs, "reason": "spam"}
    h1 = fac.emit("hide_comment", hide, namespace=NS, callback=True)
    h2 = fac.emit("hide_comment", hide, namespace=NS, callback=True)
    assert h1 == h2 and h1["comment"]["hidden_reason"] == "spam"
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        assert actions.count("comment.hide") == 1 and actions.count("comment.flag") == 1


def _form_refusal(http, item_id: int, body: str) -> tuple[int, str]:
    """The status and field error of posting `body` through the no-JavaScript form."""
    token = csrf_token_from(http.get(f"/agendas/{item_id}").get_data(as_text=True))
    response = http.post(
        f"/agendas/{item_id}/comments",
        data={"csrf_token": token, "body": body, "client_id": client_id()},
    )
    error = re.search(r'<p class="field-error" id="body-error">(.*?) </p>', response.text)
    return response.status_code, html.unescape(error.group(1)) if error else ""


@pytest.mark.parametrize("length", [10_001, 60_000])
def test_an_overlong_comment_is_refused_alike_by_the_form_and_the_socket(app, people, item, length):
    http = app.test_client()
    login(http, "alice@example.org")
    sock = socketio.test_client(app, flask_test_client=http, namespace=NS)
    body = "x" * length
    expected = f"The comment is too long: {length} characters, at most 10000."
    assert _form_refusal(http, item, body) == (400, expected)
    posted = sock.emit(
        "post_comment",
        {"item_id": item, "body": body, "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    assert posted == {"ok": False, "error": "too_long", "message": expected}
    with app.app_context():
        mine = post(user(people.alice), db.session.get(AgendaItem, item), "short").id
    edited = sock.emit(
        "edit_comment", {"comment_id": mine, "body": body}, namespace=NS, callback=True
    )
    assert edited == posted
    token = csrf_token_from(http.get(f"/agendas/comments/{mine}/edit").text)
    edit_page = http.post(
        f"/agendas/comments/{mine}/edit", data={"csrf_token": token, "body": body}
    )
    assert edit_page.status_code == 400 and expected in html.unescape(edit_page.text)
    with app.app_context():
        assert db.session.scalars(select(Comment.body)).all() == ["short"]


def test_a_comment_of_exactly_the_limit_passes_the_socket_and_the_form_says_the_limit(
    app, people, item
):
    sock = _socket(app, "alice@example.org")
    ack = sock.emit(
        "post_comment",
        {"item_id": item, "body": "y" * 10_000, "client_id": client_id()},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"] and len(ack["comment"]["body_html"]) > 10_000
    http = app.test_client()
    login(http, "bob@example.org")
    assert 'maxlength="10000"' in http.get(f"/agendas/{item}").text  # the browser knows it too
    # Whatever one socket message can carry reaches the service's one limit and message.
    assert services.COMMENT_PAYLOAD_MAX >= app.config["SOCKETIO_MAX_MESSAGE_BYTES"]
    assert services.COMMENT_PAYLOAD_MAX >= ProductionConfig.SOCKETIO_MAX_MESSAGE_BYTES
