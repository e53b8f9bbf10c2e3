"""Demo data for the proposals feature: citizens' judgements of the answered proposal."""

from itertools import cycle

from sqlalchemy import select

from deliberation.demo_context import DemoContext
from deliberation.extensions import db
from deliberation.proposals import judgements
from deliberation.proposals.models import JudgementStep, Proposal, Satisfaction

#: How the demo crowd judges (in turn): mostly satisfied with the answer, mixed on the work.
ANSWER_JUDGEMENTS = [Satisfaction.SATISFIED, Satisfaction.SATISFIED, Satisfaction.PARTLY]
IMPLEMENTATION_JUDGEMENTS = [
    Satisfaction.SATISFIED,
    Satisfaction.PARTLY,
    Satisfaction.NOT_SATISFIED,
    Satisfaction.PARTLY,
]
DEMO_COMMENT = "야간 운영 시간이 더 필요합니다.\n\nThe centres need longer evening hours."


def seed_demo(context: DemoContext) -> None:
    """The crowd judges the answered demo proposals: the answer, and the implementation once
    it is done."""
    answered = db.session.scalars(
        select(Proposal).where(Proposal.responded_at.is_not(None)).order_by(Proposal.id)
    ).all()
    for proposal in answered:
        steps = proposal.open_judgement_steps()
        for person, value in zip(context.crowd[:15], cycle(ANSWER_JUDGEMENTS), strict=False):
            judgements.judge(person, proposal, JudgementStep.ANSWER, value)
        if JudgementStep.IMPLEMENTATION in steps:
            people = context.crowd[15:25]
            for n, (person, value) in enumerate(
                zip(people, cycle(IMPLEMENTATION_JUDGEMENTS), strict=False)
            ):
                comment = DEMO_COMMENT if n == 2 else ""
                judgements.judge(person, proposal, JudgementStep.IMPLEMENTATION, value, comment)
