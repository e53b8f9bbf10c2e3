"""Agenda items: proposing, lists by division with filters and search, the state machine."""

from sqlalchemy import select

from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from tests.agendas.conftest import login, page_token, user
from tests.agendas.helpers import make_item
from tests.factories import make_division


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
