"""Configuration classes, read from the environment."""

import os
import secrets
from pathlib import Path

from deliberation.core.redis_clients import REDIS_TIMEOUTS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one kept in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
    return key_file.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the old driver; SQLAlchemy 2 wants psycopg 3 explicitly.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgres://")
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
    INSTANCE_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'madang.sqlite3'}"


def postgres_engine_options() -> dict:
    """PostgreSQL engine options: a pool sized for a gevent worker, every session in UTC.

    A fixed pool, no overflow: a connection beyond the pool is opened for one burst and
    closed when it is handed back (a fork and an authentication on the server each time);
    at 5,000 people the re-joins and the chat opened and closed them by the dozen (py-spy:
    ~5 % of the chat step). Thousands of greenlets queue for the pool instead; each holds a
    connection for a few milliseconds.

    The pool hands out the connection handed back last (`pool_use_lifo`): the vote writer's
    batches then run on the few connections whose statements psycopg has already prepared
    (it prepares one after five runs on a connection) and whose server process has the
    tables' catalogue cached, instead of going round all twenty. PostgreSQL's CPU in a
    3,000-person poll: 0.16-0.18 s instead of 0.20-0.22 with one worker, 0.25-0.29 instead
    of 0.34-0.39 with two.

    Columns are `timestamp without time zone` holding UTC; a server whose default time zone is
    not UTC (Asia/Seoul) would otherwise shift every aware datetime on the way in.
    """
    return {
        "pool_pre_ping": True,
        "pool_use_lifo": True,
        "pool_size": int(os.environ.get("DATABASE_POOL_SIZE", "20")),
        "max_overflow": int(os.environ.get("DATABASE_MAX_OVERFLOW", "0")),
        "pool_timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "30")),
        "connect_args": {"options": "-c timezone=UTC"},
    }


def _engine_options(url: str) -> dict:
    return postgres_engine_options() if url.startswith("postgresql") else {"pool_pre_ping": True}


class Config:
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS: dict = _engine_options(SQLALCHEMY_DATABASE_URI)
    REDIS_URL = os.environ.get("REDIS_URL")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    BABEL_DEFAULT_LOCALE = "en"
    #: The time zone pages show times in (stored times are UTC); named beside every time.
    DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Asia/Seoul")
    LANGUAGES = ("en", "ko")
    #: Set explicitly: Flask-Limiter would otherwise inherit the previous app's setting.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    #: Flask-Limiter's Redis client gets the timeouts of every other Redis client of the app.
    RATELIMIT_STORAGE_OPTIONS = dict(REDIS_TIMEOUTS)
    RATELIMIT_HEADERS_ENABLED = True
    #: While Redis is away, count in each process's memory with the same limits (deploy.md).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_LIMIT_PER_IP = "20 per minute"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per minute"
    #: Socket.IO async mode; the server entry point sets "gevent" after monkey-patching.
    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    #: Largest Socket.IO message accepted; the app never needs more than a long comment.
    SOCKETIO_MAX_MESSAGE_BYTES = 64 * 1024
    #: Seconds between Engine.IO pings; also how long a polling request may be held open.
    SOCKETIO_PING_INTERVAL = int(os.environ.get("SOCKETIO_PING_INTERVAL", "25"))
    #: Extra origins allowed to open sockets (comma-separated); same-origin is always allowed.
    SOCKETIO_EXTRA_ORIGINS = [o for o in os.environ.get("SOCKETIO_ORIGINS", "").split(",") if o]
    PROPOSAL_RESPONSE_DAYS = int(os.environ.get("PROPOSAL_RESPONSE_DAYS", "30"))
    #: A proposal's implementation is contested when more than this share of at least
    #: FEEDBACK_CONTESTED_MINIMUM judgements say "not satisfied" (per site).
    FEEDBACK_CONTESTED_SHARE = float(os.environ.get("FEEDBACK_CONTESTED_SHARE", "0.5"))
    FEEDBACK_CONTESTED_MINIMUM = int(os.environ.get("FEEDBACK_CONTESTED_MINIMUM", "5"))
    RUN_SCHEDULER = os.environ.get("RUN_SCHEDULER", "1") == "1"
    #: How many reverse proxies (nginx) stand in front of the app; their X-Forwarded-For and
    #: X-Forwarded-Proto are trusted (werkzeug ProxyFix in wsgi.py). 0: none, trust nothing.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
    #: Outgoing mail. Without MAIL_SERVER (the demo) mail is written to the log and kept on the
    #: admin Outbox page instead of being sent.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Madang <no-reply@madang.local>")
    #: Attempts before a message is marked failed (then an admin may retry it); the wait
    #: doubles after each failed attempt, starting at MAIL_RETRY_BASE_S.
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "8"))
    MAIL_RETRY_BASE_S = float(os.environ.get("MAIL_RETRY_BASE_S", "30"))
    MAIL_TIMEOUT_S = float(os.environ.get("MAIL_TIMEOUT_S", "10"))
    #: The site's public address for links in mail; when unset, the address of the request that
    #: queued the mail (the demo), or http://127.0.0.1:5000 for mail queued by a background job.
    SITE_URL = os.environ.get("SITE_URL") or None
    TESTING = False


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
    SECRET_KEY = "test-secret-key"  # noqa: S105 - fixed key for reproducible tests only
    RUN_SCHEDULER = False


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "gevent")
    #: Several processes serve production: periodic jobs run only where RUN_SCHEDULER=1 is
    #: set explicitly (one process: `python -m scripts.run_scheduler`), never by default.
    RUN_SCHEDULER = os.environ.get("RUN_SCHEDULER", "0") == "1"


def config_for_environment() -> type[Config]:
    """MADANG_ENV=production selects ProductionConfig; anything else the embedded default."""
    return ProductionConfig if os.environ.get("MADANG_ENV") == "production" else Config
