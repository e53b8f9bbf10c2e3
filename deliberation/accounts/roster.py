"""The council roster: an admin imports appointed members from a CSV file, with a preview.

Columns: name, email, category, divisions, term_start, term_end. `divisions` holds division
short names separated by ";". Dates are YYYY-MM-DD. Row numbers count the header as row 1, as a
spreadsheet shows them.
"""

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError, validate_email
from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from deliberation.accounts.categories import pending_request_of, withdraw_request
from deliberation.accounts.models import Division, MemberCategory, User
from deliberation.accounts.services import (
    find_user_by_email,
    make_invitation_token,
    normalise_email,
)
from deliberation.core import audit
from deliberation.core.errors import DomainError
from deliberation.core.sanitize import UntypableText, clean_text
from deliberation.extensions import db
from deliberation.mail.models import MailKind
from deliberation.mail.services import _links_for, queue_mail

COLUMNS = ("name", "email", "category", "divisions", "term_start", "term_end")
MAX_ROWS = 2000
MAX_BYTES = 1024 * 1024
#: Not an argon2 hash: nobody can log in with a password until they set one from the invitation.
NO_PASSWORD_PREFIX = "!invited:"  # noqa: S105 - a marker, not a password


@dataclass
class RosterRow:
    number: int
    name: str = ""
    email: str = ""
    category: MemberCategory | None = None
    divisions: list[Division] = field(default_factory=list)
    term_start: date | None = None
    term_end: date | None = None
    #: True when an account with this email exists: it is appointed, not created.
    existing: bool = False
    errors: list[str] = field(default_factory=list)


@dataclass
class RosterPreview:
    rows: list[RosterRow]
    #: Errors about the file as a whole (no header, too many rows).
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and all(not row.errors for row in self.rows)

    @property
    def error_rows(self) -> list[RosterRow]:
        return [row for row in self.rows if row.errors]


def _category_lookup() -> dict[str, MemberCategory]:
    """A category by its stored value, its English name or its Korean name."""
    lookup = {category.value: category for category in MemberCategory}
    lookup.update(
        {
            "welfare organisation": MemberCategory.WELFARE_ORGANISATION,
            "welfare organization": MemberCategory.WELFARE_ORGANISATION,
            "civil servant": MemberCategory.CIVIL_SERVANT,
            "시민": MemberCategory.CITIZEN,
            "복지기관": MemberCategory.WELFARE_ORGANISATION,
            "복지 기관": MemberCategory.WELFARE_ORGANISATION,
            "전문가": MemberCategory.EXPERT,
            "공무원": MemberCategory.CIVIL_SERVANT,
        }
    )
    return lookup


