"""Staffing a roundtable: one facilitator a table at seating, merging a table without one, the
people page's filters and bulk actions, and the CSV roster import with its preview."""

import io

from sqlalchemy import func, select

from deliberation.accounts.models import Role, User
from deliberation.core.audit import AuditEntry
from deliberation.extensions import db
from deliberation.roundtables import sessions, staffing
from deliberation.roundtables.models import (
    ChatMessage,
    Participant,
    ParticipantRole,
    RoundtableTable,
)
from tests.conftest import csrf_token_from
from tests.factories import make_user
from tests.roundtables.helpers import build_session, emit, joined, received, session_of


def _people(session_id: int, role: ParticipantRole | None = None) -> list[Participant]:
    query = select(Participant).where(Participant.session_id == session_id)
    if role is not None:
        query = query.where(Participant.role == role)
    return list(db.session.scalars(query.order_by(Participant.id)))


def _tables(session_id: int) -> list[RoundtableTable]:
    return list(
        db.session.scalars(
            select(RoundtableTable)
            .where(RoundtableTable.session_id == session_id)
            .order_by(RoundtableTable.number)
        )
    )


def _seat(app, setup) -> dict:
    with app.app_context():
        session = session_of(setup["session_id"])
        answer = sessions.seat_room(db.session.get(User, setup["lead_id"]), session)
        db.session.commit()
        return answer


def test_seating_puts_exactly_one_facilitator_at_each_table_when_enough_volunteered(app):
    with app.app_context():
        setup = build_session(participants=40, facilitators=5)
    answer = _seat(app, setup)
    assert answer["tables"] == 4 and answer["without_facilitator"] == []
    assert answer["message"] == "Every table has a facilitator."
    with app.app_context():
        sid = setup["session_id"]
        at = [f.table_id for f in _people(sid, ParticipantRole.TABLE_FACILITATOR)]
        assert sorted(t for t in at if t) == sorted(t.id for t in _tables(sid))
        assert at.count(None) == 1  # the fifth stays free to help


def test_seating_says_how_many_tables_have_no_facilitator(app):
    with app.app_context():
        setup = build_session(participants=60, facilitators=1)
    answer = _seat(app, setup)
    assert answer["without_facilitator"] == [2, 3, 4, 5, 6]
    assert answer["message"].startswith("5 tables have no facilitator")


def test_a_second_facilitator_at_a_table_is_refused(app):
    with app.app_context():
        setup = build_session(participants=20, facilitators=3)
    _seat(app, setup)
    with app.app_context():
        sid = setup["session_id"]
        lead = db.session.get(User, setup["lead_id"])
        session = session_of(sid)
        first, second, spare = _people(sid, ParticipantRole.TABLE_FACILITATOR)
        assert spare.table_id is None
        try:
            sessions.move_participant(
                lead, session, spare, db.session.get(RoundtableTable, first.table_id)
            )
        except Exception as error:  # noqa: BLE001
            assert getattr(error, "code", "") == "table_has_facilitator"
            assert "already has a facilitator" in str(error)
        else:
            raise AssertionError("a second facilitator was seated")


