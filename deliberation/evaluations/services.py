"""Every write about evaluation surveys: building one from the bank, answering it once,
anonymously."""

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import MemberCategory, User
from deliberation.core import audit
from deliberation.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied
from deliberation.core.sanitize import plain_text
from deliberation.db import utcnow
from deliberation.evaluations.models import (
    LIKERT,
    QUESTION_BANK,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyRespondent,
    SurveyResponse,
)
from deliberation.evaluations.queries import participants_to_invite, survey_for
from deliberation.extensions import db
from deliberation.proposals.models import Notification
from deliberation.roundtables.models import Participant, RoundtableSession, SessionState
from deliberation.voting.models import Ballot, BallotState, Vote

TITLE_MAX_LENGTH = 200
FREE_TEXT_MAX_LENGTH = 4_000


def get_survey(survey_id: int) -> Survey:
    survey = db.session.get(Survey, survey_id)
    if survey is None:
        raise NotFound(_("There is no such survey."))
    return survey


def get_target(session_id: int | None, ballot_id: int | None) -> RoundtableSession | Ballot:
    """The session or ballot a survey is (to be) attached to, or NotFound."""
    target = None
    if session_id is not None:
        target = db.session.get(RoundtableSession, session_id)
    elif ballot_id is not None:
        target = db.session.get(Ballot, ballot_id)
    if target is None:
        raise NotFound(_("There is no such session or ballot."))
    return target


def may_build(user: User, target: RoundtableSession | Ballot) -> bool:
    """The session's lead, the person who opened the ballot, or an admin."""
    if not user.is_authenticated:
        return False
    if user.is_admin:
        return True
    if isinstance(target, RoundtableSession):
        return target.lead_id == user.id
    return target.created_by_id == user.id


def create_survey(
    actor: User,
    target: RoundtableSession | Ballot,
    *,
    title: str,
    question_keys: list[str],
    asks_free_text: bool = True,
) -> Survey:
    """A lead or admin builds a survey from the question bank and attaches it."""
    if not may_build(actor, target):
        raise PermissionDenied(
            _("Only the session's lead or an administrator can do that."), code="not_lead"
        )
    title = plain_text(title).strip()
    if not title:
        raise DomainError(_("Please give the survey a title."), code="empty")
    if len(title) > TITLE_MAX_LENGTH:
        raise DomainError(
            _("The title is too long (at most %(n)d characters).", n=TITLE_MAX_LENGTH),
            code="too_long",
        )
    keys = [key for key in QUESTION_BANK if key in set(question_keys)]
    if not keys or len(keys) != len(set(question_keys)):
        raise DomainError(_("Please choose questions from the bank."), code="questions")
    survey = Survey(
        title=title,
        session_id=target.id if isinstance(target, RoundtableSession) else None,
        ballot_id=target.id if isinstance(target, Ballot) else None,
        asks_free_text=asks_free_text,
        created_by_id=actor.id,
        questions=[SurveyQuestion(key=key, position=n) for n, key in enumerate(keys)],
    )
    try:
        with db.session.begin_nested():
            db.session.add(survey)
    except IntegrityError:  # UNIQUE session_id / ballot_id
        raise DomainError(
            _("This session or ballot already has a survey."), code="already_attached"
        ) from None
    audit.record("survey.create", "survey", survey.id, actor_id=actor.id, questions=keys)
    if has_closed(target):  # attached after the close: offered now, as the close would have
        invite_at_close(session_id=survey.session_id, ballot_id=survey.ballot_id)
    return survey


def has_closed(target: RoundtableSession | Ballot) -> bool:
    """Whether the session or ballot has closed (its survey is open to answers)."""
    if isinstance(target, RoundtableSession):
        return target.state == SessionState.CLOSED
    return target.state == BallotState.CLOSED


def target_of(survey: Survey) -> RoundtableSession | Ballot:
    return get_target(survey.session_id, survey.ballot_id)


