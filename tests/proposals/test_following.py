"""Following a proposal by choice: a reader who never discussed or voted follows it and is told
of each step; someone who discussed or voted stops following and hears (and is mailed) no more.
The proposal page offers the one button that says which, in Korean and English."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import Role, User
from deliberation.agendas import services as agendas
from deliberation.core.audit import AuditEntry
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.mail.delivery import deliver_due_mail
from deliberation.mail.followers import queue_step_mail
from deliberation.proposals import queries, services
from deliberation.proposals.models import Notification, Proposal, ProposalFollow, ProposalState
from deliberation.voting import services as voting
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.mail.conftest import SmtpServer
from tests.roundtables.helpers import cid
from tests.voting.support import close_now, make_ballot, make_item

FOLLOW_BUTTON = '<button type="submit" name="following" value="yes"'
STOP_BUTTON = '<button type="submit" name="following" value="no"'


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on a loopback port (as tests/mail's `smtp_server`)."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def discussed_proposal(author: User, *commenters: User) -> Proposal:
    """An item the author proposed and the commenters discussed, now in the officials' queue."""
    facilitator = make_user(Role.FACILITATOR)
    item = agendas.propose_item(
        author, division_id=make_division().id, title="Ramps at every station", body="Ramps."
    )
    agendas.start_discussion(facilitator, item.id)
    for person in commenters:
        agendas.post_comment(person, item.id, "Yes, please.", client_id=cid())
    proposal = services.create_proposal_from_item(item, snapshot={})
    db.session.commit()
    return proposal


def voted_proposal(voter: User) -> Proposal:
    """An item the voter voted through: its proposal, queued."""
    item = make_item()
    ballot = make_ballot(item)
    voting.cast_vote(ballot.id, voter, "yes", f"follow-{voter.id}")
    db.session.commit()
    close_now(ballot.id)
    return queries.proposal_for_item(item.id)


def told_of(user_id: int, proposal: Proposal) -> list[str]:
    """The steps of the proposal the person has a notification of, oldest first."""
    return [
        n.event.kind.value
        for n in db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.proposal_id == proposal.id)
            .order_by(Notification.id)
        )
    ]


def test_a_reader_who_follows_is_told_of_the_next_step(app_ctx):
    author, reader = make_user(), make_user()
    official = make_user(Role.OFFICIAL)
    proposal = discussed_proposal(author)
    assert not queries.is_following(reader, proposal)
    assert reader.id not in queries.follower_ids(proposal)

    assert services.follow(reader, proposal) is True
    assert services.follow(reader, proposal) is False  # again: nothing changes
    db.session.commit()
    assert queries.is_following(reader, proposal)
    services.start_review(official, proposal)
    services.respond(official, proposal, ProposalState.ACCEPTED, "Ramps by June.")
    db.session.commit()

    assert told_of(reader.id, proposal) == ["review_started", "responded"]
    assert told_of(author.id, proposal) == ["created", "review_started", "responded"]
    assert db.session.scalar(select(func.count()).select_from(ProposalFollow)) == 1
    follows = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "proposal.follow")
    ).all()
    assert [(a.actor_id, a.object_id) for a in follows] == [(reader.id, str(proposal.id))]


def test_who_stops_following_is_neither_notified_nor_mailed(app, smtp):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    with app.app_context():
        author = make_user(email="author@example.org")
        stopper = make_user(email="stopper@example.org")
        stayer = make_user(email="stayer@example.org")
        official = make_user(Role.OFFICIAL)
        proposal = discussed_proposal(author, stopper, stayer)
        assert told_of(stopper.id, proposal) == ["created"]  # discussed it, so followed it
        queue_step_mail()  # mail about steps from here on
        db.session.commit()

        assert queries.is_following(stopper, proposal)
        assert services.stop_following(stopper, proposal) is True
        assert services.stop_following(stopper, proposal) is False
        db.session.commit()
        assert not queries.is_following(stopper, proposal)
        assert stopper.id not in queries.follower_ids(proposal)
        services.start_review(official, proposal)
        services.respond(official, proposal, ProposalState.ACCEPTED, "Ramps by June.")
        db.session.commit()

        assert told_of(stopper.id, proposal) == ["created"]
        assert told_of(stayer.id, proposal) == ["created", "review_started", "responded"]
        assert queue_step_mail(now=utcnow() + timedelta(seconds=10)) == 4  # 2 steps × 2 people
        db.session.commit()
        assert deliver_due_mail().sent == 4
        assert [a.action for a in db.session.scalars(select(AuditEntry))].count(
            "proposal.stop_following"
        ) == 1

        # Changing one's mind: following again, the next step is news again.
        services.follow(stopper, proposal)
        services.post_progress(official, proposal, "Ramps ordered.", ProposalState.IN_PROGRESS)
        db.session.commit()
        assert told_of(stopper.id, proposal) == ["created", "progress"]
    received = sorted(m["To"] for m in smtp.mailbox.messages)
    assert received == ["author@example.org"] * 2 + ["stayer@example.org"] * 2


