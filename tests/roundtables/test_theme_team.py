"""The theme team's editing over Socket.IO: an idea added to or taken out of a theme, a merge
undone, and the warning when a theme's name repeats an agenda item linked to the session."""

from sqlalchemy import select

from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from deliberation.roundtables.models import Idea, RoundtableSession
from tests.agendas.helpers import make_item
from tests.factories import make_user
from tests.roundtables.helpers import build_session, cid, emit, joined


def submitted_ideas(app, texts=("More benches in parks", "Longer library hours", "Night buses")):
    """Three submitted ideas of one table, in the synthesis phase; the theme team joined."""
    with app.app_context():
        info = build_session(participants=10, facilitators=1, theme_team=1)
        session = db.session.get(RoundtableSession, info["session_id"])
        item = make_item(make_user(), session.division, title="Shade in every park")
        session.agenda_items.append(item)
        db.session.commit()
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    assert emit(lead, "seat_room", {"session_id": sid})["ok"]
    team, _ = joined(app, info["team"][0], sid)
    fac, fack = joined(app, info["facilitators"][0], sid)
    table_id = fack["seat"]["table_id"]
    emit(lead, "session_start", {"session_id": sid})
    emit(lead, "phase_set", {"session_id": sid, "phase": "discussion"})
    ids = []
    for text in texts:
        ack = emit(fac, "idea_add", {"session_id": sid, "table_id": table_id, "text": text,
                                     "client_id": cid()})  # fmt: skip
        ids.append(ack["idea"]["id"])
    emit(lead, "phase_set", {"session_id": sid, "phase": "submissions"})
    assert emit(fac, "ideas_submit", {"session_id": sid, "table_id": table_id})["ok"]
    emit(lead, "phase_set", {"session_id": sid, "phase": "synthesis"})
    return sid, team, fac, ids


def theme_of(app, idea_id):
    with app.app_context():
        return db.session.get(Idea, idea_id).theme_id


def test_an_idea_joins_and_leaves_a_theme_by_event(app):
    sid, team, fac, ids = submitted_ideas(app)
    parks = emit(team, "theme_create", {"session_id": sid, "name": "Parks", "idea_ids": ids[:1]})
    buses = emit(team, "theme_create", {"session_id": sid, "name": "Buses", "idea_ids": ids[2:]})
    parks_id, buses_id = parks["theme"]["id"], buses["theme"]["id"]

    added = emit(
        team, "theme_idea_add", {"session_id": sid, "theme_id": parks_id, "idea_id": ids[1]}
    )
    assert added["ok"], added
    assert sorted(added["themes"][0]["idea_ids"]) == sorted(ids[:2])
    assert theme_of(app, ids[1]) == parks_id

    # Adding an idea that sits in another theme moves it; both themes come back changed.
    moved = emit(
        team, "theme_idea_add", {"session_id": sid, "theme_id": parks_id, "idea_id": ids[2]}
    )
    assert {t["id"]: t["idea_ids"] for t in moved["themes"]}[buses_id] == []
    again = emit(
        team, "theme_idea_add", {"session_id": sid, "theme_id": parks_id, "idea_id": ids[2]}
    )
    assert again["error"] == "already_in_theme"

    removed = emit(
        team, "theme_idea_remove", {"session_id": sid, "theme_id": parks_id, "idea_id": ids[0]}
    )
    assert removed["ok"] and ids[0] not in removed["theme"]["idea_ids"]
    assert theme_of(app, ids[0]) is None
    refused = emit(
        team, "theme_idea_remove", {"session_id": sid, "theme_id": parks_id, "idea_id": ids[0]}
    )
    assert refused["error"] == "not_in_theme"

    # Only the theme team (or the lead) edits themes.
    denied = emit(
        fac, "theme_idea_add", {"session_id": sid, "theme_id": parks_id, "idea_id": ids[0]}
    )
    assert denied["error"] == "not_theme_team"
    assert theme_of(app, ids[0]) is None
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("roundtable.theme_idea_add") == 2
    assert "roundtable.theme_idea_remove" in actions


def test_a_merge_is_undone_with_the_ideas_it_brought(app):
    sid, team, _fac, ids = submitted_ideas(app)
    parks = emit(team, "theme_create", {"session_id": sid, "name": "Parks", "idea_ids": ids[:1]})
    books = emit(team, "theme_create", {"session_id": sid, "name": "Books", "idea_ids": ids[1:]})
    merged = emit(team, "theme_merge", {"session_id": sid, "theme_id": books["theme"]["id"],
                                        "into_id": parks["theme"]["id"]})  # fmt: skip
    assert sorted(merged["theme"]["idea_ids"]) == sorted(ids)
    undo = merged["theme"]["merged"]
    assert sorted(undo["idea_ids"]) == sorted(ids[1:])

    back = emit(team, "theme_unmerge", {"session_id": sid, **undo})
    assert back["ok"], back
    by_name = {t["name"]: sorted(t["idea_ids"]) for t in back["themes"]}
    assert by_name == {"Books": sorted(ids[1:]), "Parks": ids[:1]}
    snapshot = emit(team, "snapshot", {"session_id": sid})["snapshot"]
    assert [t["name"] for t in snapshot["console"]["themes"]] == ["Parks", "Books"]
    # A theme that is not merged cannot be "brought back".
    assert emit(team, "theme_unmerge", {"session_id": sid, **undo})["error"] == "no_such_theme"


def test_a_theme_named_like_a_linked_agenda_item_is_flagged(app):
    sid, team, _fac, ids = submitted_ideas(app)
    close = emit(team, "theme_create", {"session_id": sid, "name": "Shade in every park!",
                                        "idea_ids": ids[:1]})  # fmt: skip
    assert close["theme"]["similar_item"]["title"] == "Shade in every park"
    other = emit(team, "theme_create", {"session_id": sid, "name": "Night buses", "idea_ids": []})
    assert other["theme"]["similar_item"] is None
    snapshot = emit(team, "snapshot", {"session_id": sid})["snapshot"]
    flagged = {t["name"]: t["similar_item"] for t in snapshot["console"]["themes"]}
    assert flagged["Shade in every park!"] is not None and flagged["Night buses"] is None
