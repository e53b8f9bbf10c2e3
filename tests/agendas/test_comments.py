"""Comments over plain HTTP forms (JavaScript off) and the rules behind them."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deliberation.agendas import services
from deliberation.agendas.models import AgendaItem, Comment, ItemState
from deliberation.core.errors import DomainError, PermissionDenied
from deliberation.extensions import db
from tests.agendas.conftest import comment_ids_on, login, page_token, user
from tests.agendas.helpers import client_id, make_item, post


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Comment.id)))


def _post_form(client, item_id: int, body: str, parent_id: str = "", cid: str | None = None):
    token = page_token(client, f"/agendas/{item_id}")
    return client.post(
        f"/agendas/{item_id}/comments",
        data={
            "csrf_token": token,
            "body": body,
            "parent_id": parent_id,
            "client_id": cid or client_id(),
        },
    )


def test_post_and_reply_without_javascript(client, app, people, item):
    login(client, "bob@example.org")
    response = _post_form(client, item, "We need **evening** hours.")
    assert response.status_code == 302
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert "<strong>evening</strong>" in page and "Bob Lee" in page
    with app.app_context():
        first = db.session.scalar(select(Comment.id))
    reply_page = client.get(f"/agendas/comments/{first}/reply").get_data(as_text=True)
    assert "Reply to Bob Lee" in reply_page
    token = page_token(client, f"/agendas/comments/{first}/reply")
    response = client.post(
        f"/agendas/{item}/comments",
        data={
            "csrf_token": token,
            "body": "Agreed",
            "parent_id": str(first),
            "client_id": client_id(),
        },
    )
    assert response.status_code == 302 and "/comments/" in response.headers["Location"]
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert comment_ids_on(page) == [first, first + 1]
    assert 'class="comment level-1' in page


def test_resubmitted_form_posts_once(client, app, people, item):
    login(client, "bob@example.org")
    cid = client_id()
    assert _post_form(client, item, "Only once", cid=cid).status_code == 302
    assert _post_form(client, item, "Only once", cid=cid).status_code == 302
    assert _count(app) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [("", "This field is required"), ("   \n ", "This field is required"), ("x" * 10_001, "10000")],
)
def test_empty_or_overlong_comments_are_refused(client, app, people, item, body, message):
    login(client, "bob@example.org")
    response = _post_form(client, item, body)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _count(app) == 0


def test_exactly_ten_thousand_characters_is_accepted(client, app, people, item):
    login(client, "bob@example.org")
    assert _post_form(client, item, "y" * 10_000).status_code == 302
    assert _count(app) == 1


def test_reply_to_a_comment_of_another_item_is_refused(client, app, people, item):
    with app.app_context():
        other = make_item(user(people.alice), title="Other item")
        foreign = post(user(people.alice), other, "elsewhere").id
    login(client, "bob@example.org")
    response = _post_form(client, item, "cross-thread", parent_id=str(foreign))
    assert response.status_code == 400
    assert "only reply to a comment of this item" in response.get_data(as_text=True)
    assert _count(app) == 1


def test_posting_to_a_withdrawn_item_is_refused(client, app, people):
    with app.app_context():
        withdrawn = make_item(user(people.alice), state=ItemState.WITHDRAWN).id
    login(client, "bob@example.org")
    page = client.get(f"/agendas/{withdrawn}").get_data(as_text=True)
    assert 'id="new-comment"' not in page and "no longer takes comments" in page
    token = page_token(client, f"/agendas/{withdrawn}")
    response = client.post(
        f"/agendas/{withdrawn}/comments",
        data={"csrf_token": token, "body": "late", "client_id": client_id()},
    )
    assert response.status_code == 400
    assert "Withdrawn: it no longer takes comments" in response.get_data(as_text=True)
    assert _count(app) == 0


def test_a_flood_of_posts_is_rate_limited_over_http(client, app, people, item):
    login(client, "bob@example.org")
    for n in range(10):
        assert _post_form(client, item, f"post {n}").status_code == 302
    response = _post_form(client, item, "one too many")
    assert response.status_code == 429
    assert "posting too quickly" in response.get_data(as_text=True)
    assert _count(app) == 10


def test_anonymous_cannot_post(client, app, people, item):
    response = client.post(f"/agendas/{item}/comments", data={"body": "hi"})
    assert response.status_code in (302, 400)
    assert _count(app) == 0


def test_edit_within_window_marks_edited(client, app, people, item):
    with app.app_context():
        comment = post(user(people.bob), db.session.get(AgendaItem, item), "typo hre").id
    login(client, "bob@example.org")
    token = page_token(client, f"/agendas/comments/{comment}/edit")
    response = client.post(
        f"/agendas/comments/{comment}/edit", data={"csrf_token": token, "body": "typo here"}
    )
    assert response.status_code == 302
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert "typo here" in page
    assert '<span class="comment-edited">(edited)</span>' in page


def test_edit_after_the_window_or_by_someone_else_changes_nothing(client, app, people, item):
    with app.app_context():
        comment = post(user(people.bob), db.session.get(AgendaItem, item), "original")
        comment.created_at = comment.created_at - timedelta(minutes=16)
        db.session.commit()
        comment_id = comment.id
    login(client, "bob@example.org")
    token = page_token(client, f"/agendas/comments/{comment_id}/edit")
    response = client.post(
        f"/agendas/comments/{comment_id}/edit", data={"csrf_token": token, "body": "changed"}
    )
    assert response.status_code == 400
    assert "15 minutes" in response.get_data(as_text=True)
    with app.app_context():
        fresh = post(user(people.alice), db.session.get(AgendaItem, item), "alice's")
        with pytest.raises(PermissionDenied):
            services.edit_comment(user(people.bob), fresh.id, "hijacked")
        db.session.rollback()
        assert db.session.get(Comment, comment_id).body == "original"
        assert db.session.get(Comment, fresh.id).body == "alice's"


def test_delete_leaves_placeholder_and_keeps_replies(client, app, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        parent = post(user(people.bob), the_item, "secret plan")
        child = post(user(people.alice), the_item, "reply stays", parent=parent)
        parent_id, child_id = parent.id, child.id
    login(client, "bob@example.org")
    token = page_token(client, f"/agendas/comments/{parent_id}/delete")
    response = client.post(f"/agendas/comments/{parent_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert "secret plan" not in page
    assert "[deleted]" in page and "reply stays" in page
    assert comment_ids_on(page) == [parent_id, child_id]
    with app.app_context():
        with pytest.raises(DomainError):  # replying to a deleted comment is refused
            post(user(people.alice), db.session.get(AgendaItem, item), "late", parent=parent)


def test_someone_elses_comment_edit_and_delete_pages_are_refused_like_their_posts(
    client, app, people, item
):
    with app.app_context():
        bobs = post(user(people.bob), db.session.get(AgendaItem, item), "bob's words").id
    login(client, "alice@example.org")
    token = page_token(client, f"/agendas/{item}")
    refusals = []
    for action, form in (("delete", {}), ("edit", {"body": "alice's words"})):
        url = f"/agendas/comments/{bobs}/{action}"
        for response in (client.get(url), client.post(url, data={"csrf_token": token, **form})):
            page = response.get_data(as_text=True)
            assert "Only its author can change a comment." in page, (action, response.request)
            assert 'method="post"' not in page.split("<main", 1)[-1]  # no form to confirm
            refusals.append(response.status_code)
    assert refusals == [403, 403, 403, 403]
    with app.app_context():
        comment = db.session.get(Comment, bobs)
        assert (comment.body, comment.deleted_at) == ("bob's words", None)


def test_markdown_is_sanitised_and_stored_rendered(app, people, item):
    with app.app_context():
        comment = post(
            user(people.bob),
            db.session.get(AgendaItem, item),
            '<img src=x onerror=alert(1)> [x](javascript:alert(1)) <b onclick="a()">b</b>',
        )
        assert "onerror" not in comment.body_html and "javascript:" not in comment.body_html
        assert "onclick" not in comment.body_html and "<img" not in comment.body_html


def test_same_client_id_from_another_person_is_refused(app, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        cid = client_id()
        post(user(people.bob), the_item, "mine", client_id=cid)
        with pytest.raises(DomainError, match="already used"):
            post(user(people.alice), the_item, "theirs", client_id=cid)
        db.session.rollback()
        again, created = services.post_comment(user(people.bob), item, "mine", client_id=cid)
        assert not created and again.body == "mine"


def test_concurrent_retry_that_loses_the_insert_race_returns_the_winner(app, people, item):
    """The unique client_id decides, not a check-then-insert: simulate the lookup missing."""
    from unittest import mock

    with app.app_context():
        cid = client_id()
        first = post(user(people.bob), db.session.get(AgendaItem, item), "first", client_id=cid)
        with mock.patch.object(services, "_find_by_client_id", side_effect=[None, first]):
            again, created = services.post_comment(user(people.bob), item, "first", client_id=cid)
        db.session.commit()
        assert again.id == first.id and not created
        assert db.session.scalar(select(func.count(Comment.id))) == 1
