"""Home page and the public composition of the people taking part."""

from flask import Blueprint, redirect, render_template, url_for
from werkzeug.wrappers import Response

from deliberation.accounts.queries import participation_composition

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """What Madang is and where to start."""
    return render_template("home/index.html")


@bp.get("/participation")
def participation():
    """Who takes part: members by category and division, as percentages."""
    return render_template("home/participation.html", composition=participation_composition())


@bp.get("/healthz")
def health():
    """For load balancers: the process answers."""
    return {"status": "ok"}


@bp.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask here for the site's icon before reading the page: send them to ours."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)
