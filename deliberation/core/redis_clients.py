"""The one place the app makes Redis clients: one per URL and process, always with timeouts."""

import redis

#: Seconds to wait for Redis to accept a connection or answer a command. A stalled Redis
#: then fails one request quickly (callers catch redis.RedisError) instead of hanging every
#: worker. Also handed to the rate limiters' Redis storage (RATELIMIT_STORAGE_OPTIONS).
REDIS_TIMEOUTS: dict[str, float] = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}

_clients: dict[str, redis.Redis] = {}


def redis_client(url: str) -> redis.Redis:
    """The shared client (and connection pool) of this process for the Redis at `url`."""
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, **REDIS_TIMEOUTS)
    return _clients[url]


def message_queue_redis(url: str | None) -> redis.Redis | None:
    """The Redis of the message queue (REDIS_URL), or None when this process is the only one.

    Every feature that keeps state shared by the server processes (the socket index, the
    roundtables' connected counts, the voting sequence numbers) uses it.
    """
    return redis_client(url) if url else None
