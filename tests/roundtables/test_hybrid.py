"""Hybrid roundtables: hall tables, paper participants entered by their table's facilitator,
their ideas and slip-numbered votes, the audit trail, and no counts for a whole table."""

import time

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError
from deliberation.extensions import db
from deliberation.roundtables import polls, seating, sessions
from deliberation.roundtables.models import (
    Idea,
    Participant,
    PollVote,
    RoundtableTable,
    TableKind,
    TakesPart,
)
from tests.factories import make_division, make_user
from tests.roundtables.helpers import cid, emit, joined, session_of, socket_for
from tests.roundtables.test_polls import poll_phase


def paper_table(app, people=6):
    """A session in its open poll; the first facilitator's table is made mixed (hall and
    online) by the lead. Returns (info, sid, lead, poll, facilitator socket, table id, number)."""
    info, sid, lead, poll = poll_phase(app, people=people, facilitators=1)
    fac, ack = joined(app, info["facilitators"][0], sid)
    table_id = ack["seat"]["table_id"]
    kind = emit(lead, "table_kind", {"session_id": sid, "table_id": table_id, "kind": "mixed"})
    assert kind["ok"], kind
    return info, sid, lead, poll, fac, table_id, ack["seat"]["table_number"]


def test_a_resent_registration_enters_the_person_once(app):
    _info, sid, _lead, _poll, fac, table_id, _number = paper_table(app)
    data = {"session_id": sid, "table_id": table_id, "name": "Yoon Geum-ja",
            "member_category": "citizen", "client_id": cid()}  # fmt: skip
    first, again = emit(fac, "paper_register", data), emit(fac, "paper_register", data)
    assert first["ok"] and again["ok"]
    assert first["participant_id"] == again["participant_id"]
    with app.app_context():
        named = select(func.count(Participant.id)).where(Participant.display_name == "Yoon Geum-ja")
        assert db.session.scalar(named) == 1


