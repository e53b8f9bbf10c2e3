"""URL rules of the summaries feature: an item's consensus summary as page, print, CSV, JSON."""

from flask import Blueprint, Response, abort, jsonify, render_template, url_for
from flask_login import current_user

from deliberation.agendas.models import AgendaItem
from deliberation.agendas.permissions import can_view_item
from deliberation.extensions import db
from deliberation.summaries import services
from deliberation.summaries.exports import categories_csv, comments_csv, roundtables_csv

bp = Blueprint("summaries", __name__, url_prefix="/summaries")


def _item_or_404(item_id: int) -> AgendaItem:
    item = db.session.get(AgendaItem, item_id)
    if item is None or not can_view_item(current_user, item):  # someone else's draft: 404
        abort(404)
    return item


def _summary(item_id: int):
    """Load (computing small ones now) and commit the cache at the edge."""
    item = _item_or_404(item_id)
    try:
        document, state = services.summary_for_view(item_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return item, document, state


def _with_links(document: dict) -> dict:
    item_id = document["item"]["id"]

    def link(entry: dict) -> dict:
        url = url_for("agendas.show_comment", item_id=item_id, comment_id=entry["comment_id"])
        return {**entry, "url": url}

    return {
        **document,
        "groups": [
            {**g, "representative": [link(r) for r in g["representative"]]}
            for g in document["groups"]
        ],
        "consensus": {k: [link(c) for c in v] for k, v in document["consensus"].items()},
        "divisive": [link(c) for c in document["divisive"]],
        "comments": [link(c) for c in document["comments"]],
    }


def _render_summary(item_id: int, *, printable: bool) -> str:
    item, document, state = _summary(item_id)
    return render_template(
        "summaries/show.html",
        item=item,
        summary=_with_links(document) if document else None,
        state=state,
        printable=printable,
    )


@bp.get("/items/<int:item_id>")
def show(item_id: int):
    """The consensus summary of an item: opinion map, common ground, divides, groups, ballot."""
    return _render_summary(item_id, printable=False)


@bp.get("/items/<int:item_id>/print")
def printable(item_id: int):
    """The same summary laid out for paper: no chart, every figure as text."""
    return _render_summary(item_id, printable=True)


@bp.get("/items/<int:item_id>/summary.json")
def as_json(item_id: int):
    """The summary as JSON, with pseudonymous participants and links to the comments cited."""
    _item, document, state = _summary(item_id)
    if document is None:
        return jsonify({"state": state}), 202
    return jsonify({**_with_links(document), "state": state})


def _csv_download(item_id: int, to_csv, filename: str) -> Response:
    _item, document, state = _summary(item_id)
    if document is None:
        return Response("pending\n", status=202, mimetype="text/plain")
    return Response(
        to_csv(document),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/items/<int:item_id>/summary.csv")
def as_csv(item_id: int):
    """The summary's comment table as CSV (one row per comment, each group's votes)."""
    return _csv_download(item_id, comments_csv, f"summary-item-{item_id}.csv")


@bp.get("/items/<int:item_id>/roundtables.csv")
def roundtables_as_csv(item_id: int):
    """The summary's roundtable polls (by option and member category) and themes as CSV."""
    return _csv_download(item_id, roundtables_csv, f"summary-item-{item_id}-roundtables.csv")


@bp.get("/items/<int:item_id>/categories.csv")
def categories_as_csv(item_id: int):
    """How many voters took part under each member category, and that those were verified."""
    return _csv_download(item_id, categories_csv, f"summary-item-{item_id}-categories.csv")