def is_closed(survey: Survey) -> bool:
    """Participants are offered the survey once its session or ballot has closed."""
    return has_closed(target_of(survey))


def invite_at_close(*, session_id: int | None = None, ballot_id: int | None = None) -> int:
    """At the close of a session or a ballot with a survey, tell each participant who has not
    answered yet, in their notifications; returns how many were told.

    Runs in the close's own transaction. The mail follows from these notifications (the mail
    scan in `mail/followers.py`), so a ballot with 100,000 voters closes without rendering
    100,000 mails first, and a close that rolls back tells nobody.
    """
    survey = survey_for(session_id=session_id, ballot_id=ballot_id)
    if survey is None:
        return 0
    user_ids = participants_to_invite(survey)
    if user_ids:
        now = utcnow()
        db.session.execute(
            insert(Notification),
            [{"user_id": uid, "survey_id": survey.id, "created_at": now} for uid in user_ids],
        )
    audit.record("evaluation.invite", "survey", survey.id, invited=len(user_ids))
    return len(user_ids)


def participant_groups(survey: Survey, user: User) -> tuple[str, int | None] | None:
    """The member category and division a participant's answers count under; None when the
    person did not take part in the session or the ballot."""
    if survey.session_id is not None:
        seat = db.session.execute(
            select(Participant.member_category, Participant.division_id).where(
                Participant.session_id == survey.session_id, Participant.user_id == user.id
            )
        ).first()
        return None if seat is None else (seat[0].value, seat[1])
    voted = db.session.scalar(
        select(Vote.voter_category).where(
            Vote.ballot_id == survey.ballot_id, Vote.voter_id == user.id
        )
    )
    if voted is None:
        return None
    division_ids = sorted(d.id for d in user.divisions)
    return voted.value, (division_ids[0] if division_ids else None)


def has_answered(survey: Survey, user: User) -> bool:
    return db.session.get(SurveyRespondent, (survey.id, user.id)) is not None


def answer_survey(
    user: User, survey: Survey, ratings: dict[str, int | None], free_text: str = ""
) -> None:
    """A participant answers once, after the close; the answers are stored with no link to
    them, and the fact that they answered is stored apart."""
    if not is_closed(survey):
        raise IllegalTransition(
            _("The survey opens when the session or ballot closes."), code="not_closed"
        )
    groups = participant_groups(survey, user)
    if groups is None:
        raise PermissionDenied(
            _("Only the participants of the session or ballot can answer."), code="not_participant"
        )
    keys = set(survey.question_keys)
    given = {key: value for key, value in ratings.items() if value is not None}
    if set(given) - keys or any(value not in LIKERT for value in given.values()):
        raise DomainError(_("Please rate each statement from 1 to 5."), code="bad_rating")
    free_text = plain_text(free_text).strip() if survey.asks_free_text else ""
    if len(free_text) > FREE_TEXT_MAX_LENGTH:
        raise DomainError(
            _("The text is too long (at most %(n)d characters).", n=FREE_TEXT_MAX_LENGTH),
            code="too_long",
        )
    if not given and not free_text:
        raise DomainError(_("Please answer at least one question."), code="empty")
    try:
        with db.session.begin_nested():
            db.session.add(SurveyRespondent(survey_id=survey.id, user_id=user.id))
    except IntegrityError:  # the primary key: one answer per person
        raise DomainError(
            _("You have already answered this survey."), code="already_answered"
        ) from None
    category, division_id = groups
    response = SurveyResponse(
        survey_id=survey.id,
        member_category=MemberCategory(category),
        division_id=division_id,
        free_text=free_text,
        answers=[SurveyAnswer(question_key=key, value=value) for key, value in given.items()],
    )
    db.session.add(response)
    db.session.flush()
    # Who answered, never what: the answers are not in the audit log either.
    audit.record("survey.answer", "survey", survey.id, actor_id=user.id)
