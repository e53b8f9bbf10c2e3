"""URL rules of the proposals feature: the queue, a proposal's timeline, official actions."""

import uuid

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from deliberation.accounts.forms import EmptyForm
from deliberation.accounts.models import CATEGORY_LABELS, Division
from deliberation.accounts.permissions import facilitator_required, official_required
from deliberation.core.errors import DomainError, NotFound
from deliberation.core.forms import commit_or_flash
from deliberation.core.throttle import enforce
from deliberation.extensions import db
from deliberation.proposals import feedback, judgements, queries, replies, services
from deliberation.proposals.forms import (
    EditReplyForm,
    FeedbackQueueFilterForm,
    FollowForm,
    JudgementForm,
    ModerationReasonForm,
    ProgressForm,
    ReplyForm,
    ResponseForm,
    due_filter_choices,
    satisfaction_filter_choices,
    state_filter_choices,
)
from deliberation.proposals.models import (
    PROGRESS_NOTE_STATES,
    PROPOSAL_STATE_LABELS,
    PROPOSAL_TRANSITIONS,
    SATISFACTION_LABELS,
    JudgementStep,
    Proposal,
    ProposalState,
    Satisfaction,
)
from deliberation.voting.models import DEFAULT_OPTION_LABELS

bp = Blueprint("proposals", __name__, url_prefix="/proposals")

OFFICIAL_ACTION_LIMIT = "60/minute"
JUDGE_LIMIT = "30/minute"
FOLLOW_LIMIT = "30/minute"
IMPLEMENTATION_STAGES = (
    ProposalState.IN_PROGRESS,
    ProposalState.IMPLEMENTED,
    ProposalState.MONITORING,
)


def _locale() -> str:
    return str(get_locale() or "en")


@bp.get("/")
def index():
    """The officials' queue, public: filter by division, state, due date and judgement."""
    form = FeedbackQueueFilterForm(request.args)
    divisions = list(db.session.scalars(select(Division).order_by(Division.id)))
    form.division.choices = [SelectChoice("", _("Any division"))] + [
        SelectChoice(str(d.id), d.name_for(_locale())) for d in divisions
    ]
    form.state.choices = state_filter_choices()
    form.due.choices = due_filter_choices()
    form.satisfaction.choices = satisfaction_filter_choices()
    satisfaction = (
        form.satisfaction.data if form.satisfaction.data in feedback.SATISFACTION_FILTERS else ""
    )
    division_id = int(form.division.data) if (form.division.data or "").isdigit() else None
    state = ProposalState(form.state.data) if form.state.data in set(ProposalState) else None
    due = form.due.data if form.due.data in queries.DUE_FILTERS else ""
    page = request.args.get("page", 1, type=int)
    pagination = queries.queue(
        division_id=division_id, state=state, due=due, satisfaction=satisfaction, page=page
    )
    return render_template(
        "proposals/index.html",
        form=form,
        pagination=pagination,
        overdue_total=queries.overdue_count(),
        satisfaction=feedback.queue_satisfaction(list(pagination.items)),
        satisfaction_labels={key.value: str(label) for key, label in SATISFACTION_LABELS.items()},
        filters={
            "division": form.division.data or "",
            "state": form.state.data or "",
            "due": due,
            "satisfaction": satisfaction,
        },
        locale=_locale(),
    )


def _progress_form(proposal: Proposal) -> ProgressForm:
    form = ProgressForm(prefix="progress")
    choices = []
    if proposal.state in PROGRESS_NOTE_STATES:
        choices.append(SelectChoice("", _("Stay at the current stage")))
    choices += [
        SelectChoice(state.value, str(PROPOSAL_STATE_LABELS[state]))
        for state in IMPLEMENTATION_STAGES
        if state in PROPOSAL_TRANSITIONS[proposal.state]
    ]
    form.advance_to.choices = choices
    return form


