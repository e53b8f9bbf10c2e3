"""People, roles, member categories and divisions."""

import enum
import secrets
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Column, Enum, ForeignKey, Index, String, Table, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from deliberation.core.small_groups import OTHER_GROUPS
from deliberation.db import utcnow
from deliberation.extensions import db


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    FACILITATOR = "facilitator"
    OFFICIAL = "official"
    #: Confirms or declines member-category requests of people in their own divisions.
    COORDINATOR = "coordinator"
    #: Field-office staff: enter paper ballots and register people without a device.
    FIELD_OFFICE = "field_office"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.CITIZEN: _l("Citizen"),
    Role.FACILITATOR: _l("Facilitator"),
    Role.OFFICIAL: _l("Official"),
    Role.COORDINATOR: _l("Division coordinator"),
    Role.FIELD_OFFICE: _l("Field-office staff"),
    Role.ADMIN: _l("Administrator"),
}


class MemberCategory(enum.StrEnum):
    """Which part of the council a person comes from. Never changes a vote's weight."""

    CITIZEN = "citizen"
    WELFARE_ORGANISATION = "welfare_organisation"
    EXPERT = "expert"
    CIVIL_SERVANT = "civil_servant"

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])


CATEGORY_LABELS = {
    MemberCategory.CITIZEN: _l("Citizen"),
    MemberCategory.WELFARE_ORGANISATION: _l("Welfare organisation"),
    MemberCategory.EXPERT: _l("Expert"),
    MemberCategory.CIVIL_SERVANT: _l("Civil servant"),
}


def category_label(value: str) -> str:
    """The translated name of a member category given its stored value (or of the "other
    categories" that published breakdowns add small categories up under)."""
    if value == OTHER_GROUPS:
        return str(_l("Other categories"))
    try:
        return str(CATEGORY_LABELS[MemberCategory(value)])
    except ValueError:
        return value


division_memberships = Table(
    "division_memberships",
    db.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("division_id", ForeignKey("divisions.id", ondelete="CASCADE"), primary_key=True),
)


class Division(db.Model):
    __tablename__ = "divisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable short name used in URLs and seeds, e.g. "elderly".
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_ko: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(2000), default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    members: Mapped[list["User"]] = relationship(
        secondary=division_memberships, back_populates="divisions"
    )

    def name_for(self, locale: str) -> str:
        return self.name_ko if locale == "ko" else self.name_en


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    preferred_language: Mapped[str] = mapped_column(String(5), default="ko")
    member_category: Mapped[MemberCategory] = mapped_column(
        Enum(MemberCategory, native_enum=False, length=30), default=MemberCategory.CITIZEN
    )
    #: For appointed council members: the last day of their term. The day after, the scheduled
    #: job `accounts.end_council_terms` (and a check at login) turns the category back to citizen.
    council_term_end: Mapped[date | None] = mapped_column(default=None)
    council_term_start: Mapped[date | None] = mapped_column(default=None)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    #: Rotated on logout and deactivation: every cookie carrying the old one stops working.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    large_text: Mapped[bool] = mapped_column(default=False)
    #: An IANA zone name ("Europe/Berlin") the person reads times in; None: the site's
    #: DEFAULT_TIMEZONE. Read by Flask-Babel's timezone selector (`core.i18n.select_timezone`).
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    divisions: Mapped[list[Division]] = relationship(
        secondary=division_memberships, back_populates="members", lazy="selectin"
    )

    # Flask-Login: the cookie carries id and session token, so rotating the token logs out.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def roles(self) -> set[Role]:
        return {row.role for row in self.role_rows} | {Role.CITIZEN}

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_facilitator(self) -> bool:
        return self.has_role(Role.FACILITATOR, Role.ADMIN)

    @property
    def is_coordinator_only(self) -> bool:
        """A division coordinator who is not an admin (the menu shows them the review page)."""
        return Role.COORDINATOR in self.roles and not self.is_admin

    @property
    def is_field_office(self) -> bool:
        """Field-office staff (or an admin): enters paper ballots."""
        return self.has_role(Role.FIELD_OFFICE, Role.ADMIN)

    @property
    def is_official(self) -> bool:
        return self.has_role(Role.OFFICIAL, Role.ADMIN)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class CategoryRequestState(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    #: The person chose another category (or citizen) before anyone decided.
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return str(CATEGORY_REQUEST_STATE_LABELS[self])


CATEGORY_REQUEST_STATE_LABELS = {
    CategoryRequestState.PENDING: _l("Waiting for confirmation"),
    CategoryRequestState.CONFIRMED: _l("Confirmed"),
    CategoryRequestState.DECLINED: _l("Not confirmed"),
    CategoryRequestState.WITHDRAWN: _l("Withdrawn"),
}


class CategoryRequest(db.Model):
    """A person asks to take part under a category other than citizen; until an administrator
    (or a coordinator of one of their divisions) confirms it, they count as citizens."""

    __tablename__ = "category_requests"
    __table_args__ = (
        # One open request per person, decided by the database, not by a check-then-insert.
        # The Enum column stores names, hence 'PENDING'.
        Index(
            "uq_category_requests_one_pending",
            "user_id",
            unique=True,
            sqlite_where=text("state = 'PENDING'"),
            postgresql_where=text("state = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    requested_category: Mapped[MemberCategory] = mapped_column(
        Enum(MemberCategory, native_enum=False, length=30)
    )
    state: Mapped[CategoryRequestState] = mapped_column(
        Enum(CategoryRequestState, native_enum=False, length=20),
        default=CategoryRequestState.PENDING,
        index=True,
    )
    #: Why it was declined (or a note on the confirmation), shown to the person.
    reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
