"""What the lead's console is told: the room's counts, each table's activity, help answered
with the lead in the table's chat, and the summary on closing."""

from deliberation.roundtables import queries
from tests.roundtables.helpers import build_session, cid, emit, joined, received, session_of
from tests.roundtables.test_hybrid import paper_table, register_on_paper
from tests.roundtables.test_seat_push import count_queries


def test_counts_tell_registered_seated_connected_and_facilitators_apart(app):
    with app.app_context():
        info = build_session(participants=20, facilitators=2, theme_team=1)
    sid = info["session_id"]
    lead, ack = joined(app, info["lead_id"], sid)
    counts = ack["snapshot"]["console"]["counts"]
    # before seating nobody is seated, though 23 registered
    assert (counts["registered"], counts["seated"], counts["facilitators"]) == (23, 0, 2)
    assert counts["connected"] == 0
    assert emit(lead, "seat_room", {"session_id": sid})["ok"]
    joined(app, info["people"][0], sid)
    joined(app, info["people"][1], sid)
    console = emit(lead, "console", {"session_id": sid})["console"]
    counts = console["counts"]
    assert (counts["registered"], counts["seated"], counts["connected"]) == (23, 20, 2)
    assert (counts["tables"], counts["tables_without_facilitator"]) == (2, 0)
    # a table's seated people include its facilitator, as its connected people do
    assert sum(t["seated"] for t in console["tables"]) == 22
    assert sum(t["participants"] for t in console["tables"]) == 20


def test_the_console_counts_the_same_people_as_seated_and_connected(app):
    """A table's 'connected / seated' compares like with like: its facilitator is in both,
    and a person with two tabs open is one person connected, not two."""
    with app.app_context():
        info = build_session(participants=10, facilitators=1)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    assert emit(lead, "seat_room", {"session_id": sid})["ok"]
    [table] = emit(lead, "console", {"session_id": sid})["console"]["tables"]
    assert (table["seated"], table["participants"], table["connected"]) == (11, 10, 0)
    joined(app, info["facilitators"][0], sid)
    joined(app, info["people"][0], sid)
    joined(app, info["people"][0], sid)  # the same person in a second tab
    [table] = emit(lead, "console", {"session_id": sid})["console"]["tables"]
    assert (table["seated"], table["connected"]) == (11, 2)
    for uid in info["people"][1:]:
        joined(app, uid, sid)
    console = emit(lead, "console", {"session_id": sid})["console"]
    [table] = console["tables"]
    assert table["connected"] == table["seated"] == 11  # everyone there: nobody missing
    assert console["counts"]["connected"] == 11


def test_paper_participants_count_as_seated_but_are_not_expected_to_connect(app):
    """People entered on paper have no device: the console counts them at their table and
    leaves them out of who can be connected, so a hall table of them is missing no one."""
    info, sid, lead, _poll, fac, table_id, _number = paper_table(app, people=6)
    for name in ("Yoon Geum-ja", "Park Mal-sun"):
        assert register_on_paper(fac, sid, table_id, name)["ok"]
    console = emit(lead, "console", {"session_id": sid})["console"]
    [table] = console["tables"]
    # six online participants, two on paper and the facilitator (connected)
    assert (table["seated"], table["participants"], table["on_paper"]) == (9, 8, 2)
    assert (table["connected"], console["counts"]["with_device"]) == (1, 7)
    for uid in info["people"]:
        joined(app, uid, sid)
    console = emit(lead, "console", {"session_id": sid})["console"]
    [table] = console["tables"]
    assert table["connected"] == table["seated"] - table["on_paper"] == 7
    assert console["counts"]["connected"] == console["counts"]["with_device"] == 7


def test_a_tables_last_activity_and_ideas_show_on_the_console(app):
    with app.app_context():
        info = build_session(participants=10, facilitators=1)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    emit(lead, "seat_room", {"session_id": sid})
    emit(lead, "session_start", {"session_id": sid})
    table = emit(lead, "console", {"session_id": sid})["console"]["tables"][0]
    assert table["last_activity_at"] is None and table["messages_last_minute"] == 0
    emit(lead, "phase_set", {"session_id": sid, "phase": "discussion"})
    person, _ = joined(app, info["people"][0], sid)
    assert emit(person, "chat_send", {"session_id": sid, "text": "hi", "client_id": cid()})["ok"]
    facilitator, _ = joined(app, info["facilitators"][0], sid)
    added = emit(
        facilitator,
        "idea_add",
        {"session_id": sid, "table_id": table["id"], "text": "Benches", "client_id": cid()},
    )
    assert added["ok"], added
    table = emit(lead, "console", {"session_id": sid})["console"]["tables"][0]
    assert table["messages_last_minute"] == 1 and table["last_activity_at"]
    assert (table["ideas_drafted"], table["ideas_submitted"]) == (1, 0)


