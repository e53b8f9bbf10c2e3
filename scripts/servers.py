"""The local stack's servers, one class each: a private PostgreSQL cluster, Redis, a gunicorn
app worker and nginx, all on 127.0.0.1 (and a throwaway PostgreSQL database for the tests).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from scripts.ports import free_port
from scripts.processes import (
    PROJECT_ROOT,
    Process,
    StackError,
    child_setup,
    chown_to,
    http_ok,
    service_user,
    wait_until,
    write_private,
)

DEPLOY_DIR = PROJECT_ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """The newest installed PostgreSQL's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise StackError(
        "PostgreSQL is not installed: run `make services` (scripts/ensure-services.sh)"
    )


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster: superuser `postgres` over its Unix socket (trust), every
    TCP connection on 127.0.0.1 with a password (scram-sha-256)."""

    directory: Path
    port: int
    #: Durability off (fsync, synchronous_commit): only for throwaway test clusters.
    for_tests: bool = False
    #: The server's default time zone; the app must store UTC whatever this is.
    timezone: str = "Asia/Seoul"
    process: Process = field(init=False)

    def __post_init__(self) -> None:
        self.data_dir = self.directory / "data"
        self.socket_dir = self.directory / "socket"
        self.process = Process("postgres", self.directory / "postgres.log")
        self.user = service_user()

    def start(self) -> None:
        bindir = postgres_bindir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        for path in (self.directory, self.socket_dir):
            chown_to(path, self.user)
        os.chmod(self.directory, 0o755)  # noqa: S103 - postgres must reach its data dir
        if not (self.data_dir / "PG_VERSION").exists():
            initdb = subprocess.run(  # noqa: S603
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],  # fmt: skip
                capture_output=True,
                text=True,
                preexec_fn=child_setup(self.user, signal.SIGTERM),  # noqa: PLW1509
                timeout=120,
            )
            if initdb.returncode != 0:
                raise StackError(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        settings = {
            "listen_addresses": LOOPBACK,
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "max_connections": "300",
            "shared_buffers": "128MB",
            "timezone": self.timezone,
            "log_min_messages": "warning",
        }
        if self.for_tests:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        argv = [str(bindir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        stale_pid = self.data_dir / "postmaster.pid"
        if stale_pid.exists():
            self._remove_stale_pid(stale_pid)
        # SIGINT is PostgreSQL's "fast shutdown": the right signal when the parent dies.
        self.process.start(argv, run_as=self.user, death_signal=signal.SIGINT)
        wait_until(self._accepts, 60, "PostgreSQL", self.process.log_path)

    def _remove_stale_pid(self, pid_file: Path) -> None:
        """A cluster left by a killed run: stop it if it still runs, else drop its pid file."""
        try:
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGINT)
        for _ in range(100):
            if not pid_file.exists():
                return
            time.sleep(0.1)
        raise StackError(f"an older PostgreSQL (pid {pid}) still runs on {self.data_dir}")

    def _accepts(self) -> bool:
        self.process.check_alive()
        try:
            with self.connect_admin():
                return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def connect_admin(self, dbname: str = "postgres"):
        """A superuser connection over the Unix socket (autocommit)."""
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
            connect_timeout=3,
        )

    def create_role_and_database(self, role: str, password: str, database: str) -> None:
        """The app's own login role (not a superuser) owning its database; both idempotent."""
        from psycopg import sql

        with self.connect_admin() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL("{} ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
                )
            )
            if not conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone():
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database), sql.Identifier(role)
                    )
                )

    def drop_database(self, database: str) -> None:
        from psycopg import sql

        with self.connect_admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
            )

    def url(self, role: str, password: str, database: str) -> str:
        secret = quote(password, safe="")
        return f"postgresql+psycopg://{role}:{secret}@{LOOPBACK}:{self.port}/{database}"

    def stop(self) -> None:
        self.process.stop(signal.SIGINT, timeout=30)


