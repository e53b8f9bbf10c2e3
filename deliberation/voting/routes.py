"""URL rules of the voting feature."""

from flask import Blueprint

bp = Blueprint("voting", __name__, url_prefix="/voting")
