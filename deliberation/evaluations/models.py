"""Evaluation surveys of the process, their questions, and the anonymous answers.

Who answered (`SurveyRespondent`) and what was answered (`SurveyResponse`, `SurveyAnswer`) are
kept apart with nothing joining them: a response has a random id, no person and no time, so no
page, export or query can link an answer to the person who gave it. The respondent row exists
only so that nobody answers twice (its primary key).
"""

import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _pl
from sqlalchemy import CheckConstraint, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deliberation.accounts.models import MemberCategory, User
from deliberation.db import utcnow
from deliberation.extensions import db

#: The question bank, adapted from the indicators councils use to evaluate themselves: stable
#: keys (the trend over surveys follows a key) and the statement people rate from 1 to 5.
QUESTION_BANK = {
    "understanding": _l("I understood how this process works."),
    "agenda_awareness": _l("I know how the agenda was developed."),
    "equal_voice": _l("My voice counted as much as anyone else's."),
    "clear_roles": _l("Roles and accountability were clear."),
    "policy_uptake": _l("I expect the outcome to be incorporated into policy."),
    "fair_facilitation": _l("The facilitator was fair."),
    "overall": _l("Overall, I am satisfied with this process."),
}
#: The one free-text question a survey may add.
FREE_TEXT_PROMPT = _l("What helped, and what hindered? What should we change?")
#: The Likert scale: 1 strongly disagree … 5 strongly agree.
LIKERT = (1, 2, 3, 4, 5)
LIKERT_LABELS = {
    1: _l("Strongly disagree"),
    # In a context: "Agree"/"Disagree" alone are a comment's reactions ("찬성"/"반대").
    2: _pl("survey scale", "Disagree"),
    3: _l("Neither agree nor disagree"),
    4: _pl("survey scale", "Agree"),
    5: _l("Strongly agree"),
}


def question_label(key: str) -> str:
    """The translated statement of a bank question."""
    return str(QUESTION_BANK.get(key, key))


def new_response_id() -> str:
    """A random id: responses carry no order that could be matched with who answered when."""
    return secrets.token_hex(16)


class Survey(db.Model):
    """A short questionnaire attached to one roundtable session or one ballot."""

    __tablename__ = "evaluation_surveys"
    __table_args__ = (
        CheckConstraint("(session_id IS NULL) != (ballot_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: The session or the ballot it evaluates (exactly one; one survey each).
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("roundtable_sessions.id", ondelete="CASCADE"), unique=True
    )
    ballot_id: Mapped[int | None] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), unique=True
    )
    #: Whether the survey ends with the free-text question.
    asks_free_text: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    questions: Mapped[list["SurveyQuestion"]] = relationship(
        order_by="SurveyQuestion.position", cascade="all, delete-orphan", lazy="selectin"
    )
    created_by: Mapped[User | None] = relationship()

    @property
    def question_keys(self) -> list[str]:
        return [q.key for q in self.questions]


class SurveyQuestion(db.Model):
    __tablename__ = "evaluation_questions"
    __table_args__ = (UniqueConstraint("survey_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_surveys.id", ondelete="CASCADE"), index=True
    )
    #: A key of QUESTION_BANK.
    key: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column()

    @property
    def label(self) -> str:
        return question_label(self.key)


class SurveyRespondent(db.Model):
    """That a person answered a survey: kept only to refuse a second answer; never joined to
    the answers (no time, no response id)."""

    __tablename__ = "evaluation_respondents"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_surveys.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class SurveyResponse(db.Model):
    """One anonymous set of answers: the groups it is counted in, and the free text."""

    __tablename__ = "evaluation_responses"
    #: SQLite keeps rows in primary-key (random) order, not in the order people answered.
    __table_args__ = {"sqlite_with_rowid": False}

    #: Random (new_response_id), so the order of responses reveals nothing.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_response_id)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("evaluation_surveys.id", ondelete="CASCADE"), index=True
    )
    #: The respondent's member category and division (results by group use them).
    member_category: Mapped[MemberCategory] = mapped_column(
        Enum(MemberCategory, native_enum=False, length=30)
    )
    division_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"))
    free_text: Mapped[str] = mapped_column(Text, default="")

    answers: Mapped[list["SurveyAnswer"]] = relationship(cascade="all, delete-orphan")


class SurveyAnswer(db.Model):
    """One rating, 1 to 5, of one question in one anonymous response."""

    __tablename__ = "evaluation_answers"
    __table_args__ = (
        CheckConstraint("value BETWEEN 1 AND 5", name="likert"),
        {"sqlite_with_rowid": False},
    )

    response_id: Mapped[str] = mapped_column(
        ForeignKey("evaluation_responses.id", ondelete="CASCADE"), primary_key=True
    )
    question_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column()