# --- Redis -----------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A private Redis on 127.0.0.1 with a password; no persistence (it only relays messages
    and holds rate-limit windows)."""

    directory: Path
    port: int
    password: str
    process: Process = field(init=False)

    def __post_init__(self) -> None:
        self.process = Process("redis", self.directory / "redis.log")

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password, safe='')}@{LOOPBACK}:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise StackError(
                "Redis is not installed: run `make services` (scripts/ensure-services.sh)"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "redis.conf"
        # The password lives in a file only this user can read, never on a command line.
        write_private(
            conf,
            "\n".join(
                [
                    f"bind {LOOPBACK}",
                    f"port {self.port}",
                    "protected-mode yes",
                    f"requirepass {self.password}",
                    'save ""',
                    "appendonly no",
                    f"dir {self.directory}",
                    "daemonize no",
                    "loglevel warning",
                    "maxclients 10000",
                    "",
                ]
            ),
        )
        self.process.start([binary, str(conf)])
        wait_until(self._accepts, 30, "Redis", self.process.log_path)

    def client(self):
        # The app's own factory: the same timeouts, one shared client per URL.
        from deliberation.core.redis_clients import redis_client

        return redis_client(self.url)

    def _accepts(self) -> bool:
        self.process.check_alive()
        try:
            return bool(self.client().ping())
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def stop(self) -> None:
        self.process.stop()


# --- gunicorn app workers, the scheduler, nginx ---------------------------------------------


@dataclass
class AppWorker:
    """One gunicorn process (one gevent worker: Socket.IO needs sticky sessions, which
    gunicorn's own balancing cannot give) on its own loopback port."""

    name: str
    directory: Path
    port: int
    env: dict[str, str]
    process: Process = field(init=False)

    def __post_init__(self) -> None:
        self.process = Process(self.name, self.directory / f"{self.name}.log")

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self, wait: bool = True) -> None:
        env = {
            **self.env,
            "MADANG_BIND": f"{LOOPBACK}:{self.port}",
            "MADANG_WORKER_NAME": self.name,
        }
        self.process.start(
            [
                str(VENV_BIN / "python"),
                "-m",
                "deliberation.gunicorn_entry",
                "-c",
                str(DEPLOY_DIR / "gunicorn.conf.py"),
                "wsgi:app",
            ],
            env=env,
        )
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            self.process.check_alive()
            return http_ok(self.url + "/healthz")

        wait_until(ready, timeout, f"app worker {self.name}", self.process.log_path)

    def serving_pids(self) -> list[int]:
        """gunicorn's arbiter and its worker process."""
        import psutil

        if not self.process.running():
            return []
        arbiter = psutil.Process(self.process.pid)
        return [arbiter.pid] + [child.pid for child in arbiter.children(recursive=True)]

    def kill_hard(self) -> None:
        """kill -9 the arbiter and its worker at once: the whole instance dies mid-request.

        The arbiter is stopped first: killed after its worker, it could fork a replacement
        in between, which outlived it holding the port (a full test run saw a restarted
        instance's port answer 0.06 s after the restart, by that orphan)."""
        import psutil

        def in_state(pid: int, *states: str) -> bool:
            try:
                return psutil.Process(pid).status() in states
            except psutil.NoSuchProcess:
                return True

        def settle(done) -> None:
            deadline = time.monotonic() + 10
            while not done():
                if time.monotonic() > deadline:
                    raise StackError(f"{self.name} did not die within 10 s of kill -9")
                time.sleep(0.01)

        if self.process.running():
            arbiter = self.process.pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(arbiter, signal.SIGSTOP)
            # A signal takes effect a moment after kill() returns: list the workers once the
            # arbiter has stopped, so that none it forks meanwhile is missed.
            settle(lambda: in_state(arbiter, psutil.STATUS_STOPPED, psutil.STATUS_ZOMBIE))
        killed = self.serving_pids()
        for pid in reversed(killed):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.popen is not None:
            self.process.popen.wait(10)
        self.process.popen = None

        # The worker process can die a moment after the arbiter, and until it has, its copy of
        # the listening socket still accepts connections: a process started at once would seem
        # to answer within 0.01 s (a run of the restart test saw it). Return once all are gone.
        settle(lambda: all(in_state(pid, psutil.STATUS_ZOMBIE) for pid in killed))

    def stop(self) -> None:
        self.process.stop(signal.SIGTERM, timeout=20)


