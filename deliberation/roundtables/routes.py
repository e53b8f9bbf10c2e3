"""Roundtable pages: list, create, register, the table room, lead console, theme team,
projector (secret link) and the public results after close."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from deliberation.accounts.models import MemberCategory, Role
from deliberation.accounts.permissions import facilitator_required
from deliberation.accounts.queries import all_divisions
from deliberation.core.errors import DomainError
from deliberation.core.i18n import from_local, zone_label
from deliberation.core.sanitize import UntypableText, clean_text
from deliberation.extensions import db
from deliberation.roundtables import events, permissions, queries, sessions, staffing, tables
from deliberation.roundtables.forms import (
    BulkStaffingForm,
    MergeTableForm,
    RegisterForm,
    RosterConfirmForm,
    RosterForm,
    SessionForm,
)
from deliberation.roundtables.models import (
    PHASE_LABELS,
    PHASE_TRANSITIONS,
    STANCES,
    ParticipantRole,
    PassRule,
    Phase,
    PollKind,
    RoundtableSession,
    SessionState,
    TableKind,
    TakesPart,
    ThemeDestination,
)
from deliberation.roundtables.printing import register_print_views
from deliberation.roundtables.rooms import NAMESPACE
from deliberation.roundtables.staffing import ROSTER_MAX_BYTES
from deliberation.roundtables.tables import session_tables

bp = Blueprint("roundtables", __name__, url_prefix="/roundtables")
register_print_views(bp)  # the printable hall-table sheets (printing.py)


def _client_labels() -> dict:
    """Words the page scripts show, translated here (scripts carry no strings of their own)."""
    return {
        "phases": {p.value: str(PHASE_LABELS[p]) for p in Phase},
        "states": {s.value: s.label for s in SessionState},
        "stances": {"agree": _("Agree"), "disagree": _("Disagree"), "pass": _("Pass")},
        "no_timer": _("No time limit for this phase"),
        "paused": _("Paused"),
        "left": _("left"),
        # "{n} vote(s)" in each plural category the page's language has (Intl.PluralRules)
        "vote_count": {
            "one": ngettext("%(n)s vote", "%(n)s votes", 1, n="{n}"),
            "other": ngettext("%(n)s vote", "%(n)s votes", 2, n="{n}"),
        },
        "vote_changed": _("Your vote is changed."),
        "chat_empty": _("Write a message first."),
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
        "messages": _("Messages (last minute)"),
        "help": _("Help"),
        "facilitator": _("Facilitator"),
        "merge_into": _("Merge into…"),
        "rename": _("Rename"),
        "change": _("Change my vote"),
        "vote": _("Vote"),
        "done": _("Done."),
        "ideas_of": _("%(n)s of %(max)s ideas", n="{n}", max="{max}"),
        "edit": _("Edit"),
        "edit_idea": _("Edit the idea"),
        "delete": _("Delete"),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "idea_saved": _("The idea is saved."),
        "idea_deleted": _("The idea is deleted."),
        "moved": _("The lead facilitator moved you to table %(n)s.", n="{n}"),
        "now_role": _("The lead facilitator made you: %(role)s.", role="{role}"),
        "roles": {r.value: r.label for r in ParticipantRole},
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
        "poll_threshold": _("Passes at %(p)s%% or more.", p="{p}"),
        "poll_threshold_more_than": _("Passes above %(p)s%%.", p="{p}"),
        "poll_passes": _("Passes"),
        "poll_fails": _("Does not pass"),
        "poll_announce": _("A poll is open: %(q)s", q="{q}"),
        "seat_facilitator": _("Your table facilitator: %(name)s", name="{name}"),
        "seat_you_facilitate": _("You facilitate this table."),
        "seat_no_facilitator": _(
            "Your table has no facilitator yet; the lead facilitator is told."
        ),
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
                pass_rule=PassRule(form.pass_rule.data or PassRule.AT_LEAST.value),
                agenda_item_ids=form.agenda_item_ids.data or [],
                theme_destination=ThemeDestination(form.theme_destination.data),
                hall_tables=form.hall_tables.data or 0,
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
    session = db.get_or_404(RoundtableSession, session_id)
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
    session = db.get_or_404(RoundtableSession, session_id)
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
        sessions.register(session, current_user, role, TakesPart(form.takes_part.data))
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
        # the chat inputs' maxlength: the very limit the socket handlers enforce
        "chat_max_chars": tables.CHAT_MAX_CHARS,
    }


@bp.get("/<int:session_id>/room")
@login_required
def room(session_id: int):
    """The participant's table: phase and countdown, table chat, ideas, help and the poll."""
    session = db.get_or_404(RoundtableSession, session_id)
    if session.state == SessionState.CLOSED:
        return redirect(url_for("roundtables.results", session_id=session.id))
    return render_template(
        "roundtables/room.html",
        **_page_context(session),
        # the paper participants' panel (shown to the table facilitator)
        member_categories=list(MemberCategory),
        divisions=all_divisions(True),
        locale=_locale(),
        # field-office staff choose the hall table they enter paper for
        paper_tables=[t for t in session_tables(session.id) if t.kind != TableKind.ONLINE]
        if current_user.has_role(Role.FIELD_OFFICE)
        else None,
        # its options as the lead changes a table's kind (roundtable-paper.js)
        table_kind_labels={kind.value: kind.label for kind in TableKind},
    )


