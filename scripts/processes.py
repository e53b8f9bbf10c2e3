"""The local stack's child processes: each in its own process group, dying with this
process (PR_SET_PDEATHSIG), optionally as another user, with its log file, waited on with a bound.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StackError(RuntimeError):
    """A server of the stack could not be started."""


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


def child_setup(run_as: pwd.struct_passwd | None, death_signal: int) -> Callable[[], None]:
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
                preexec_fn=child_setup(run_as, death_signal),
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
