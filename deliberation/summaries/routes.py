"""URL rules of the summaries feature."""

from flask import Blueprint

bp = Blueprint("summaries", __name__, url_prefix="/summaries")
