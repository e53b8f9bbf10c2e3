"""Every write to accounts, roles and divisions, with its rules."""

from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from deliberation.accounts.models import (
    Division,
    MemberCategory,
    Role,
    User,
    UserRole,
    new_session_token,
)
from deliberation.accounts.passwords import (
    burn_verification_time,
    check_password_strength,
    hash_password,
    verify_password,
)
from deliberation.core import audit
from deliberation.core.errors import DomainError, NotFound
from deliberation.extensions import db

RESET_TOKEN_MAX_AGE_S = 3600
#: An appointed member's invitation link (the reset mechanism with a longer life).
INVITATION_MAX_AGE_S = 14 * 24 * 3600


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def register_user(
    *,
    display_name: str,
    email: str,
    password: str,
    preferred_language: str = "ko",
    member_category: MemberCategory = MemberCategory.CITIZEN,
    roles: tuple[Role, ...] = (),
) -> User:
    """Create an account; refuses a taken email or a weak password.

    `member_category` is trusted as given: the registration page passes citizen and files any
    other choice as a request (`categories.choose_category`); seeds and the roster import pass
    verified categories.
    """
    email = normalise_email(email)
    check_password_strength(password, email)
    if find_user_by_email(email) is not None:
        raise DomainError(_("An account with that email already exists."), code="email_taken")
    user = User(
        display_name=display_name.strip(),
        email=email,
        password_hash=hash_password(password),
        preferred_language=preferred_language,
        member_category=member_category,
    )
    user.role_rows = [UserRole(role=role) for role in set(roles) if role != Role.CITIZEN]
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:  # a concurrent registration won the race
        raise DomainError(
            _("An account with that email already exists."), code="email_taken"
        ) from error
    audit.record("user.register", "user", user.id, actor_id=user.id)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None; as slow for unknown emails as known."""
    user = find_user_by_email(email)
    if user is None:
        burn_verification_time()
        return None
    if not verify_password(user.password_hash, password) or not user.is_active_account:
        return None
    return user


def end_all_sessions(user: User) -> None:
    """Invalidate every cookie and socket of this person (logout, deactivation)."""
    user.session_token = new_session_token()


def update_profile(
    user: User,
    *,
    display_name: str,
    preferred_language: str,
    large_text: bool,
    timezone: str | None = None,
) -> None:
    """Save what a person says about themselves (their category goes through
    `categories.choose_category`: only citizen is taken at their word)."""
    user.display_name = display_name.strip()
    user.preferred_language = preferred_language
    user.large_text = large_text
    user.timezone = timezone or None  # empty: the site's zone
    audit.record("user.update_profile", "user", user.id, actor_id=user.id)


def set_roles(actor: User, user: User, roles: set[Role]) -> None:
    """Replace a person's roles (citizen is implied). An admin cannot drop their own admin role."""
    if user.id == actor.id and Role.ADMIN not in roles:
        raise DomainError(_("You cannot remove your own administrator role."), code="self_demote")
    wanted = {role for role in roles if role != Role.CITIZEN}
    user.role_rows = [row for row in user.role_rows if row.role in wanted]
    have = {row.role for row in user.role_rows}
    user.role_rows.extend(UserRole(role=role) for role in wanted - have)
    audit.record(
        "user.set_roles", "user", user.id, actor_id=actor.id, roles=sorted(r.value for r in wanted)
    )


def set_active(actor: User, user: User, active: bool) -> None:
    """Deactivate (ending every session at once) or reactivate an account."""
    if user.id == actor.id and not active:
        raise DomainError(_("You cannot deactivate yourself."), code="self_deactivate")
    user.is_active_account = active
    if not active:
        end_all_sessions(user)
    audit.record(
        "user.activate" if active else "user.deactivate", "user", user.id, actor_id=actor.id
    )


def set_divisions(actor: User, user: User, division_ids: list[int]) -> None:
    """Set which divisions a person belongs to."""
    divisions = list(db.session.scalars(select(Division).where(Division.id.in_(division_ids))))
    user.divisions = divisions
    audit.record(
        "user.set_divisions", "user", user.id, actor_id=actor.id, divisions=sorted(division_ids)
    )


def save_division(
    actor: User,
    *,
    slug: str,
    name_en: str,
    name_ko: str,
    description: str = "",
    is_active: bool = True,
    division: Division | None = None,
) -> Division:
    """Create a division, or update one; slugs are unique."""
    slug = slug.strip().lower()
    clash = db.session.scalar(select(Division).where(Division.slug == slug))
    if clash is not None and clash is not division:
        raise DomainError(_("A division with that short name already exists."), code="slug_taken")
    if division is None:
        division = Division(slug=slug)
        db.session.add(division)
    division.slug = slug
    division.name_en = name_en.strip()
    division.name_ko = name_ko.strip()
    division.description = description.strip()
    division.is_active = is_active
    db.session.flush()
    audit.record("division.save", "division", division.id, actor_id=actor.id, slug=slug)
    return division


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such person."))
    return user


def count_users() -> int:
    return db.session.scalar(select(func.count(User.id))) or 0


# Password reset: a signed token that dies once the password changes (it signs the old hash).
def _reset_serializer(secret_key: str, salt: str = "password-reset") -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def make_reset_token(user: User, secret_key: str) -> str:
    return _reset_serializer(secret_key).dumps([user.id, user.password_hash[-16:]])


def make_invitation_token(user: User, secret_key: str) -> str:
    """A link for an imported member to choose their first password; dies once they do."""
    return _reset_serializer(secret_key, "invitation").dumps([user.id, user.password_hash[-16:]])


def reset_password(
    token: str, new_password: str, secret_key: str, *, invitation: bool = False
) -> User:
    """Set a new password from a reset (or invitation) link; the link then stops working."""
    salt, max_age = (
        ("invitation", INVITATION_MAX_AGE_S)
        if invitation
        else ("password-reset", RESET_TOKEN_MAX_AGE_S)
    )
    try:
        user_id, fingerprint = _reset_serializer(secret_key, salt).loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired, ValueError, TypeError) as error:
        raise DomainError(
            _("That reset link is invalid or has expired."), code="bad_token"
        ) from error
    user = db.session.get(User, user_id)
    if user is None or user.password_hash[-16:] != fingerprint:
        raise DomainError(_("That reset link is invalid or has expired."), code="bad_token")
    check_password_strength(new_password, user.email)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)
    audit.record("user.reset_password", "user", user.id, actor_id=user.id)
    return user