def test_registration_asks_hall_or_online(app, client, auth):
    with app.app_context():
        divisions = make_division()
        lead = make_user(Role.FACILITATOR)
        session = sessions.create_session(lead, division=divisions, title="Hall", hall_tables=1)
        session.open_lobby()
        citizen = make_user()
        db.session.commit()
        sid, email = session.id, citizen.email
    auth.login(email)
    token = auth.csrf(f"/roundtables/{sid}")
    response = client.post(
        f"/roundtables/{sid}/register", data={"takes_part": "hall", "csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        person = db.session.scalar(select(Participant).where(Participant.session_id == sid))
        assert person.takes_part == TakesPart.HALL
        tables = db.session.scalars(select(RoundtableTable).where(
            RoundtableTable.session_id == sid)).all()  # fmt: skip
        assert [t.kind for t in tables] == [TableKind.HALL]


def register_on_paper(fac, sid, table_id, name, category="citizen", **extra):
    data = {"session_id": sid, "table_id": table_id, "name": name, "member_category": category}
    return emit(fac, "paper_register", {**data, "client_id": cid(), **extra})


def _vote(fac, sid, poll, person, slip, option=None, client_id=None):
    data = {
        "session_id": sid,
        "poll_id": poll["id"],
        "participant_id": person,
        "option_id": option or poll["options"][0]["id"],
        "slip_no": slip,
        "client_id": client_id or cid(),
    }
    return emit(fac, "paper_vote", data)


def test_a_paper_vote_counts_exactly_once_and_a_slip_is_entered_once(app):
    _info, sid, _lead, poll, fac, table_id, number = paper_table(app)
    kim = register_on_paper(fac, sid, table_id, "Kim Sun-ja")
    lee = register_on_paper(fac, sid, table_id, "Lee Young-ho")
    assert kim["ok"] and lee["ok"], (kim, lee)
    slip = f"T{number:02d}-001"

    first_id = cid()
    ack = _vote(fac, sid, poll, kim["participant_id"], f" t{number}-1 ", client_id=first_id)
    assert ack["ok"], ack
    assert ack["vote"]["slip_no"] == slip and ack["vote"]["paper"] is True
    # a resend of the same entry (a reconnect) changes nothing and answers the same
    again = _vote(fac, sid, poll, kim["participant_id"], slip, client_id=first_id)
    assert again["ok"] and again["vote"]["repeat"] is True
    # a second entry for the same person, with another slip: refused
    second = _vote(fac, sid, poll, kim["participant_id"], f"T{number:02d}-002")
    assert not second["ok"] and second["error"] == "already_voted"
    assert "Kim Sun-ja" in second["message"]
    # the same slip for another person: refused, naming the slip
    twice = _vote(fac, sid, poll, lee["participant_id"], slip)
    assert not twice["ok"] and twice["error"] == "slip_used"
    assert slip in twice["message"]
    # a slip printed for another table, and something that is not a slip number
    other = _vote(fac, sid, poll, lee["participant_id"], f"T{number + 40:02d}-003")
    assert not other["ok"] and other["error"] == "slip_other_table"
    bad = _vote(fac, sid, poll, lee["participant_id"], "seven")
    assert not bad["ok"] and bad["error"] == "bad_slip"

    with app.app_context():
        votes = list(db.session.scalars(select(PollVote).where(PollVote.poll_id == poll["id"])))
        assert [(v.participant_id, v.slip_no) for v in votes] == [(kim["participant_id"], slip)]
        assert votes[0].witness_id == _info["facilitators"][0]
        tally = polls.poll_tally(polls.get_poll(session_of(sid), poll["id"]))
        assert tally["total"] == 1
        assert tally["counts"][str(poll["options"][0]["id"])] == 1
        assert tally["by_takes_part"] == {"online": 0, "hall": 0, "paper": 1}


def test_online_then_paper_is_refused_and_the_reverse(app):
    info, sid, _lead, _poll, fac, table_id, _number = paper_table(app)
    with app.app_context():
        online = db.session.get(User, info["people"][0])
        online_email, online_name = online.email, online.display_name
        no_device = make_user(name="Park No-phone")
        no_device_id, no_device_email = no_device.id, no_device.email

    refused = register_on_paper(fac, sid, table_id, "", member_email=online_email)
    assert not refused["ok"] and refused["error"] == "already_online"
    assert online_name in refused["message"] and "online" in refused["message"]

    entered = register_on_paper(fac, sid, table_id, "", member_email=no_device_email)
    assert entered["ok"], entered
    assert entered["name"] == "Park No-phone"
    again = register_on_paper(fac, sid, table_id, "", member_email=no_device_email)
    assert not again["ok"] and again["error"] == "already_on_paper"

    # the member entered on paper cannot also join online, by socket or by the register page
    client = socket_for(app, no_device_id)
    ack = emit(client, "join", {"session_id": sid})
    assert not ack["ok"] and ack["error"] == "takes_part_on_paper"
    with app.app_context():
        session = session_of(sid)
        member = db.session.get(User, no_device_id)
        with pytest.raises(DomainError) as refused_online:
            sessions.register(session, member)
        assert refused_online.value.code == "takes_part_on_paper"
        rows = db.session.scalar(
            select(func.count(Participant.id)).where(
                Participant.session_id == sid, Participant.user_id == no_device_id
            )
        )
        assert rows == 1


def test_every_paper_entry_is_audited_with_the_facilitator_as_witness(app):
    info, sid, lead, poll, fac, table_id, number = paper_table(app)
    witness = info["facilitators"][0]
    person = register_on_paper(fac, sid, table_id, "Choi Mal-soon", "welfare_organisation")[
        "participant_id"
    ]
    # ideas are written in table discussion: back to discussion for the idea, then the poll
    assert emit(lead, "phase_set", {"session_id": sid, "phase": "discussion"})["ok"]
    idea = emit(
        fac,
        "paper_idea",
        {"session_id": sid, "participant_id": person, "text": "Ramps at the market",
         "client_id": cid()},
    )  # fmt: skip
    assert idea["ok"], idea
    assert idea["idea"]["for_participant_id"] == person
    emit(lead, "phase_set", {"session_id": sid, "phase": "submissions"})
    emit(lead, "phase_set", {"session_id": sid, "phase": "synthesis"})
    emit(lead, "phase_set", {"session_id": sid, "phase": "poll"})
    opened = emit(
        lead,
        "poll_open",
        {"session_id": sid, "kind": "question", "question": "Again?", "options": ["A", "B"]},
    )
    assert opened["ok"], opened
    assert _vote(fac, sid, opened["poll"], person, f"T{number:02d}-007")["ok"]

    with app.app_context():
        entries = {
            e.action: e
            for e in db.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action.in_(
                        ["roundtable.paper_register", "roundtable.paper_idea", "roundtable.vote"]
                    )
                )
            )
            if e.details.get("participant") == person
        }
        assert set(entries) == {
            "roundtable.paper_register",
            "roundtable.paper_idea",
            "roundtable.vote",
        }
        for entry in entries.values():
            assert entry.actor_id == witness
        assert entries["roundtable.paper_register"].details["witness"] == witness
        assert entries["roundtable.paper_idea"].details["witness"] == witness
        assert entries["roundtable.vote"].details["witness"] == witness
        assert entries["roundtable.vote"].details["slip_no"] == f"T{number:02d}-007"
        stored = db.session.get(Idea, idea["idea"]["id"])
        assert stored.author_id == witness and stored.for_participant_id == person


