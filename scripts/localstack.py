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
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loadtest.loadclient import raise_fd_limit
from scripts.ports import free_port, port_is_free
from scripts.processes import PROJECT_ROOT, Process, StackError, write_private
from scripts.servers import (
    LOOPBACK,
    VENV_BIN,
    AppWorker,
    Nginx,
    PostgresServer,
    RedisServer,
)

#: Faults `rehearse --fault` injects in the middle of the room poll (docs/deploy.md).
FAULTS = ("worker-kill", "redis-restart", "postgres-restart")
#: Sockets one gunicorn worker holds at least (deploy/gunicorn.conf.py's default).
WORKER_CONNECTIONS = 10_000
REDIS_OUTAGE_S = 5.0
#: PostgreSQL stays away this long between its fast shutdown and its start (a failover or a
#: crash recovery is not instantaneous); without it a quick restart could fall between two
#: votes of a small test room, and the fault was not tested at all.
POSTGRES_OUTAGE_S = 1.0


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


# --- `make rehearse-production` ---------------------------------------------------------------


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
