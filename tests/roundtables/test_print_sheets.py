"""Printable hall-table sheets over HTTP: who may print which table, the slip numbers (right,
unique across the printout, readable by `parse_slip`), the sign-in sheet's seated people and
blank rows, the ideas form, the options' bad input, Korean and English."""

import re

import pytest
from sqlalchemy import select

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Participant, ParticipantRole, RoundtableTable
from deliberation.roundtables.slips import parse_slip
from tests.factories import make_user
from tests.roundtables.helpers import build_session, session_of

SLIP_RE = re.compile(r'<p class="slip-no">([^<]+)</p>')
BLANK_ROW_RE = re.compile(r'<tr class="blank-row">')
IDEA_BOX_RE = re.compile(r'<li class="idea-box">')


def seed(app) -> dict:
    """Fourteen citizens at two tables of seven (table size 10), a facilitator at each, and
    the people who try to print: field-office staff, a citizen, an admin."""
    with app.app_context():
        info = build_session(participants=14, facilitators=2, table_size=10)
        session = session_of(info["session_id"])
        lead = db.session.get(User, info["lead_id"])
        sessions.seat_room(lead, session)
        field_office = make_user(Role.FIELD_OFFICE, name="Field Kim", commit=False)
        admin = make_user(Role.ADMIN, commit=False)
        korean = make_user(Role.FIELD_OFFICE, language="ko", commit=False)
        db.session.commit()
        people = db.session.scalars(
            select(Participant).where(Participant.session_id == session.id)
        ).all()
        tables = {t.id: t.number for t in db.session.scalars(select(RoundtableTable))}
        by_table: dict[int, list[str]] = {1: [], 2: []}
        facilitator_of: dict[int, int] = {}
        citizen = None
        for person in people:
            number = tables[person.table_id]
            if person.role == ParticipantRole.TABLE_FACILITATOR:
                facilitator_of[number] = person.user_id
            else:
                person.user.display_name = f"Sitter {person.id:02d}"
                by_table[number].append(person.user.display_name)
                citizen = citizen or person.user_id
        db.session.commit()
        return {
            "sid": session.id,
            "lead": lead.id,
            "facilitator_of": facilitator_of,
            "field_office": field_office.id,
            "korean": korean.id,
            "admin": admin.id,
            "citizen": citizen,
            "names": by_table,
        }


def client_as(app, user_id: int | None):
    """A test client signed in as this person (None: nobody)."""
    client = app.test_client()
    if user_id is not None:
        with app.app_context():
            cookie_id = db.session.get(User, user_id).get_id()
        with client.session_transaction() as flask_session:
            flask_session["_user_id"] = cookie_id
            flask_session["_fresh"] = True
    return client


def test_who_may_print_which_page(app):
    info = seed(app)
    sid, fac = info["sid"], info["facilitator_of"]
    all_tables, table1 = f"/roundtables/{sid}/print", f"/roundtables/{sid}/print/tables/1"
    expected = {
        "lead": (200, 200),
        "admin": (200, 200),
        "field_office": (403, 200),
        "facilitator 1": (403, 200),
        "facilitator 2": (403, 403),
        "citizen": (403, 403),
    }
    ids = {
        "lead": info["lead"],
        "admin": info["admin"],
        "field_office": info["field_office"],
        "facilitator 1": fac[1],
        "facilitator 2": fac[2],
        "citizen": info["citizen"],
    }
    seen = {
        who: (
            client_as(app, user_id).get(all_tables).status_code,
            client_as(app, user_id).get(table1).status_code,
        )
        for who, user_id in ids.items()
    }
    assert seen == expected
    anonymous = client_as(app, None).get(table1)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    lead = client_as(app, info["lead"])
    assert lead.get(f"/roundtables/{sid}/print/tables/99").status_code == 404
    assert lead.get(f"/roundtables/{sid + 1}/print").status_code == 404
    assert client_as(app, fac[2]).get(f"/roundtables/{sid}/print/tables/2").status_code == 200


def test_slips_are_numbered_per_table_and_unique_across_the_printout(app):
    info = seed(app)
    lead = client_as(app, info["lead"])
    page = lead.get(f"/roundtables/{info['sid']}/print").get_data(as_text=True)
    slips = SLIP_RE.findall(page)
    # Two tables, ten seats each (the table size, though seven sit there), three polls.
    assert len(slips) == 2 * 10 * 3 and len(set(slips)) == len(slips)
    assert slips[:3] == ["T01-001", "T01-002", "T01-003"] and slips[29] == "T01-030"
    assert slips[30] == "T02-001" and slips[-1] == "T02-030"
    assert {parse_slip(s) for s in slips} == {(t, n) for t in (1, 2) for n in range(1, 31)}
    # Six slips to a printed page: 30 slips make five pages a table.
    assert page.count('class="sheet sheet-slips"') == 2 * 5

    # The one-table links keep the options chosen; stray keys in the query change nothing.
    every = lead.get(f"/roundtables/{info['sid']}/print?polls=5&sheets=slips&number=9&session_id=4")
    assert every.status_code == 200
    link = f'href="/roundtables/{info["sid"]}/print/tables/2?polls=5&amp;sheets=slips"'
    assert link in every.get_data(as_text=True)
    one = lead.get(f"/roundtables/{info['sid']}/print/tables/2?polls=5&sheets=slips")
    slips = SLIP_RE.findall(one.get_data(as_text=True))
    assert slips == [f"T02-{n:03d}" for n in range(1, 51)]
    assert "sheet-signin" not in one.get_data(as_text=True)