def _page(client, proposal_id: int) -> str:
    response = client.get(f"/proposals/{proposal_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "follow", "stop", "following", "not_following", "followed", "stopped"),
    [
        (
            "en",
            "Follow this proposal",
            "Stop following",
            "You are following this proposal.",
            "You are not following this proposal.",
            "You follow this proposal: you will be told of each step.",
            "You no longer follow this proposal: you will not be told of its steps.",
        ),
        (
            "ko",
            "이 제안 지켜보기",
            "그만 지켜보기",
            "이 제안을 지켜보고 있습니다.",
            "이 제안을 지켜보고 있지 않습니다.",
            "이 제안을 지켜봅니다. 단계마다 알려 드립니다.",
            "이 제안을 더는 지켜보지 않습니다. 진행 단계를 알려 드리지 않습니다.",
        ),
    ],
    ids=["en", "ko"],
)
def test_the_page_offers_the_button_that_says_which(
    app, client, auth, language, follow, stop, following, not_following, followed, stopped
):
    with app.app_context():
        voter = make_user(email="voter@example.org", language=language)
        make_user(email="reader@example.org", language=language)
        proposal_id = voted_proposal(voter).id

    # Who voted follows already: the page says so and offers to stop.
    auth.login("voter@example.org")
    page = _page(client, proposal_id)
    assert following in page and f'aria-describedby="following-state">{stop}</button>' in page
    assert STOP_BUTTON in page and FOLLOW_BUTTON not in page
    auth.logout()

    # A reader who never discussed or voted is offered to follow; the choice says itself.
    auth.login("reader@example.org")
    page = _page(client, proposal_id)
    assert not_following in page and f'aria-describedby="following-state">{follow}</button>' in page
    assert FOLLOW_BUTTON in page and STOP_BUTTON not in page
    assert "<strong>" + following not in page
    response = client.post(
        f"/proposals/{proposal_id}/follow",
        data={"following": "yes", "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/proposals/{proposal_id}#following")
    page = _page(client, proposal_id)
    assert followed in page  # the flash
    assert following in page and STOP_BUTTON in page

    response = client.post(
        f"/proposals/{proposal_id}/follow",
        data={"following": "no", "csrf_token": csrf_token_from(page)},
    )
    assert response.status_code == 302
    page = _page(client, proposal_id)
    assert stopped in page and not_following in page and FOLLOW_BUTTON in page
    auth.logout()

    # Anonymous visitors read the page without the form.
    page = _page(client, proposal_id)
    assert 'id="following"' not in page and FOLLOW_BUTTON not in page


def test_the_route_refuses_without_csrf_anonymous_visitors_and_no_choice(app, client, auth):
    with app.app_context():
        make_user(email="reader@example.org")
        proposal_id = discussed_proposal(make_user()).id
    url = f"/proposals/{proposal_id}/follow"

    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(url, data={"following": "yes", "csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]

    auth.login("reader@example.org")
    assert client.post(url, data={"following": "yes"}).status_code == 400
    forged = token[:-4] + "AAAA"
    assert client.post(url, data={"following": "yes", "csrf_token": forged}).status_code == 400
    token = csrf_token_from(_page(client, proposal_id))
    for choice in ("", "maybe"):  # the button says yes or no; nothing else is a choice
        assert client.post(url, data={"following": choice, "csrf_token": token}).status_code == 400
    assert (
        client.post(
            "/proposals/999999/follow", data={"following": "yes", "csrf_token": token}
        ).status_code
        == 404
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProposalFollow)) == 0
