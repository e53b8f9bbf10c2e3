"""The main menu: entries appear once their feature registers the endpoint."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

#: (endpoint, label, who sees it: None for everyone, else a User attribute that must be true)
MAIN_MENU = [
    ("home.index", _l("Home"), None),
    ("agendas.index", _l("Agendas"), None),
    ("voting.index", _l("Ballots"), None),
    ("roundtables.index", _l("Roundtables"), None),
    ("proposals.index", _l("Proposals"), None),
    ("voting.paper_ballots", _l("Paper ballots"), "is_field_office"),
    ("admin.index", _l("Administration"), "is_admin"),
    # Admins reach it from Administration; a coordinator has only this page there.
    ("admin.category_requests", _l("Category requests"), "is_coordinator_only"),
]


def main_nav_links() -> list[tuple[str, str]]:
    links = []
    for endpoint, label, needs in MAIN_MENU:
        if endpoint not in current_app.view_functions:
            continue
        if needs and not (current_user.is_authenticated and getattr(current_user, needs)):
            continue
        links.append((endpoint, str(label)))
    return links