NGINX_MAIN = """\
# Generated by scripts/servers.py for a local stack; production uses deploy/nginx/madang.conf.
{user}worker_processes {processes};
# Every proxied socket holds two connections (browser and upstream) and two descriptors:
# 10,000 sockets per host need 20,000 of each (docs/deploy.md, "Capacity").
worker_rlimit_nofile 65536;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
daemon off;

events {{
    worker_connections 32768;
}}

http {{
    access_log off;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;

    include {deploy}/nginx/madang-upstream-map.conf;

    upstream madang {{
        hash $madang_route;
{servers}
        keepalive 32;
    }}

    server {{
        listen {host}:{port};
        server_name localhost;
        add_header Set-Cookie $madang_route_cookie;
        # Which worker answered: for the tests and for watching the stack work.
        add_header X-Madang-Upstream $upstream_addr always;
        include {deploy}/nginx/madang-locations.conf;
    }}
}}
"""


@dataclass
class Nginx:
    """nginx on a loopback port in front of the workers, with the same sticky routing and
    proxy locations as the production site (deploy/nginx/)."""

    directory: Path
    port: int
    upstream_ports: list[int]
    #: nginx worker processes: one (every figure in docs/ was measured so), unless one
    #: process's descriptors cannot hold the sockets: where the limit cannot be raised (a
    #: container's hard limit of 20,000 here) one process stopped accepting at about 9,900
    #: sockets; `processes_for` picks enough.
    processes: int = 1
    process: Process = field(init=False)

    def __post_init__(self) -> None:
        self.process = Process("nginx", self.directory / "nginx.log")

    @staticmethod
    def processes_for(sockets: int) -> int:
        """Worker processes so that each holds its share of `sockets` (two descriptors each)
        within this machine's descriptor limit, with a fifth to spare."""
        import resource

        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if hard == resource.RLIM_INFINITY:
            return 1
        return max(1, -(-(2 * sockets * 6 // 5) // hard))

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = self.directory / "tmp"
        temp.mkdir(exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            # The master binds and reads as root; its workers drop to www-data.
            www = pwd.getpwnam("www-data")
            user = "user www-data;\n"
            for path in (temp, *[temp / n for n in ("body", "proxy", "fastcgi", "uwsgi", "scgi")]):
                path.mkdir(exist_ok=True)
                os.chown(path, www.pw_uid, www.pw_gid)
        servers = "\n".join(
            f"        server {LOOPBACK}:{p} max_fails=1 fail_timeout=1s;"
            for p in self.upstream_ports
        )
        conf = self.directory / "nginx.conf"
        conf.write_text(
            NGINX_MAIN.format(
                user=user,
                dir=self.directory,
                deploy=DEPLOY_DIR,
                servers=servers,
                host=LOOPBACK,
                port=self.port,
                processes=self.processes,
            )
        )
        return conf

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise StackError(
                "nginx is not installed: run `make services` (scripts/ensure-services.sh)"
            )
        conf = self.write_config()
        # SIGQUIT is nginx's graceful stop; SIGTERM its fast one.
        self.process.start([binary, "-c", str(conf), "-p", str(self.directory)])
        wait_until(lambda: self._ready(), 30, "nginx", self.directory / "nginx-error.log")

    def _ready(self) -> bool:
        self.process.check_alive()
        return http_ok(self.url + "/healthz")

    def stop(self) -> None:
        self.process.stop(signal.SIGTERM)


# --- a throwaway PostgreSQL database for `pytest --postgres` --------------------------------


@contextlib.contextmanager
def throwaway_postgres_database(server_url: str | None = None) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test session, dropped afterwards.

    With `server_url` (MADANG_TEST_DATABASE_URL: any database on a server where that login
    may CREATE DATABASE) the database is made on that server; otherwise a private cluster is
    started in a temporary directory and removed with everything in it.
    """
    name = f"madang_test_{secrets.token_hex(4)}"
    if server_url:
        import psycopg
        from psycopg import sql

        parts = urlsplit(server_url.replace("postgresql+psycopg://", "postgresql://", 1))
        admin_dsn = urlunsplit(parts._replace(scheme="postgresql"))
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield urlunsplit(parts._replace(scheme="postgresql+psycopg", path=f"/{name}"))
        finally:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        return
    directory = Path(tempfile.mkdtemp(prefix="madang-pg-"))
    server = PostgresServer(directory, free_port(), for_tests=True)
    password = secrets.token_urlsafe(12)
    try:
        server.start()
        server.create_role_and_database("madang", password, name)
        yield server.url("madang", password, name)
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
