"""Followers hear of steps on the proposals they follow by mail: at once, as a daily digest, or
never, as each chooses on their mail settings page; delivered through a real SMTP server."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from deliberation.accounts.models import Role, User
from deliberation.accounts.passwords import hash_password
from deliberation.agendas import services as agendas
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.mail.delivery import deliver_all_due, deliver_due_mail
from deliberation.mail.followers import queue_daily_digests, queue_step_mail
from deliberation.mail.models import ConfirmedAddress, FollowerMail, MailKind, MailOptOut
from deliberation.proposals import services as proposals
from deliberation.proposals.models import ProposalState
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.mail.conftest import html_part, text_part
from tests.roundtables.helpers import cid


def _choose(client, auth, email: str, choice: FollowerMail, stopped=()):
    auth.login(email)
    page = client.get("/mail/preferences").get_data(as_text=True)
    response = client.post(
        "/mail/preferences",
        data={
            "follower_mail": choice.value,
            "stopped": [k.value for k in stopped],
            "csrf_token": csrf_token_from(page),
        },
    )
    assert response.status_code == 302
    auth.logout()


def test_followers_get_each_step_at_once_a_daily_digest_or_nothing(
    mail_app, client, auth, smtp_server
):
    with mail_app.app_context():
        people = {
            choice: make_user(email=f"{choice.value}@example.org", name=choice.value)
            for choice in FollowerMail
        }
        follower_ids = {user.id for user in people.values()}
        official = make_user(Role.FACILITATOR, Role.OFFICIAL)
        official_id = official.id
        queue_step_mail()  # the first scan starts from here: no mail about earlier history
        db.session.commit()
    _choose(client, auth, "daily@example.org", FollowerMail.DAILY)
    _choose(client, auth, "never@example.org", FollowerMail.NEVER)

    with mail_app.app_context():
        # Who discussed the item follows the proposal it becomes.
        author, *others = [db.session.get(User, uid) for uid in sorted(follower_ids)]
        item = agendas.propose_item(
            author, division_id=make_division().id, title="Ramps at every station", body="Ramps."
        )
        agendas.start_discussion(db.session.get(User, official_id), item.id)
        for person in others:
            agendas.post_comment(person, item.id, "Yes, please.", client_id=cid())
        proposal = proposals.create_proposal_from_item(item, snapshot={})
        official = db.session.get(User, official_id)
        proposals.start_review(official, proposal)
        proposals.respond(
            official, proposal, ProposalState.ACCEPTED, "We **agree**: ramps by June."
        )
        db.session.commit()
        later = utcnow() + timedelta(seconds=10)
        assert queue_step_mail(now=later) == 3  # created, review, response: to "immediate"
        assert queue_step_mail(now=later) == 0  # the cursor moved on
        db.session.commit()
        assert deliver_due_mail().sent == 3

        tomorrow = utcnow() + timedelta(days=1)
        assert queue_daily_digests(now=tomorrow) == 1
        assert queue_daily_digests(now=tomorrow + timedelta(hours=1)) == 0  # once a day
        db.session.commit()
        assert deliver_due_mail().sent == 1

    received = {m["To"] for m in smtp_server.mailbox.messages}
    assert received == {"immediate@example.org", "daily@example.org"}
    steps = [m for m in smtp_server.mailbox.messages if m["To"] == "immediate@example.org"]
    assert [m["Subject"] for m in steps] == [
        "Entered the officials' queue: Ramps at every station",
        "Review started: Ramps at every station",
        "Officials responded: Ramps at every station",
    ]
    answer = steps[-1]
    assert "We **agree**: ramps by June." in text_part(answer)
    assert "<strong>agree</strong>" in html_part(answer)
    assert answer["List-Unsubscribe"] is not None
    (digest,) = [m for m in smtp_server.mailbox.messages if m["To"] == "daily@example.org"]
    assert digest["Subject"] == "Proposals you follow: 3 new steps"
    assert text_part(digest).count("Ramps at every station") == 3


def test_an_official_is_not_mailed_about_their_own_answer(mail_app, smtp_server):
    """The official wrote the item, so follows its proposal: mailed when it enters the queue
    and when a colleague reviews it, not about the answer and progress they publish."""
    with mail_app.app_context():
        official = make_user(Role.OFFICIAL, email="official@example.org", language="ko")
        colleague = make_user(Role.OFFICIAL, email="colleague@example.org")
        queue_step_mail()  # start the cursor here
        item = agendas.propose_item(
            official, division_id=make_division().id, title="Shade at bus stops", body="Trees."
        )
        proposal = proposals.create_proposal_from_item(item, snapshot={})
        proposals.start_review(colleague, proposal)
        proposals.respond(official, proposal, ProposalState.PARTIALLY_ACCEPTED, "Half the stops.")
        proposals.post_progress(official, proposal, "Planted 10.", ProposalState.IN_PROGRESS)
        db.session.commit()
        assert queue_step_mail(now=utcnow() + timedelta(seconds=10)) == 2
        db.session.commit()
        assert deliver_due_mail().sent == 2
    subjects = [(m["To"], m["Subject"]) for m in smtp_server.mailbox.messages]
    assert sorted(subjects) == [
        ("official@example.org", "검토 시작: Shade at bus stops"),
        ("official@example.org", "공무원 검토 대기열에 올라감: Shade at bus stops"),
    ]


def test_the_settings_page_turns_kinds_of_mail_off_and_on(app, client, auth):
    with app.app_context():
        user = make_user(email="me@example.org")
        user_id = user.id
    _choose(
        client,
        auth,
        "me@example.org",
        FollowerMail.IMMEDIATE,
        stopped=[MailKind.SESSION_REMINDER, MailKind.PROPOSAL_STEP],
    )
    with app.app_context():
        kinds = set(
            db.session.scalars(select(MailOptOut.kind).where(MailOptOut.user_id == user_id))
        )
        assert kinds == {MailKind.SESSION_REMINDER, MailKind.PROPOSAL_STEP}
    _choose(client, auth, "me@example.org", FollowerMail.IMMEDIATE, stopped=[])
    with app.app_context():
        assert db.session.scalar(select(MailOptOut)) is None
    auth.login("me@example.org")
    page = client.get("/mail/preferences").get_data(as_text=True)
    assert 'value="password_reset"' not in page  # cannot be turned off, so not offered
    assert "Roundtable reminders" in page
    auth.logout()
    assert client.get("/mail/preferences").status_code == 302  # to the login page


@pytest.mark.slow
def test_a_step_with_a_thousand_followers_is_mailed_to_each_once(mail_app, smtp_server, capsys):
    """The burst of the issue's closing note: 1,000 notifications -> 1,000 mails, each once."""
    with mail_app.app_context():
        password_hash = hash_password("a shared demo sentence")  # one hash, not a thousand
        db.session.execute(
            insert(User),
            [
                {
                    "email": f"f{n}@example.org",
                    "display_name": f"Follower {n}",
                    "password_hash": password_hash,
                    "preferred_language": "ko" if n % 2 else "en",
                }
                for n in range(1000)
            ],
        )
        followers = set(db.session.scalars(select(User.id)))
        db.session.execute(  # their addresses are confirmed: follower mail needs it
            insert(ConfirmedAddress),
            [
                {"user_id": uid, "email": email, "confirmed_at": utcnow()}
                for uid, email in db.session.execute(select(User.id, User.email))
            ],
        )
        queue_step_mail()  # start the cursor here
        proposals.create_proposal(
            title="Night buses", summary="", snapshot={}, follower_ids=followers
        )
        db.session.commit()
        started = time.perf_counter()
        queued = queue_step_mail(now=utcnow() + timedelta(seconds=10))
        db.session.commit()
        queued_s = time.perf_counter() - started
        report = deliver_all_due()
        sent_s = time.perf_counter() - started
        assert queued == 1000 and (report.sent, report.retrying, report.failed) == (1000, 0, 0)
        assert queue_step_mail(now=utcnow() + timedelta(seconds=20)) == 0
        assert deliver_all_due().claimed == 0
    recipients = sorted(r for (r,) in smtp_server.mailbox.recipients)
    assert recipients == sorted(f"f{n}@example.org" for n in range(1000))
    korean = [m for m in smtp_server.mailbox.messages if m["Content-Language"] == "ko"]
    assert len(korean) == 500
    with capsys.disabled():
        print(
            f"\n[mail] 1,000 followers: queued in {queued_s:.1f} s, all sent {sent_s:.1f} s "
            "after the step"
        )
