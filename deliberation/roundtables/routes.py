"""URL rules of the roundtables feature."""

from flask import Blueprint

bp = Blueprint("roundtables", __name__, url_prefix="/roundtables")
