"""A production-shaped Madang on this machine: PostgreSQL, Redis, gunicorn workers and nginx.

Every server is a private instance started from the Debian packages' binaries, listening on
127.0.0.1 only, with its data under one directory (`.run/production` for `make
run-production`, a temporary directory for the tests). Nothing touches the system's own
clusters or services. Each child process dies with this one (PR_SET_PDEATHSIG), so an
interrupted test run leaves nothing behind.

    python -m scripts.localstack run [--workers 2] [--port 8080]   # `make run-production`
    python -m scripts.localstack rehearse --participants N --workers K  # make rehearse-production
    python -m scripts.localstack rehearse ... --fault worker-kill|redis-restart|postgres-restart
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from scripts.ports import free_port, port_is_free

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEPLOY_DIR = PROJECT_ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
LOOPBACK = "127.0.0.1"


class StackError(RuntimeError):
    """A server of the stack could not be started."""


#: Faults `rehearse --fault` injects in the middle of the room poll (docs/deploy.md).
FAULTS = ("worker-kill", "redis-restart", "postgres-restart")
#: Sockets one gunicorn worker holds at least (deploy/gunicorn.conf.py's default).
WORKER_CONNECTIONS = 10_000
REDIS_OUTAGE_S = 5.0
#: PostgreSQL stays away this long between its fast shutdown and its start (a failover or a
#: crash recovery is not instantaneous); without it a quick restart could fall between two
#: votes of a small test room, and the fault was not tested at all.
POSTGRES_OUTAGE_S = 1.0


# --- small helpers ---------------------------------------------------------------------------


def wait_until(check: Callable[[], bool], timeout: float, what: str, log: Path | None) -> None:
    """Poll `check` until it is true; a bounded wait that shows the server's log on failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise StackError(f"{what} did not come up within {timeout:.0f} s\n{tail}")


