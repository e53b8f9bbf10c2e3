"""Run the site with Flask-SocketIO on gevent: `python -m deliberation.serve`."""

# gevent must patch the standard library before anything else imports it.
from gevent import monkey

monkey.patch_all()

import os  # noqa: E402

from gevent import pywsgi  # noqa: E402

from deliberation import create_app  # noqa: E402
from deliberation.config import config_for_environment  # noqa: E402
from deliberation.core.memory import tune_collector  # noqa: E402
from deliberation.core.scheduler import start_scheduler  # noqa: E402
from deliberation.extensions import socketio  # noqa: E402


class WSGIHandler(pywsgi.WSGIHandler):
    """gevent's handler, closing the TCP connection when a WebSocket on it has ended.

    simple-websocket closes only its duplicate of the socket under gevent, so pywsgi kept the
    connection open waiting for another HTTP request, and a client that waits for the server
    to close first (RFC 6455 section 7.1.1; websocket-client does, 3 s) hung on. Under
    gunicorn, as in production, simple-websocket closes the socket itself.
    """

    def run_application(self) -> None:
        try:
            super().run_application()
        finally:
            if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                self.close_connection = True


def main() -> None:
    app = create_app(config_for_environment(), {"SOCKETIO_ASYNC_MODE": "gevent"})
    if app.config["RUN_SCHEDULER"]:
        start_scheduler(app)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    tune_collector()
    print(f"Madang is serving on http://{host}:{port}/", flush=True)  # noqa: T201
    socketio.run(
        app,
        host=host,
        port=port,
        log_output=os.environ.get("ACCESS_LOG") == "1",
        handler_class=WSGIHandler,
    )


if __name__ == "__main__":
    main()
