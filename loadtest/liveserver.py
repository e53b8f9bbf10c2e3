"""The real server on a free loopback port: one starter for the rehearsal and the tests.

`python -m deliberation.serve` (gevent, as in production) or, to compare async modes,
Flask-SocketIO's threading mode; `start` returns once /healthz answers. Standard library only,
so the tests' `live_server` fixture and `flask rehearse` need nothing more than the product.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from deliberation.config import PROJECT_ROOT
from loadtest.serverfork import ForkedServer, ServerForker
from scripts.ports import free_port

__all__ = ["LiveServer", "PortTaken", "free_port"]

#: Flask-SocketIO's threading mode (Werkzeug + simple-websocket), only to compare async modes.
THREADING_SERVER = """
import os
from deliberation import create_app
from deliberation.config import Config
from deliberation.core.scheduler import start_scheduler
from deliberation.extensions import socketio
app = create_app(Config, {"SOCKETIO_ASYNC_MODE": "threading"})
start_scheduler(app)
socketio.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), allow_unsafe_werkzeug=True,
             log_output=False)
"""
MODES = ("gevent", "threading")
PORT_ATTEMPTS = 3

#: No proxy for the health check: the server is on loopback whatever http_proxy says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class PortTaken(RuntimeError):
    """The server's port was bound by someone else before the server could bind it."""


class LiveServer:
    """A server process on 127.0.0.1 with the given database and secret key.

    `env` is added last to the server's environment (e.g. a shorter ping interval for tests).
    The server's stderr goes to `log_path`, whose tail is in the error when it fails to start.
    With a `forker` (gevent mode only) the server is forked from an already imported one
    (`loadtest/serverfork.py`): the tests' way, without a fresh interpreter's imports.
    """

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        secret_key: str | None = None,
        mode: str = "gevent",
        env: dict[str, str] | None = None,
        start_timeout: float = 60.0,
        forker: ServerForker | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if forker is not None and mode != "gevent":
            raise ValueError("only the gevent server can be forked")
        self.forker = forker
        self.database_url = database_url
        self.log_path = log_path
        self.secret_key = secret_key or secrets.token_hex(32)
        self.mode = mode
        self.env = env or {}
        self.start_timeout = start_timeout
        self.port = free_port()
        self.process: subprocess.Popen | ForkedServer | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        """Start the server and wait until it answers; stopped again if it does not."""
        for _attempt in range(PORT_ATTEMPTS):
            try:
                self._start()
                return
            except PortTaken:
                # Another process (tests run in parallel) took the port we were given.
                self.stop()
                self.port = free_port()
            except BaseException:
                self.stop()
                raise
        raise RuntimeError(f"no free port for the live server:\n{self._log_tail()}")

    def _start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": self.secret_key,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "RUN_SCHEDULER": "1",
        }
        env.pop("MADANG_ENV", None)  # the configuration is the one given here, not production's
        env.pop("FLASK_RUN_FROM_CLI", None)  # set by `flask`; Werkzeug's server then returns
        env |= self.env
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        if self.forker is not None:
            self.process = self.forker.spawn(env, self._log)
        else:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "deliberation.serve"]
                if self.mode == "gevent"
                else [sys.executable, "-c", THREADING_SERVER],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self._log_tail()
                if "Address already in use" in log:
                    raise PortTaken(log)
                raise RuntimeError(f"the live server exited:\n{log}")
            if self._answers():
                return
            time.sleep(0.1)
        raise RuntimeError(
            f"the live server did not start within {self.start_timeout:.0f} s:\n{self._log_tail()}"
        )

    def _answers(self) -> bool:
        """Any HTTP answer from /healthz: the server listens and serves requests."""
        try:
            with _DIRECT.open(self.url + "/healthz", timeout=1):
                return True
        except urllib.error.HTTPError as answer:
            answer.close()
            return True
        except OSError:  # refused, reset or timed out: not listening yet, or busy
            return False

    def _log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the server (kill it if it does not stop); safe to call twice."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._log:
            self._log.close()
            self._log = None