def test_the_lead_merges_a_table_without_a_facilitator_into_the_nearest_staffed_one(app):
    with app.app_context():
        setup = build_session(participants=30, facilitators=2)
    _seat(app, setup)
    moved_user = None
    with app.app_context():
        sid = setup["session_id"]
        bare = staffing.tables_without_facilitator(sid)
        assert [t.number for t in bare] == [3]
        moved_user = next(p.user_id for p in _people(sid) if p.table_id == bare[0].id)
    person, _ack = joined(app, moved_user, setup["session_id"])
    lead, _ack = joined(app, setup["lead_id"], setup["session_id"])
    received(person), received(lead)
    with app.app_context():
        sid = setup["session_id"]
        bare_id = staffing.tables_without_facilitator(sid)[0].id
    with app.app_context():
        session = session_of(sid)
        session.start()
        db.session.commit()
    assert emit(person, "chat_send", {"session_id": sid, "text": "hello", "client_id": "c" * 12})[
        "ok"
    ]
    ack = emit(lead, "table_merge", {"session_id": sid, "table_id": bare_id})
    assert ack["ok"], ack
    assert (ack["number"], ack["into_number"], ack["moved"]) == (3, 2, 10)
    told = received(person, "seat_changed")
    assert told and told[0]["args"][0]["table_number"] == 2
    assert received(lead, "table_merged")[0]["args"][0]["into_number"] == 2
    with app.app_context():
        assert [t.number for t in _tables(sid)] == [1, 2]
        two = _tables(sid)[1]
        assert (
            sum(1 for p in _people(sid, ParticipantRole.PARTICIPANT) if p.table_id == two.id) == 20
        )
        assert db.session.scalar(select(ChatMessage.table_id)) == two.id
        assert (
            db.session.scalar(
                select(func.count()).where(AuditEntry.action == "roundtable.merge_table")
            )
            == 1
        )
    # A staffed table is not merged, and a citizen cannot merge.
    staffed = ack["into_id"]
    refused = emit(lead, "table_merge", {"session_id": sid, "table_id": staffed})
    assert refused["error"] == "table_has_facilitator"
    assert (
        emit(person, "table_merge", {"session_id": sid, "table_id": staffed})["error"] == "not_lead"
    )


def _people_page(client, sid, **args):
    return client.get(f"/roundtables/{sid}/people", query_string=args)


def test_people_page_filters_and_is_for_the_lead_only(app, client, auth):
    with app.app_context():
        setup = build_session(participants=60, facilitators=2)
        lead_email = db.session.get(User, setup["lead_id"]).email
        citizen_email = db.session.get(User, setup["people"][0]).email
        db.session.get(User, setup["people"][3]).display_name = "Kim Minji"
        db.session.commit()
    sid = setup["session_id"]
    _seat(app, setup)
    auth.login(citizen_email)
    assert _people_page(client, sid).status_code == 403
    auth.logout()
    auth.login(lead_email)
    page = _people_page(client, sid)
    assert page.status_code == 200
    assert "62 people found." in page.text
    assert page.text.count('name="participant_ids"') == 50  # 50 a page
    assert "Page 1 of 2" in page.text
    assert "Tables without a facilitator" in page.text and "4 (tables 3, 4, 5, 6)" in page.text
    found = _people_page(client, sid, q="minji")
    assert "1 person found." in found.text and "Kim Minji" in found.text
    facilitators = _people_page(client, sid, role="table_facilitator")
    assert "2 people found." in facilitators.text
    experts = _people_page(client, sid, category="expert")
    assert "15 people found." in experts.text
    with app.app_context():
        table_one = _tables(sid)[0].id
    assert "11 people found." in _people_page(client, sid, table=table_one).text
    assert "0 people found." in _people_page(client, sid, connected="1").text


