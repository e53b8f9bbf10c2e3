"""Run the site with Flask-SocketIO on gevent: `python -m deliberation.serve`."""

# gevent must patch the standard library before anything else imports it.
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

from deliberation import create_app  # noqa: E402
from deliberation.config import config_for_environment  # noqa: E402
from deliberation.core.memory import tune_collector  # noqa: E402
from deliberation.core.scheduler import start_scheduler  # noqa: E402
from deliberation.extensions import socketio  # noqa: E402


def main() -> None:
    app = create_app(config_for_environment(), {"SOCKETIO_ASYNC_MODE": "gevent"})
    if app.config["RUN_SCHEDULER"]:
        start_scheduler(app)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    tune_collector()
    print(f"Madang is serving on http://{host}:{port}/", flush=True)  # noqa: T201
    socketio.run(app, host=host, port=port, log_output=os.environ.get("ACCESS_LOG") == "1")


if __name__ == "__main__":
    main()