def test_tallies_by_category_include_paper_votes_under_the_small_group_rule(app):
    _info, sid, _lead, poll, fac, table_id, number = paper_table(app)
    yes, no = (o["id"] for o in poll["options"][:2])
    experts = [
        register_on_paper(fac, sid, table_id, f"Expert {n}", "expert")["participant_id"]
        for n in range(5)
    ]
    citizens = [
        register_on_paper(fac, sid, table_id, f"Citizen {n}", "citizen")["participant_id"]
        for n in range(5)
    ]
    servants = [
        register_on_paper(fac, sid, table_id, f"Servant {n}", "civil_servant")["participant_id"]
        for n in range(2)
    ]
    for serial, person in enumerate(experts, start=1):
        assert _vote(fac, sid, poll, person, f"T{number:02d}-{serial:03d}", yes)["ok"]
    for serial, person in enumerate(citizens + servants, start=10):
        assert _vote(fac, sid, poll, person, f"T{number:02d}-{serial:03d}", no)["ok"]

    with app.app_context():
        tally = polls.poll_tally(polls.get_poll(session_of(sid), poll["id"]))
    assert tally["total"] == 12
    assert tally["counts"][str(yes)] == 5 and tally["counts"][str(no)] == 7
    # five experts on paper show as a group; two civil servants cannot, so they are added up
    # with the next smallest group (citizens) under "other categories"
    assert tally["by_category"]["expert"][str(yes)] == 5
    assert "civil_servant" not in tally["by_category"]
    assert tally["by_category"]["other"][str(no)] == 7
    assert tally["small_groups"]["combined"] == ["citizen", "civil_servant"]
    assert tally["small_groups"]["minimum"] == 5
    assert tally["by_takes_part"]["paper"] == 12