def http_ok(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


_libc = ctypes.CDLL("libc.so.6", use_errno=True)
PR_SET_PDEATHSIG = 1


def _child_setup(run_as: pwd.struct_passwd | None, death_signal: int) -> Callable[[], None]:
    """preexec_fn: own process group, die with the parent, optionally drop to another user."""

    def setup() -> None:
        os.setpgid(0, 0)
        if run_as is not None:
            os.setgroups([])
            os.setgid(run_as.pw_gid)
            os.setuid(run_as.pw_uid)
        # After the user change: changing credentials clears the parent-death signal.
        _libc.prctl(PR_SET_PDEATHSIG, death_signal)

    return setup


#: The one thread every service process is started from. Linux sends the parent-death signal
#: when the *thread* that forked a child ends, not the process: a service (re)started from a
#: short-lived thread (a fault injected from a test's worker thread) would be stopped with it.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localstack-spawner")


def service_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` system user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as error:
        raise StackError(
            "run as root but there is no `postgres` user: install postgresql"
        ) from error


def write_private(path: Path, text: str) -> None:
    """Write a file only this user can read (it holds passwords), readable from the start."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def chown_to(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


class Process:
    """A child server process with its log file, in its own process group."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None

    def start(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path = PROJECT_ROOT,
        run_as: pwd.struct_passwd | None = None,
        death_signal: int = signal.SIGTERM,
    ) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = _SPAWNER.submit(
                subprocess.Popen,  # our own argv, no shell
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(run_as, death_signal),
            ).result()

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signum)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Ask the whole process group to stop; kill it when it does not within `timeout`."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(signum)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.popen.wait(10)
        self.signal_group(signal.SIGKILL)  # stragglers in the group (gunicorn's worker)
        self.popen = None

    def check_alive(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise StackError(f"{self.name} exited with {self.popen.returncode}\n{tail}")


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
                preexec_fn=_child_setup(self.user, signal.SIGTERM),  # noqa: PLW1509
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
        if self.process.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGSTOP)
        for pid in reversed(self.serving_pids()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.process.popen is not None:
            self.process.popen.wait(10)
        self.process.popen = None

    def stop(self) -> None:
        self.process.stop(signal.SIGTERM, timeout=20)


NGINX_MAIN = """\
# Generated by scripts/localstack.py for a local stack; production uses deploy/nginx/madang.conf.
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


@dataclass
class StackSettings:
    directory: Path
    workers: int = 2
    nginx_port: int = 0
    postgres_port: int = 0
    redis_port: int = 0
    worker_ports: list[int] = field(default_factory=list)
    #: "migrate": `flask db upgrade` (what an operator does); "create-all": the models' schema
    #: straight from SQLAlchemy (tests, and branches whose migrations are not regenerated yet).
    schema: str = "migrate"
    seed_demo: bool = False
    for_tests: bool = False
    database: str = "madang"
    role: str = "madang"
    extra_env: dict[str, str] = field(default_factory=dict)
    #: Sockets the stack should hold (sizes nginx's worker processes; 0: one process).
    sockets: int = 0


class LocalStack:
    """PostgreSQL + Redis + one scheduler process + N gunicorn workers + nginx, on loopback."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        directory = settings.directory
        directory.mkdir(parents=True, exist_ok=True)
        # PostgreSQL runs as `postgres` when we are root: it must be able to reach its dir.
        os.chmod(directory, 0o755)  # noqa: S103 - secrets inside are 0600
        self.secrets = self._load_or_create_secrets(directory / "secrets.json")
        self.postgres = PostgresServer(
            directory / "postgres", settings.postgres_port or free_port(), settings.for_tests
        )
        self.redis = RedisServer(
            directory / "redis", settings.redis_port or free_port(), self.secrets["redis"]
        )
        ports = list(settings.worker_ports)
        while len(ports) < settings.workers:
            ports.append(free_port())
        self.workers = [
            AppWorker(f"worker-{chr(ord('a') + i)}", directory / "workers", port, {})
            for i, port in enumerate(ports[: settings.workers])
        ]
        self.scheduler = Process("scheduler", directory / "workers" / "scheduler.log")
        self.nginx = Nginx(
            directory / "nginx",
            settings.nginx_port or free_port(),
            ports,
            processes=Nginx.processes_for(settings.sockets),
        )
        self.started = False

    @staticmethod
    def _load_or_create_secrets(path: Path) -> dict[str, str]:
        """Passwords and the secret key, kept so a restarted stack keeps its data and sessions."""
        if path.exists():
            return json.loads(path.read_text())
        values = {
            "postgres": secrets.token_urlsafe(18),
            "redis": secrets.token_urlsafe(24),
            "secret_key": secrets.token_hex(32),
        }
        write_private(path, json.dumps(values))
        return values

    @property
    def database_url(self) -> str:
        s = self.settings
        return self.postgres.url(s.role, self.secrets["postgres"], s.database)

    @property
    def url(self) -> str:
        return self.nginx.url

    def process_ids(self) -> dict[str, int]:
        """Each service's main process (the rehearsal adds up its children's CPU too)."""
        processes = [self.postgres.process, self.redis.process, self.nginx.process]
        processes += [worker.process for worker in self.workers]
        return {p.name: p.popen.pid for p in processes if p.popen is not None}

    def app_env(self, **extra: str) -> dict[str, str]:
        """The environment every app process gets: exactly what docs/deploy.md tells operators."""
        base = {
            k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TZ")
        }
        return {
            **base,
            "MADANG_ENV": "production",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "SECRET_KEY": self.secrets["secret_key"],
            # Plain HTTP on loopback here; behind TLS leave the default (secure cookies).
            "SESSION_COOKIE_SECURE": "0",
            "PROXY_COUNT": "1",
            "RUN_SCHEDULER": "0",
            "PYTHONUNBUFFERED": "1",
            **self.settings.extra_env,
            **extra,
        }

    def worker_env(self) -> dict[str, str]:
        """An app worker's environment: `app_env`, and room in one worker for every socket the
        stack is sized for, as in production, where one worker holds the host's people while
        its neighbour restarts. A rehearsal of 10,000 people on one worker is 11,001 sockets
        (the facilitators and the lead); at gunicorn's default of 10,000 the last thousand
        waited in its backlog unanswered."""
        connections = max(WORKER_CONNECTIONS, self.settings.sockets)
        return self.app_env(GUNICORN_WORKER_CONNECTIONS=str(connections))

    def flask(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Run a `flask --app wsgi ...` command against the stack's database."""
        result = subprocess.run(  # noqa: S603
            [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
            cwd=PROJECT_ROOT,
            env=self.app_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise StackError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def prepare_schema(self) -> None:
        if self.settings.schema == "migrate":
            self.flask("db", "upgrade")
            missing = self.tables_missing()
            if missing:
                raise StackError(
                    "the migrations do not create every table the models need "
                    f"({', '.join(missing)}): regenerate them (`flask db migrate`) or start "
                    "with --schema create-all"
                )
        else:
            self.create_all()

    def create_all(self) -> None:
        from sqlalchemy import create_engine

        from deliberation.config import postgres_engine_options
        from deliberation.extensions import db
        from deliberation.factory import create_app  # noqa: F401 - registers every model

        engine = create_engine(self.database_url, **postgres_engine_options())
        try:
            db.metadata.create_all(engine)
        finally:
            engine.dispose()

    def tables_missing(self) -> list[str]:
        from sqlalchemy import create_engine, inspect

        from deliberation.extensions import db
        from deliberation.factory import create_app  # noqa: F401 - registers every model

        engine = create_engine(self.database_url)
        try:
            present = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        return sorted(set(db.metadata.tables) - present)

    def start(self, say: Callable[[str], None] = lambda _m: None) -> None:
        s = self.settings
        try:
            say(f"PostgreSQL on {LOOPBACK}:{self.postgres.port} ...")
            self.postgres.start()
            self.postgres.create_role_and_database(s.role, self.secrets["postgres"], s.database)
            say(f"Redis (password) on {LOOPBACK}:{self.redis.port} ...")
            self.redis.start()
            say(f"schema ({s.schema}) ...")
            self.prepare_schema()
            if s.seed_demo:
                say("demo data (only into an empty database) ...")
                self.flask("seed-demo", "--if-empty")
            say("the scheduler process (the only one that runs periodic jobs) ...")
            self.scheduler.start(
                [str(VENV_BIN / "python"), "-m", "scripts.run_scheduler"],
                env=self.app_env(RUN_SCHEDULER="1"),
            )
            for worker in self.workers:
                worker.env = self.worker_env()
                say(f"gunicorn {worker.name} on {worker.url} ...")
                worker.start(wait=False)
            for worker in self.workers:
                worker.wait_ready()
            say(f"nginx on {self.nginx.url} ...")
            self.nginx.start()
            self.started = True
        except BaseException:
            self.stop()
            raise

    def worker_for_upstream(self, upstream: str) -> AppWorker:
        """The worker behind an `X-Madang-Upstream` value such as 127.0.0.1:8101."""
        port = int(upstream.split(",")[-1].strip().rsplit(":", 1)[-1])
        return next(w for w in self.workers if w.port == port)

    def restart_dead_processes(self, say: Callable[[str], None]) -> None:
        """Like systemd's Restart=always: bring back a worker or the scheduler that died."""
        for worker in self.workers:
            if not worker.process.running():
                say(f"{worker.name} died; restarting it")
                worker.start(wait=False)
        if not self.scheduler.running():
            say("the scheduler died; restarting it")
            self.scheduler.start(
                [str(VENV_BIN / "python"), "-m", "scripts.run_scheduler"],
                env=self.app_env(RUN_SCHEDULER="1"),
            )

    def inject_fault(self, fault: str, say: Callable[[str], None]) -> None:
        """One of FAULTS, as it happens in production; returns when the fault is over (a killed
        worker comes back through `restart_dead_processes`, which the caller keeps running)."""
        if fault == "worker-kill":
            say(f"fault: kill -9 {self.workers[0].name} (arbiter and worker)")
            self.workers[0].kill_hard()
        elif fault == "redis-restart":
            say(f"fault: Redis stops for {REDIS_OUTAGE_S:g} s")
            self.redis.stop()
            time.sleep(REDIS_OUTAGE_S)
            self.redis.start()
            say("fault: Redis is back")
        elif fault == "postgres-restart":
            say(f"fault: PostgreSQL restarts (fast shutdown, {POSTGRES_OUTAGE_S:g} s away, start)")
            self.postgres.stop()
            time.sleep(POSTGRES_OUTAGE_S)
            self.postgres.start()
            say("fault: PostgreSQL is back")
        else:
            raise ValueError(f"unknown fault {fault!r}: one of {', '.join(FAULTS)}")

    def stop(self) -> None:
        for stopper in [self.nginx.stop, *[w.stop for w in self.workers], self.scheduler.stop]:
            with contextlib.suppress(Exception):
                stopper()
        with contextlib.suppress(Exception):
            self.redis.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop()
        self.started = False


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


# --- `make rehearse-production` ---------------------------------------------------------------


def raise_fd_limit() -> int:
    """Lift this process's open-file limit to its hard limit; the children inherit it."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rehearse_production(args: argparse.Namespace) -> int:
    """Start a private stack on free loopback ports, run `flask rehearse --url` against it,
    print the rehearsal's output (its last line is JSON) and stop everything, also on failure."""
    limit = raise_fd_limit()
    directory = Path(tempfile.mkdtemp(prefix="madang-rehearse-"))
    # The rehearsal's people, their table facilitators (one per ten) and the lead.
    sockets = args.participants + args.participants // 10 + 1
    settings = StackSettings(
        directory=directory, workers=args.workers, schema="create-all", sockets=sockets
    )
    stack = LocalStack(settings)

    def say(message: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.gmtime()) + f"{time.time() % 1:.1f}"[1:]
        print(f"[stack {stamp}] {message}", file=sys.stderr, flush=True)

    command = [
        str(VENV_BIN / "flask"), "--app", "wsgi", "rehearse",
        "--url", "", "--participants", str(args.participants),
        "--window", str(args.window), "--timeout", str(args.timeout),
    ]  # fmt: skip
    if args.reference:
        command += ["--reference", str(Path(args.reference).resolve())]
    # The rehearsal asks for the fault at mid-poll by signalling this process, which owns the
    # servers: `--fault-command "kill -USR1 <pid>"`.
    fault_wanted = threading.Event()
    if args.fault:
        command += ["--fault", args.fault, "--fault-command", f"kill -USR1 {os.getpid()}"]
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: fault_wanted.set())
    code = 1
    rehearsal: subprocess.Popen | None = None
    try:
        say(f"{args.workers} worker(s), {args.participants} participants, {limit} descriptors")
        stack.start(say)
        command[command.index("--url") + 1] = stack.url
        for name, pid in stack.process_ids().items():
            command += ["--watch", f"{name}={pid}"]  # CPU per service in the figures
        # The rehearsal writes its people into the stack's database and signs their cookies
        # with the stack's key: it runs with exactly the workers' environment.
        rehearsal = subprocess.Popen(command, cwd=PROJECT_ROOT, env=stack.app_env())  # noqa: S603
        injected = False
        while rehearsal.poll() is None:
            time.sleep(0.1)
            if fault_wanted.is_set() and not injected:
                # In this thread, not another: a child's PR_SET_PDEATHSIG fires when the
                # *thread* that started it ends, which would stop a restarted server again.
                stack.inject_fault(args.fault, say)
                injected = True
            stack.restart_dead_processes(say)
        code = rehearsal.returncode
    finally:
        if rehearsal is not None and rehearsal.poll() is None:
            rehearsal.terminate()  # interrupted: the clients go before the servers
            rehearsal.wait(30)
        say("stopping the stack ...")
        stack.stop()
        if code == 0:
            shutil.rmtree(directory, ignore_errors=True)
        else:
            say(f"logs kept in {directory}")
    return code


# --- `make run-production` -------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole stack and serve until Ctrl-C")
    run.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    run.add_argument("--postgres-port", type=int, default=55432)
    run.add_argument("--redis-port", type=int, default=56379)
    run.add_argument("--first-worker-port", type=int, default=8101)
    run.add_argument("--dir", type=Path, default=PROJECT_ROOT / ".run" / "production")
    run.add_argument("--schema", choices=["migrate", "create-all"], default="migrate")
    run.add_argument("--no-seed", action="store_true", help="do not seed the demo data")
    rehearse = sub.add_parser("rehearse", help="run `flask rehearse` against a private stack")
    rehearse.add_argument("--participants", type=int, default=1000)
    rehearse.add_argument("--workers", type=int, default=2)
    rehearse.add_argument("--window", type=float, default=1.0)
    rehearse.add_argument("--timeout", type=float, default=120.0)
    rehearse.add_argument("--reference", help="the bare-websocket reference (ws_reference.py)")
    rehearse.add_argument("--fault", choices=FAULTS, help="inject this fault at mid-poll")
    args = parser.parse_args(argv)
    if args.command == "rehearse":
        return rehearse_production(args)

    ports = [args.first_worker_port + i for i in range(args.workers)]
    busy = [
        p for p in [args.port, args.postgres_port, args.redis_port, *ports] if not port_is_free(p)
    ]
    if busy:
        print(f"ports already in use: {busy} (is another stack running?)", file=sys.stderr)
        return 1
    settings = StackSettings(
        directory=args.dir.resolve(),
        workers=args.workers,
        nginx_port=args.port,
        postgres_port=args.postgres_port,
        redis_port=args.redis_port,
        worker_ports=ports,
        schema=args.schema,
        seed_demo=not args.no_seed,
    )
    stack = LocalStack(settings)

    def say(message: str) -> None:
        print(f"[stack] {message}", flush=True)

    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack.start(say)
    say(f"Madang (production-shaped) is serving on {stack.url}/ — Ctrl-C stops everything.")
    say(f"logs and data: {settings.directory}")
    try:
        while not stopping:
            time.sleep(0.5)
            stack.restart_dead_processes(say)
    finally:
        say("stopping ...")
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
