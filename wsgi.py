"""WSGI entry point: `flask --app wsgi ...` and gunicorn (`wsgi:app`)."""

from werkzeug.middleware.proxy_fix import ProxyFix

from deliberation import create_app
from deliberation.config import config_for_environment

app = create_app(config_for_environment())
if app.config.get("PROXY_COUNT"):
    # Behind nginx: the client's address (rate limits) and scheme (secure cookies) come from
    # the headers the trusted proxies set, counted from the right so clients cannot forge them.
    hops = app.config["PROXY_COUNT"]
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
