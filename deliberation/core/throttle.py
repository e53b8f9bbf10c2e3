"""Per-person rate limits shared by HTTP views and socket handlers (sockets skip Flask-Limiter).

While Redis (the shared store) is away, each process counts in its own memory with the same
limits, as Flask-Limiter does for the HTTP routes (RATELIMIT_IN_MEMORY_FALLBACK_ENABLED): a
person can then do a little more than the limit, once per server process, for the length of
the outage; nobody is refused or crashed for want of Redis (docs/deploy.md, "When something
fails").
"""

import logging

import redis
from flask import current_app
from limits import parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from deliberation.core.errors import RateLimited
from deliberation.core.redis_clients import REDIS_TIMEOUTS

log = logging.getLogger(__name__)

_limiters: dict[str, MovingWindowRateLimiter] = {}
#: Per app: the in-memory windows used while the shared store does not answer.
_fallbacks: dict[int, MovingWindowRateLimiter] = {}


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
    item = parse(limit)
    try:
        allowed = _limiter().hit(item, "madang", action, str(who))
    except (redis.RedisError, StorageError, OSError):
        log.warning("rate limits: Redis does not answer; counting in this process meanwhile")
        app_key = id(current_app._get_current_object())
        fallback = _fallbacks.setdefault(app_key, MovingWindowRateLimiter(MemoryStorage()))
        allowed = fallback.hit(item, "madang", action, str(who))
    if not allowed:
        raise RateLimited(message or "You are doing that too often. Please wait a moment.")
