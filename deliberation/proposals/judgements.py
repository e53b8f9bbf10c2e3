"""Citizens judge a proposal's answer and implementation; contested proposals go back to the
agenda. Every write about judgements lives here (reads are in feedback.py)."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import User
from deliberation.agendas import services as agendas_services
from deliberation.agendas.models import AgendaItem
from deliberation.core import audit
from deliberation.core.errors import DomainError, IllegalTransition, PermissionDenied
from deliberation.core.sanitize import markdown_literal, plain_text
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.proposals import services
from deliberation.proposals.models import (
    EventKind,
    Judgement,
    JudgementStep,
    Proposal,
    Satisfaction,
)

#: The longest comment accepted with a judgement.
COMMENT_MAX_LENGTH = 2_000
#: Defaults of the per-site contested rule (config FEEDBACK_CONTESTED_SHARE / _MINIMUM).
DEFAULT_CONTESTED_SHARE = 0.5
DEFAULT_CONTESTED_MINIMUM = 5


def _clean_comment(comment: str | None) -> str:
    comment = plain_text(comment).strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise DomainError(
            _("The comment is too long (at most %(n)d characters).", n=COMMENT_MAX_LENGTH),
            code="too_long",
        )
    return comment


def judge(
    user: User, proposal: Proposal, step: JudgementStep, value: Satisfaction, comment: str = ""
) -> Judgement:
    """A logged-in person says whether the answer (or the implementation) addresses the
    proposal; judging the same step again changes their judgement."""
    if not user.is_active:
        raise PermissionDenied(_("Please log in to judge."), code="login")
    if step not in proposal.open_judgement_steps():
        raise IllegalTransition(
            _("This step cannot be judged yet: %(step)s.", step=step.label), code="step_closed"
        )
    comment = _clean_comment(comment)
    judgement = _own_judgement(user.id, proposal.id, step)
    if judgement is None:
        judgement = Judgement(
            proposal_id=proposal.id,
            step=step,
            user_id=user.id,
            value=value,
            member_category=user.member_category,
            comment=comment,
        )
        try:
            with db.session.begin_nested():
                db.session.add(judgement)
        except IntegrityError:  # the same person's first judgement committed meanwhile
            judgement = _own_judgement(user.id, proposal.id, step)
            if judgement is None:
                raise
            action = "judgement.change"
        else:
            action = "judgement.create"
    else:
        action = "judgement.change"
    if action == "judgement.change":
        if judgement.comment_hidden_at is not None and judgement.comment != comment:
            # as for discussion comments: what a facilitator hid stays hidden, unchanged
            raise DomainError(
                _("A facilitator hid your comment, so it cannot be changed."), code="hidden"
            )
        judgement.value = value
        judgement.comment = comment
        judgement.member_category = user.member_category
    db.session.flush()
    audit.record(
        action,
        "proposal",
        proposal.id,
        actor_id=user.id,
        step=step.value,
        value=value.value,
    )
    if step == JudgementStep.IMPLEMENTATION:
        update_contested(proposal)
    return judgement


def _own_judgement(user_id: int, proposal_id: int, step: JudgementStep) -> Judgement | None:
    return db.session.scalar(
        select(Judgement).where(
            Judgement.user_id == user_id,
            Judgement.proposal_id == proposal_id,
            Judgement.step == step,
        )
    )


def contested_rule() -> tuple[float, int]:
    """The site's rule: the share of "not satisfied" above which, with at least so many
    judgements, an implementation is contested."""
    share = float(current_app.config.get("FEEDBACK_CONTESTED_SHARE", DEFAULT_CONTESTED_SHARE))
    minimum = int(current_app.config.get("FEEDBACK_CONTESTED_MINIMUM", DEFAULT_CONTESTED_MINIMUM))
    return share, minimum


def is_contested(not_satisfied: int, total: int) -> bool:
    """Most judgements of the implementation say "not satisfied", and enough people judged."""
    share, minimum = contested_rule()
    return total >= minimum and total > 0 and not_satisfied / total > share


def update_contested(proposal: Proposal) -> bool:
    """Flag (or unflag) the proposal as contested from its implementation judgements."""
    total, not_satisfied = db.session.execute(
        select(
            func.count(Judgement.id),
            func.count(Judgement.id).filter(Judgement.value == Satisfaction.NOT_SATISFIED),
        ).where(
            Judgement.proposal_id == proposal.id,
            Judgement.step == JudgementStep.IMPLEMENTATION,
        )
    ).one()
    contested = is_contested(not_satisfied, total)
    if contested and proposal.contested_at is None:
        proposal.contested_at = utcnow()
        audit.record("proposal.contested", "proposal", proposal.id, judgements=total)
    elif not contested and proposal.contested_at is not None and not proposal.sent_back_item_id:
        proposal.contested_at = None
        audit.record("proposal.uncontested", "proposal", proposal.id, judgements=total)
    return contested


def send_back_to_agenda(actor: User, proposal: Proposal) -> AgendaItem:
    """A facilitator opens a new agenda item, linked to the contested proposal, so the
    division deliberates it again."""
    if not actor.is_facilitator:
        raise PermissionDenied(_("Only facilitators can do that."), code="not_facilitator")
    if not proposal.contested:
        raise IllegalTransition(
            _("Only a contested proposal can be sent back to the agenda."), code="not_contested"
        )
    if proposal.sent_back_item_id is not None:
        raise IllegalTransition(
            _("This proposal was already sent back to the agenda."), code="already_sent_back"
        )
    division_id = proposal.division_id or (proposal.item.division_id if proposal.item else None)
    if division_id is None:
        raise DomainError(_("The proposal has no division to go back to."), code="no_division")
    title = _("Revisit: %(title)s", title=proposal.title)[:200]
    body = _(
        "Most participants judged the implementation of [%(title)s](%(url)s) not satisfactory. "
        "This item takes it back to the agenda.",
        title=markdown_literal(proposal.title),
        url=f"/proposals/{proposal.id}",
    )
    item = agendas_services.propose_item(actor, division_id=division_id, title=title, body=body)
    proposal.sent_back_item_id = item.id
    db.session.flush()  # UNIQUE sent_back_item_id
    audit.record("proposal.send_back", "proposal", proposal.id, actor_id=actor.id, item=item.id)
    services.add_public_step(
        proposal,
        EventKind.SENT_BACK,
        actor=actor,
        text=_(
            "Back on the agenda as [%(title)s](/agendas/%(id)d).",
            title=markdown_literal(item.title),
            id=item.id,
        ),
    )
    return item
