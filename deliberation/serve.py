"""Run the site with Flask-SocketIO on gevent: `python -m deliberation.serve`."""

# gevent must patch the standard library before anything else imports it.
from gevent import monkey

monkey.patch_all()

import contextlib  # noqa: E402
import os  # noqa: E402

from gevent import pywsgi  # noqa: E402

from deliberation import create_app  # noqa: E402
from deliberation.config import config_for_environment  # noqa: E402
from deliberation.core.memory import tune_collector  # noqa: E402
from deliberation.core.scheduler import start_scheduler  # noqa: E402
from deliberation.extensions import socketio  # noqa: E402
from deliberation.roundtables.tallies import listen_to_other_processes  # noqa: E402


class WSGIHandler(pywsgi.WSGIHandler):
    """gevent's handler, ending the connection of a WebSocket the way gunicorn does.

    Under gevent, simple-websocket reads the WebSocket from a duplicate of the connection's
    socket. When the WebSocket ended, pywsgi kept the connection open for another HTTP
    request, so a client waiting for the server to close first (RFC 6455 7.1.1; websocket-client
    waits 3 s) hung on; and before closing, pywsgi reads whatever is left on the socket, which
    could be the client's answer to a close the server started (after an oversized message),
    leaving simple-websocket waiting for it until the client gave up. Here the connection ends
    with the WebSocket, and its last bytes are left to simple-websocket.
    """

    def handle_one_response(self) -> None:
        super().handle_one_response()
        if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            self.close_connection = True
            # pywsgi's own ending reads what is left on the socket before closing it; close it
            # without that read (the duplicate stays with simple-websocket until it is done).
            sock, self.socket = self.socket, None
            with contextlib.suppress(OSError):
                getattr(sock, "_sock", sock).close()


def main() -> None:
    app = create_app(config_for_environment(), {"SOCKETIO_ASYNC_MODE": "gevent"})
    if app.config["RUN_SCHEDULER"]:
        start_scheduler(app)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    tune_collector()
    if app.config.get("REDIS_URL"):  # one of several processes: hear of their votes
        listen_to_other_processes(app)
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
