"""Live servers forked from one process that has imported the server already.

`python -m deliberation.serve` spends about 1.2 CPU-s starting, nearly all of it importing
(Flask, SQLAlchemy, Alembic, numpy, every blueprint), and the test suite starts one for each
of some seventy tests on two cores. A `ServerForker` starts one process that patches the
standard library for gevent and imports the server, as `deliberation.serve` does, and then
forks a child for each server asked for: the child takes its environment and log, re-reads
the configuration from that environment and runs `deliberation.serve.main()`.

`deliberation/config.py` is the only module that reads the environment when it is imported
(`tests/loadtest/test_serverfork.py` checks that a forked server takes its own database,
secret key and settings). The children are reaped by the kernel (SIGCHLD ignored in the
forking process) and get SIGTERM when it ends (PR_SET_PDEATHSIG), so nothing outlives the
test process. `ps` shows a forked server with the forking process's command line
(`... serve_forks()`), not `-m deliberation.serve`.
"""

from __future__ import annotations

import _signal  # the kernel's dispositions: gevent's `signal.signal` keeps SIGCHLD
import contextlib
import ctypes
import importlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import traceback
from typing import IO

from deliberation.config import PROJECT_ROOT

#: The forking process: gevent's patches before anything else imports the standard library.
FORKER_PROGRAM = (
    "from gevent import monkey; monkey.patch_all(); "
    "from loadtest.serverfork import serve_forks; serve_forks()"
)
PR_SET_PDEATHSIG = 1


class ForkedServer:
    """A forked server's process, with the part of `subprocess.Popen` that `LiveServer` uses.

    It is not this process's child, so its exit status is not known: `poll()` says only
    whether it has ended (-1 once it has)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"server {self.pid}", timeout or 0)
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]  # set by poll()

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ServerForker:
    """One pre-imported process per test process; `spawn` forks a server from it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def _forker(self) -> subprocess.Popen[str]:
        if self._process is not None and self._process.poll() is not None:
            self._close_process()  # it died: start another
        if self._process is None:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-c", FORKER_PROGRAM],
                cwd=PROJECT_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        return self._process

    def spawn(self, env: dict[str, str], log: IO[bytes]) -> ForkedServer:
        """Fork a server with exactly this environment, its stderr appended to `log`'s file."""
        request = json.dumps({"env": env, "log": log.name})
        with self._lock:
            forker = self._forker()
            try:
                forker.stdin.write(request + "\n")  # type: ignore[union-attr]
                forker.stdin.flush()  # type: ignore[union-attr]
                answer = forker.stdout.readline()  # type: ignore[union-attr]
            except BrokenPipeError:
                answer = ""
        if not answer:
            raise RuntimeError("the server forker exited (its error is in the test's output)")
        return ForkedServer(json.loads(answer)["pid"])

    def close(self) -> None:
        """End the forking process; servers still running get SIGTERM from the kernel."""
        with self._lock:
            self._close_process()

    def _close_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()  # type: ignore[union-attr]
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        process.stdout.close()  # type: ignore[union-attr]


# --- the forking process ----------------------------------------------------------------


def serve_forks() -> None:
    """Import the server, then fork one per line read on stdin and answer its pid.

    Runs after `monkey.patch_all()` (FORKER_PROGRAM). Reading stdin blocks the whole
    process, which has nothing else to do; no hub runs here before a fork. The children
    inherit its working directory, the project's."""
    import gevent.os

    import deliberation.factory  # noqa: F401 - everything `create_app` imports
    import deliberation.serve  # noqa: F401

    # gevent's `signal.signal` keeps SIGCHLD for itself: the kernel's own disposition is
    # set here, so that exited servers are reaped at once (`ForkedServer.poll`).
    _signal.signal(_signal.SIGCHLD, _signal.SIG_IGN)
    for line in sys.stdin:
        request = json.loads(line)
        pid = gevent.os.fork_gevent()
        if pid == 0:
            _run_server(request)  # never returns
        print(json.dumps({"pid": pid}), flush=True)


def _run_server(request: dict) -> None:
    """In the forked child: become the server the request describes, then exit."""
    code = 1
    try:
        _signal.signal(_signal.SIGCHLD, _signal.SIG_DFL)
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        random.seed()  # not the forking process's sequence, shared by every child
        os.environ.clear()
        os.environ.update(request["env"])
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(log, 2)
        import deliberation.config
        import deliberation.serve

        # The configuration classes read the environment when their module runs.
        importlib.reload(deliberation.config)
        deliberation.serve.main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)
