"""Demo data for voting and the officials' queue: an open ballot, and two closed, adopted ones."""

import random
from datetime import timedelta

from sqlalchemy import update

from deliberation.accounts.models import User
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.db import utcnow
from deliberation.demo_context import DemoContext
from deliberation.extensions import db
from deliberation.proposals import services as proposals
from deliberation.proposals.models import ProposalState
from deliberation.proposals.queries import proposal_for_item
from deliberation.voting import services
from deliberation.voting.models import Ballot

#: Fallback items when the agendas seed hands none over: (division slug, title, body).
OWN_ITEMS = [
    ("elderly", "경로당 냉방비 지원 확대 / Cooling subsidies for senior centres",
     "여름철 경로당 냉방비 지원을 늘립니다.\n\nExtend cooling subsidies to September."),
    ("disability", "저상버스 노선 확대 / More low-floor bus routes",
     "휠체어 이용자를 위한 저상버스 노선을 늘립니다.\n\nAdd low-floor buses on every hill route."),
    ("families", "주말 공동육아방 운영 / Weekend shared childcare rooms",
     "주말에도 공동육아방을 엽니다.\n\nOpen shared childcare rooms on weekends."),
]  # fmt: skip


def _items(context: DemoContext) -> list[AgendaItem]:
    handed_on = [
        item
        for item in context.extras.get("items", [])  # type: ignore[union-attr]
        if isinstance(item, AgendaItem) and item.state == ItemState.DISCUSSION
    ]
    own = []
    for slug, title, body in OWN_ITEMS[len(handed_on) :]:
        item = AgendaItem(
            division=context.divisions[slug],
            author=context.users["citizen"],
            title=title,
            body=body,
            state=ItemState.DISCUSSION,
        )
        db.session.add(item)
        own.append(item)
    db.session.flush()
    return (handed_on + own)[:3]


def _cast(ballot: Ballot, people: list[User], rng: random.Random, weights: list[int]) -> None:
    for person in people:
        choice = rng.choices(["yes", "no", "abstain"], weights=weights)[0]
        services.cast_vote(ballot.id, person, choice, f"demo-{ballot.id}-{person.id}")


def _close_now(ballot: Ballot) -> None:
    """Demo only: pretend the closing time has passed, then close as the scheduler would."""
    db.session.execute(
        update(Ballot)
        .where(Ballot.id == ballot.id)
        .values(closes_at=utcnow() - timedelta(minutes=5))
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(ballot)
    services.close_ballot(ballot)


def seed_demo(context: DemoContext) -> None:
    """An open ballot, an adopted item under review, and one answered with progress updates."""
    rng = random.Random(55)  # noqa: S311 - demo data, not secrets
    facilitator = context.users["facilitator"]
    official = context.users["official"]
    citizen = context.users["citizen"]
    crowd = context.crowd
    now = utcnow()
    open_item, review_item, answered_item = _items(context)

    open_ballot = services.open_ballot(
        facilitator,
        open_item,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=7),
        quorum_percent=20,
    )
    _cast(open_ballot, crowd[: len(crowd) // 2], rng, [6, 3, 1])

    adopted = []
    for item in (review_item, answered_item):
        ballot = services.open_ballot(
            facilitator,
            item,
            opens_at=now - timedelta(days=10),
            closes_at=now + timedelta(days=1),
            quorum_percent=30,
        )
        _cast(ballot, [citizen, *crowd], rng, [7, 2, 1])
        _close_now(ballot)
        adopted.append(ballot)
    db.session.flush()
    context.extras["ballots"] = [open_ballot, *adopted]

    in_review = proposal_for_item(review_item.id)
    answered = proposal_for_item(answered_item.id)
    if in_review is not None:
        proposals.start_review(official, in_review)
    if answered is not None:
        proposals.start_review(official, answered)
        proposals.respond(
            official,
            answered,
            ProposalState.ACCEPTED,
            "시 예산에 반영하여 추진합니다. 담당: 복지정책과.\n\n"
            "Accepted: funded in next year's budget; the welfare policy team leads it.",
        )
        proposals.post_progress(
            official,
            answered,
            "예산 편성 완료, 사업자 선정 중.\n\nBudget approved; choosing a contractor.",
            ProposalState.IN_PROGRESS,
        )
        proposals.post_progress(
            official,
            answered,
            "1단계 운영 시작.\n\nPhase one is running in three districts.",
            ProposalState.IMPLEMENTED,
        )
    db.session.flush()
