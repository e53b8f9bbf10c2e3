"""URL rules of the voting feature: ballots, casting, results and the public receipts list."""

import csv
import io
import json
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from deliberation.accounts.models import CATEGORY_LABELS, Division, Role, User
from deliberation.accounts.permissions import facilitator_required, role_required
from deliberation.agendas.models import AgendaItem, ItemState
from deliberation.core.errors import DomainError
from deliberation.core.forms import commit_or_flash
from deliberation.core.i18n import from_local, local_time, zone_label
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.proposals.queries import proposal_for_item
from deliberation.voting import queries, services
from deliberation.voting.forms import (
    BallotForm,
    PaperBallotForm,
    ReceiptLookupForm,
    VoteForm,
    new_client_id,
)
from deliberation.voting.models import IDENTITY_CHECK_LABELS, Ballot, BallotState, VoteChannel

bp = Blueprint("voting", __name__, url_prefix="/voting")


@bp.app_template_global("ballot_for_item")
def ballot_for_item_global(item_id: int) -> Ballot | None:
    """Lets the agenda item page link to its ballot without agendas importing voting."""
    return queries.ballot_for_item(item_id)


@bp.app_template_filter("utc")
def format_utc(moment: datetime | None) -> str:
    """A stored time in the viewer's time zone, the zone named (the filter keeps its old name
    so templates need not change)."""
    return local_time(moment)


CAST_MESSAGES = {
    "cast": _l("Your vote was recorded."),
    "changed": _l("Your vote was changed. Your old receipt no longer counts; keep the new one."),
    "unchanged": _l("You had already voted for that option; nothing changed."),
    "replayed": _l("This vote was already recorded."),
}


def _vote_form(ballot: Ballot) -> VoteForm:
    form = VoteForm()
    form.choice.choices = [SelectChoice(key, label) for key, label in ballot.labelled_options()]
    if not form.client_id.data:
        form.client_id.data = new_client_id()
    return form


def _ballot_page(ballot: Ballot, form: VoteForm | None = None, status: int = 200):
    receipt = None
    channel = None
    eligible = False
    if current_user.is_authenticated:
        receipt = queries.current_receipt(ballot.id, current_user.id)
        channel = queries.current_channel(ballot.id, current_user.id)
        eligible = queries.is_eligible(ballot, current_user)
    return (
        render_template(
            "voting/ballot.html",
            ballot=ballot,
            item=ballot.item,
            form=form or _vote_form(ballot),
            my_receipt=receipt,
            my_vote_on_paper=channel == VoteChannel.PAPER,
            eligible=eligible,
            accepting=ballot.accepts_votes_at(utcnow()),
            live=queries.turnout(ballot),
            result=ballot.result,
            locale=str(get_locale() or "en"),
            proposal=proposal_for_item(ballot.item_id),
            category_labels={key.value: str(label) for key, label in CATEGORY_LABELS.items()},
        ),
        status,
    )


@bp.get("/")
def index():
    """Every ballot, open ones first."""
    page = request.args.get("page", 1, type=int)
    return render_template("voting/index.html", pagination=queries.recent_ballots(page))


def _votable_items() -> list[AgendaItem]:
    taken = select(Ballot.item_id)
    return list(
        db.session.scalars(
            select(AgendaItem)
            .where(
                AgendaItem.state.in_([ItemState.DISCUSSION, ItemState.VOTING]),
                AgendaItem.id.not_in(taken),
            )
            .order_by(AgendaItem.id.desc())
            .limit(200)
        )
    )


