"""Per-person rate limits shared by HTTP views and socket handlers (sockets skip Flask-Limiter)."""

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from deliberation.core.errors import RateLimited
from deliberation.core.redis_clients import REDIS_TIMEOUTS

_limiters: dict[str, MovingWindowRateLimiter] = {}


def _limiter() -> MovingWindowRateLimiter:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    key = f"{id(current_app._get_current_object())}:{uri}"  # one store per app (tests make many)
    if key not in _limiters:
        # The memory storage ignores the options; a Redis storage gets the app's timeouts.
        _limiters[key] = MovingWindowRateLimiter(storage_from_string(uri, **REDIS_TIMEOUTS))
    return _limiters[key]


def enforce(action: str, who: object, limit: str, message: str | None = None) -> None:
    """Raise RateLimited when `who` has done `action` more often than `limit` (e.g. "10/minute")."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    if not _limiter().hit(parse(limit), "madang", action, str(who)):
        raise RateLimited(message or "You are doing that too often. Please wait a moment.")
