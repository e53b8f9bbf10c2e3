"""Every kind of mail reads in the recipient's language, Korean or English, in plain text and
HTML, and every kind a person may turn off carries its own unsubscribe link."""

import re
from datetime import timedelta

import pytest

from deliberation.accounts.models import Role
from deliberation.agendas import services as agendas
from deliberation.db import utcnow
from deliberation.evaluations.models import Survey, SurveyQuestion
from deliberation.extensions import db
from deliberation.mail import services as mail
from deliberation.mail.models import MailKind
from deliberation.proposals.models import Notification
from deliberation.proposals.services import create_proposal_from_item
from deliberation.roundtables.models import RoundtableSession
from tests.factories import make_division, make_user

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _contexts(citizen) -> dict[MailKind, dict]:
    division = make_division()
    item = agendas.propose_item(citizen, division_id=division.id, title="Ramps", body="Ramps.")
    proposal = create_proposal_from_item(item, snapshot={})
    db.session.flush()
    notifications = list(db.session.scalars(db.select(Notification)))
    session = RoundtableSession(
        division_id=division.id,
        title="Care",
        starts_at=utcnow() + timedelta(hours=1),
        lead_id=citizen.id,
    )
    db.session.add(session)
    db.session.flush()
    survey = Survey(
        title="Care survey",
        session_id=session.id,
        questions=[SurveyQuestion(key="overall", position=0)],
    )
    db.session.add(survey)
    db.session.flush()
    link = {"link": "http://localhost/some/link", "valid_minutes": 60}
    return {
        MailKind.PASSWORD_RESET: link,
        MailKind.CONFIRM_ADDRESS: link,
        MailKind.PROPOSAL_ASSIGNED: {"proposal": proposal, "due_at": proposal.due_at},
        MailKind.PROPOSAL_DUE_SOON: {"proposal": proposal, "due_at": proposal.due_at},
        MailKind.PROPOSAL_OVERDUE: {"proposal": proposal, "due_at": proposal.due_at},
        MailKind.SESSION_REMINDER: {
            "session": session,
            "starts_at": session.starts_at,
            "which": "hour",
        },
        MailKind.PROPOSAL_STEP: {"proposal": proposal, "step": notifications[0].event},
        MailKind.PROPOSAL_DIGEST: {"notifications": notifications, "day": utcnow()},
        MailKind.SURVEY_INVITATION: {
            "survey": survey,
            "is_session": True,
            "target_title": session.title,
        },
        MailKind.GENERAL: {"body": "Hello"},
    }


@pytest.mark.parametrize("kind", list(MailKind))
def test_each_kind_of_mail_in_korean_and_english(app_ctx, kind):
    english = make_user(Role.OFFICIAL, language="en")
    korean = make_user(Role.OFFICIAL, language="ko")
    context = _contexts(english)[kind]
    en = mail.queue_mail(kind, user=english, context=context)
    ko = mail.queue_mail(kind, user=korean, context=context)
    assert (en.language, ko.language) == ("en", "ko")
    assert '<html lang="en">' in en.body_html and '<html lang="ko">' in ko.body_html
    if kind != MailKind.GENERAL:  # its subject and body are the caller's own text
        assert not HANGUL.search(en.subject + en.body_text)
        assert HANGUL.search(ko.subject) and HANGUL.search(ko.body_text)
        assert HANGUL.search(ko.body_html)
    if kind.can_unsubscribe:
        assert ko.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert ko.headers["List-Unsubscribe"] != en.headers["List-Unsubscribe"]  # per person
        assert "이런 메일 그만 받기" in ko.body_text
    else:
        assert ko.headers == {} and "/mail/unsubscribe/" not in ko.body_text