def test_bulk_actions_give_roles_and_move_people_all_or_nothing(app, client, auth):
    with app.app_context():
        setup = build_session(participants=20, facilitators=0)
        lead_email = db.session.get(User, setup["lead_id"]).email
        session = session_of(setup["session_id"])
        volunteers = [make_user(Role.FACILITATOR, commit=False) for _ in range(2)]
        for user in volunteers:
            sessions.register(session, user)
        db.session.commit()
        volunteers = [u.id for u in volunteers]
    sid = setup["session_id"]
    _seat(app, setup)
    auth.login(lead_email)
    page = _people_page(client, sid)
    token = csrf_token_from(page.text)
    with app.app_context():
        ids = {p.user_id: p.id for p in _people(sid)}
        tables = [t.id for t in _tables(sid)]
    # Theme team for two people: done, audited.
    response = client.post(
        f"/roundtables/{sid}/people/bulk",
        data={"csrf_token": token, "action": "theme_team",
              "participant_ids": [ids[setup["people"][5]], ids[setup["people"][6]]]},
    )  # fmt: skip
    assert response.status_code == 302
    assert "Done for 2 people." in client.get(response.location).text
    with app.app_context():
        team = _people(sid, ParticipantRole.THEME_TEAM)
        assert len(team) == 2 and all(p.table_id is None for p in team)
        assert (
            db.session.scalar(
                select(func.count()).where(AuditEntry.action == "roundtable.set_role")
            )
            == 2
        )
    # Two volunteers at the same table cannot both lead it: the whole batch is refused, named.
    with app.app_context():
        for uid in volunteers:
            db.session.get(Participant, ids[uid]).table_id = tables[0]
        db.session.commit()
    refused = client.post(
        f"/roundtables/{sid}/people/bulk",
        data={"csrf_token": token, "action": "table_facilitator",
              "participant_ids": [ids[v] for v in volunteers]},
        follow_redirects=True,
    )  # fmt: skip
    assert "already has a facilitator" in refused.text
    with app.app_context():
        assert _people(sid, ParticipantRole.TABLE_FACILITATOR) == []
    # A citizen cannot lead a table.
    refused = client.post(
        f"/roundtables/{sid}/people/bulk",
        data={"csrf_token": token, "action": "table_facilitator",
              "participant_ids": [ids[setup["people"][7]]]},
        follow_redirects=True,
    )  # fmt: skip
    assert "Only facilitators can lead a table." in refused.text
    # Move one volunteer to table 2, then both are facilitators: one a table.
    moved = client.post(
        f"/roundtables/{sid}/people/bulk",
        data={"csrf_token": token, "action": "move", "table_id": tables[1],
              "participant_ids": [ids[volunteers[1]]]},
        follow_redirects=True,
    )  # fmt: skip
    assert "Done for 1 person." in moved.text
    done = client.post(
        f"/roundtables/{sid}/people/bulk",
        data={"csrf_token": token, "action": "table_facilitator",
              "participant_ids": [ids[v] for v in volunteers]},
        follow_redirects=True,
    )  # fmt: skip
    assert "Done for 2 people." in done.text
    with app.app_context():
        led = sorted(p.table_id for p in _people(sid, ParticipantRole.TABLE_FACILITATOR))
        assert led == tables[:2]  # 22 people sit at 3 tables; the third still has nobody
    assert '<dd id="bare-tables">1 (tables 3)</dd>' in _people_page(client, sid).text