def _console_labels() -> dict:
    """Words the lead's console shows besides the shared ones (see `_client_labels`)."""
    return {
        "transitions": {p.value: sorted(t.value for t in PHASE_TRANSITIONS[p]) for p in Phase},
        "counts": _(
            "Registered %(registered)s · seated %(seated)s · "
            "connected %(connected)s of %(with_device)s with a device · "
            "table facilitators %(facilitators)s · tables without one %(missing)s",
            registered="{registered}",
            seated="{seated}",
            connected="{connected}",
            with_device="{with_device}",
            facilitators="{facilitators}",
            missing="{missing}",
        ),  # fmt: skip
        "shown": _("Showing %(shown)s of %(total)s tables.", shown="{shown}", total="{total}"),
        # paper participants at a table: never connected, and not missing
        "on_paper": _("%(n)s on paper", n="{n}"),
        "never": _("nothing yet"),
        "minutes_ago": _("%(n)s min ago", n="{n}"),
        "just_now": _("just now"),
        "answer": _("Answer table %(n)s", n="{n}"),
        "open_chat": _("Chat of table %(n)s", n="{n}"),
        "chat_short": _("Chat"),
        "seat_missing": _("Tables without a facilitator: %(tables)s.", tables="{tables}"),
        "theme_published": _("published"),
        "theme_draft": _("not yet published"),
        "theme_tables": _("tables %(tables)s", tables="{tables}"),
        "chat_title": _("Chat of table %(n)s", n="{n}"),
        "lead_on_way": _("Table %(n)s is told you are on the way.", n="{n}"),
        "no_messages": _("No messages yet."),
        "ideas_count": _(
            "%(submitted)s sent · %(drafts)s drafts", submitted="{submitted}", drafts="{drafts}"
        ),  # fmt: skip
        "poll_open": _("Poll open"),
        "poll_final": _("Poll closed: final result"),
        "closes_in": _("Closes in %(t)s", t="{t}"),
        "closing": _("Time is up: closing…"),
        "turnout": _(
            "%(voted)s of %(seated)s seated voted (%(pct)s%%)",
            voted="{voted}",
            seated="{seated}",
            pct="{pct}",
        ),  # fmt: skip
        "rule": _("A theme passes with %(rule)s of the votes.", rule="{rule}"),
        # the rule's words, filled in from a tally's `rule` and `threshold_percent`
        "rule_words": {rule.value: rule.words("{n}") for rule in PassRule},
        "passes": _("passes"),
        "fails": _("does not pass"),
        "passing_so_far": _("passing so far"),
        "failing_so_far": _("not passing so far"),
        "done_action": {
            "lobby_open": _("The lobby is open: people can enter."),
            "seat_room": _(
                "The room is seated: %(people)s people at %(tables)s tables.",
                people="{people}",
                tables="{tables}",
            ),  # fmt: skip
            "session_start": _("The session has started with the briefing."),
            "session_close": _("The session is closed."),
            "phase_set": _("The room moved to: %(phase)s.", phase="{phase}"),
            "pause": _("The timer is paused."),
            "resume": _("The timer runs again."),
            "extend": _("One minute added."),
            "end": _("The phase was ended."),
            "broadcast": _("Sent to every table."),
            "poll_open": _("The poll is open."),
            "poll_close": _("The poll is closed."),
            "lead_chat_send": _("Posted in the table's chat."),
        },
        "confirm": {
            "session_close": [
                _("Close the session?"),
                _(
                    "Open polls close, passing themes become agenda items or proposals, and the "
                    "results are published. This cannot be undone."
                ),  # fmt: skip
                _("Close the session"),
            ],
            "end": [
                _("End this phase now?"),
                _("The timer stops and the phase ends for every table. This cannot be undone."),
                _("End the phase"),
            ],
            "poll_close": [
                _("Close the poll?"),
                _("Nobody can vote or change a vote afterwards. This cannot be undone."),
                _("Close the poll"),
            ],
        },
        "closed_title": _("The session is closed"),
        "made_item": _("Agenda item %(id)s", id="{id}"),
        "made_proposal": _("Proposal %(id)s", id="{id}"),
        "made_nothing": _("nothing (did not pass)"),
        "see_results": _("See the public results"),
        "support": _("%(pct)s%% support", pct="{pct}"),
        "no_themes": _("No themes were voted on."),
        "broadcast_at": _("%(time)s: %(text)s", time="{time}", text="{text}"),
    }