def _judgement_forms(
    proposal: Proposal, invalid: JudgementForm | None = None, invalid_step: str = ""
) -> dict:
    """One form per step open to judgement, filled with the viewer's own judgement (or the
    form just sent back with its errors)."""
    own = {}
    if current_user.is_authenticated:
        own = feedback.own_judgements(current_user.id, proposal.id)
    forms = {}
    for step in proposal.open_judgement_steps():
        if invalid is not None and invalid_step == step.value:
            forms[step.value] = invalid
            continue
        mine = own.get(step.value)
        forms[step.value] = JudgementForm(
            step,
            formdata=None,
            value=mine.value.value if mine else None,
            comment=mine.comment if mine else "",
        )
    return {"forms": forms, "own": own}


def _detail_page(
    proposal: Proposal,
    *,
    response_form=None,
    progress_form=None,
    judgement_form=None,
    judgement_step="",
    status=200,
):
    judging = _judgement_forms(proposal, judgement_form, judgement_step)
    comments = feedback.judgement_comments(proposal.id, request.args.get("comments", 1, type=int))
    return (
        render_template(
            "proposals/detail.html",
            proposal=proposal,
            timeline=queries.timeline(proposal),
            response_form=response_form or ResponseForm(prefix="response"),
            progress_form=progress_form or _progress_form(proposal),
            review_form=EmptyForm(),
            follow_form=FollowForm(formdata=None),
            following=current_user.is_authenticated
            and queries.is_following(current_user, proposal),
            is_official=current_user.is_authenticated and current_user.is_official,
            is_facilitator=current_user.is_authenticated and current_user.is_facilitator,
            judgement_results=feedback.judgement_results(proposal.id),
            judgement_forms=judging["forms"],
            own_judgements=judging["own"],
            judgement_comments=comments,
            reply_counts=feedback.reply_counts([j.id for j in comments.items]),
            judgement_steps=list(JudgementStep),
            satisfaction_values=list(Satisfaction),
            contested_rule=judgements.contested_rule(),
            locale=_locale(),
            category_labels={key.value: str(label) for key, label in CATEGORY_LABELS.items()},
            default_labels={key: str(label) for key, label in DEFAULT_OPTION_LABELS.items()},
        ),
        status,
    )


@bp.get("/<int:proposal_id>")
def detail(proposal_id: int):
    """A proposal: its snapshot, the officials' response and the public timeline."""
    return _detail_page(queries.get_proposal(proposal_id))


