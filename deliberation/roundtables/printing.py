"""Printable sheets for hall tables: the ideas form, numbered poll slips and the sign-in sheet,
one table's or every table's, in Korean or English, laid out for A4.

The views are registered on the roundtables blueprint by `register_print_views` (routes.py
calls it), so this module never imports routes.py.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import force_locale, format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select
from wtforms import IntegerField, SelectChoice, SelectField, SelectMultipleField
from wtforms.validators import NumberRange
from wtforms.widgets import CheckboxInput, ListWidget

from deliberation.accounts.models import Division, MemberCategory, User
from deliberation.core.forms import CleanTextForm
from deliberation.db import as_utc
from deliberation.extensions import db
from deliberation.roundtables import permissions, sessions
from deliberation.roundtables.models import (
    Participant,
    ParticipantRole,
    RoundtableSession,
    RoundtableTable,
    TableKind,
)
from deliberation.roundtables.slips import slip_number, table_code
from deliberation.roundtables.tables import session_tables

DEFAULT_POLLS = 3
MAX_POLLS = 10
#: Two columns of three: each slip keeps room for large handwriting (about 93 × 88 mm).
SLIPS_PER_PAGE = 6
SHEET_KINDS = ("ideas", "slips", "signin")
SHEET_LABELS = {
    "ideas": _l("Ideas form"),
    "slips": _l("Poll slips"),
    "signin": _l("Sign-in sheet"),
}
SHEET_LANGUAGES = (
    SelectChoice("ko", "한국어", render_kw={"lang": "ko"}),
    SelectChoice("en", "English", render_kw={"lang": "en"}),
)


class PrintOptionsForm(CleanTextForm):
    """What to print: how many polls' slips, which sheets, in which language."""

    class Meta:
        csrf = False  # a read-only GET page

    polls = IntegerField(
        _l("Polls to print slips for"),
        default=DEFAULT_POLLS,
        validators=[NumberRange(1, MAX_POLLS)],
        description=_l("Each seat gets one slip per poll (1 to %(n)d polls).", n=MAX_POLLS),
    )
    sheets = SelectMultipleField(
        _l("Sheets"),
        choices=[SelectChoice(kind, SHEET_LABELS[kind]) for kind in SHEET_KINDS],
        default=list(SHEET_KINDS),
        description=_l("None ticked: all three."),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    lang = SelectField(_l("Language of the sheets"), choices=list(SHEET_LANGUAGES))


@dataclass(frozen=True)
class SignInRow:
    """A seated person as the sign-in sheet prints them (labels are translated in the
    template, in the sheets' language)."""

    name: str
    category: MemberCategory
    division: Division | None


@dataclass
class TableSheets:
    """Everything one table's sheets print."""

    number: int
    code: str
    facilitator: str | None
    seated: list[SignInRow]
    #: Rows the sign-in sheet leaves blank (for people registered on paper at the table).
    blank_rows: int
    #: The slip numbers, SLIPS_PER_PAGE to a printed page.
    slip_pages: list[list[str]] = field(default_factory=list)

    @property
    def slips(self) -> list[str]:
        return [number for page in self.slip_pages for number in page]


def seats_of(session: RoundtableSession, seated: int) -> int:
    """Seats a table prints for: the session's table size, or more if more sit there."""
    return max(session.table_size, seated)


def slip_pages(table_number: int, seats: int, polls: int) -> list[list[str]]:
    """One slip per seat per poll, numbered from 001, grouped by printed page."""
    numbers = [slip_number(table_number, serial) for serial in range(1, seats * polls + 1)]
    return [numbers[i : i + SLIPS_PER_PAGE] for i in range(0, len(numbers), SLIPS_PER_PAGE)]


def tables_sheets(
    session: RoundtableSession, tables: Iterable[RoundtableTable], polls: int
) -> list[TableSheets]:
    """The sheets of these tables, read in two queries whatever the number of tables."""
    tables = list(tables)
    by_table: dict[int, list[tuple[Participant, str]]] = defaultdict(list)
    if tables:
        # Outer join: a paper participant has no account, only the name written down.
        rows = db.session.execute(
            select(Participant, User)
            .outerjoin(User, User.id == Participant.user_id)
            .where(
                Participant.session_id == session.id,
                Participant.table_id.in_([t.id for t in tables]),
            )
        ).all()
        for participant, user in rows:
            name = user.display_name if user is not None else participant.display_name
            by_table[participant.table_id].append((participant, name))
    division_ids = {p.division_id for people in by_table.values() for p, _u in people}
    divisions = {
        d.id: d
        for d in db.session.scalars(select(Division).where(Division.id.in_(division_ids - {None})))
    }
    result = []
    for table in tables:
        people = by_table.get(table.id, [])
        seated = sorted(
            (
                SignInRow(name, p.member_category, divisions.get(p.division_id))
                for p, name in people
                if p.role == ParticipantRole.PARTICIPANT
            ),
            key=lambda row: row.name,
        )
        facilitators = sorted(
            (p.id, name) for p, name in people if p.role == ParticipantRole.TABLE_FACILITATOR
        )
        seats = seats_of(session, len(seated))
        result.append(
            TableSheets(
                number=table.number,
                code=table_code(table.number),
                facilitator=facilitators[0][1] if facilitators else None,
                seated=seated,
                blank_rows=seats - len(seated),
                slip_pages=slip_pages(table.number, seats, polls),
            )
        )
    return result


# --- who may print -----------------------------------------------------------------------


def may_print_table(user: User, session: RoundtableSession, table: RoundtableTable) -> bool:
    """Whoever serves the table's paper people (`permissions.serves_table`) prints its sheets."""
    participant = sessions.find_participant(session.id, user.id)
    return permissions.serves_table(user, session, participant, table.id)


def facilitated_table(user: User, session: RoundtableSession) -> RoundtableTable | None:
    """The table this person facilitates in the session, if any."""
    if not getattr(user, "is_authenticated", False):
        return None
    participant = sessions.find_participant(session.id, user.id)
    if participant is None or participant.role != ParticipantRole.TABLE_FACILITATOR:
        return None
    return participant.table


# --- pages --------------------------------------------------------------------------------


def _options() -> PrintOptionsForm:
    """The print options as asked for in the query string (defaults for what is left out)."""
    form = PrintOptionsForm(request.args or None)
    if not request.args.get("lang"):
        form.lang.data = str(get_locale() or "en")
    return form


def _render(session: RoundtableSession, tables: list[RoundtableTable], *, one_table: bool):
    form = _options()
    valid = form.validate()
    sheets_html = Markup("")
    if valid:
        chosen = [kind for kind in SHEET_KINDS if kind in (form.sheets.data or SHEET_KINDS)]
        sheets = tables_sheets(session, tables, form.polls.data or DEFAULT_POLLS)
        # The sheets in their own language; the page around them stays in the reader's.
        with force_locale(form.lang.data):
            html = render_template(
                "roundtables/print/_sheets.html",
                session=session,
                tables=sheets,
                chosen=chosen,
                lang=form.lang.data,
                # Day and time in the reader's zone, without the long zone name of the pages.
                starts=format_datetime(as_utc(session.starts_at), "yyyy-MM-dd HH:mm"),
            )
        sheets_html = Markup(html)  # noqa: S704 - a template's output, escaped by Jinja
    return render_template(
        "roundtables/print/page.html",
        session=session,
        form=form,
        one_table=one_table,
        tables=tables,
        sheets_html=sheets_html,
        # The options carried over to the one-table links (other keys in the query are dropped).
        options={
            k: request.args.getlist(k) for k in ("polls", "sheets", "lang") if k in request.args
        },
        sheets_lang=form.lang.data if valid else None,
    ), (200 if valid else 400)


def hall_tables(session_id: int) -> list[RoundtableTable]:
    """The tables paper is printed for: hall and mixed ones; every table while the lead has
    marked none as in the hall (the kinds are optional)."""
    tables = session_tables(session_id)
    in_hall = [table for table in tables if table.kind != TableKind.ONLINE]
    return in_hall or tables


@login_required
def print_all(session_id: int):
    """Every table's sheets in one printout (the lead facilitator)."""
    session = db.get_or_404(RoundtableSession, session_id)
    if not permissions.is_lead(current_user, session):
        abort(403)
    return _render(session, hall_tables(session.id), one_table=False)


@login_required
def print_table(session_id: int, number: int):
    """One table's sheets (the lead, field-office staff and the table's facilitator)."""
    session = db.get_or_404(RoundtableSession, session_id)
    table = db.session.scalar(
        select(RoundtableTable).where(
            RoundtableTable.session_id == session.id, RoundtableTable.number == number
        )
    )
    if table is None:
        abort(404)
    if not may_print_table(current_user, session, table):
        abort(403)
    return _render(session, [table], one_table=True)


def print_sheets_link(session: RoundtableSession) -> str | None:
    """For the room: the link to the viewer's table's sheets when they facilitate a table."""
    table = facilitated_table(current_user, session)
    if table is None:
        return None
    return url_for("roundtables.print_table", session_id=session.id, number=table.number)


def register_print_views(bp: Blueprint) -> None:
    """Add the print pages to the roundtables blueprint."""
    bp.add_url_rule("/<int:session_id>/print", view_func=print_all, methods=["GET"])
    bp.add_url_rule(
        "/<int:session_id>/print/tables/<int:number>", view_func=print_table, methods=["GET"]
    )
    bp.add_app_template_global(print_sheets_link, "print_sheets_link")