@bp.route("/new", methods=["GET", "POST"])
@facilitator_required
def new_ballot():
    """Put an agenda item to the vote."""
    form = BallotForm()
    # Times are typed in the site's time zone, and the labels say which.
    form.opens_at.label.text = _("Opens at (%(zone)s)", zone=zone_label())
    form.closes_at.label.text = _("Closes at (%(zone)s)", zone=zone_label())
    form.item_id.choices = [SelectChoice(item.id, item.title) for item in _votable_items()]
    locale = str(get_locale() or "en")
    form.divisions.choices = [
        SelectChoice(d.id, d.name_for(locale))
        for d in db.session.scalars(select(Division).where(Division.is_active.is_(True)))
    ]
    if request.method == "GET" and request.args.get("item_id", type=int):
        form.item_id.data = request.args.get("item_id", type=int)
    if form.validate_on_submit():
        item = db.session.get(AgendaItem, form.item_id.data)
        if item is None:
            abort(404)
        try:
            ballot = services.open_ballot(
                current_user,
                item,
                opens_at=from_local(form.opens_at.data),
                closes_at=from_local(form.closes_at.data),
                custom_options=(form.custom_options.data or "").splitlines() or None,
                division_ids=form.divisions.data or None,
                quorum_percent=form.quorum_percent.data,
                threshold_percent=form.threshold_percent.data,
                results_live=form.results_live.data,
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return render_template("voting/new.html", form=form), 400
        flash(_("The ballot is set up."), "success")
        return redirect(url_for("voting.ballot", ballot_id=ballot.id))
    return render_template("voting/new.html", form=form), 400 if form.errors else 200


@bp.get("/<int:ballot_id>")
def ballot(ballot_id: int):
    """A ballot: the question, the vote form, live turnout, and results when shown."""
    return _ballot_page(queries.get_ballot(ballot_id))


@bp.post("/<int:ballot_id>/vote")
@login_required
def cast(ballot_id: int):
    """Cast or change one's vote; shows the receipt."""
    ballot = queries.get_ballot(ballot_id)
    form = _vote_form(ballot)
    if not form.validate_on_submit():
        if "choice" in form.errors and form.choice.data not in (None, ""):
            flash(_("That is not one of the ballot's options."), "error")
        elif "choice" in form.errors:
            flash(_("Please choose an option."), "error")
        # Said once: the message above, not again as WTForms' "This field is required."
        form.choice.errors = []
        return _ballot_page(ballot, form, 400)
    result, refused = commit_or_flash(
        lambda: services.cast_vote(ballot.id, current_user, form.choice.data, form.client_id.data)
    )
    if refused:
        return _ballot_page(ballot, form, refused.status_code)
    flash(str(CAST_MESSAGES[result.status]), "success")
    flash(_("Your receipt: %(receipt)s", receipt=result.receipt), "info")
    return redirect(url_for("voting.ballot", ballot_id=ballot.id))


def _closed_ballot(ballot_id: int) -> Ballot:
    ballot = queries.get_ballot(ballot_id)
    if ballot.state != BallotState.CLOSED:
        raise DomainError(
            _("The receipts are published when the ballot closes."), code="not_closed"
        )
    return ballot


@bp.get("/<int:ballot_id>/receipts")
def receipts(ballot_id: int):
    """After close: every receipt with its choice, the recount, and a receipt lookup."""
    ballot = _closed_ballot(ballot_id)
    page = request.args.get("page", 1, type=int)
    lookup = ReceiptLookupForm(request.args)
    found: tuple[str, VoteChannel] | None = None
    searched = None
    if "receipt" in request.args and lookup.validate():
        try:
            searched = services.normalise_receipt(lookup.receipt.data)
        except DomainError as error:
            lookup.receipt.errors = [*lookup.receipt.errors, error.message]
        else:
            found = queries.vote_for_receipt(ballot, searched)
    recount = queries.recount_from_receipts(ballot)
    displayed = (ballot.result or {}).get("counts", {})
    return render_template(
        "voting/receipts.html",
        ballot=ballot,
        item=ballot.item,
        pagination=queries.published_receipts(ballot, page),
        recount=recount,
        displayed=displayed,
        matches=recount == displayed,
        lookup=lookup,
        searched=searched,
        found=found,
        my_receipt=(
            queries.current_receipt(ballot.id, current_user.id)
            if current_user.is_authenticated
            else None
        ),
    )


@bp.get("/<int:ballot_id>/receipts.csv")
def receipts_csv(ballot_id: int):
    """The full published receipts list as CSV, for anyone to recount."""
    ballot = _closed_ballot(ballot_id)

    def rows():
        yield "receipt,choice,channel\r\n"
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for receipt, choice, channel in queries.iter_published_receipts(ballot):
            writer.writerow([receipt, choice, channel.value])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=ballot-{ballot.id}-receipts.csv"},
    )


@bp.get("/<int:ballot_id>/receipts.json")
def receipts_json(ballot_id: int):
    """The full published receipts list and the displayed tally as JSON."""
    ballot = _closed_ballot(ballot_id)
    body = {
        "ballot_id": ballot.id,
        "options": [{"key": k, "label": label} for k, label in ballot.labelled_options()],
        "tally": (ballot.result or {}).get("counts", {}),
        "receipts": [
            {"receipt": receipt, "choice": choice, "channel": channel.value}
            for receipt, choice, channel in queries.iter_published_receipts(ballot)
        ],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")


#: Which field of the paper-ballot form a service refusal is about, by its code.
PAPER_ERROR_FIELDS = {
    "duplicate_slip": "slip_number",
    "bad_slip": "slip_number",
    "voted_online": "voter_id",
    "voted_on_paper": "voter_id",
    "not_eligible": "voter_id",
    "unknown_option": "choice",
    "bad_identity_check": "identity_check",
    "identity_note": "identity_note",
}

#: How many people a voter search lists at most; a longer list means a more precise search.
VOTER_MATCHES = 10


def _open_ballots() -> list[Ballot]:
    """Ballots taking votes now, for the paper-ballot page's picker."""
    now = utcnow()
    return [
        ballot
        for ballot in db.session.scalars(
            select(Ballot)
            .where(Ballot.state == BallotState.OPEN, Ballot.closes_at > now)
            .order_by(Ballot.closes_at)
        )
        if ballot.accepts_votes_at(now)
    ]


def _voter_matches(text: str) -> list[User]:
    """Active members whose name or email contains `text` (case-insensitive)."""
    text = (text or "").strip()
    if len(text) < 2:
        return []
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.is_active_account.is_(True),
                User.display_name.ilike(pattern, escape="\\")
                | User.email.ilike(pattern, escape="\\"),
            )
            .order_by(User.display_name, User.id)
            .limit(VOTER_MATCHES)
        )
    )


