"""URL rules of the proposals feature."""

from flask import Blueprint

bp = Blueprint("proposals", __name__, url_prefix="/proposals")
