"""Foreign objects of citizens' feedback and evaluation surveys for the hostile world: a
proposal in another division that was answered and judged by someone else, their judgement,
and an evaluation survey of a closed session that only someone else took part in."""

from flask import Flask

from deliberation.accounts.models import Division, MemberCategory, Role, User
from deliberation.db import utcnow
from deliberation.evaluations import services as evaluations
from deliberation.extensions import db
from deliberation.proposals import judgements, replies
from deliberation.proposals import services as proposals
from deliberation.proposals.models import JudgementStep, ProposalState, Satisfaction
from deliberation.roundtables.models import Participant, RoundtableSession, SessionState
from tests.factories import make_user
from tests.security.support import ALL, FACILITATORS, SIGNED_IN, World

#: The victim's survey answer: one respondent is under the small-group minimum, so nobody,
#: admins included, ever sees it.
SECRET_SURVEY_TEXT = "SECRETSURVEYANSWER5e8d"


def feedback_world(app: Flask, world: World) -> None:
    victim = db.session.get(User, world.user_ids["victim"])
    other = db.session.scalar(db.select(Division).where(Division.slug == "sec-other"))
    official = make_user(Role.OFFICIAL, email="sec-feedback-official@example.org")
    proposal = proposals.create_proposal(
        title="Answered elsewhere", summary="", snapshot={}, division_id=other.id
    )
    proposals.start_review(official, proposal)
    proposals.respond(official, proposal, ProposalState.ACCEPTED, "We agree.")
    judgement = judgements.judge(
        victim, proposal, JudgementStep.ANSWER, Satisfaction.PARTLY, "Judged by the victim"
    )
    reply, _ = replies.post_reply(victim, judgement.id, "The victim's reply")
    lead = make_user(Role.FACILITATOR, email="sec-feedback-lead@example.org", divisions=[other])
    session = RoundtableSession(
        division_id=other.id,
        title="Closed, evaluated",
        lead_id=lead.id,
        state=SessionState.CLOSED,
        closed_at=utcnow(),
    )
    db.session.add(session)
    db.session.flush()
    db.session.add(
        Participant(
            session_id=session.id,
            user_id=victim.id,
            member_category=MemberCategory.CITIZEN,
            division_id=other.id,
        )
    )
    survey = evaluations.create_survey(
        lead, session, title="Evaluated", question_keys=["overall", "equal_voice"]
    )
    evaluations.answer_survey(victim, survey, {"overall": 2}, SECRET_SURVEY_TEXT)
    db.session.commit()

    world.secrets[SECRET_SURVEY_TEXT] = set()
    officials = {"official", "admin"}
    world.add(
        "proposal_id",
        proposal.id,
        read=ALL,
        write=set(),
        actions={
            "follow": SIGNED_IN,
            "judge": SIGNED_IN,
            "progress": officials,
            "send_back": FACILITATORS,
        },
        label="an answered proposal in another division",
    )
    world.add("step", JudgementStep.ANSWER.value, read=ALL, write=set(), label="a judged step")
    world.add(
        "judgement_id",
        judgement.id,
        read=ALL,
        write=set(),
        actions={
            "hide_judgement_comment": FACILITATORS,
            "restore_judgement_comment": FACILITATORS,
            "dismiss_judgement_flags": FACILITATORS,
            "flag_judgement_comment": SIGNED_IN,
            "reply_to_judgement": SIGNED_IN,
        },
        label="someone else's judgement",
    )
    world.add(
        "reply_id",
        reply.id,
        read=ALL,
        write=set(),  # edit and delete: the author only
        actions={
            "flag_reply": SIGNED_IN,
            "hide_reply": FACILITATORS,
            "restore_reply": FACILITATORS,
            "dismiss_reply_flags": FACILITATORS,
        },
        label="someone else's reply to a judgement",
    )
    world.add(
        "survey_id",
        survey.id,
        read=ALL,
        write=set(),
        label="a survey of a session someone else took part in",
    )
