"""Roundtable pages: list, create, register, the table room, lead console, theme team,
projector (secret link) and the public results after close."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from deliberation.accounts.permissions import facilitator_required
from deliberation.accounts.queries import all_divisions
from deliberation.core.errors import DomainError
from deliberation.core.i18n import from_local, zone_label
from deliberation.extensions import db
from deliberation.roundtables import permissions, queries, sessions
from deliberation.roundtables.forms import RegisterForm, SessionForm
from deliberation.roundtables.models import (
    PHASE_LABELS,
    STANCES,
    ParticipantRole,
    Phase,
    PollKind,
    RoundtableSession,
    SessionState,
    ThemeDestination,
)
from deliberation.roundtables.rooms import NAMESPACE

bp = Blueprint("roundtables", __name__, url_prefix="/roundtables")


def _session_or_404(session_id: int) -> RoundtableSession:
    session = db.session.get(RoundtableSession, session_id)
    if session is None:
        abort(404)
    return session


def _client_labels() -> dict:
    """Words the page scripts show, translated here (scripts carry no strings of their own)."""
    return {
        "phases": {p.value: str(PHASE_LABELS[p]) for p in Phase},
        "states": {s.value: s.label for s in SessionState},
        "stances": {"agree": _("Agree"), "disagree": _("Disagree"), "pass": _("Pass")},
        "no_timer": _("No time limit"),
        "paused": _("Paused"),
        "left": _("left"),
        "votes": _("votes"),
        "vote_changed": _("Your vote is changed."),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "connected": _("Connected."),
        "seat": _("You are at table %(n)s.", n="{n}"),
        "no_seat": _("You will get a seat when the lead facilitator seats the room."),
        "help_sent": _("The lead facilitator has been asked to help your table."),
        "help_table": _("Table %(n)s asks for help", n="{n}"),
        "clear": _("Answered"),
        "table": _("Table"),
        "no_poll": _("No poll is open."),
        "closed": _("This poll is closed."),
        "submitted": _("Submitted"),
        "draft": _("Not yet submitted"),
        "themes_published": _("Themes published to the room."),
        "no_facilitator": _("no facilitator"),
        "ideas": _("Ideas"),
        "seated": _("Seated / connected"),
        "messages": _("Messages (last minute)"),
        "help": _("Help"),
        "facilitator": _("Facilitator"),
        "merge_into": _("Merge into…"),
        "rename": _("Rename"),
        "change": _("Change my vote"),
        "vote": _("Vote"),
        "done": _("Done."),
        **_room_labels(),
    }


def _room_labels() -> dict:
    """Words of the participant room, the poll view and the projector."""
    return {
        "your_vote": _("Your vote is counted."),
        "your_vote_final": _("Your vote was counted. The poll is closed."),
        "poll_time_left": _("%(t)s left to vote", t="{t}"),
        "poll_time_up": _("Voting time is up; the result follows."),
        "poll_open_untimed": _("Open until the lead facilitator closes it."),
        "poll_final": _("Closed: this is the final result."),
        "poll_watch": _(
            "You follow this poll: only seated participants vote "
            "(facilitators and the theme team stay neutral)."
        ),
        "poll_threshold": _("Passes at %(p)s %% or more.", p="{p}"),
        "poll_passes": _("Passes"),
        "poll_fails": _("Does not pass"),
        "poll_announce": _("A poll is open: %(q)s", q="{q}"),
        "seat_facilitator": _("Your table facilitator: %(name)s", name="{name}"),
        "seat_you_facilitate": _("You facilitate this table."),
        "help_answered": _("The lead facilitator has answered your table's request."),
        "session_closed": _(
            "The session is closed. Chat, ideas and votes are closed; the results are public."
        ),
        "see_results": _("See the results"),
        "more": _("More"),
        "broadcast_heading": _("Messages from the lead facilitator"),
        "themes_heading": _("Themes"),
        **_theme_team_labels(),
    }


def _theme_team_labels() -> dict:
    """Words of the theme team's page."""
    return {
        "theme_no_ideas": _("No ideas in this theme yet: add one below."),
        "theme_ideas": _("Ideas in this theme"),
        "add_idea_to": _("Add an idea to “%(name)s”", name="{name}"),
        "choose_idea": _("Choose an idea"),
        "add": _("Add"),
        "take_out": _("Take out"),
        # Said after the visible "Take out", so the button's name starts with what it shows.
        "take_out_of": _("“%(idea)s” from “%(name)s”", idea="{idea}", name="{name}"),
        "choose_theme": _("Choose a theme"),
        "merge": _("Merge"),
        "merge_confirm": _(
            "Merge “%(a)s” into “%(b)s”? Its ideas move to “%(b)s” and “%(a)s” leaves the list.",
            a="{a}",
            b="{b}",
        ),
        "merged": _("“%(a)s” was merged into “%(b)s”.", a="{a}", b="{b}"),
        "undo": _("Undo the merge"),
        "unmerged": _("“%(a)s” is back with its ideas.", a="{a}"),
        "idea_added": _("Idea added to “%(name)s”.", name="{name}"),
        "idea_removed": _("Idea taken out of “%(name)s”.", name="{name}"),
        "similar_item": _(
            "This name is close to the agenda item “%(title)s” linked to this session: "
            "if it passes, it would repeat that item.",
            title="{title}",
        ),
        "from_table": _("table %(n)s", n="{n}"),
    }


@bp.get("/")
def index():
    """All roundtable sessions: the ones open now and coming up first."""
    page = request.args.get("page", 1, type=int)
    return render_template(
        "roundtables/index.html",
        sessions=queries.sessions_page(page),
        can_create=permissions.can_create_sessions(current_user),
    )