def test_sign_in_sheet_lists_the_tables_seated_people_then_blank_rows(app):
    info = seed(app)
    facilitator = client_as(app, info["facilitator_of"][1])
    page = facilitator.get(f"/roundtables/{info['sid']}/print/tables/1?sheets=signin")
    html = page.get_data(as_text=True)
    signin = html[html.index('class="sheet sheet-signin"') :]
    assert all(name in signin for name in info["names"][1])
    assert not any(name in signin for name in info["names"][2])
    assert len(info["names"][1]) == 7
    assert len(BLANK_ROW_RE.findall(signin)) == 10 - 7
    # Rows are numbered on after the seated people; categories and divisions are printed.
    assert '<td class="col-no">10</td>' in signin and '<td class="col-no">11</td>' not in signin
    assert "Citizen" in signin and "Division " in signin
    assert "paper participant" in signin
    assert "sheet-ideas" not in html and "sheet-slips" not in html


def test_ideas_form_has_a_box_per_idea_of_the_round_and_the_facilitators_line(app):
    info = seed(app)
    with app.app_context():
        session = session_of(info["sid"])
        session.ideas_per_round = 7
        facilitator_name = db.session.get(User, info["facilitator_of"][1]).display_name
        db.session.commit()
    page = client_as(app, info["field_office"]).get(
        f"/roundtables/{info['sid']}/print/tables/1?sheets=ideas"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert len(IDEA_BOX_RE.findall(html)) == 7
    assert "Budget roundtable" in html and "T01" in html and "Idea 7" in html
    assert html.count("Written by (name)") == 7 and facilitator_name in html
    assert "Signature" in html and "sheet-slips" not in html


def test_sheets_in_korean_and_english(app):
    info = seed(app)
    url = f"/roundtables/{info['sid']}/print/tables/1"
    english = client_as(app, info["field_office"]).get(url).get_data(as_text=True)
    assert '<div class="print-sheets" lang="en">' in english
    for text in ("Ideas form", "Poll slips", "Sign-in sheet", "Member category", "Agree"):
        assert text in english
    korean = client_as(app, info["field_office"]).get(url + "?lang=ko").get_data(as_text=True)
    assert '<div class="print-sheets" lang="ko">' in korean
    for text in ("아이디어 기록지", "투표 용지", "참석자 서명부", "회원 구분", "찬성", "시민"):
        assert text in korean, text
    # The page around the sheets stays in the reader's language.
    assert '<html lang="en"' in korean and "Print sheets: table 1" in korean
    # Someone who reads Korean gets Korean sheets without asking.
    own = client_as(app, info["korean"]).get(url).get_data(as_text=True)
    assert '<html lang="ko"' in own and '<div class="print-sheets" lang="ko">' in own
    assert "아이디어 기록지" in own
    english_too = client_as(app, info["korean"]).get(url + "?lang=en").get_data(as_text=True)
    assert '<div class="print-sheets" lang="en">' in english_too and "Ideas form" in english_too


@pytest.mark.parametrize("query", ["polls=0", "polls=11", "polls=abc", "lang=fr", "sheets=menu"])
def test_bad_print_options_get_a_message_and_no_sheets(app, query):
    info = seed(app)
    page = client_as(app, info["lead"]).get(f"/roundtables/{info['sid']}/print?{query}")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "Please check the form" in html and 'class="print-sheets"' not in html
    assert 'class="slip-no"' not in html


def test_console_links_to_every_tables_sheets_and_the_room_to_the_facilitators_table(app):
    info = seed(app)
    sid = info["sid"]
    console = client_as(app, info["lead"]).get(f"/roundtables/{sid}/console")
    assert f'href="/roundtables/{sid}/print" id="rt-print-link"' in console.get_data(as_text=True)
    room = client_as(app, info["facilitator_of"][2]).get(f"/roundtables/{sid}/room")
    assert f'href="/roundtables/{sid}/print/tables/2" id="rt-print-link"' in room.get_data(
        as_text=True
    )
    citizen_room = client_as(app, info["citizen"]).get(f"/roundtables/{sid}/room")
    assert "rt-print-link" not in citizen_room.get_data(as_text=True)


def test_every_table_page_before_seating_says_there_is_nothing_to_print(app):
    with app.app_context():
        info = build_session(participants=4, facilitators=1)
    page = client_as(app, info["lead_id"]).get(f"/roundtables/{info['session_id']}/print")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "The room is not seated yet" in html
    assert "sheet-slips" not in html


def test_paper_participants_sign_in_and_every_table_page_prints_the_hall_tables(app):
    from deliberation.accounts.models import MemberCategory
    from deliberation.roundtables import hybrid
    from deliberation.roundtables.models import RoundtableSession, TableKind

    info = seed(app)
    with app.app_context():
        lead = db.session.get(User, info["lead"])
        session = db.session.get(RoundtableSession, info["sid"])
        table_one = db.session.scalar(select(RoundtableTable).where(RoundtableTable.number == 1))
        hybrid.set_table_kind(lead, session, table_one, TableKind.MIXED)
        hybrid.register_paper_participant(
            lead, session, None, table_one, name="Paper Park",
            member_category=MemberCategory.CITIZEN,
        )  # fmt: skip
        db.session.commit()
    html = (
        client_as(app, info["facilitator_of"][1])
        .get(f"/roundtables/{info['sid']}/print/tables/1?sheets=signin")
        .get_data(as_text=True)
    )
    signin = html[html.index('class="sheet sheet-signin"') :]
    assert "Paper Park" in signin  # no account: the name written down
    assert len(BLANK_ROW_RE.findall(signin)) == 10 - 8
    every = client_as(app, info["lead"]).get(f"/roundtables/{info['sid']}/print?sheets=slips")
    slips = SLIP_RE.findall(every.get_data(as_text=True))
    assert slips and all(slip.startswith("T01-") for slip in slips)  # the online table is left out
