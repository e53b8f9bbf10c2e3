"""Password hashing (argon2id) and the strength rule."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

from deliberation.core.errors import DomainError

MIN_PASSWORD_LENGTH = 10
COMMON_PASSWORDS = frozenset(
    {
        "password", "password1", "password123", "1234567890", "123456789", "12345678",
        "qwertyuiop", "iloveyou12", "letmein123", "welcome123", "admin12345", "passw0rd12",
        "abcdefghij", "qwerty1234", "1q2w3e4r5t", "0987654321", "1111111111", "sunshine12",
    }
)  # fmt: skip


def _hasher() -> PasswordHasher:
    # argon2id with the library's defaults; tests lower the cost through configuration.
    return PasswordHasher(
        time_cost=current_app.config.get("ARGON2_TIME_COST", 3),
        memory_cost=current_app.config.get("ARGON2_MEMORY_KIB", 65536),
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def burn_verification_time() -> None:
    """Spend the time a real check would take, so unknown emails answer as slowly as known ones."""
    verify_password(_dummy_hash(), "not-the-password")


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    key = f"{current_app.config.get('ARGON2_TIME_COST', 3)}"
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("dummy-password-for-timing")
    return _DUMMY[key]


def check_password_strength(password: str, email: str = "") -> None:
    """Raise a DomainError that tells the person how to choose a better password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _("Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
            code="weak_password",
        )
    if len(password) > 256:
        raise DomainError(_("That password is too long."), code="weak_password")
    lowered = password.lower()
    local_part = email.split("@")[0].lower()
    if (
        lowered in COMMON_PASSWORDS
        or len(set(password)) < 4
        or (len(local_part) >= 4 and local_part in lowered)
    ):
        raise DomainError(
            _("That password is too easy to guess. Try a short sentence you will remember."),
            code="weak_password",
        )
