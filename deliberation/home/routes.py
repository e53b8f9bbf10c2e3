"""Home page and the public composition of the people taking part."""

from flask import Blueprint, render_template

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
