"""Reactions (one per person, changeable), moderation (flags, hide, restore, audit) and the
plain data the consensus and summary features read."""

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from deliberation.agendas import services
from deliberation.agendas.models import AgendaItem, Comment, Reaction, ReactionValue
from deliberation.agendas.queries import discussion_statistics, reaction_matrix
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError, PermissionDenied
from deliberation.extensions import db
from tests.agendas.conftest import login, page_token, user
from tests.agendas.helpers import post
from tests.factories import make_user


def test_reaction_is_one_per_person_and_changeable(app, people, item):
    with app.app_context():
        comment = post(user(people.alice), db.session.get(AgendaItem, item), "Open at 9")
        bob = user(people.bob)
        services.react(bob, comment.id, "agree")
        db.session.commit()
        services.react(bob, comment.id, "disagree")
        services.react(user(people.facilitator), comment.id, "disagree")
        db.session.commit()
        fresh = db.session.get(Comment, comment.id)
        assert fresh.counts() == {"agree": 0, "disagree": 2, "pass": 0}
        assert db.session.scalar(select(func.count(Reaction.id))) == 2
        db.session.add(
            Reaction(comment_id=comment.id, user_id=bob.id, item_id=item, value=ReactionValue.PASS)
        )
        with pytest.raises(IntegrityError):  # the database itself refuses a second row
            db.session.flush()
        db.session.rollback()


def test_reaction_over_http_form(client, app, people, item):
    with app.app_context():
        comment_id = post(user(people.alice), db.session.get(AgendaItem, item), "hi").id
    login(client, "bob@example.org")
    token = page_token(client, f"/agendas/{item}")
    client.post(
        f"/agendas/comments/{comment_id}/react", data={"csrf_token": token, "value": "pass"}
    )
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    pressed = re.findall(r'value="(\w+)" class="reaction[^"]*"\s+aria-pressed="true"', page)
    assert pressed == ["pass"]
    bad = client.post(
        f"/agendas/comments/{comment_id}/react", data={"csrf_token": token, "value": "love"}
    )
    assert bad.status_code == 303
    assert "agree, disagree or pass" in client.get(bad.headers["Location"]).get_data(as_text=True)


def test_reactions_to_hidden_or_deleted_comments_are_refused(app, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        hidden = post(user(people.alice), the_item, "rude")
        deleted = post(user(people.alice), the_item, "oops")
        services.hide_comment(user(people.facilitator), hidden.id, "Insults a neighbour")
        services.delete_comment(user(people.alice), deleted.id)
        db.session.commit()
        for comment in (hidden, deleted):
            with pytest.raises(DomainError, match="deleted or hidden"):
                services.react(user(people.bob), comment.id, "agree")
            db.session.rollback()
        assert db.session.scalar(select(func.count(Reaction.id))) == 0


def test_flag_queue_hide_restore_with_public_reason_and_audit(client, app, people, item):
    with app.app_context():
        comment_id = post(user(people.alice), db.session.get(AgendaItem, item), "insult").id
    login(client, "bob@example.org")
    token = page_token(client, f"/agendas/comments/{comment_id}/flag")
    client.post(
        f"/agendas/comments/{comment_id}/flag",
        data={"csrf_token": token, "reason": "Personal attack"},
    )
    again = client.post(
        f"/agendas/comments/{comment_id}/flag", data={"csrf_token": token, "reason": "again"}
    )
    assert again.status_code == 302
    assert "already flagged" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert client.get("/agendas/moderation").status_code == 403
    client.post("/logout", data={"csrf_token": token})

    login(client, "fac@example.org")
    queue = client.get("/agendas/moderation").get_data(as_text=True)
    assert "Personal attack" in queue and "1 flagged comment waiting" in queue
    token = page_token(client, f"/agendas/comments/{comment_id}/moderate")
    empty = client.post(
        f"/agendas/comments/{comment_id}/moderate", data={"csrf_token": token, "reason": ""}
    )
    assert empty.status_code == 400
    client.post(
        f"/agendas/comments/{comment_id}/moderate",
        data={"csrf_token": token, "reason": "Breaks rule 2: no insults"},
    )
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert "Hidden by a moderator: Breaks rule 2: no insults" in page
    assert "insult<" not in page
    assert "0 flagged comments waiting" in client.get("/agendas/moderation").get_data(as_text=True)
    client.post(
        f"/agendas/comments/{comment_id}/moderate",
        data={"csrf_token": token, "reason": "Apology posted"},
    )
    assert "insult" in client.get(f"/agendas/{item}").get_data(as_text=True)
    with app.app_context():
        actions = list(
            db.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_type == "comment")
                .order_by(AuditEntry.id)
            )
        )
        assert actions == ["comment.flag", "comment.hide", "comment.restore"]


def test_citizen_cannot_hide(app, people, item):
    with app.app_context():
        comment = post(user(people.alice), db.session.get(AgendaItem, item), "fine")
        with pytest.raises(PermissionDenied):
            services.hide_comment(user(people.bob), comment.id, "I dislike it")
        db.session.rollback()
        assert db.session.get(Comment, comment.id).hidden_at is None


def test_dismissing_flags(client, app, people, item):
    with app.app_context():
        comment = post(user(people.alice), db.session.get(AgendaItem, item), "edgy but fine")
        services.flag_comment(user(people.bob), comment.id, "edgy")
        db.session.commit()
        comment_id = comment.id
    login(client, "fac@example.org")
    token = page_token(client, "/agendas/moderation")
    client.post(
        f"/agendas/comments/{comment_id}/moderate", data={"csrf_token": token, "action": "dismiss"}
    )
    assert "0 flagged comments" in client.get("/agendas/moderation").get_data(as_text=True)
    assert "edgy but fine" in client.get(f"/agendas/{item}").get_data(as_text=True)


def test_statistics_and_reaction_matrix_for_other_features(app, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        alice, bob, fac = user(people.alice), user(people.bob), user(people.facilitator)
        carol = make_user(email="carol@example.org")
        a = post(alice, the_item, "a")
        b = post(bob, the_item, "b", parent=a)
        hidden = post(bob, the_item, "hidden")
        gone = post(alice, the_item, "gone")
        services.react(bob, a.id, "agree")
        services.react(carol, a.id, "disagree")
        services.react(carol, a.id, "pass")  # changed: only the latest counts
        services.react(alice, b.id, "disagree")
        services.react(fac, hidden.id, "agree")
        services.hide_comment(fac, hidden.id, "off topic")
        services.delete_comment(alice, gone.id)
        db.session.commit()
        stats = discussion_statistics(item)
        assert stats == {
            "comments": 2,
            "participants": 3,
            "reactions": {"agree": 1, "disagree": 1, "pass": 1},
        }
        matrix = reaction_matrix(item)
        assert sorted(matrix["votes"]) == sorted(
            [(bob.id, a.id, 1), (carol.id, a.id, 0), (alice.id, b.id, -1)]
        )
        assert matrix["moderated_out"] == [hidden.id]
        assert discussion_statistics(999) == {
            "comments": 0,
            "participants": 0,
            "reactions": {"agree": 0, "disagree": 0, "pass": 0},
        }
