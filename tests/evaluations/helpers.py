"""Sessions and ballots with participants, closed, for the evaluation tests."""

from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.db import utcnow
from deliberation.evaluations import services as evaluations
from deliberation.extensions import db
from deliberation.roundtables.models import Participant, RoundtableSession, SessionState
from tests.factories import make_division, make_user


def make_session(lead: User | None = None, *, closed: bool = True) -> RoundtableSession:
    """A roundtable session (closed unless told otherwise) in a new division."""
    lead = lead or make_user(Role.FACILITATOR)
    session = RoundtableSession(
        division_id=make_division().id,
        title="Welfare budget roundtable",
        lead_id=lead.id,
        state=SessionState.CLOSED if closed else SessionState.RUNNING,
        closed_at=utcnow() if closed else None,
    )
    db.session.add(session)
    db.session.commit()
    return session


def seat(
    session: RoundtableSession,
    category: MemberCategory = MemberCategory.CITIZEN,
    division_id: int | None = None,
    **user_options,
) -> User:
    """A new person registered for the session, in the given member category and division."""
    user = make_user(category=category, **user_options)
    db.session.add(
        Participant(
            session_id=session.id,
            user_id=user.id,
            member_category=category,
            division_id=division_id,
        )
    )
    db.session.commit()
    return user


def overall_survey(session: RoundtableSession) -> int:
    """An admin's one-question ("overall") survey named Feedback on the session; its id."""
    survey = evaluations.create_survey(
        make_user(Role.ADMIN), session, title="Feedback", question_keys=["overall"]
    )
    db.session.commit()
    return survey.id
