"""Who may do what with accounts: decorators for views that need a role."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from deliberation.accounts.models import Role


def role_required(*roles: Role) -> Callable:
    """The view needs a logged-in person holding one of `roles` (admin always passes)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles, Role.ADMIN):
                abort(403)
            return view(*args, **kwargs)

        #: Read by the route × role tests, so every protected route is checked automatically.
        wrapped.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped

    return decorator


admin_required = role_required(Role.ADMIN)
facilitator_required = role_required(Role.FACILITATOR)
official_required = role_required(Role.OFFICIAL)
