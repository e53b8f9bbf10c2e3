"""The private production stack is sized for the sockets it is asked to hold."""

import runpy

from scripts.localstack import WORKER_CONNECTIONS, LocalStack, StackSettings
from scripts.servers import DEPLOY_DIR


def _worker_connections(env: dict[str, str], monkeypatch) -> int:
    """What deploy/gunicorn.conf.py gives gunicorn in that environment."""
    monkeypatch.setenv("GUNICORN_WORKER_CONNECTIONS", env["GUNICORN_WORKER_CONNECTIONS"])
    return runpy.run_path(str(DEPLOY_DIR / "gunicorn.conf.py"))["worker_connections"]


def test_one_worker_can_hold_every_socket_of_a_ten_thousand_person_rehearsal(tmp_path, monkeypatch):
    sockets = 10_000 + 1_000 + 1  # people, their table facilitators, the lead
    stack = LocalStack(StackSettings(directory=tmp_path, workers=1, sockets=sockets))

    assert _worker_connections(stack.worker_env(), monkeypatch) == sockets


def test_a_small_stack_keeps_the_production_default(tmp_path, monkeypatch):
    stack = LocalStack(StackSettings(directory=tmp_path, workers=2, sockets=1_101))

    assert _worker_connections(stack.worker_env(), monkeypatch) == WORKER_CONNECTIONS