def test_a_count_for_the_whole_table_is_refused(app):
    _info, sid, _lead, poll, fac, table_id, _number = paper_table(app)
    ack = emit(
        fac,
        "paper_vote",
        {"session_id": sid, "poll_id": poll["id"], "table_id": table_id,
         "option_id": poll["options"][0]["id"], "count": 7, "client_id": cid()},
    )  # fmt: skip
    assert not ack["ok"] and ack["error"] == "no_table_counts"
    assert "one vote for each paper participant" in ack["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(PollVote.id))) == 0


def test_only_this_tables_facilitator_lead_or_field_office_enter_paper(app):
    info, sid, lead, _poll, _fac, table_id, _number = paper_table(app)
    citizen, _ = joined(app, info["people"][0], sid)
    refused = register_on_paper(citizen, sid, table_id, "Someone")
    assert not refused["ok"] and refused["error"] == "not_table_facilitator"
    assert register_on_paper(lead, sid, table_id, "Entered by the lead")["ok"]
    with app.app_context():
        clerk_id = make_user(Role.FIELD_OFFICE, name="Field office").id
    # field-office staff join without a seat (they do not vote) and enter paper at any table
    field, ack = joined(app, clerk_id, sid)
    assert ack["seat"] is None
    assert register_on_paper(field, sid, table_id, "Entered by the field office")["ok"]
    listed = emit(field, "paper_list", {"session_id": sid, "table_id": table_id})
    assert [p["name"] for p in listed["people"]] == [
        "Entered by the lead",
        "Entered by the field office",
    ]
    with app.app_context():
        seats = select(func.count(Participant.id)).where(Participant.user_id == clerk_id)
        assert db.session.scalar(seats) == 0


def test_an_online_table_takes_no_paper_participants(app):
    info, sid, lead, _poll, fac, table_id, _number = paper_table(app)
    assert emit(lead, "table_kind", {"session_id": sid, "table_id": table_id, "kind": "mixed"})
    with app.app_context():
        table = db.session.get(RoundtableTable, table_id)
        table.kind = TableKind.ONLINE
        db.session.commit()
    refused = register_on_paper(fac, sid, table_id, "Nobody")
    assert not refused["ok"] and refused["error"] == "online_table"
    # and a hall table cannot be made online while paper people sit there
    with app.app_context():
        db.session.get(RoundtableTable, table_id).kind = TableKind.HALL
        db.session.commit()
    assert register_on_paper(fac, sid, table_id, "Han Bok-nam")["ok"]
    kept = emit(lead, "table_kind", {"session_id": sid, "table_id": table_id, "kind": "online"})
    assert not kept["ok"] and kept["error"] == "table_kind_in_use"


def test_seating_keeps_hall_people_at_hall_tables_and_balances_them(app):
    with app.app_context():
        divisions = [make_division() for _ in range(2)]
        lead = make_user(Role.FACILITATOR, name="Lead")
        session = sessions.create_session(
            lead, division=divisions[0], title="Hall and online", table_size=6, hall_tables=2
        )
        session.open_lobby()
        categories = list(MemberCategory)
        hall, online = [], []
        for n in range(24):
            user = make_user(
                category=categories[n % len(categories)],
                divisions=[divisions[n % 2]],
                commit=False,
            )
            how = TakesPart.HALL if n % 2 == 0 else TakesPart.ONLINE
            person = sessions.register(session, user, takes_part=how)
            (hall if how == TakesPart.HALL else online).append(person.id)
        result = sessions.seat_room(lead, session)
        db.session.commit()
        people = list(db.session.scalars(select(Participant).where(
            Participant.session_id == session.id)))  # fmt: skip
        kinds = {p.id: p.table.kind for p in people}
        assert {kinds[pid] for pid in hall} == {TableKind.HALL}
        assert {kinds[pid] for pid in online} == {TableKind.ONLINE}
        assert result["tables"] == 4  # two hall tables of six, two new online ones
        hall_people = [p for p in people if p.id in hall]
        layout: dict[int, list[int]] = {}
        for p in hall_people:
            layout.setdefault(p.table_id, []).append(p.id)
        report = seating.balance_report(
            list(layout.values()),
            [seating.Seatable(p.id, p.member_category.value, p.division_id) for p in hall_people],
        )
        assert report["category"] <= 1 and report["division"] <= 1


def test_a_session_with_paper_participants_closes_and_shows_the_split(app, client):
    _info, sid, lead, poll, fac, table_id, number = paper_table(app)
    person = register_on_paper(fac, sid, table_id, "Seo Gap-soon")["participant_id"]
    assert _vote(fac, sid, poll, person, f"T{number:02d}-001")["ok"]
    closed = emit(lead, "session_close", {"session_id": sid})
    assert closed["ok"], closed
    page = client.get(f"/roundtables/{sid}/results").get_data(as_text=True)
    assert "Participants: 6 online · 0 in the hall · 1 on paper" in page
    assert "Votes in this poll: 0 online · 0 in the hall · 1 on paper" in page


def test_the_projector_and_console_hear_the_split_change_once_per_burst(app):
    """Who takes part how travels live: three paper registrations and a newcomer online in
    quick succession reach the projector and the lead's console as one coalesced update."""
    from deliberation.extensions import socketio
    from deliberation.roundtables.rooms import NAMESPACE

    info, sid, lead, _poll, fac, table_id, _number = paper_table(app)
    with app.app_context():
        token = session_of(sid).projector_token
    projector = socketio.test_client(app, namespace=NAMESPACE, auth={"projector": token})
    for client in (projector, lead):
        client.get_received(NAMESPACE)
    for name in ("Yoon Geum-ja", "Park Mal-sun", "Kim Bok-nam"):
        assert register_on_paper(fac, sid, table_id, name)["ok"]
    with app.app_context():
        newcomer = make_user().id
    joined(app, newcomer, sid)  # registers online at the first join
    deadline = time.monotonic() + 5
    updates: dict[str, list] = {"projector": [], "lead": []}
    while time.monotonic() < deadline and not all(updates.values()):
        time.sleep(0.05)
        for name, client in (("projector", projector), ("lead", lead)):
            updates[name] += [
                e["args"][0] for e in client.get_received(NAMESPACE) if e["name"] == "participation"
            ]
    time.sleep(1.5)  # a second, uncoalesced update would be here by now
    for name, client in (("projector", projector), ("lead", lead)):
        updates[name] += [
            e["args"][0] for e in client.get_received(NAMESPACE) if e["name"] == "participation"
        ]
    for name, got in updates.items():
        assert [u["participants"] for u in got] == [
            {"online": len(info["people"]) + 1, "hall": 0, "paper": 3}
        ], name
    projector.disconnect(NAMESPACE)


def test_the_people_page_lists_paper_participants_too(app, client, auth):
    """Found by the name their facilitator wrote down, marked as on paper, and not offered
    for the page's bulk actions (they have no login and keep the table they were entered at)."""
    info, sid, _lead, _poll, fac, table_id, number = paper_table(app)
    assert register_on_paper(fac, sid, table_id, "Yoon Geum-ja")["ok"]
    assert register_on_paper(fac, sid, table_id, "Park Mal-sun", "expert")["ok"]
    with app.app_context():
        lead_email = db.session.get(User, info["lead_id"]).email
    auth.login(lead_email)
    everyone = client.get(f"/roundtables/{sid}/people").text
    registered = len(info["people"]) + len(info["facilitators"]) + 2
    assert f"{registered} people found." in everyone
    found = client.get(f"/roundtables/{sid}/people", query_string={"q": "Geum"}).text
    assert "1 person found." in found
    row = found[found.index("Yoon Geum-ja") - 400 : found.index("</tr>", found.index("Yoon"))]
    assert 'name="participant_ids"' not in row  # no bulk action on a paper participant
    assert f"<td>{number}</td>" in row and "<td>Paper</td>" in row
    experts = client.get(f"/roundtables/{sid}/people", query_string={"category": "expert"}).text
    assert "Park Mal-sun" in experts


def test_a_name_already_at_the_table_is_held_back_until_confirmed(app):
    """Entered twice, one person could vote twice: a second "Kim Sun-ja" (any case) at the
    table is refused until the facilitator confirms another person of the same name."""
    _info, sid, _lead, _poll, fac, table_id, _number = paper_table(app)
    data = {"session_id": sid, "table_id": table_id, "member_category": "citizen"}
    first = emit(fac, "paper_register", {**data, "name": "Kim Sun-ja", "client_id": cid()})
    assert first["ok"], first
    again = emit(fac, "paper_register", {**data, "name": "kim sun-ja", "client_id": cid()})
    assert not again["ok"] and again["error"] == "same_name_at_table"
    assert again["message"].startswith("kim sun-ja is already registered at this table.")
    confirmed = emit(
        fac,
        "paper_register",
        {**data, "name": "Kim Sun-ja", "client_id": cid(), "same_name_confirmed": True},
    )
    assert confirmed["ok"] and confirmed["participant_id"] != first["participant_id"]
    other = emit(fac, "paper_register", {**data, "name": "Lee Young-ho", "client_id": cid()})
    assert other["ok"]
    with app.app_context():
        named = select(func.count(Participant.id)).where(Participant.display_name == "Kim Sun-ja")
        assert db.session.scalar(named) == 2
