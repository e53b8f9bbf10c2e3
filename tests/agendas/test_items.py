"""Agenda items: proposing, lists by division with filters and search, the state machine."""

from sqlalchemy import select

from deliberation.accounts.models import Division, Role
from deliberation.agendas.models import AgendaItem, Comment, ItemState
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db, socketio
from tests.agendas.conftest import login, page_token, user
from tests.agendas.helpers import client_id, make_item, post
from tests.factories import make_division, make_user

AUTHOR_NOTE = "Draft: only you, facilitators and admins can see this."
OTHERS_NOTE = "Draft: only its author, facilitators and admins can see this."


def test_citizen_proposes_a_draft_through_the_form(client, app, people):
    login(client, "bob@example.org")
    token = page_token(client, "/agendas/new")
    response = client.post(
        "/agendas/new",
        data={
            "csrf_token": token,
            "division_id": people.division,
            "title": "Ramps at every community centre",
            "body": "Three centres lack one.",
        },
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ramps at every community centre" in page
    assert "Draft" in page
    with app.app_context():
        item = db.session.scalar(select(AgendaItem))
        assert item.state == ItemState.DRAFT and item.author_id == people.bob


def test_proposal_needs_a_title_and_an_existing_division(client, app, people):
    login(client, "bob@example.org")
    token = page_token(client, "/agendas/new")
    response = client.post(
        "/agendas/new", data={"csrf_token": token, "division_id": 999, "title": ""}
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(AgendaItem)) is None


def test_anonymous_visitor_must_log_in_to_propose(client, people):
    response = client.get("/agendas/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_lists_filter_by_state_division_and_words_with_pagination(client, app, people):
    with app.app_context():
        other = make_division("disability")
        db.session.commit()
        alice = user(people.alice)
        for n in range(23):
            home = db.session.get(type(other), people.division)
            make_item(alice, home, title=f"Senior meals {n}")
        make_item(alice, other, title="Sign language at the ward office", state=ItemState.DRAFT)
        other_slug = other.slug
        other_id = other.id
    # Alice sees her own draft in every list (anyone else: see the drafts test below).
    login(client, "alice@example.org")
    first = client.get("/agendas/").get_data(as_text=True)
    assert "24 items" in first and "Page 1 of 2" in first
    second = client.get("/agendas/?page=2").get_data(as_text=True)
    assert "Page 2 of 2" in second
    drafts = client.get("/agendas/?state=draft").get_data(as_text=True)
    assert "1 item" in drafts and "Sign language" in drafts and "Senior meals" not in drafts
    by_division = client.get(f"/agendas/?division={other_id}").get_data(as_text=True)
    assert "Sign language" in by_division and "Senior meals" not in by_division
    division_page = client.get(f"/agendas/division/{other_slug}").get_data(as_text=True)
    assert "Sign language" in division_page and "Senior meals" not in division_page
    search = client.get("/agendas/?q=meals+1").get_data(as_text=True)
    assert "Senior meals 1<" in search and "Senior meals 2<" not in search
    assert "11 items" in search  # 1, 10..19
    literal = client.get("/agendas/?q=%25").get_data(as_text=True)
    assert "0 items" in literal  # a percent sign is searched literally, not as a wildcard
    assert client.get("/agendas/division/nowhere").status_code == 404


def test_facilitator_opens_discussion_citizen_cannot(client, app, people):
    with app.app_context():
        draft = make_item(user(people.alice), state=ItemState.DRAFT).id
    login(client, "bob@example.org")
    token = page_token(client, f"/agendas/{draft}")
    response = client.post(f"/agendas/{draft}/start-discussion", data={"csrf_token": token})
    assert response.status_code in (302, 303)
    with app.app_context():
        assert db.session.get(AgendaItem, draft).state == ItemState.DRAFT
    client.post("/logout", data={"csrf_token": token})
    login(client, "fac@example.org")
    page = client.get(f"/agendas/{draft}").get_data(as_text=True)
    assert "Open for discussion" in page
    token = page_token(client, f"/agendas/{draft}")
    client.post(f"/agendas/{draft}/start-discussion", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(AgendaItem, draft).state == ItemState.DISCUSSION
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action.like("item.%")))
        assert entry.action == "item.start_discussion"
        assert entry.details == {"before": "draft", "after": "discussion"}


def test_proposer_withdraws_and_withdrawn_items_refuse_moves(client, app, people, item):
    login(client, "alice@example.org")
    token = page_token(client, f"/agendas/{item}")
    client.post(f"/agendas/{item}/withdraw", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(AgendaItem, item).state == ItemState.WITHDRAWN
    again = client.post(f"/agendas/{item}/withdraw", data={"csrf_token": token})
    assert again.status_code == 303
    follow = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert "no longer takes comments" in follow


def test_withdraw_needs_csrf(client, app, people, item):
    login(client, "alice@example.org")
    client.post(f"/agendas/{item}/withdraw", data={})
    with app.app_context():
        assert db.session.get(AgendaItem, item).state == ItemState.DISCUSSION


def test_item_page_in_korean(client, app, people, item):
    with app.app_context():
        from tests.agendas.helpers import post

        post(user(people.alice), db.session.get(AgendaItem, item), "첫 의견")
    login(client, "bob@example.org")
    token = page_token(client, "/profile")
    client.post("/language", data={"csrf_token": token, "language": "ko", "next": "/"})
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert "토론" in page and "찬성" in page and "답글" in page and "의견 등록" in page
    listing = client.get("/agendas/").get_data(as_text=True)
    assert "안건 제안" in listing, listing[listing.find("<main") :][:1500]
    assert "논의 중" in listing


def _draft_pages(item_id: int, comment_id: int) -> list[str]:
    """Every page that shows something of an item or one of its comments."""
    return [
        f"/agendas/{item_id}",
        f"/agendas/{item_id}/comments",
        f"/agendas/{item_id}/comments?fragment=1",
        f"/agendas/{item_id}/comments/{comment_id}",
        f"/agendas/comments/{comment_id}/reply",
        f"/agendas/comments/{comment_id}/flag",
        f"/summaries/items/{item_id}",
        f"/summaries/items/{item_id}/summary.json",
    ]


def test_a_draft_is_seen_by_its_author_facilitators_and_admins_only(client, app, people):
    with app.app_context():
        division = db.session.get(Division, people.division)
        slug = division.slug
        draft = make_item(user(people.alice), division, title="Ramps plan", state=ItemState.DRAFT)
        draft_id = draft.id
        note = post(user(people.alice), draft, "first thoughts").id
        make_item(user(people.alice), division, title="Evening buses")
        make_user(Role.ADMIN, email="admin@example.org")
    lists = ["/agendas/", "/agendas/?state=draft", "/agendas/?q=Ramps"]
    lists.append(f"/agendas/division/{slug}")

    # Anonymous visitors and other citizens: no draft page, no trace in any list.
    for email in (None, "bob@example.org"):
        if email:
            login(client, email)
        for path in _draft_pages(draft_id, note):
            response = client.get(path)
            if email is None and path.endswith(("/reply", "/flag")):  # members only, first
                assert "/login" in response.headers["Location"], path
                continue
            assert response.status_code == 404, (email, path)
        for path in lists:
            page = client.get(path).get_data(as_text=True)
            assert "Ramps plan" not in page and ("=" in path or "Evening buses" in page)
    token = page_token(client, "/profile")
    refused = [
        client.post(f"/agendas/{draft_id}/comments", data={"csrf_token": token, "body": "hi"}),
        client.post(
            f"/agendas/comments/{note}/react", data={"csrf_token": token, "value": "agree"}
        ),
        client.post(f"/agendas/comments/{note}/flag", data={"csrf_token": token, "reason": "x"}),
    ]
    assert [r.status_code for r in refused] == [404, 404, 404]
    sock = socketio.test_client(app, flask_test_client=client, namespace="/agendas")
    acks = [
        sock.emit(event, payload, namespace="/agendas", callback=True)
        for event, payload in (
            ("join", {"item_id": draft_id}),
            ("snapshot", {"item_id": draft_id, "since_seq": 0}),
            ("post_comment", {"item_id": draft_id, "body": "hi", "client_id": client_id()}),
            ("react", {"comment_id": note, "value": "agree"}),
            ("flag", {"comment_id": note, "reason": "spam"}),
        )
    ]
    assert [(a["ok"], a["error"]) for a in acks] == [(False, "not_found")] * 5
    with app.app_context():
        assert db.session.scalars(select(Comment.body)).all() == ["first thoughts"]
    client.post("/logout", data={"csrf_token": token})

    # Its author, a facilitator and an admin see it, and the page says who can.
    for email, note_text in (
        ("alice@example.org", AUTHOR_NOTE),
        ("fac@example.org", OTHERS_NOTE),
        ("admin@example.org", OTHERS_NOTE),
    ):
        login(client, email)
        for path in _draft_pages(draft_id, note):
            assert client.get(path).status_code in (200, 202), (email, path)
        page = client.get(f"/agendas/{draft_id}").get_data(as_text=True)
        assert note_text in page and "first thoughts" in page, email
        for path in lists:
            assert "Ramps plan" in client.get(path).get_data(as_text=True), (email, path)
        client.post("/logout", data={"csrf_token": page_token(client, "/profile")})

    # Once open for discussion it is everyone's, and the note is gone.
    with app.app_context():
        db.session.get(AgendaItem, draft_id).start_discussion()
        db.session.commit()
    page = client.get(f"/agendas/{draft_id}").get_data(as_text=True)
    assert "Ramps plan" in page and "Draft:" not in page


def test_the_draft_note_in_korean(client, app, people):
    with app.app_context():
        draft = make_item(user(people.alice), state=ItemState.DRAFT).id
    login(client, "alice@example.org")
    token = page_token(client, "/profile")
    client.post("/language", data={"csrf_token": token, "language": "ko", "next": "/"})
    page = client.get(f"/agendas/{draft}").get_data(as_text=True)
    assert "초안: 나와 진행자, 관리자만 볼 수 있습니다." in page


def test_a_draft_no_person_wrote_is_public(client, app, people):
    """An item made from a roundtable theme the room adopted (or imported) has no author whose
    unfinished text a draft protects: anyone sees it, without the draft note."""
    with app.app_context():
        item = AgendaItem(division_id=people.division, author_id=None, title="Green parks")
        db.session.add(item)
        db.session.commit()
        item_id = item.id
    page = client.get(f"/agendas/{item_id}")
    assert page.status_code == 200 and "Green parks" in page.text and "Draft:" not in page.text
    assert "Green parks" in client.get("/agendas/?state=draft").text