def test_a_roster_is_previewed_row_by_row_and_changes_nothing_until_confirmed(app, client, auth):
    with app.app_context():
        setup = build_session(participants=30, facilitators=0)
        session = session_of(setup["session_id"])
        volunteers = [make_user(Role.FACILITATOR, commit=False) for _ in range(3)]
        for user in volunteers:
            sessions.register(session, user)
        make_user(email="stranger@example.org", commit=False)
        db.session.commit()
        lead_email = db.session.get(User, setup["lead_id"]).email
        emails = [u.email for u in volunteers]
        citizen = db.session.get(User, setup["people"][0]).email
        team = db.session.get(User, setup["people"][1]).email
    sid = setup["session_id"]
    _seat(app, setup)  # 33 people: 4 tables, none with a facilitator
    roster = "\n".join([
        "email,role,table",
        f"{emails[0]},table_facilitator,1",
        f"{emails[1].upper()},facilitator,2",
        f"{team},theme_team,",
        "nobody@example.org,participant,1",
        "stranger@example.org,participant,1",
        f"{citizen},table_facilitator,3",
        f"{emails[2]},chef,3",
        f"{emails[2]},table_facilitator,9",
        f"{emails[0]},participant,",
    ])  # fmt: skip
    auth.login(lead_email)
    page = _people_page(client, sid)
    preview = client.post(
        f"/roundtables/{sid}/people/import",
        data={"csrf_token": csrf_token_from(page.text),
              "roster_file": (io.BytesIO(roster.encode("utf-8-sig")), "roster.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert preview.status_code == 200
    text = preview.text
    assert "Rows to apply: 3. Rows with errors, to be skipped: 6. Nothing has changed yet." in text
    assert "Table facilitator at table 1" in text and "Table facilitator at table 2" in text
    assert "No member has this email." in text
    assert "Not registered for this session." in text
    assert "Only facilitators can lead a table." in text
    assert "Unknown role “chef”" in text
    assert "There is no table 9." in text
    assert "This email is already on line 2." in text
    with app.app_context():  # a preview changes nothing
        assert _people(sid, ParticipantRole.TABLE_FACILITATOR) == []
        assert _people(sid, ParticipantRole.THEME_TEAM) == []
        assert db.session.scalar(
            select(func.count()).where(AuditEntry.action.in_(
                ["roundtable.roster_import", "roundtable.set_role", "roundtable.move"]))
        ) == 0  # fmt: skip
    confirmed = client.post(
        f"/roundtables/{sid}/people/import/confirm",
        data={"csrf_token": csrf_token_from(text), "roster_text": csrf_free(text)},
        follow_redirects=True,
    )  # fmt: skip
    assert "Roster imported. Rows applied: 3; skipped: 6." in confirmed.text
    with app.app_context():
        tables = _tables(sid)
        led = {p.user.email: p.table_id for p in _people(sid, ParticipantRole.TABLE_FACILITATOR)}
        assert led == {emails[0]: tables[0].id, emails[1]: tables[1].id}
        assert [p.user.email for p in _people(sid, ParticipantRole.THEME_TEAM)] == [team]
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "roundtable.roster_import")
        )
        assert entry.details == {"applied": 3, "errors": 6}


def csrf_free(html: str) -> str:
    """The roster the preview page carries back in its hidden field."""
    import html as html_lib
    import re

    match = re.search(r'name="roster_text" type="hidden" value="([^"]*)"', html)
    assert match, "the preview carries the roster"
    return html_lib.unescape(match.group(1))


def test_an_unreadable_roster_is_refused_with_a_message(app, client, auth):
    with app.app_context():
        setup = build_session(participants=5, facilitators=0)
        lead_email = db.session.get(User, setup["lead_id"]).email
    sid = setup["session_id"]
    auth.login(lead_email)
    page = _people_page(client, sid)
    empty = client.post(
        f"/roundtables/{sid}/people/import",
        data={"csrf_token": csrf_token_from(page.text), "roster_text": "\n\n"},
    )
    assert "The roster has no rows." in empty.text
    wrong = client.post(
        f"/roundtables/{sid}/people/import",
        data={"csrf_token": csrf_token_from(page.text),
              "roster_file": (io.BytesIO("a@b.c,참가자".encode("cp949")), "r.csv")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert wrong.status_code == 400 and "Save the roster as UTF-8 CSV." in wrong.text


def _running_with_facilitator(app, phase="discussion"):
    from deliberation.roundtables.models import Phase

    with app.app_context():
        setup = build_session(participants=10, facilitators=1, state="lobby")
    _seat(app, setup)
    with app.app_context():
        session = session_of(setup["session_id"])
        session.start()
        session.move_to_phase(Phase.DISCUSSION)
        if phase != "discussion":
            session.move_to_phase(Phase(phase))
        db.session.commit()
    return setup


def test_the_table_facilitator_edits_and_deletes_a_draft_idea_before_submitting(app):
    setup = _running_with_facilitator(app)
    sid = setup["session_id"]
    facilitator, ack = joined(app, setup["facilitators"][0], sid)
    table_id = ack["seat"]["table_id"]
    citizen, _ack = joined(app, setup["people"][0], sid)
    ideas = [
        emit(facilitator, "idea_add", {"session_id": sid, "table_id": table_id,
                                       "text": f"Idea {n}", "client_id": f"idea-{n}-xxxx"})["idea"]
        for n in range(5)
    ]  # fmt: skip
    full = emit(facilitator, "idea_add", {"session_id": sid, "table_id": table_id,
                                          "text": "Sixth", "client_id": "idea-6-xxxx"})  # fmt: skip
    assert full["error"] == "too_many_ideas"
    received(citizen)
    edited = emit(facilitator, "idea_edit", {"session_id": sid, "idea_id": ideas[0]["id"],
                                             "text": "Idea zero, reworded"})  # fmt: skip
    assert edited["ok"] and edited["idea"]["body"] == "Idea zero, reworded"
    assert received(citizen, "idea")[0]["args"][0]["body"] == "Idea zero, reworded"
    # A citizen at the table cannot touch it.
    refused = emit(citizen, "idea_delete", {"session_id": sid, "idea_id": ideas[1]["id"]})
    assert refused["error"] == "not_table_facilitator"
    gone = emit(facilitator, "idea_delete", {"session_id": sid, "idea_id": ideas[1]["id"]})
    assert gone["ok"]
    assert received(citizen, "idea_deleted")[0]["args"][0]["idea_id"] == ideas[1]["id"]
    again = emit(facilitator, "idea_delete", {"session_id": sid, "idea_id": ideas[1]["id"]})
    assert again["ok"]  # a resend changes nothing and says the same
    # The freed place in the round's five takes a new idea.
    sixth = emit(
        facilitator,
        "idea_add",
        {"session_id": sid, "table_id": table_id, "text": "Sixth", "client_id": "idea-7-xxxx"},
    )
    assert sixth["ok"]
    snapshot = emit(citizen, "snapshot", {"session_id": sid})["snapshot"]
    assert [i["body"] for i in snapshot["ideas"]] == [
        "Idea zero, reworded", "Idea 2", "Idea 3", "Idea 4", "Sixth"]  # fmt: skip
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.like("roundtable.idea_%"))
        ).all()
        assert sorted(actions) == ["roundtable.idea_delete", "roundtable.idea_edit"]


def test_a_submitted_idea_can_no_longer_change(app):
    setup = _running_with_facilitator(app, phase="submissions")
    sid = setup["session_id"]
    facilitator, ack = joined(app, setup["facilitators"][0], sid)
    table_id = ack["seat"]["table_id"]
    idea = emit(
        facilitator,
        "idea_add",
        {"session_id": sid, "table_id": table_id, "text": "Benches", "client_id": "idea-b-xxxx"},
    )["idea"]
    assert emit(facilitator, "ideas_submit", {"session_id": sid, "table_id": table_id})["ok"]
    edit = emit(facilitator, "idea_edit", {"session_id": sid, "idea_id": idea["id"], "text": "x"})
    assert edit["error"] == "already_submitted"
    assert emit(facilitator, "idea_delete", {"session_id": sid, "idea_id": idea["id"]})[
        "error"
    ] == ("already_submitted")


def test_a_person_moved_or_given_a_role_is_told_what_changed(app):
    with app.app_context():
        setup = build_session(participants=20, facilitators=2)
    _seat(app, setup)
    sid = setup["session_id"]
    person, ack = joined(app, setup["people"][0], sid)
    before = ack["seat"]["table_number"]
    lead, _ack = joined(app, setup["lead_id"], sid)
    with app.app_context():
        other = next(t for t in _tables(sid) if t.number != before)
        other_id, other_number = other.id, other.number
    received(person)
    me = ack["seat"]["participant_id"]
    moved = emit(
        lead, "move_participant", {"session_id": sid, "table_id": other_id, "participant_id": me}
    )
    assert moved["error"] == "table_full"  # ten a table: the move is refused, nothing said
    assert received(person, "seat_changed") == []
    made = emit(lead, "set_role", {"session_id": sid, "role": "theme_team",
                                   "participant_id": ack["seat"]["participant_id"]})  # fmt: skip
    assert made["ok"]
    told = received(person, "seat_changed")[0]["args"][0]
    assert (told["change"], told["role"], told["table_number"]) == ("role", "theme_team", None)
    assert received(lead, "people_changed")  # the console refreshes its table list
    assert other_number != before


def test_the_database_refuses_a_second_facilitator_at_a_table(app):
    import pytest
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        setup = build_session(participants=20, facilitators=2)
    _seat(app, setup)
    with app.app_context():
        sid = setup["session_id"]
        first, second = _people(sid, ParticipantRole.TABLE_FACILITATOR)
        first_table, second_table = first.table_id, second.table_id
        second.table_id = first.table_id  # past the services, straight to the database
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # The lead names a facilitator who registered before them (a lower id): reseating
        # moves each facilitator to another table, which the index allows, as a swap.
        earlier = _people(sid, ParticipantRole.PARTICIPANT)[0]
        earlier.role, earlier.table_id = ParticipantRole.TABLE_FACILITATOR, None
        db.session.commit()
        earlier_id = earlier.id
    answer = _seat(app, setup)
    with app.app_context():
        led = {p.id: p.table_id for p in _people(sid, ParticipantRole.TABLE_FACILITATOR)}
        assert answer["without_facilitator"] == []
        assert led[earlier_id] == first_table
        assert sorted(t for t in led.values() if t) == sorted([first_table, second_table])


def test_reseating_after_a_merge_numbers_new_tables_after_the_last(app):
    with app.app_context():
        setup = build_session(participants=30, facilitators=1)
    _seat(app, setup)
    with app.app_context():
        sid = setup["session_id"]
        lead = db.session.get(User, setup["lead_id"])
        session = session_of(sid)
        one, two, _three = _tables(sid)
        staffing.merge_table(lead, session, two, one)  # a gap in the numbers: 1, 3
        for _ in range(12):  # late registrations, then the lead reseats the room
            sessions.register(session, make_user(commit=False))
        db.session.commit()
    answer = _seat(app, setup)
    with app.app_context():
        assert answer["tables"] == 5
        assert [t.number for t in _tables(sid)] == [1, 3, 4, 5, 6]


def test_everyone_at_a_table_sees_its_new_facilitator_at_once(app):
    """A role change or a move tells the tables concerned who facilitates them now."""
    with app.app_context():
        setup = build_session(participants=18, facilitators=2)
    _seat(app, setup)
    sid = setup["session_id"]
    lead, _ack = joined(app, setup["lead_id"], sid)
    with app.app_context():
        first, second = _people(sid, ParticipantRole.TABLE_FACILITATOR)
        first_id, second_id, second_name = first.id, second.id, second.user.display_name
        table_a, table_b = first.table_id, second.table_id
        at_a = next(
            p.user_id for p in _people(sid, ParticipantRole.PARTICIPANT) if p.table_id == table_a
        )
        at_b = next(
            p.user_id for p in _people(sid, ParticipantRole.PARTICIPANT) if p.table_id == table_b
        )
    citizen_a, ack_a = joined(app, at_a, sid)
    citizen_b, _ack_b = joined(app, at_b, sid)
    assert ack_a["seat"]["facilitator"] is not None
    received(citizen_a), received(citizen_b)

    # Table A's facilitator becomes a participant: table A hears it has none; B hears nothing.
    made = emit(lead, "set_role", {"session_id": sid, "role": "participant",
                                   "participant_id": first_id})  # fmt: skip
    assert made["ok"], made
    told = [e["args"][0] for e in received(citizen_a, "table_changed")]
    assert [(t["table_id"], t["facilitator"]) for t in told] == [(table_a, None)]
    assert received(citizen_b, "table_changed") == []

    # Table B's facilitator moves to table A: A hears the name, B hears it has none.
    moved = emit(lead, "move_participant", {"session_id": sid, "table_id": table_a,
                                             "participant_id": second_id})  # fmt: skip
    assert moved["ok"], moved
    assert [e["args"][0]["facilitator"] for e in received(citizen_a, "table_changed")] == [
        second_name
    ]
    assert [e["args"][0]["facilitator"] for e in received(citizen_b, "table_changed")] == [None]
    # A fresh join agrees with what was said live.
    assert emit(citizen_a, "join", {"session_id": sid})["seat"]["facilitator"] == second_name