@bp.route("/new", methods=["GET", "POST"])
@facilitator_required
def create():
    """Schedule a new roundtable session (facilitators and admins)."""
    form = SessionForm()
    form.starts_at.label.text = _("Starts at (%(zone)s)", zone=zone_label())
    form.division_id.choices = [
        SelectChoice(d.id, d.name_for(_locale())) for d in all_divisions(True)
    ]
    if form.validate_on_submit():
        try:
            session = sessions.create_session(
                current_user,
                division=next(d for d in all_divisions(True) if d.id == form.division_id.data),
                title=form.title.data,
                briefing=form.briefing.data or "",
                starts_at=from_local(form.starts_at.data) if form.starts_at.data else None,
                capacity=form.capacity.data,
                table_size=form.table_size.data,
                ideas_per_round=form.ideas_per_round.data,
                threshold_percent=form.threshold_percent.data,
                agenda_item_ids=form.agenda_item_ids.data or [],
                theme_destination=ThemeDestination(form.theme_destination.data),
            )
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            if error.code in ("bad_agenda_item", "too_many_items"):
                form.agenda_item_ids.errors = [*form.agenda_item_ids.errors, error.message]
            else:
                flash(error.message, "error")
        else:
            flash(_("The session is scheduled."), "success")
            return redirect(url_for("roundtables.detail", session_id=session.id))
    chosen = set(form.agenda_item_ids.data or []) if form.is_submitted() else set()
    return render_template(
        "roundtables/new.html",
        form=form,
        item_groups=queries.linkable_items_by_division(),
        chosen_items=chosen,
        locale=_locale(),
    ), 400 if form.errors else 200


def _locale() -> str:
    return str(get_locale() or "en")


@bp.get("/<int:session_id>")
def detail(session_id: int):
    """A session: its briefing, state, how many have registered, and how to take part."""
    session = _session_or_404(session_id)
    participant = (
        sessions.find_participant(session.id, current_user.id)
        if current_user.is_authenticated
        else None
    )
    return render_template(
        "roundtables/detail.html",
        session=session,
        participant=participant,
        counts=queries.participant_counts(session.id),
        is_lead=current_user.is_authenticated and permissions.is_lead(current_user, session),
        is_theme_team=current_user.is_authenticated
        and permissions.is_theme_team(current_user, session, participant),
        form=RegisterForm(),
        locale=_locale(),
    )


@bp.post("/<int:session_id>/register")
@login_required
def register(session_id: int):
    """Take a seat in the session (or offer to facilitate a table)."""
    session = _session_or_404(session_id)
    form = RegisterForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return redirect(url_for("roundtables.detail", session_id=session.id))
    role = (
        ParticipantRole.TABLE_FACILITATOR
        if form.as_table_facilitator.data
        else ParticipantRole.PARTICIPANT
    )
    try:
        sessions.register(session, current_user, role)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        if session.state in (SessionState.LOBBY, SessionState.RUNNING):
            flash(_("You are registered. The lobby is open: enter the room now."), "success")
        else:
            flash(_("You are registered. Enter the room when the lobby opens."), "success")
    return redirect(url_for("roundtables.detail", session_id=session.id))


def _page_context(session: RoundtableSession) -> dict:
    return {
        "session": session,
        "namespace": NAMESPACE,
        "labels": _client_labels(),
        "phases": list(Phase),
        "poll_kinds": list(PollKind),
        "stances": STANCES,
    }


@bp.get("/<int:session_id>/room")
@login_required
def room(session_id: int):
    """The participant's table: phase and countdown, table chat, ideas, help and the poll."""
    session = _session_or_404(session_id)
    if session.state == SessionState.CLOSED:
        return redirect(url_for("roundtables.results", session_id=session.id))
    return render_template("roundtables/room.html", **_page_context(session))


@bp.get("/<int:session_id>/console")
@login_required
def console(session_id: int):
    """The lead facilitator's console: every table at a glance, phases, broadcast, polls."""
    session = _session_or_404(session_id)
    if not permissions.is_lead(current_user, session):
        abort(403)
    projector_url = url_for("roundtables.projector", token=session.projector_token, _external=True)
    return render_template(
        "roundtables/console.html", projector_url=projector_url, **_page_context(session)
    )


@bp.get("/<int:session_id>/themes")
@login_required
def themes(session_id: int):
    """The theme team's view: incoming ideas from every table, grouped into themes."""
    session = _session_or_404(session_id)
    participant = sessions.find_participant(session.id, current_user.id)
    if not permissions.is_theme_team(current_user, session, participant):
        abort(403)
    return render_template("roundtables/themes.html", **_page_context(session))


@bp.get("/projector/<token>")
def projector(token: str):
    """The big-screen view for the hall or a stream: phase, countdown, question, live chart."""
    session = permissions.projector_session(token, "page")
    if session is None:
        abort(404)
    return render_template("roundtables/projector.html", token=token, **_page_context(session))


@bp.get("/<int:session_id>/results")
def results(session_id: int):
    """The public record of a closed session: tables, ideas, themes, polls and tallies."""
    session = _session_or_404(session_id)
    if session.state != SessionState.CLOSED:
        flash(_("Results are public once the session closes."), "info")
        return redirect(url_for("roundtables.detail", session_id=session.id))
    return render_template(
        "roundtables/results.html",
        session=session,
        record=queries.session_record(session),
        labels=_client_labels(),
    )


@bp.app_template_global("roundtables_for_item")
def roundtables_for_item_global(item_id: int) -> list[tuple[RoundtableSession, bool]]:
    """For the agenda item page: the roundtables about the item, or that it came from."""
    return queries.sessions_for_item(item_id)
