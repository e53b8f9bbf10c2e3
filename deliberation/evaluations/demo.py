"""Demo data for evaluation surveys: one on an adopted ballot, answered by its voters, and one
attached to the demo roundtable, offered when it closes."""

from sqlalchemy import select

from deliberation.demo_context import DemoContext
from deliberation.evaluations import services
from deliberation.evaluations.models import QUESTION_BANK
from deliberation.extensions import db
from deliberation.voting.models import Ballot, BallotState, Vote

DEMO_TEXTS = [
    "자료를 미리 받아 도움이 되었습니다.\n\nGetting the papers in advance helped.",
    "발언 시간이 부족했습니다.\n\nThere was too little time to speak.",
    "결과가 어떻게 반영되는지 알려 주세요.\n\nPlease tell us how the outcome is used.",
]


def seed_demo(context: DemoContext) -> None:
    """Surveys built from the whole question bank; the ballot's voters answer theirs."""
    admin = context.users["admin"]
    ballots = [
        ballot
        for ballot in context.extras.get("ballots", [])  # type: ignore[union-attr]
        if isinstance(ballot, Ballot) and ballot.state == BallotState.CLOSED
    ]
    if ballots:
        ballot = ballots[0]
        survey = services.create_survey(
            admin,
            ballot,
            title="투표 과정 평가 · How did this vote go?",
            question_keys=list(QUESTION_BANK),
        )
        voter_ids = db.session.scalars(
            select(Vote.voter_id).where(Vote.ballot_id == ballot.id).order_by(Vote.voter_id)
        ).all()
        people = {u.id: u for u in [*context.users.values(), *context.crowd]}
        for n, voter_id in enumerate(voter_ids):
            ratings = {
                key: 1 + (n + k) % 5 if k % 3 else 4 + n % 2 for k, key in enumerate(QUESTION_BANK)
            }
            text = DEMO_TEXTS[n % len(DEMO_TEXTS)] if n < 6 else ""
            services.answer_survey(people[voter_id], survey, ratings, text)
    session = context.extras.get("roundtable_session")
    if session is not None:
        services.create_survey(
            context.users["lead"],
            session,  # type: ignore[arg-type]
            title="원탁회의 평가 · How did the roundtable go?",
            question_keys=list(QUESTION_BANK),
        )
