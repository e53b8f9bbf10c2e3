"""Verified member categories: requests, their confirmation or refusal, and council terms.

`User.member_category` is always the category that counts in every breakdown. Anyone may say
they take part as a citizen; any other category is a `CategoryRequest` until an administrator,
or a coordinator of one of the person's divisions, confirms it.
"""

from datetime import date

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import (
    CategoryRequest,
    CategoryRequestState,
    MemberCategory,
    Role,
    User,
    division_memberships,
)
from deliberation.core import audit
from deliberation.core.errors import DomainError, IllegalTransition, NotFound, PermissionDenied
from deliberation.core.scheduler import periodic
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.mail.models import MailKind

# _links_for: absolute links and text in the recipient's language, in or out of a request.
from deliberation.mail.services import _links_for, queue_mail

REASON_MAX = 1000


def pending_request_of(user: User) -> CategoryRequest | None:
    """The person's open request, if any."""
    return db.session.scalar(
        select(CategoryRequest).where(
            CategoryRequest.user_id == user.id,
            CategoryRequest.state == CategoryRequestState.PENDING,
        )
    )


def latest_request_of(user: User) -> CategoryRequest | None:
    """The person's most recent request, to show its state on their profile."""
    return db.session.scalar(
        select(CategoryRequest)
        .where(CategoryRequest.user_id == user.id)
        .order_by(CategoryRequest.id.desc())
        .limit(1)
    )


def withdraw_request(request: CategoryRequest, actor_id: int | None = None) -> None:
    """Close an open request undecided (the person chose again, or the roster appointed them)."""
    request.state = CategoryRequestState.WITHDRAWN
    request.decided_at = utcnow()
    audit.record(
        "category_request.withdraw",
        "category_request",
        request.id,
        actor_id=actor_id or request.user_id,
    )


def choose_category(user: User, category: MemberCategory) -> CategoryRequest | None:
    """What a person says about themselves at registration or on their profile.

    Citizen takes effect at once (nobody gains by claiming less); any other category becomes a
    pending request and the person keeps counting under their current category until then.
    """
    pending = pending_request_of(user)
    if pending is not None and pending.requested_category == category:
        return pending
    if pending is not None:
        withdraw_request(pending)
    if category == user.member_category:
        return None
    if category == MemberCategory.CITIZEN:
        user.member_category = MemberCategory.CITIZEN
        user.council_term_start = user.council_term_end = None
        audit.record("user.category_citizen", "user", user.id, actor_id=user.id)
        return None
    request = CategoryRequest(user_id=user.id, requested_category=category)
    db.session.add(request)
    try:
        with db.session.begin_nested():  # the partial UNIQUE index decides
            db.session.flush()
    except IntegrityError as error:
        raise DomainError(
            _("You already have a request waiting for confirmation."), code="request_pending"
        ) from error
    audit.record(
        "category_request.create",
        "category_request",
        request.id,
        actor_id=user.id,
        category=category.value,
    )
    return request


def can_decide(actor: User, request: CategoryRequest) -> bool:
    """Admins decide every request; a coordinator those of people in one of their divisions.
    Nobody decides their own."""
    if actor.id == request.user_id:
        return False
    if actor.is_admin:
        return True
    if Role.COORDINATOR not in actor.roles:
        return False
    own = {d.id for d in actor.divisions}
    return any(d.id in own for d in request.user.divisions)


def get_request(request_id: int) -> CategoryRequest:
    request = db.session.get(CategoryRequest, request_id)
    if request is None:
        raise NotFound(_("No such request."))
    return request


def _decide(
    actor: User, request: CategoryRequest, state: CategoryRequestState, reason: str
) -> None:
    if not can_decide(actor, request):
        raise PermissionDenied(_("You may not decide this request."))
    if request.state != CategoryRequestState.PENDING:
        raise IllegalTransition(_("This request was decided already."), code="decided")
    request.state = state
    request.reason = reason.strip()[:REASON_MAX]
    request.decided_by_id = actor.id
    request.decided_at = utcnow()
    _notify(request)


