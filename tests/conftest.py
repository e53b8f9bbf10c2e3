"""Fixtures: a fresh app on a real SQLite file per test, clients, an auth helper, a live server."""

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websockets
from sqlalchemy.exc import OperationalError

from deliberation import create_app
from deliberation.config import TestConfig, postgres_engine_options
from deliberation.core import coalesce
from deliberation.extensions import db
from deliberation.mail import background as mail_background
from deliberation.roundtables import tallies
from loadtest import loadclient
from loadtest.liveserver import LiveServer
from loadtest.serverfork import ServerForker
from scripts import ports
from tests.factories import PASSWORD
from tests.url_builders import reuse_compiled_url_builders

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

reuse_compiled_url_builders()


def _ports_of_this_test_process() -> None:
    """Parallel test processes (pytest-xdist) choose their servers' ports from shares of the
    range of their own (`scripts/ports.py`)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker.startswith("gw") and count > 1:
        ports.use_share(int(worker[2:]), count)


_ports_of_this_test_process()

FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024}


def config_overrides(db_path: Path) -> dict:
    """The app config every test starts from: its own SQLite file and fast password hashing."""
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}", **FAST_ARGON2}


#: The features' database tests, which `--both-databases` runs on PostgreSQL too. Browser and
#: security tests are not repeated (to keep `make test` under 10 minutes), and
#: tests/production runs on PostgreSQL already.
ON_BOTH_DATABASES = (
    "tests/voting/",
    "tests/proposals/",
    "tests/roundtables/",
    "tests/mail/",
    "tests/core/test_bulk.py",
)


def pytest_addoption(parser):
    parser.addoption(
        "--postgres",
        action="store_true",
        help="run every `app` fixture on PostgreSQL: a throwaway cluster, or a fresh database "
        "on the server of MADANG_TEST_DATABASE_URL (which also turns this on)",
    )
    parser.addoption(
        "--both-databases",
        action="store_true",
        help="run the features' database tests (ON_BOTH_DATABASES, browser tests aside) twice, "
        "as [sqlite] and [postgresql], in the same run (`make test`)",
    )


def all_on_postgres(config: pytest.Config) -> bool:
    return bool(config.getoption("--postgres") or os.environ.get("MADANG_TEST_DATABASE_URL"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Under --both-databases a features' test that uses `app` runs once per database: one
    pytest session instead of a second pass, so the test run's workers never wait for a
    pass's last test or start twice."""
    if "app" in metafunc.fixturenames and metafunc.definition.get_closest_marker("postgresql_only"):
        if not all_on_postgres(metafunc.config):
            metafunc.parametrize("database", ["postgresql"], indirect=True)
        return
    if not metafunc.config.getoption("--both-databases") or all_on_postgres(metafunc.config):
        return
    path = metafunc.definition.nodeid.split("::", 1)[0]
    if (
        "app" in metafunc.fixturenames
        and path.startswith(ON_BOTH_DATABASES)
        and metafunc.definition.get_closest_marker("browser") is None
    ):
        metafunc.parametrize("database", ["sqlite", "postgresql"], indirect=True)


def pytest_collection_modifyitems(config, items):
    """`make test` spreads the tests over the cores (pytest-xdist, --dist loadgroup): the
    tests on the production-shaped stack go to one worker, so one stack starts, not one each."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("production-stack"))
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """One fresh PostgreSQL database for the test process, made when a test first asks
    (its tables are emptied after each test)."""
    from scripts.servers import throwaway_postgres_database

    with throwaway_postgres_database(os.environ.get("MADANG_TEST_DATABASE_URL")) as url:
        yield url


@pytest.fixture
def database(request: pytest.FixtureRequest) -> str | None:
    """The PostgreSQL URL the test's `app` uses, or None for its own SQLite file."""
    if all_on_postgres(request.config) or getattr(request, "param", None) == "postgresql":
        return request.getfixturevalue("postgres_url")
    return None


def _empty_every_table() -> None:
    """PostgreSQL mode: the next test starts from empty tables and ids from 1, as on SQLite.

    Background tasks are waited for first; should one still hold a lock (a task this fixture
    does not know of), PostgreSQL breaks the deadlock by failing one side, and the TRUNCATE is
    tried again rather than failing the next test with the last one's rows.
    """
    names = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
    for attempt in range(3):
        try:
            with db.engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '20s'")
                connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            return
        except OperationalError:
            if attempt == 2:
                raise
            time.sleep(0.5)