def _paper_form(ballot: Ballot | None) -> tuple[PaperBallotForm, list[User]]:
    """The entry form with its choices: the ballot's options, the check methods, and the people
    the typed search finds (plus the one already selected, so a re-rendered form keeps them)."""
    form = PaperBallotForm()
    if not form.client_id.data:
        form.client_id.data = new_client_id()
    if ballot is not None:
        form.choice.choices = [SelectChoice(k, label) for k, label in ballot.labelled_options()]
    form.identity_check.choices = [
        SelectChoice(method.value, str(label)) for method, label in IDENTITY_CHECK_LABELS.items()
    ]
    matches = _voter_matches(form.voter_query.data or "")
    selected = db.session.get(User, form.voter_id.data) if form.voter_id.data else None
    if selected is not None and selected not in matches:
        if request.form.get("action") == "search":
            # A new search is for someone else: never leave the last person silently ticked.
            form.voter_id.data = None
        else:
            matches.insert(0, selected)
    if len(matches) == 1 and not form.voter_id.data:
        form.voter_id.data = matches[0].id
    form.voter_id.choices = [
        SelectChoice(user.id, f"{user.display_name} <{user.email}>") for user in matches
    ]
    return form, matches


def _paper_page(ballot: Ballot | None, form: PaperBallotForm, matches: list[User], status=200):
    return (
        render_template(
            "voting/paper.html",
            ballots=_open_ballots(),
            ballot=ballot,
            accepting=ballot is not None and ballot.accepts_votes_at(utcnow()),
            form=form,
            matches=matches,
            searched=bool((form.voter_query.data or "").strip()),
            recent=queries.recent_paper_entries(),
            check_labels={
                method.value: str(label) for method, label in IDENTITY_CHECK_LABELS.items()
            },
        ),
        status,
    )


@bp.route("/paper", methods=["GET", "POST"])
@role_required(Role.FIELD_OFFICE)
def paper_ballots():
    """Field-office staff enter paper ballots: pick an open ballot, find the voter, type the
    choice, the slip number and how the voter's identity was checked."""
    ballot_id = request.args.get("ballot_id", type=int)
    ballot = db.session.get(Ballot, ballot_id) if ballot_id else None
    if ballot_id and ballot is None:
        abort(404)
    form, matches = _paper_form(ballot)
    if request.method == "GET" or ballot is None:
        return _paper_page(ballot, form, matches)
    if request.form.get("action") == "search":
        # Searching keeps everything typed so far; nothing is checked or written yet.
        return _paper_page(ballot, form, matches)
    if not form.validate_on_submit():
        return _paper_page(ballot, form, matches, 400)
    voter = db.session.get(User, form.voter_id.data)
    if voter is None:
        form.voter_id.errors = [_("Search for the voter and select them.")]
        return _paper_page(ballot, form, matches, 400)
    entry = services.PaperEntry(
        slip_number=form.slip_number.data,
        checked_by=current_user,
        identity_check=form.identity_check.data,
        identity_note=form.identity_note.data or "",
    )
    try:
        result = services.cast_vote(
            ballot.id, voter, form.choice.data, form.client_id.data, paper=entry
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        # The refusal goes next to the field it is about; the rest (a closed ballot) on top.
        field = PAPER_ERROR_FIELDS.get(error.code)
        if field:
            form[field].errors = [*form[field].errors, error.message]
        else:
            flash(error.message, "error")
        return _paper_page(ballot, form, matches, error.status_code)
    flash(
        _(
            "Paper ballot %(slip)s of %(name)s is counted. Their receipt: %(receipt)s",
            slip=services.normalise_slip(form.slip_number.data),
            name=voter.display_name,
            receipt=result.receipt,
        ),
        "success",
    )
    return redirect(url_for("voting.paper_ballots", ballot_id=ballot.id))