def confirm_request(actor: User, request: CategoryRequest, reason: str = "") -> None:
    """Confirm a person's category: from now on their new votes count under it."""
    _decide(actor, request, CategoryRequestState.CONFIRMED, reason)
    previous = request.user.member_category
    request.user.member_category = request.requested_category
    audit.record(
        "category_request.confirm",
        "category_request",
        request.id,
        actor_id=actor.id,
        user_id=request.user_id,
        category=request.requested_category.value,
        previous=previous.value,
    )


def decline_request(actor: User, request: CategoryRequest, reason: str) -> None:
    """Decline a request with a reason the person reads; their category stays as it was."""
    if not reason.strip():
        raise DomainError(_("Please give a reason for declining."), code="reason_required")
    _decide(actor, request, CategoryRequestState.DECLINED, reason)
    audit.record(
        "category_request.decline",
        "category_request",
        request.id,
        actor_id=actor.id,
        user_id=request.user_id,
        category=request.requested_category.value,
    )


def _notify(request: CategoryRequest) -> None:
    """Mail the person the decision, in their language."""
    user = request.user
    with _links_for(user.preferred_language):
        category = request.requested_category.label
        if request.state == CategoryRequestState.CONFIRMED:
            subject = _("Your member category is confirmed: %(category)s", category=category)
            body = _(
                "An administrator confirmed that you take part in Madang as: %(category)s. "
                "Your votes from now on are counted under this category; votes you cast "
                "before keep the category they were cast under.",
                category=category,
            )
        else:
            subject = _("Your member category request was declined")
            body = _(
                "Your request to take part as %(category)s was declined. You keep taking part "
                "as before.",
                category=category,
            )
        if request.reason:
            body += "\n\n" + _("Reason: %(reason)s", reason=request.reason)
        body += "\n\n" + url_for("accounts.profile", _external=True)
    queue_mail(MailKind.GENERAL, user=user, subject=subject, context={"body": body})


# Reads for the review page and for every breakdown by category ------------------------------


def _decidable_by(actor: User):
    query = select(CategoryRequest).where(CategoryRequest.state == CategoryRequestState.PENDING)
    if actor.is_admin:
        return query
    own = [d.id for d in actor.divisions]
    in_own = select(division_memberships.c.user_id).where(
        division_memberships.c.division_id.in_(own)
    )
    return query.where(CategoryRequest.user_id.in_(in_own), CategoryRequest.user_id != actor.id)


def pending_requests_page(actor: User, page: int = 1, per_page: int = 50):
    """The requests this person may decide, oldest first, paginated."""
    query = _decidable_by(actor).order_by(CategoryRequest.id)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def pending_request_count() -> int:
    """How many people wait for confirmation (and so count as their current category)."""
    return (
        db.session.scalar(
            select(func.count(CategoryRequest.id)).where(
                CategoryRequest.state == CategoryRequestState.PENDING
            )
        )
        or 0
    )


# Council terms ---------------------------------------------------------------------------------


def end_council_terms(today: date | None = None) -> int:
    """Turn appointed members whose term has ended back into citizens; returns how many."""
    today = today or utcnow().date()
    ended = list(
        db.session.scalars(
            select(User).where(User.council_term_end.is_not(None), User.council_term_end < today)
        )
    )
    for user in ended:
        previous = user.member_category
        user.member_category = MemberCategory.CITIZEN
        user.council_term_start = user.council_term_end = None
        audit.record(
            "user.council_term_end", "user", user.id, actor_id=None, previous=previous.value
        )
    db.session.flush()
    return len(ended)


def end_council_term_of(user: User, today: date | None = None) -> None:
    """The same rule for one person, checked at login so nobody waits for the job."""
    today = today or utcnow().date()
    if user.council_term_end is not None and user.council_term_end < today:
        user.member_category = MemberCategory.CITIZEN
        user.council_term_start = user.council_term_end = None
        audit.record("user.council_term_end", "user", user.id, actor_id=None)


@periodic("accounts.end_council_terms", every_s=3600.0)
def end_council_terms_job() -> None:
    end_council_terms()
