"""WSGI entry point: `flask --app wsgi ...` and gunicorn (`wsgi:app`)."""

from deliberation import create_app
from deliberation.config import config_for_environment

app = create_app(config_for_environment())