@bp.get("/<int:session_id>/console")
@login_required
def console(session_id: int):
    """The lead facilitator's console: every table at a glance, phases, broadcast, polls."""
    session = db.get_or_404(RoundtableSession, session_id)
    if not permissions.is_lead(current_user, session):
        abort(403)
    projector_url = url_for("roundtables.projector", token=session.projector_token, _external=True)
    context = _page_context(session)
    context["labels"] = {**context["labels"], **_console_labels()}
    return render_template("roundtables/console.html", projector_url=projector_url, **context)


@bp.get("/<int:session_id>/themes")
@login_required
def themes(session_id: int):
    """The theme team's view: incoming ideas from every table, grouped into themes."""
    session = db.get_or_404(RoundtableSession, session_id)
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
    session = db.get_or_404(RoundtableSession, session_id)
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


# --- staffing: the people page (lead and admins) --------------------------------------------


def _lead_session_or_403(session_id: int) -> RoundtableSession:
    session = db.get_or_404(RoundtableSession, session_id)
    if not permissions.is_lead(current_user, session):
        abort(403)
    return session


def _people_filters() -> dict[str, str]:
    """The people page's filters as they came in the query string (kept across actions)."""
    keys = ("q", "table", "role", "category", "connected", "page")
    return {k: request.args[k] for k in keys if request.args.get(k)}


def _back_to_people(session: RoundtableSession):
    return redirect(url_for("roundtables.people", session_id=session.id, **_people_filters()))


def _table_choices(session: RoundtableSession, first: str) -> list[SelectChoice]:
    tables = session_tables(session.id)
    return [SelectChoice(0, first)] + [
        SelectChoice(t.id, _("Table %(n)d", n=t.number)) for t in tables
    ]


def _people_page(session: RoundtableSession, roster_form: RosterForm | None = None, status=200):
    filters = request.args
    role = (
        filters.get("role") if filters.get("role") in {r.value for r in ParticipantRole} else None
    )
    category = (
        filters.get("category")
        if filters.get("category") in {c.value for c in MemberCategory}
        else None
    )
    table_id = filters.get("table", type=int)
    connected_ids = events.connected_user_ids(session.id)
    page = queries.people_page(
        session,
        name=filters.get("q", "")[:80],
        table_id=table_id,
        role=ParticipantRole(role) if role else None,
        category=MemberCategory(category) if category else None,
        user_ids=connected_ids if filters.get("connected") == "1" else None,
        page=filters.get("page", 1, type=int),
    )
    bulk = BulkStaffingForm()
    bulk.table_id.choices = _table_choices(session, _("Choose a table"))
    merge = MergeTableForm()
    bare = staffing.tables_without_facilitator(session.id)
    merge.table_id.choices = [SelectChoice(t.id, _("Table %(n)d", n=t.number)) for t in bare]
    merge.into_id.choices = _table_choices(session, _("The nearest table with a facilitator"))
    return render_template(
        "roundtables/people.html",
        session=session,
        people=page,
        tables=session_tables(session.id),
        counts=queries.participant_counts(session.id),
        bare_tables=bare,
        connected_ids=connected_ids,
        bulk_form=bulk,
        merge_form=merge,
        roster_form=roster_form or RosterForm(),
        roles=list(ParticipantRole),
        categories=list(MemberCategory),
        filters=_people_filters(),
        pager_filters={k: v for k, v in _people_filters().items() if k != "page"},
    ), status


