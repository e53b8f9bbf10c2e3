"""Factories for people and divisions, through the real services."""

import itertools

from deliberation.accounts.models import Division, MemberCategory, Role, User
from deliberation.accounts.services import register_user
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.mail.models import ConfirmedAddress

PASSWORD = "correct horse battery"  # noqa: S105
_counter = itertools.count(1)


def make_division(slug: str | None = None) -> Division:
    n = next(_counter)
    division = Division(slug=slug or f"division-{n}", name_en=f"Division {n}", name_ko=f"분과 {n}")
    db.session.add(division)
    db.session.flush()
    return division


def make_user(
    *roles: Role,
    email: str | None = None,
    name: str | None = None,
    category: MemberCategory = MemberCategory.CITIZEN,
    divisions: list[Division] | None = None,
    language: str = "en",
    confirmed: bool = True,
    commit: bool = True,
) -> User:
    n = next(_counter)
    user = register_user(
        display_name=name or f"Person {n}",
        email=email or f"person{n}@example.org",
        password=PASSWORD,
        preferred_language=language,
        member_category=category,
        roles=roles,
    )
    if divisions:
        user.divisions = list(divisions)
    if confirmed:  # like most members, has proved they read their address (mail needs it)
        db.session.flush()
        db.session.add(ConfirmedAddress(user_id=user.id, email=user.email, confirmed_at=utcnow()))
    if commit:
        db.session.commit()
    return user
