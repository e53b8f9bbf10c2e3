"""Participants get the evaluation survey at the close: in the room, in their notifications and
by mail (in their language, with a one-click unsubscribe for this kind), through a real SMTP
server; nobody is told twice, and those who answered already are not asked."""

from datetime import timedelta

from sqlalchemy import func, select

from deliberation.accounts.models import Role
from deliberation.db import utcnow
from deliberation.demo import CROWD_SIZE, DEMO_USERS, seed_demo
from deliberation.evaluations import services as evaluations
from deliberation.extensions import db
from deliberation.mail import services as mail
from deliberation.mail.delivery import deliver_due_mail
from deliberation.mail.followers import queue_daily_digests, queue_step_mail
from deliberation.proposals.models import Notification
from deliberation.roundtables import sessions
from deliberation.voting import services as voting
from tests.conftest import csrf_token_from
from tests.evaluations.helpers import make_session, seat
from tests.factories import make_user
from tests.mail.conftest import html_part, text_part
from tests.voting.support import close_now, make_ballot


def _notified(survey_id: int) -> set[int]:
    return set(
        db.session.scalars(select(Notification.user_id).where(Notification.survey_id == survey_id))
    )


def test_a_closing_roundtable_offers_its_survey_in_notifications_mail_and_the_room(
    mail_app, client, auth, smtp_server
):
    with mail_app.app_context():
        queue_step_mail()  # the mail scan starts from here
        lead = make_user(Role.FACILITATOR)
        session = make_session(lead, closed=False)
        ana = seat(session, email="ana@example.org", name="Ana")
        minji = seat(session, email="min@example.org", name="김민지", language="ko")
        third = seat(session, email="early@example.org")
        outsider = make_user(email="outsider@example.org")
        survey = evaluations.create_survey(
            lead, session, title="How was the care roundtable?", question_keys=["overall"]
        )
        db.session.commit()
        # Nothing before the close.
        assert _notified(survey.id) == set()
        sessions.close_session(lead, session)
        db.session.commit()
        assert _notified(survey.id) == {ana.id, minji.id, third.id}
        assert outsider.id not in _notified(survey.id)
        session_id, survey_id = session.id, survey.id

        later = utcnow() + timedelta(seconds=10)
        assert queue_step_mail(now=later) == 3
        assert queue_step_mail(now=later) == 0  # never twice
        # Survey notices are mailed at once, never folded into a follower's digest.
        assert queue_daily_digests(now=utcnow() + timedelta(days=1)) == 0
        db.session.commit()
        assert deliver_due_mail().sent == 3

    by_address = {m["To"]: m for m in smtp_server.mailbox.messages}
    assert set(by_address) == {"ana@example.org", "min@example.org", "early@example.org"}
    english, korean = by_address["ana@example.org"], by_address["min@example.org"]
    assert english["Subject"] == "How did it go? How was the care roundtable?"
    assert "The roundtable you took part in has closed: Welfare budget roundtable" in text_part(
        english
    )
    assert f"/evaluations/{survey_id}" in text_part(english)
    assert f"/evaluations/{survey_id}" in html_part(english)
    assert english["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/mail/unsubscribe/" in english["List-Unsubscribe"]
    assert korean["Subject"] == "어떠셨나요? How was the care roundtable?"
    assert "참여하신 원탁회의가 끝났습니다" in text_part(korean)

    # In the app: the notification links to the survey, and the room shows it.
    auth.login("ana@example.org")
    page = client.get("/proposals/notifications").get_data(as_text=True)
    assert f'href="/evaluations/{survey_id}"' in page
    assert "Answer the survey: How was the care roundtable?" in page
    # The room of a closed session opens its results, which offer the survey.
    room = client.get(f"/roundtables/{session_id}/room", follow_redirects=True)
    assert f'href="/evaluations/{survey_id}"' in room.get_data(as_text=True)


def test_a_session_without_a_survey_tells_nobody(app_ctx):
    lead = make_user(Role.FACILITATOR)
    plain = make_session(lead, closed=False)
    seat(plain)
    sessions.close_session(lead, plain)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0


def test_a_closing_ballot_offers_its_survey_to_the_voters(mail_app, smtp_server):
    with mail_app.app_context():
        queue_step_mail()
        facilitator = make_user(Role.FACILITATOR)
        ballot = make_ballot(facilitator=facilitator)
        voter = make_user(email="voter@example.org")
        make_user(email="bystander@example.org")
        voting.cast_vote(ballot.id, voter, "yes", "invite-vote-1")
        survey = evaluations.create_survey(
            facilitator, ballot, title="The ballot", question_keys=["equal_voice"]
        )
        db.session.commit()
        close_now(ballot.id)
        assert _notified(survey.id) == {voter.id}
        # The adopted item's proposal tells its followers too; the survey goes to the voter.
        queue_step_mail(now=utcnow() + timedelta(seconds=10))
        db.session.commit()
        deliver_due_mail()
    (message,) = [m for m in smtp_server.mailbox.messages if "How did it go?" in m["Subject"]]
    assert message["To"] == "voter@example.org"
    assert "The vote you took part in has closed" in text_part(message)


def test_notification_mail_goes_only_to_confirmed_addresses_a_reset_always(
    mail_app, client, smtp_server
):
    with mail_app.app_context():
        queue_step_mail()
        lead = make_user(Role.FACILITATOR)
        session = make_session(lead, closed=False)
        seat(session, email="confirmed@example.org")
        unconfirmed = seat(session, email="unconfirmed@example.org", confirmed=False)
        changed = seat(session, email="old@example.org")
        changed.email = "new@example.org"  # a changed address needs a new confirmation
        survey = evaluations.create_survey(lead, session, title="Survey", question_keys=["overall"])
        db.session.commit()
        sessions.close_session(lead, session)
        db.session.commit()
        # All three are told in the app ...
        assert unconfirmed.id in _notified(survey.id) and changed.id in _notified(survey.id)
        assert queue_step_mail(now=utcnow() + timedelta(seconds=10)) == 1
        db.session.commit()
        deliver_due_mail()
    # ... but only the confirmed address gets the mail.
    assert [m["To"] for m in smtp_server.mailbox.messages] == ["confirmed@example.org"]

    # A password reset reaches the unconfirmed address all the same.
    page = client.get("/password/forgot").get_data(as_text=True)
    client.post(
        "/password/forgot",
        data={"email": "unconfirmed@example.org", "csrf_token": csrf_token_from(page)},
    )
    with mail_app.app_context():
        assert deliver_due_mail().sent == 1
    assert smtp_server.mailbox.messages[-1]["To"] == "unconfirmed@example.org"


def test_the_demo_accounts_have_confirmed_addresses(app_ctx):
    """So the demo's Outbox shows the officials', followers' and survey mail it produces."""
    context = seed_demo()
    db.session.commit()
    people = [*context.users.values(), *context.crowd]
    assert len(people) == len(DEMO_USERS) + CROWD_SIZE and all(
        mail.is_address_confirmed(user) for user in people
    )


def test_a_survey_attached_after_the_close_is_offered_at_once(app, client, auth):
    """The close has passed, so nothing else would tell the voters: attaching offers it now,
    and the lead is told so."""
    with app.app_context():
        facilitator = make_user(Role.FACILITATOR, email="lead@example.org")
        ballot = make_ballot(facilitator=facilitator)
        voter = make_user(email="voter@example.org")
        make_user(email="bystander@example.org")
        voting.cast_vote(ballot.id, voter, "yes", "late-survey-vote-1")
        db.session.commit()
        close_now(ballot.id)
        ballot_id, voter_id = ballot.id, voter.id
    auth.login("lead@example.org")
    page = client.get(f"/evaluations/new?ballot_id={ballot_id}").get_data(as_text=True)
    response = client.post(
        f"/evaluations/new?ballot_id={ballot_id}",
        data={"csrf_token": csrf_token_from(page), "title": "Late", "questions": ["equal_voice"]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "The survey is attached and offered to the participants now." in response.get_data(
        as_text=True
    )
    with app.app_context():
        survey = evaluations.survey_for(ballot_id=ballot_id)
        assert _notified(survey.id) == {voter_id}