@bp.get("/<int:session_id>/people")
@login_required
def people(session_id: int):
    """The lead's list of everyone registered: find, filter, give roles, move, import a roster."""
    return _people_page(_lead_session_or_403(session_id))


@bp.post("/<int:session_id>/people/bulk")
@login_required
def people_bulk(session_id: int):
    """Give the people ticked a role, or move them to a table (all or nothing)."""
    session = _lead_session_or_403(session_id)
    form = BulkStaffingForm()
    form.table_id.choices = _table_choices(session, "")
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return _back_to_people(session)
    ids = [int(v) for v in request.form.getlist("participant_ids") if v.isdigit()]
    try:
        table = tables.get_table(session, form.table_id.data) if form.table_id.data else None
        count = staffing.apply_to_people(current_user, session, ids, form.action.data, table)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(ngettext("Done for %(num)d person.", "Done for %(num)d people.", count), "success")
    return _back_to_people(session)


def _roster_text(form: RosterForm) -> str:
    upload = form.roster_file.data
    if upload is not None and getattr(upload, "filename", ""):
        raw = upload.read(ROSTER_MAX_BYTES + 1)
        if len(raw) > ROSTER_MAX_BYTES:
            raise DomainError(_("The roster is too large (at most 512 KB)."), code="too_large")
        try:
            return clean_text(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            raise DomainError(_("Save the roster as UTF-8 CSV."), code="bad_encoding") from error
    return form.roster_text.data or ""


@bp.post("/<int:session_id>/people/import")
@login_required
def people_import(session_id: int):
    """Check a roster and show what each row would do; nothing changes until it is confirmed."""
    session = _lead_session_or_403(session_id)
    form = RosterForm()
    if not form.validate_on_submit():
        return _people_page(session, form, 400)
    try:
        text = _roster_text(form)
        result = staffing.import_roster(current_user, session, text)
    except (DomainError, UntypableText) as error:
        db.session.rollback()
        form.roster_text.errors = [*form.roster_text.errors, error.message]
        return _people_page(session, form, 400)
    finally:
        db.session.rollback()  # a preview: every row was tried, none is kept
    return render_template(
        "roundtables/roster_preview.html",
        session=session,
        result=result,
        confirm_form=RosterConfirmForm(roster_text=text),
    )


@bp.post("/<int:session_id>/people/import/confirm")
@login_required
def people_import_confirm(session_id: int):
    """Apply a previewed roster in one transaction (rows with errors are skipped)."""
    session = _lead_session_or_403(session_id)
    form = RosterConfirmForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return _back_to_people(session)
    try:
        result = staffing.import_roster(current_user, session, form.roster_text.data)
        if result.error:
            raise DomainError(result.error, code="bad_roster")
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(
            _(
                "Roster imported. Rows applied: %(good)d; skipped: %(bad)d.",
                good=result.good,
                bad=result.bad,
            ),
            "success",
        )
    return _back_to_people(session)


@bp.post("/<int:session_id>/people/merge")
@login_required
def people_merge(session_id: int):
    """Merge a table without a facilitator into a neighbour."""
    session = _lead_session_or_403(session_id)
    form = MergeTableForm()
    if not form.validate_on_submit():
        flash(_("The form expired. Please try again."), "error")
        return _back_to_people(session)
    try:
        table = tables.get_table(session, form.table_id.data or 0)
        into = tables.get_table(session, form.into_id.data) if form.into_id.data else None
        merged = staffing.merge_table(current_user, session, table, into)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(
            _(
                "Table %(n)d merged into table %(into)d (%(moved)d people moved).",
                n=merged["number"],
                into=merged["into_number"],
                moved=merged["moved"],
            ),
            "success",
        )
    return _back_to_people(session)