def _parse_date(text: str, row: RosterRow, column: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        row.errors.append(
            _("%(column)s is not a date like 2026-03-01: %(value)s", column=column, value=text)
        )
        return None


def _is_email(text: str) -> bool:
    """The check the registration form makes (wtforms' Email uses email_validator)."""
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return len(text) <= 254


def parse_roster(text: str) -> RosterPreview:
    """Read a roster and check every row, changing nothing; the preview lists each row's errors."""
    try:
        text = clean_text(text.lstrip("\ufeff"))  # a spreadsheet's BOM, then the site's cleaner
    except UntypableText as error:
        return RosterPreview(rows=[], errors=[error.message])
    reader = csv.reader(io.StringIO(text))
    header = [cell.strip().lower() for cell in next(reader, [])]
    if tuple(header) != COLUMNS:
        return RosterPreview(
            rows=[],
            errors=[_("The first row must be: %(columns)s", columns=",".join(COLUMNS))],
        )
    divisions = {d.slug: d for d in db.session.scalars(select(Division))}
    categories = _category_lookup()
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) >= MAX_ROWS:
            return RosterPreview(rows=[], errors=[_("At most %(n)d rows per file.", n=MAX_ROWS)])
        row = RosterRow(number=number)
        rows.append(row)
        if len(cells) != len(COLUMNS):
            row.errors.append(
                _("Expected %(n)d columns, found %(found)d.", n=len(COLUMNS), found=len(cells))
            )
            continue
        name, email, category, division_text, start, end = (cell.strip() for cell in cells)
        row.name, row.email = name[:80], normalise_email(email)
        if not name:
            row.errors.append(_("The name is missing."))
        elif len(name) > 80:
            row.errors.append(_("The name is longer than 80 characters."))
        if not _is_email(row.email):
            row.errors.append(_("Not an email address: %(value)s", value=email))
        elif row.email in seen:
            row.errors.append(_("The same email is on row %(row)d.", row=seen[row.email]))
        else:
            seen[row.email] = number
            row.existing = find_user_by_email(row.email) is not None
        row.category = categories.get(category.lower())
        if row.category is None:
            row.errors.append(_("Unknown category: %(value)s", value=category))
        for slug in filter(None, (s.strip().lower() for s in division_text.split(";"))):
            if slug in divisions:
                row.divisions.append(divisions[slug])
            else:
                row.errors.append(_("Unknown division: %(value)s", value=slug))
        row.term_start = _parse_date(start, row, "term_start")
        row.term_end = _parse_date(end, row, "term_end")
        if row.term_start and row.term_end and row.term_end < row.term_start:
            row.errors.append(_("The term ends before it starts."))
    if not rows:
        return RosterPreview(rows=[], errors=[_("The file has no members.")])
    return RosterPreview(rows=rows)


def import_roster(actor: User, text: str) -> list[User]:
    """Create or appoint every member of a checked roster and mail each an invitation.

    All or nothing: a single bad row refuses the whole file, so a fixed file can be sent again.
    """
    preview = parse_roster(text)
    if not preview.ok:
        raise DomainError(_("The roster has errors; nothing was imported."), code="bad_roster")
    members: list[User] = []
    for row in preview.rows:
        assert row.category is not None  # noqa: S101 - parse_roster refused the row otherwise
        user = find_user_by_email(row.email) if row.existing else None
        created = user is None
        if user is None:
            user = User(
                email=row.email,
                display_name=row.name,
                password_hash=NO_PASSWORD_PREFIX + secrets.token_urlsafe(32),
            )
            db.session.add(user)
        pending = None if created else pending_request_of(user)
        if pending is not None:  # the roster decides: an open request has nothing left to ask
            withdraw_request(pending, actor.id)
        user.member_category = row.category
        user.council_term_start, user.council_term_end = row.term_start, row.term_end
        user.divisions = sorted({*user.divisions, *row.divisions}, key=lambda d: d.id)
        db.session.flush()
        audit.record(
            "user.appoint",
            "user",
            user.id,
            actor_id=actor.id,
            category=row.category.value,
            divisions=sorted(d.slug for d in row.divisions),
            term_end=row.term_end.isoformat() if row.term_end else None,
            created=created,
            row=row.number,
        )
        _queue_invitation(user, created)
        members.append(user)
    audit.record("roster.import", "user", None, actor_id=actor.id, members=len(members))
    return members


def _queue_invitation(user: User, created: bool) -> None:
    """Mail a new member a link to choose a password; tell an existing one what changed."""
    with _links_for(user.preferred_language):
        category = user.member_category.label
        term = user.council_term_end.isoformat() if user.council_term_end else "—"
        if created:
            link = url_for(
                "accounts.accept_invitation",
                token=make_invitation_token(user, current_app.config["SECRET_KEY"]),
                _external=True,
            )
            subject = _("You are invited to Madang as a council member")
            body = _(
                "You are a member of the council as %(category)s until %(term)s. Choose a "
                "password to take part (the link works for 14 days):\n\n%(link)s",
                category=category,
                term=term,
                link=link,
            )
        else:
            subject = _("You are a council member in Madang")
            body = _(
                "Your account now takes part as %(category)s, as an appointed member of the "
                "council until %(term)s.",
                category=category,
                term=term,
            )
    queue_mail(MailKind.GENERAL, user=user, subject=subject, context={"body": body})