def wait_for_background_work() -> None:
    """Before a test's app goes: mail jobs (run_due_jobs_once, a close) and coalesced live
    broadcasts (a cast's turnout, a registration's participation split) run in background
    tasks that read the database. Unfinished, they deadlock with TRUNCATE on PostgreSQL, or
    open a connection after the engine's dispose that nobody closes (a ResourceWarning in
    whichever later test the collector runs). Pending broadcasts go now, not at their due
    time: nobody is listening any more, and a room's one-second gap held ~100 teardowns for
    0.8 s each."""
    mail_background.wait_until_idle()
    coalesce.wait_until_idle(hurry=True)
    # The next test's database numbers its sessions from 1 again.
    tallies.forget_room_sizes()


#: PostgreSQL databases of this test process whose tables exist (they are emptied, not
#: dropped, after each test): `create_all` asks for every table in a round trip of its own.
_SCHEMA_CREATED: set[str] = set()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with every table, copied for each test's `app`."""
    path = tmp_path_factory.mktemp("template") / "empty.sqlite3"
    app = create_app(TestConfig, config_overrides(path))
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    return path


@pytest.fixture
def app(tmp_path: Path, database: str | None, sqlite_template: Path):
    overrides = config_overrides(tmp_path / "test.sqlite3")
    if database:
        # A URL of its own per test, as each SQLite test has its own file: process-wide
        # caches keyed by the database URL and an id never mix two tests' rows.
        overrides |= {
            "SQLALCHEMY_DATABASE_URI": f"{database}?application_name={tmp_path.name}",
            "SQLALCHEMY_ENGINE_OPTIONS": postgres_engine_options(),
        }
    else:
        # A copy of an empty database made once per test process: a millisecond, where
        # `create_all` takes about 30 ms per test.
        shutil.copyfile(sqlite_template, tmp_path / "test.sqlite3")
    app = create_app(TestConfig, overrides)
    if database and database not in _SCHEMA_CREATED:
        with app.app_context():
            db.create_all()
        _SCHEMA_CREATED.add(database)
    yield app
    wait_for_background_work()
    with app.app_context():
        db.session.remove()
        if database:
            _empty_every_table()
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf_token_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class AuthActions:
    """Log in and out through the real forms."""

    def __init__(self, client):
        self._client = client

    def csrf(self, path: str = "/login") -> str:
        return csrf_token_from(self._client.get(path).get_data(as_text=True))

    def login(self, email: str, password: str = PASSWORD, **extra):
        token = self.csrf("/login")
        return self._client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token, **extra}
        )

    def logout(self):
        token = self.csrf("/profile")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture(scope="session")
def server_forker() -> Iterator[ServerForker]:
    """One process per test process that has imported the server; live servers fork from it
    (a fresh interpreter spends about 1.2 CPU-s importing, for each of ~70 tests)."""
    forker = ServerForker()
    yield forker
    forker.close()


@pytest.fixture
def live_server(app, tmp_path: Path, server_forker: ServerForker) -> Iterator[LiveServer]:
    """A real server process sharing the test's database; seed through `app` first."""
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    server = LiveServer(
        uri,
        tmp_path / "live-server.log",
        secret_key=TestConfig.SECRET_KEY,
        # A refused polling client waits out the held long-poll when it disconnects.
        env={"SOCKETIO_PING_INTERVAL": "3"},
        start_timeout=30,
        forker=server_forker,
    )
    server.start()
    yield server
    server.stop()


def login_session(base_url: str, email: str, password: str = PASSWORD) -> requests.Session:
    """A requests session logged in through the real login form (for socket clients' cookies)."""
    session = requests.Session()
    page = session.get(base_url + "/login")
    token = csrf_token_from(page.text)
    response = session.post(
        base_url + "/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def cookie_header(session: requests.Session) -> str:
    """A requests session's cookies as one Cookie header (for socket clients)."""
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


def login_cookie(base_url: str, email: str, password: str = PASSWORD) -> str:
    """The Cookie header of a fresh login. The session is closed here: a pooled keep-alive
    socket left to the garbage collector warns (an error) in whichever test collects it."""
    with login_session(base_url, email, password) as session:
        return cookie_header(session)


async def browser_handshake(base_url: str) -> tuple[str | None, list, str]:
    """A WebSocket handshake offering what a browser offers: the server's extension answer,
    the extensions in use and Engine.IO's open packet."""
    async with websockets.connect(
        loadclient.websocket_url(base_url),
        compression=None,
        extensions=loadclient.browser_extensions(),
        proxy=None,
    ) as ws:
        opened = await ws.recv()
        return ws.response.headers.get("Sec-WebSocket-Extensions"), ws.protocol.extensions, opened