def _official_action(proposal: Proposal, action, at_fields: dict | None = None, **forms):
    """Run an official's action and commit. A refusal about one of the form's fields (by its
    code in `at_fields`) is shown at that field, with what was typed; any other is a banner."""
    try:
        enforce("proposal-action", current_user.id, OFFICIAL_ACTION_LIMIT)
        action()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        field = (at_fields or {}).get(error.code)
        if field is not None:
            field.errors = [*field.errors, error.message]
        else:
            flash(error.message, "error")
        return _detail_page(proposal, status=error.status_code, **forms)
    flash(_("Saved. Everyone following this proposal has been notified."), "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal.id))


def _text_refusals(form, **other_fields) -> dict:
    """Which field shows which refusal of the services (by code): an empty or too long text
    at the text, and the codes named in `other_fields` at those fields."""
    return {"text_required": form.text, "too_long": form.text, **other_fields}


@bp.post("/<int:proposal_id>/review")
@official_required
def start_review(proposal_id: int):
    """An official takes up the proposal."""
    proposal = queries.get_proposal(proposal_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired or was not sent from this site. Please try again."), "error")
        return _detail_page(proposal, status=400)
    return _official_action(proposal, lambda: services.start_review(current_user, proposal))


@bp.post("/<int:proposal_id>/respond")
@official_required
def respond(proposal_id: int):
    """An official publishes the decision and the written response."""
    proposal = queries.get_proposal(proposal_id)
    form = ResponseForm(prefix="response")
    if not form.validate_on_submit():
        return _detail_page(proposal, response_form=form, status=400)
    return _official_action(
        proposal,
        lambda: services.respond(
            current_user, proposal, ProposalState(form.decision.data), form.text.data
        ),
        at_fields=_text_refusals(form, decision=form.decision),
        response_form=form,
    )


@bp.post("/<int:proposal_id>/progress")
@official_required
def progress(proposal_id: int):
    """An official reports implementation progress."""
    proposal = queries.get_proposal(proposal_id)
    form = _progress_form(proposal)
    if not form.validate_on_submit():
        return _detail_page(proposal, progress_form=form, status=400)
    advance_to = ProposalState(form.advance_to.data) if form.advance_to.data else None
    return _official_action(
        proposal,
        lambda: services.post_progress(current_user, proposal, form.text.data, advance_to),
        at_fields=_text_refusals(form),
        progress_form=form,
    )


@bp.post("/<int:proposal_id>/follow")
@login_required
def follow(proposal_id: int):
    """A logged-in person follows the proposal (told of each step), or stops following it."""
    proposal = queries.get_proposal(proposal_id)
    form = FollowForm()
    if not form.validate_on_submit():
        flash(_("The form expired or was not sent from this site. Please try again."), "error")
        return _detail_page(proposal, status=400)
    wants_to_follow = form.following.data == "yes"

    def choose() -> bool:
        enforce("proposal-follow", current_user.id, FOLLOW_LIMIT)
        if wants_to_follow:
            return services.follow(current_user, proposal)
        return services.stop_following(current_user, proposal)

    __, refused = commit_or_flash(choose)
    if refused:
        return _detail_page(proposal, status=refused.status_code)
    if wants_to_follow:
        flash(_("You follow this proposal: you will be told of each step."), "success")
    else:
        flash(
            _("You no longer follow this proposal: you will not be told of its steps."), "success"
        )
    return redirect(url_for("proposals.detail", proposal_id=proposal.id, _anchor="following"))


@bp.app_template_global("unread_notifications")
def unread_notifications_global() -> int:
    """The header's notification badge: how many unread notifications the viewer has."""
    if not current_user.is_authenticated:
        return 0
    return queries.unread_count(current_user.id)


@bp.app_template_global("proposal_for_item")
def proposal_for_item_global(item_id: int):
    """Lets the agenda item page link to its proposal without agendas importing proposals."""
    return queries.proposal_for_item(item_id)


@bp.get("/notifications")
@login_required
def notifications():
    """My notifications about the proposals I follow."""
    page = request.args.get("page", 1, type=int)
    return render_template(
        "proposals/notifications.html",
        pagination=queries.notifications_for(current_user.id, page),
        unread=queries.unread_count(current_user.id),
        form=EmptyForm(),
    )


@bp.post("/notifications/read")
@login_required
def mark_read():
    """Mark all my notifications read."""
    if EmptyForm().validate_on_submit():
        services.mark_notifications_read(current_user)
        db.session.commit()
        flash(_("All notifications are marked read."), "success")
    return redirect(url_for("proposals.notifications"))


@bp.post("/<int:proposal_id>/judge/<step>")
@login_required
def judge(proposal_id: int, step: str):
    """A logged-in person judges whether the answer or the implementation addresses the
    proposal (and may change the judgement later)."""
    proposal = queries.get_proposal(proposal_id)
    if step not in set(JudgementStep):
        return _detail_page(proposal, status=404)
    form = JudgementForm(JudgementStep(step))
    if not form.validate_on_submit():
        return _detail_page(proposal, judgement_form=form, judgement_step=step, status=400)
    try:
        enforce("proposal-judge", current_user.id, JUDGE_LIMIT)
        judgements.judge(
            current_user,
            proposal,
            JudgementStep(step),
            Satisfaction(form.value.data),
            form.comment.data,
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _detail_page(
            proposal, judgement_form=form, judgement_step=step, status=error.status_code
        )
    flash(_("Thank you: your judgement is saved. You can change it at any time."), "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal.id, _anchor="judgements"))


@bp.post("/<int:proposal_id>/send-back")
@facilitator_required
def send_back(proposal_id: int):
    """A facilitator sends a contested proposal back to the agenda as a new linked item."""
    proposal = queries.get_proposal(proposal_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired or was not sent from this site. Please try again."), "error")
        return _detail_page(proposal, status=400)
    item, refused = commit_or_flash(lambda: judgements.send_back_to_agenda(current_user, proposal))
    if refused:
        return _detail_page(proposal, status=refused.status_code)
    flash(_("The proposal is back on the agenda as a new draft item."), "success")
    return redirect(url_for("agendas.show_item", item_id=item.id))


# --- threads under judgements' comments, and their moderation --------------------------------
REPLY_LIMIT = "20/minute"
FLAG_LIMIT = "20/minute"


def _thread_page(
    judgement,
    *,
    reply_form: ReplyForm | None = None,
    edit_forms: dict | None = None,
    status: int = 200,
):
    """A judgement's comment with its replies (nested, paginated) and the forms to answer,
    flag, edit and moderate."""
    page = request.args.get("page", 1, type=int)
    roots, children = feedback.reply_thread(judgement.id, page)
    flagged: set[int] = set()
    flagged_replies: set[int] = set()
    if current_user.is_authenticated:
        flagged = feedback.flagged_by(current_user.id, [judgement.id])
        flagged_replies = feedback.replies_flagged_by(current_user.id, judgement.id)
    return (
        render_template(
            "proposals/thread.html",
            judgement=judgement,
            proposal=judgement_proposal(judgement),
            roots=roots,
            children=children,
            reply_form=reply_form or ReplyForm(formdata=None, client_id=uuid.uuid4().hex),
            edit_forms=edit_forms or {},
            reason_form=ModerationReasonForm(formdata=None),
            is_facilitator=current_user.is_authenticated and current_user.is_facilitator,
            flagged_comment=judgement.id in flagged,
            flagged_replies=flagged_replies,
            reply_total=feedback.reply_counts([judgement.id]).get(judgement.id, 0),
            new_client_id=lambda: uuid.uuid4().hex,
        ),
        status,
    )


def judgement_proposal(judgement) -> Proposal:
    return queries.get_proposal(judgement.proposal_id)


def _back_to_thread(judgement_id: int, anchor: str = "replies"):
    return redirect(
        url_for(
            "proposals.judgement_thread",
            judgement_id=judgement_id,
            page=request.args.get("page", 1, type=int),
            _anchor=anchor,
        )
    )


@bp.get("/judgements/<int:judgement_id>")
def judgement_thread(judgement_id: int):
    """A judgement's comment and the conversation under it, for anyone to read."""
    return _thread_page(replies.commented_judgement(judgement_id))


@bp.post("/judgements/<int:judgement_id>/replies")
@login_required
def reply_to_judgement(judgement_id: int):
    """A member replies to a judgement's comment or to a reply under it."""
    judgement = replies.commented_judgement(judgement_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _thread_page(judgement, reply_form=form, status=400)
    enforce("proposal-reply", current_user.id, REPLY_LIMIT)
    parent_id = int(form.parent_id.data) if (form.parent_id.data or "").isdigit() else None
    result, refused = commit_or_flash(
        lambda: replies.post_reply(
            current_user,
            judgement.id,
            form.body.data,
            parent_id=parent_id,
            client_id=form.client_id.data,
        )
    )
    if refused:
        return _thread_page(judgement, reply_form=form, status=refused.status_code)
    reply, created = result
    if created:
        flash(_("Your reply is posted."), "success")
    return _back_to_thread(judgement.id, f"reply-{reply.id}")


@bp.post("/replies/<int:reply_id>/edit")
@login_required
def edit_reply(reply_id: int):
    """The author corrects their reply."""
    reply = replies.get_reply(reply_id)
    form = EditReplyForm(prefix=f"edit-{reply.id}")
    if not form.validate_on_submit():
        judgement = replies.commented_judgement(reply.judgement_id)
        return _thread_page(judgement, edit_forms={reply.id: form}, status=400)
    __, refused = commit_or_flash(
        lambda: replies.edit_reply(current_user, reply.id, form.body.data)
    )
    if refused:
        judgement = replies.commented_judgement(reply.judgement_id)
        return _thread_page(judgement, edit_forms={reply.id: form}, status=refused.status_code)
    flash(_("Your reply is changed."), "success")
    return _back_to_thread(reply.judgement_id, f"reply-{reply.id}")


@bp.post("/replies/<int:reply_id>/delete")
@login_required
def delete_reply(reply_id: int):
    """The author deletes their reply; the answers below it stay."""
    reply = replies.get_reply(reply_id)
    if EmptyForm().validate_on_submit():
        __, refused = commit_or_flash(lambda: replies.delete_reply(current_user, reply.id))
        if refused:
            return _refused(refused, reply.judgement_id)
        flash(_("Your reply is deleted."), "success")
    return _back_to_thread(reply.judgement_id, f"reply-{reply.id}")


def _refused(error: DomainError, judgement_id: int):
    """Answer a refused moderation or flag with its status, back on the thread page."""
    judgement = replies.commented_judgement(judgement_id)
    return _thread_page(judgement, status=error.status_code)


def _reason_write(judgement_id: int, write, success: str, anchor: str):
    """Check the reason form, run a flag or moderation service with the reason, commit."""
    form = ModerationReasonForm()
    if not form.validate_on_submit():
        flash(_("Please give a reason."), "error")
        judgement = replies.commented_judgement(judgement_id)
        return _thread_page(judgement, status=400)
    __, refused = commit_or_flash(lambda: write(form.reason.data))
    if refused:
        return _refused(refused, judgement_id)
    flash(success, "success")
    if request.form.get("next") == "moderation":
        return redirect(url_for("proposals.moderation"))
    return _back_to_thread(judgement_id, anchor)


@bp.post("/judgements/<int:judgement_id>/flag")
@login_required
def flag_judgement_comment(judgement_id: int):
    """A member reports a judgement's comment to the facilitators, with a reason."""
    judgement = replies.commented_judgement(judgement_id)
    enforce("proposal-flag", current_user.id, FLAG_LIMIT)
    return _reason_write(
        judgement.id,
        lambda reason: replies.flag_judgement_comment(current_user, judgement.id, reason),
        _("Thank you: the facilitators will look at it."),
        "comment",
    )


@bp.post("/replies/<int:reply_id>/flag")
@login_required
def flag_reply(reply_id: int):
    """A member reports a reply to the facilitators, with a reason."""
    reply = replies.get_reply(reply_id)
    enforce("proposal-flag", current_user.id, FLAG_LIMIT)
    return _reason_write(
        reply.judgement_id,
        lambda reason: replies.flag_reply(current_user, reply.id, reason),
        _("Thank you: the facilitators will look at it."),
        f"reply-{reply.id}",
    )


@bp.post("/judgements/<int:judgement_id>/hide")
@facilitator_required
def hide_judgement_comment(judgement_id: int):
    """A facilitator hides a judgement's comment with a public reason (it still counts)."""
    judgement = replies.commented_judgement(judgement_id)
    return _reason_write(
        judgement.id,
        lambda reason: replies.hide_judgement_comment(current_user, judgement, reason),
        _("The comment is hidden; the reason shows in its place."),
        "comment",
    )


@bp.post("/judgements/<int:judgement_id>/restore")
@facilitator_required
def restore_judgement_comment(judgement_id: int):
    """A facilitator shows a hidden judgement comment again, saying why."""
    judgement = replies.commented_judgement(judgement_id)
    return _reason_write(
        judgement.id,
        lambda reason: replies.restore_judgement_comment(current_user, judgement, reason),
        _("The comment shows again."),
        "comment",
    )


@bp.post("/replies/<int:reply_id>/hide")
@facilitator_required
def hide_reply(reply_id: int):
    """A facilitator hides a reply with a public reason."""
    reply = replies.get_reply(reply_id)
    return _reason_write(
        reply.judgement_id,
        lambda reason: replies.hide_reply(current_user, reply.id, reason),
        _("The reply is hidden; the reason shows in its place."),
        f"reply-{reply.id}",
    )


@bp.post("/replies/<int:reply_id>/restore")
@facilitator_required
def restore_reply(reply_id: int):
    """A facilitator shows a hidden reply again, saying why."""
    reply = replies.get_reply(reply_id)
    return _reason_write(
        reply.judgement_id,
        lambda reason: replies.restore_reply(current_user, reply.id, reason),
        _("The reply shows again."),
        f"reply-{reply.id}",
    )


@bp.get("/moderation")
@facilitator_required
def moderation():
    """Facilitators' queue of flagged judgement comments and replies."""
    return render_template(
        "proposals/moderation.html",
        entries=feedback.moderation_queue(),
        reason_form=ModerationReasonForm(formdata=None),
        review_form=EmptyForm(),
    )


@bp.post("/moderation/judgements/<int:judgement_id>/dismiss")
@facilitator_required
def dismiss_judgement_flags(judgement_id: int):
    """A facilitator keeps a flagged judgement comment; its open flags close."""
    if EmptyForm().validate_on_submit():
        __, refused = commit_or_flash(
            lambda: replies.dismiss_flags(current_user, judgement_id=judgement_id)
        )
        if not refused:
            flash(_("The flags are dismissed; the comment stays."), "success")
    return redirect(url_for("proposals.moderation"))


@bp.post("/moderation/replies/<int:reply_id>/dismiss")
@facilitator_required
def dismiss_reply_flags(reply_id: int):
    """A facilitator keeps a flagged reply; its open flags close."""
    if EmptyForm().validate_on_submit():
        __, refused = commit_or_flash(
            lambda: replies.dismiss_flags(current_user, reply_id=reply_id)
        )
        if not refused:
            flash(_("The flags are dismissed; the reply stays."), "success")
    return redirect(url_for("proposals.moderation"))


def _get_division(slug: str) -> Division:
    division = db.session.scalar(select(Division).where(Division.slug == slug))
    if division is None:
        raise NotFound(_("There is no such division."))
    return division


@bp.get("/accountability")
def accountability_index():
    """Every division's public record of answers and citizens' judgements."""
    return render_template(
        "proposals/accountability_index.html",
        rows=feedback.all_divisions_accountability(),
        locale=_locale(),
    )


@bp.get("/accountability/<slug>")
def accountability(slug: str):
    """A division's public record: proposals received, answered on time, overdue, median
    days to answer and satisfaction, as a table and a chart."""
    division = _get_division(slug)
    return render_template(
        "proposals/accountability.html",
        division=division,
        figures=feedback.division_accountability(division),
        pagination=feedback.division_proposals(division.id, request.args.get("page", 1, type=int)),
        satisfaction_labels={key.value: str(label) for key, label in SATISFACTION_LABELS.items()},
        judgement_steps=list(JudgementStep),
        locale=_locale(),
    )


@bp.get("/accountability/<slug>/figures.json")
def accountability_json(slug: str):
    """A division's accountability figures as JSON."""
    return jsonify(feedback.division_accountability(_get_division(slug)))


@bp.get("/accountability/<slug>/figures.csv")
def accountability_csv(slug: str):
    """A division's accountability figures as CSV."""
    division = _get_division(slug)
    return Response(
        feedback.accountability_csv(feedback.division_accountability(division)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="accountability-{division.slug}.csv"'
        },
    )