def test_answering_help_tells_the_table_and_lets_the_lead_post_there(app):
    with app.app_context():
        info = build_session(participants=10, facilitators=0)
    sid = info["session_id"]
    lead, _ = joined(app, info["lead_id"], sid)
    emit(lead, "seat_room", {"session_id": sid})
    emit(lead, "session_start", {"session_id": sid})
    person, ack = joined(app, info["people"][0], sid)
    table_id = ack["seat"]["table_id"]
    assert emit(person, "help_request", {"session_id": sid})["ok"]
    received(person)
    assert emit(lead, "help_clear", {"session_id": sid, "table_id": table_id})["ok"]
    flag = received(person, "help_flag")[0]["args"][0]
    assert flag["help"] is False and flag["lead_on_the_way"] is True
    posted = emit(
        lead,
        "lead_chat_send",
        {"session_id": sid, "table_id": table_id, "text": "On my way", "client_id": cid()},
    )
    assert posted["ok"], posted
    assert [m["args"][0]["body"] for m in received(person, "chat_message")] == ["On my way"]
    chat = emit(lead, "table_chat", {"session_id": sid, "table_id": table_id})
    assert [m["body"] for m in chat["chat"]] == ["On my way"]
    # nobody but the lead posts to a table that is not theirs, nor reads it
    refused = emit(
        person,
        "lead_chat_send",
        {"session_id": sid, "table_id": table_id, "text": "x", "client_id": cid()},
    )
    assert refused["error"] == "not_lead"
    assert emit(person, "table_chat", {"session_id": sid, "table_id": table_id})["error"] == (
        "not_lead"
    )


def test_closing_tells_the_lead_what_passed_and_where_the_results_are(app):
    from tests.roundtables.results_helpers import run_session

    with app.app_context():
        # parks 8 of 8 agree: passes; buses 3 of 8 (37.5 %): does not
        run = run_session(close=False, choose_one=False)
        sid = run["session_id"]
        lead_id = run["lead_id"]
    lead, _ = joined(app, lead_id, sid)
    closed = emit(lead, "session_close", {"session_id": sid})
    assert closed["ok"], closed
    summary = closed["summary"]
    assert summary["results_url"] == f"/roundtables/{sid}/results"
    assert closed["state"]["results_url"] == summary["results_url"]
    themes = {t["name"]: t for t in summary["themes"]}
    assert themes["Green parks"]["passed"] and themes["Green parks"]["support_percent"] == 100
    assert not themes["Better buses"]["passed"] and themes["Better buses"]["became"] is None
    item = summary["agenda_items"][0]
    assert themes["Green parks"]["became"] == {
        "kind": "agenda_item", "id": item["id"], "url": f"/agendas/{item['id']}"
    }  # fmt: skip
    assert summary["rule"] == "at_least" and summary["threshold_percent"] == 50


def _console_queries(app, session_id: int) -> tuple[int, dict]:
    """How many statements the console's overview takes, and the overview (counted in this
    thread only: a background task of the seating may query the same engine meanwhile)."""
    overview: dict = {}
    with app.app_context():
        session = session_of(session_id)
        n = count_queries(app, lambda: overview.update(queries.console_overview(session)))
    return n, overview


def test_the_overview_takes_as_many_queries_for_ten_tables_as_for_two(app):
    """The console asks every two seconds: its cost must not grow with the tables."""
    seen = []
    for people, facilitators in ((20, 2), (100, 10)):
        with app.app_context():
            info = build_session(participants=people, facilitators=facilitators)
        lead, _ = joined(app, info["lead_id"], info["session_id"])
        assert emit(lead, "seat_room", {"session_id": info["session_id"]})["ok"]
        n, overview = _console_queries(app, info["session_id"])
        assert len(overview["tables"]) == people // 10
        assert all(len(t["facilitators"]) == 1 for t in overview["tables"])
        seen.append(n)
    assert seen[0] == seen[1], seen
