"""Paper ballots entered by field-office staff: one vote per person whichever way it came,
slips UNIQUE per ballot, every entry audited, and the online/paper split in tallies."""

import csv
import io
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from deliberation.accounts.models import MemberCategory, Role, User
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError, PermissionDenied
from deliberation.core.small_groups import groups_to_combine
from deliberation.extensions import db, socketio
from deliberation.voting import queries, services
from deliberation.voting.models import Ballot, IdentityCheck, Vote, VoteCast, VoteChannel
from deliberation.voting.services import PaperEntry
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.voting.support import make_ballot, make_crowd, make_due, make_item

CLIENT_ID_RE = re.compile(r'name="client_id" type="hidden" value="([^"]+)"')


def _paper(staff, slip, method=IdentityCheck.ID_CARD, note=""):
    return PaperEntry(slip_number=slip, checked_by=staff, identity_check=method, identity_note=note)


def _enter(ballot_id, voter, choice, slip, staff, client_id=None, **check):
    result = services.cast_vote(
        ballot_id,
        voter,
        choice,
        client_id or f"paper-{ballot_id}-{voter.id}-{slip}",
        paper=_paper(staff, slip, **check),
    )
    db.session.commit()
    return result


def _rows():
    """Votes, cast requests and audit entries of votes: what a refusal must leave unchanged."""
    return (
        db.session.scalar(select(func.count()).select_from(Vote)),
        db.session.scalar(select(func.count()).select_from(VoteCast)),
        db.session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.in_(["vote.cast", "vote.paper"]))
        ),
    )


def _refused(code, write):
    before = _rows()
    with pytest.raises(DomainError) as info:
        write()
    db.session.rollback()
    assert info.value.code == code, info.value.message
    assert _rows() == before
    return info.value


def test_a_paper_vote_counts_exactly_once_and_a_retry_changes_nothing(app_ctx):
    ballot = make_ballot()
    staff = make_user(Role.FIELD_OFFICE)
    voter = make_user(category=MemberCategory.EXPERT)
    first = _enter(ballot.id, voter, "yes", " 0042 ", staff, client_id="paper-client-1")
    assert first.status == "cast"
    again = _enter(ballot.id, voter, "yes", "42", staff, client_id="paper-client-1")
    assert again == services.CastResult(first.receipt, "replayed")
    vote = db.session.scalar(select(Vote))
    assert (vote.channel, vote.slip_number, vote.checked_by_id) == (
        VoteChannel.PAPER,
        "42",  # spaces and leading zeros gone: "0042" and "42" are one printed slip
        staff.id,
    )
    assert vote.identity_check == IdentityCheck.ID_CARD
    assert vote.voter_category == MemberCategory.EXPERT
    assert queries.vote_counts(ballot.id) == {"yes": 1}
    tally = queries.tally(ballot)
    assert tally["voted"] == 1 and tally["by_channel"] == {"online": 0, "paper": 1}
    assert queries.turnout(ballot)["by_channel"] == {"online": 0, "paper": 1}


def test_the_same_slip_twice_is_refused(app_ctx):
    ballot = make_ballot()
    staff = make_user(Role.FIELD_OFFICE)
    first, second = make_user(), make_user()
    _enter(ballot.id, first, "yes", "B-017", staff)
    error = _refused("duplicate_slip", lambda: _enter(ballot.id, second, "no", " b-017", staff))
    assert "B-017" in error.message
    # The same number on another ballot is another slip.
    other = make_ballot()
    _enter(other.id, second, "no", "B-017", staff)
    assert queries.vote_counts(ballot.id) == {"yes": 1}
    assert queries.vote_counts(other.id) == {"no": 1}


def test_online_then_paper_is_refused_and_the_online_vote_stands(app_ctx):
    ballot = make_ballot()
    staff = make_user(Role.FIELD_OFFICE)
    voter = make_user()
    online = services.cast_vote(ballot.id, voter, "no", "online-client-1")
    db.session.commit()
    error = _refused("voted_online", lambda: _enter(ballot.id, voter, "yes", "7", staff))
    assert "already voted online" in error.message
    assert queries.current_receipt(ballot.id, voter.id) == online.receipt
    assert queries.vote_counts(ballot.id) == {"no": 1}
    # A second paper ballot of a person entered on paper is refused the same way.
    paper_voter = make_user()
    _enter(ballot.id, paper_voter, "yes", "8", staff)
    _refused("voted_on_paper", lambda: _enter(ballot.id, paper_voter, "no", "9", staff))


def test_paper_then_online_is_refused_even_for_the_same_choice(app_ctx):
    ballot = make_ballot()
    staff = make_user(Role.FIELD_OFFICE)
    voter = make_user()
    paper = _enter(ballot.id, voter, "yes", "11", staff)
    for choice in ("no", "yes"):
        error = _refused(
            "voted_on_paper",
            lambda choice=choice: services.cast_vote(
                ballot.id, voter, choice, f"online-{choice}-after-paper"
            ),
        )
        assert "cannot be changed online" in error.message
    vote = db.session.scalar(select(Vote))
    assert (vote.choice, vote.receipt, vote.channel) == ("yes", paper.receipt, VoteChannel.PAPER)


def _login(client, auth, email):
    assert auth.login(email).status_code == 302


def _paper_form(client, ballot_id):
    page = client.get(f"/voting/paper?ballot_id={ballot_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return {
        "csrf_token": csrf_token_from(html),
        "client_id": CLIENT_ID_RE.search(html).group(1),
    }


def _post_paper(client, ballot_id, **fields):
    data = {**_paper_form(client, ballot_id), "action": "enter", **fields}
    return client.post(f"/voting/paper?ballot_id={ballot_id}", data=data)


def test_paper_then_online_is_refused_over_the_socket_and_the_form(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        staff = make_user(Role.FIELD_OFFICE)
        voter = make_user(email="paper@example.org")
        voter_id = voter.id
        receipt = _enter(ballot_id, voter, "no", "21", staff).receipt
    _login(client, auth, "paper@example.org")
    page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    assert "Your paper ballot was entered at the field office." in page
    assert receipt in page and "cannot be changed online" in page
    assert "Cast my vote" not in page and "Change my vote" not in page

    sock = socketio.test_client(app, flask_test_client=client, namespace="/voting")
    joined = sock.emit("join_ballot", {"ballot_id": ballot_id}, namespace="/voting", callback=True)
    assert joined["my_receipt"] == receipt and joined["my_channel"] == "paper"
    ack = sock.emit(
        "cast",
        {"ballot_id": ballot_id, "choice": "yes", "client_id": "socket-after-paper"},
        namespace="/voting",
        callback=True,
    )
    assert ack["ok"] is False and ack["error"] == "voted_on_paper"
    sock.disconnect(namespace="/voting")

    # The HTTP form, posted by hand (the page offers none): refused with the same words.
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    refused = client.post(
        f"/voting/{ballot_id}/vote",
        data={"csrf_token": token, "choice": "yes", "client_id": "http-after-paper"},
    )
    assert refused.status_code == 400
    assert "It stands and cannot be changed online." in refused.get_data(as_text=True)
    with app.app_context():
        assert queries.vote_counts(ballot_id) == {"no": 1}
        assert queries.current_receipt(ballot_id, voter_id) == receipt


def test_online_then_paper_is_refused_through_the_form_keeping_what_was_typed(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(Role.FIELD_OFFICE, email="desk@example.org")
        voter = make_user(name="Kim Online", email="kim.online@example.org")
        voter_id = voter.id
        services.cast_vote(ballot_id, voter, "yes", "online-first-1")
        db.session.commit()
    _login(client, auth, "desk@example.org")
    response = _post_paper(
        client,
        ballot_id,
        voter_query="Kim Onl",
        voter_id=str(voter_id),
        choice="no",
        slip_number="301",
        identity_check="known_in_person",
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "This person has already voted online. Their first vote stands" in body
    # Nothing typed is lost: the search, the person, the choice, the slip and the check.
    assert 'value="Kim Onl"' in body and 'value="301"' in body
    assert re.search(rf'checked[^>]*value="{voter_id}"|value="{voter_id}"[^>]*checked', body)
    assert re.search(r'checked[^>]*value="no"|value="no"[^>]*checked', body)
    assert re.search(
        r'checked[^>]*value="known_in_person"|value="known_in_person"[^>]*checked', body
    )
    with app.app_context():
        assert queries.vote_counts(ballot_id) == {"yes": 1}


def test_the_form_finds_the_voter_enters_the_ballot_and_lists_it(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        make_user(Role.FIELD_OFFICE, name="Desk Lee", email="desk@example.org")
        make_user(Role.FIELD_OFFICE, email="desk.ko@example.org", language="ko")
        voter_id = make_user(name="Park Paper", email="park@example.org").id
        else_id = make_user(name="Someone Else", email="else@example.org").id
    _login(client, auth, "desk@example.org")
    form = _paper_form(client, ballot_id)
    found = client.post(
        f"/voting/paper?ballot_id={ballot_id}",
        data={**form, "action": "search", "voter_query": "park@", "slip_number": "55"},
    )
    body = found.get_data(as_text=True)
    assert found.status_code == 200
    assert "Park Paper &lt;park@example.org&gt;" in body and "Someone Else" not in body
    assert 'value="55"' in body  # the slip typed before searching stays
    # A search for someone else never leaves the last person ticked (its one match is).
    other = client.post(
        f"/voting/paper?ballot_id={ballot_id}",
        data={**form, "action": "search", "voter_query": "Someone", "voter_id": str(voter_id)},
    ).get_data(as_text=True)
    assert "Someone Else" in other and "Park Paper" not in other
    tags = re.findall(r'<input[^>]*name="voter_id"[^>]*>', other)
    ticked = [re.search(r'value="(\d+)"', tag).group(1) for tag in tags if "checked" in tag]
    assert ticked == [str(else_id)]
    entered = client.post(
        f"/voting/paper?ballot_id={ballot_id}",
        data={
            **form,
            "action": "enter",
            "voter_query": "park@",
            "voter_id": str(voter_id),
            "choice": "abstain",
            "slip_number": "55",
            "identity_check": "other",
            "identity_note": "Neighbour vouched, welfare card",
        },
        follow_redirects=True,
    )
    page = entered.get_data(as_text=True)
    assert "Paper ballot 55 of Park Paper is counted." in page
    recent = page[page.index('id="recent-paper"') :]
    assert "Park Paper" in recent and "Desk Lee" in recent and "Other (say how" in recent
    assert "Abstain" not in recent  # the list never shows a choice
    with app.app_context():
        vote = db.session.scalar(select(Vote))
        assert (vote.choice, vote.identity_check, vote.identity_note) == (
            "abstain",
            IdentityCheck.OTHER,
            "Neighbour vouched, welfare card",
        )
    # "Other" without a note, a missing slip and no person: each field says what is wrong.
    bad = _post_paper(client, ballot_id, choice="yes", identity_check="other")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Search for the voter and select them." in text
    assert "Type the number printed on the paper ballot." in text
    auth.logout()
    _login(client, auth, "desk.ko@example.org")
    korean = client.get(f"/voting/paper?ballot_id={ballot_id}").get_data(as_text=True)
    assert "종이 투표지 입력" in korean and "신분 확인 방법" in korean


def test_a_note_is_required_for_another_check_and_eligibility_is_the_online_rule(app_ctx):
    staff = make_user(Role.FIELD_OFFICE)
    north = make_division()
    ballot = make_ballot(division_ids=[north.id])
    outsider, member = make_user(), make_user(divisions=[north])
    error = _refused("not_eligible", lambda: _enter(ballot.id, outsider, "yes", "1", staff))
    assert error.message == "This person is not eligible to vote on this ballot."
    _refused(
        "identity_note",
        lambda: _enter(ballot.id, member, "yes", "1", staff, method=IdentityCheck.OTHER),
    )
    _refused("bad_slip", lambda: _enter(ballot.id, member, "yes", "no/slip", staff))
    _refused("bad_identity_check", lambda: _enter(ballot.id, member, "yes", "1", staff, method="x"))
    assert _enter(ballot.id, member, "yes", "1", staff).status == "cast"


def test_after_the_close_paper_entry_is_refused(app, client, auth):
    with app.app_context():
        ballot = make_ballot()
        ballot_id = ballot.id
        staff = make_user(Role.FIELD_OFFICE, email="desk@example.org")
        voter = make_user()
        voter_id = voter.id
        form_page_ballot = make_ballot()  # still open: the page lists it, not the closed one
        make_due(ballot_id)
        _refused("closed", lambda: _enter(ballot_id, voter, "yes", "5", staff))
        services.close_ballot(db.session.get(Ballot, ballot_id))
        db.session.commit()
        _refused("closed", lambda: _enter(ballot_id, voter, "yes", "5", staff))
        open_title = form_page_ballot.item.title
    _login(client, auth, "desk@example.org")
    listing = client.get("/voting/paper").get_data(as_text=True)
    assert f'value="{form_page_ballot.id}"' in listing and f'value="{ballot_id}"' not in listing
    assert open_title in listing
    response = _post_paper(
        client,
        ballot_id,
        voter_id=str(voter_id),
        choice="yes",
        slip_number="5",
        identity_check="id_card",
    )
    assert response.status_code == 400
    assert "Voting on this ballot has closed." in response.get_data(as_text=True)
    with app.app_context():
        assert queries.votes_cast(ballot_id) == 0


def test_only_field_office_staff_and_admins_enter_paper_ballots(app, client, auth):
    with app.app_context():
        ballot_id = make_ballot().id
        citizen = make_user(email="citizen@example.org")
        make_user(Role.FACILITATOR, email="fac@example.org")
        make_user(Role.ADMIN, email="admin@example.org")
        make_user(Role.FIELD_OFFICE, email="desk@example.org")
        voter_id = make_user().id
        # The service refuses too, whoever calls it.
        with pytest.raises(PermissionDenied):
            services.cast_vote(
                ballot_id,
                db.session.get(User, voter_id),
                "yes",
                "paper-by-citizen",
                paper=_paper(citizen, "1"),
            )
        db.session.rollback()
    for email in ("citizen@example.org", "fac@example.org"):
        _login(client, auth, email)
        assert client.get(f"/voting/paper?ballot_id={ballot_id}").status_code == 403
        token = csrf_token_from(client.get("/profile").get_data(as_text=True))
        posted = client.post(
            f"/voting/paper?ballot_id={ballot_id}",
            data={
                "csrf_token": token,
                "client_id": "paper-forbidden-1",
                "action": "enter",
                "voter_id": str(voter_id),
                "choice": "yes",
                "slip_number": "1",
                "identity_check": "id_card",
            },
        )
        assert posted.status_code == 403
        assert "/voting/paper" not in client.get("/").get_data(as_text=True)
        auth.logout()
    with app.app_context():
        assert queries.votes_cast(ballot_id) == 0
    for email in ("desk@example.org", "admin@example.org"):
        _login(client, auth, email)
        assert client.get(f"/voting/paper?ballot_id={ballot_id}").status_code == 200
        assert "/voting/paper" in client.get("/").get_data(as_text=True)  # in the menu
        auth.logout()
    client.get("/logout")
    anonymous = client.get("/voting/paper")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_every_paper_entry_is_audited_with_the_witness_and_the_check(app_ctx):
    ballot = make_ballot()
    desk, admin = make_user(Role.FIELD_OFFICE), make_user(Role.ADMIN)
    voters = [make_user() for _ in range(3)]
    _enter(ballot.id, voters[0], "yes", "1", desk)
    _enter(ballot.id, voters[1], "no", "2", admin, method=IdentityCheck.COUNCIL_CARD)
    _enter(ballot.id, voters[2], "no", "3", desk, method=IdentityCheck.OTHER, note="Passport copy")
    entries = list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "vote.paper").order_by(AuditEntry.id)
        )
    )
    assert len(entries) == 3 == queries.paper_votes(ballot.id)
    assert [(e.actor_id, e.details["witness_id"]) for e in entries] == [
        (desk.id, desk.id),
        (admin.id, admin.id),
        (desk.id, desk.id),
    ]
    assert [e.details["voter_id"] for e in entries] == [v.id for v in voters]
    assert [e.details["identity_check"] for e in entries] == [
        "id_card",
        "council_card",
        "other",
    ]
    assert entries[2].details["identity_note"] == "Passport copy"
    assert [e.details["slip_number"] for e in entries] == ["1", "2", "3"]
    for entry in entries:
        assert entry.object_id == str(ballot.id)
        # The audit log names who voted, never how.
        assert not {"choice", "receipt"} & set(entry.details)
        assert "yes" not in entry.details.values() and "no" not in entry.details.values()


def test_tallies_by_category_count_paper_votes_under_the_small_group_rule(app_ctx):
    ballot = make_ballot()
    staff = make_user(Role.FIELD_OFFICE)
    citizens = make_crowd(6)
    experts = make_crowd(5, category=MemberCategory.EXPERT)
    welfare = make_crowd(4, category=MemberCategory.WELFARE_ORGANISATION)
    user = lambda uid: db.session.get(User, uid)  # noqa: E731
    for uid in citizens:
        services.cast_vote(ballot.id, user(uid), "yes", f"online-{uid}")
    for uid in experts[:4]:
        services.cast_vote(ballot.id, user(uid), "no", f"online-{uid}")
    db.session.commit()
    # Four experts online: under the minimum, choices hidden. The fifth, on paper, makes five.
    assert {r["key"]: r for r in queries.tally(ballot)["by_category"]}["expert"]["counts"] is None
    _enter(ballot.id, user(experts[4]), "no", "E5", staff)
    # Four welfare organisations, all on paper: a small group, whichever way they voted.
    for n, uid in enumerate(welfare):
        _enter(ballot.id, user(uid), "abstain", f"W{n}", staff)
    result = queries.tally(ballot)
    assert result["counts"] == {"yes": 6, "no": 5, "abstain": 4}
    assert result["by_channel"] == {"online": 10, "paper": 5}
    rows = {row["key"]: row for row in result["by_category"]}
    assert (rows["expert"]["voted"], rows["expert"]["paper"]) == (5, 1)
    assert (rows["welfare_organisation"]["voted"], rows["welfare_organisation"]["paper"]) == (4, 4)
    assert rows["citizen"]["paper"] == 0
    # The one rule decides what is hidden: paper votes are voters like any other.
    hidden = groups_to_combine({key: row["voted"] for key, row in rows.items() if row["voted"]})
    assert hidden == {"welfare_organisation", "expert"}  # 4 < 5, then the next smallest
    for key, row in rows.items():
        assert (row["counts"] is None) == (key in hidden or row["voted"] < 5)
    assert rows["citizen"]["counts"] == {"yes": 6}


def test_the_split_shows_on_the_results_receipts_and_summary(app, client):
    with app.app_context():
        item = make_item(title="Paper and online")
        ballot = make_ballot(item)
        ballot_id, item_id = ballot.id, item.id
        staff = make_user(Role.FIELD_OFFICE)
        online = make_crowd(4)
        paper = make_crowd(3)
        for uid in online:
            services.cast_vote(ballot_id, db.session.get(User, uid), "yes", f"online-{uid}")
            db.session.commit()
        paper_receipts = [
            _enter(ballot_id, db.session.get(User, uid), "no", f"{n + 1}", staff).receipt
            for n, uid in enumerate(paper)
        ]
    open_page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    assert re.search(r'id="turnout-online">4<', open_page)
    assert re.search(r'id="turnout-paper">3<', open_page)
    assert client.get(f"/summaries/items/{item_id}/summary.json").json["ballot"]["by_channel"] == {
        "online": 4,
        "paper": 3,
    }
    with app.app_context():
        services.close_ballot(db.session.get(Ballot, ballot_id))
        db.session.commit()
        assert db.session.get(Ballot, ballot_id).result["by_channel"] == {"online": 4, "paper": 3}

    page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    assert "How the votes came in" in page
    assert re.search(r'data-channel="online">4<', page)
    assert re.search(r'data-channel="paper">3<', page)
    korean = client.get(f"/voting/{ballot_id}", headers={"Accept-Language": "ko"}).text
    assert "종이 투표" in korean

    summary = client.get(f"/summaries/items/{item_id}").get_data(as_text=True)
    assert "4 online, 3 on paper ballots" in summary
    assert client.get(f"/summaries/items/{item_id}/summary.json").json["ballot"]["by_channel"] == {
        "online": 4,
        "paper": 3,
    }

    receipts = client.get(f"/voting/{ballot_id}/receipts").get_data(as_text=True)
    for receipt in paper_receipts:
        row = re.search(rf"<code>{receipt}</code></td><td>[^<]*</td><td>([^<]*)</td>", receipts)
        assert row and row.group(1) == "Paper"
    lookup = client.get(f"/voting/{ballot_id}/receipts?receipt={paper_receipts[0]}").text
    assert f"Receipt {paper_receipts[0]} (paper ballot) was counted as: No." in lookup
    rows = list(csv.DictReader(io.StringIO(client.get(f"/voting/{ballot_id}/receipts.csv").text)))
    assert sorted(r["channel"] for r in rows) == ["online"] * 4 + ["paper"] * 3
    assert {r["receipt"] for r in rows if r["channel"] == "paper"} == set(paper_receipts)
    listed = client.get(f"/voting/{ballot_id}/receipts.json").json["receipts"]
    assert sum(1 for r in listed if r["channel"] == "paper") == 3


def test_the_database_keeps_the_first_vote_when_a_cast_raced_past_the_check(app_ctx):
    """A cast that read "no vote yet" just before the other channel's vote committed reaches
    the statements themselves: the online upsert leaves a paper vote alone, and the paper
    insert leaves an online vote alone."""
    ballot = make_ballot()
    staff = make_user(Role.FIELD_OFFICE)
    on_paper, online = make_user(), make_user()
    _enter(ballot.id, on_paper, "yes", "1", staff)
    services.cast_vote(ballot.id, online, "yes", "online-race-1")
    db.session.commit()
    _claim, _current, upsert, paper_insert = services._cast_statements(
        db.session.get_bind().dialect.name
    )
    connection = db.session.connection()
    row = {"ballot_id": ballot.id, "choice": "no", "voter_category": MemberCategory.CITIZEN}
    assert (
        connection.execute(upsert, {**row, "voter_id": on_paper.id, "receipt": "RACE"}).first()
        is None
    )
    paper_row = {
        **row,
        "voter_id": online.id,
        "receipt": "RACE2",
        "channel": VoteChannel.PAPER,
        "slip_number": "2",
    }
    assert connection.execute(paper_insert, paper_row).first() is None
    db.session.commit()
    assert queries.vote_counts(ballot.id) == {"yes": 2}
    assert queries.paper_votes(ballot.id) == 1


def _race_one(app, barrier, ballot_id, voter_id, staff_id, slip):
    """One request in its own app context and connection: online when staff_id is None."""
    barrier.wait()
    with app.app_context():
        try:
            voter = db.session.get(User, voter_id)
            paper = None if staff_id is None else _paper(db.session.get(User, staff_id), slip)
            result = services.cast_vote(
                ballot_id, voter, "yes" if paper else "no", f"race-{voter_id}-{slip}", paper=paper
            )
            db.session.commit()
            return ("paper" if paper else "online", result)
        except DomainError as error:
            db.session.rollback()
            return ("paper" if staff_id else "online", error)
        finally:
            db.session.remove()


def test_an_online_cast_and_a_paper_entry_at_the_same_moment_leave_one_vote(app):
    """Real threads, each on its own connection: for every person exactly one of the two wins,
    the other is refused with a clear code, and the vote that stands is the winner's."""
    with app.app_context():
        ballot_id = make_ballot().id
        staff_id = make_user(Role.FIELD_OFFICE).id
        people = make_crowd(12)
    jobs = []
    for n, voter_id in enumerate(people):
        jobs += [(voter_id, None, f"o{n}"), (voter_id, staff_id, f"{n + 1}")]
    barrier = threading.Barrier(len(jobs))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(_race_one, app, barrier, ballot_id, *job) for job in jobs]
        results = [future.result(timeout=120) for future in futures]
    winners: dict[int, str] = {}
    for (voter_id, _staff, _slip), (channel, outcome) in zip(jobs, results, strict=True):
        if isinstance(outcome, DomainError):
            assert outcome.code in {"voted_online", "voted_on_paper"}, outcome.message
        else:
            assert outcome.status == "cast"
            assert voter_id not in winners, "both channels won for one person"
            winners[voter_id] = channel
    assert set(winners) == set(people)
    with app.app_context():
        stored = dict(
            db.session.execute(
                select(Vote.voter_id, Vote.channel).where(Vote.ballot_id == ballot_id)
            ).all()
        )
        assert {uid: channel.value for uid, channel in stored.items()} == winners
        paper_won = sum(1 for channel in winners.values() if channel == "paper")
        assert queries.vote_counts(ballot_id) == {
            key: n for key, n in (("yes", paper_won), ("no", len(people) - paper_won)) if n
        }


def test_division_rows_count_paper_ballots_too(app, client):
    """The ballot's division table has an "On paper" column, as its category table does."""
    with app.app_context():
        parks, roads = make_division(), make_division()
        ballot = make_ballot()
        ballot_id = ballot.id
        staff = make_user(Role.FIELD_OFFICE)
        online = make_crowd(5, division=parks)
        on_paper = make_crowd(3, division=roads) + make_crowd(1, division=parks)
        for uid in online:
            services.cast_vote(ballot_id, db.session.get(User, uid), "yes", f"online-{uid}")
            db.session.commit()
        for n, uid in enumerate(on_paper):
            _enter(ballot_id, db.session.get(User, uid), "no", f"D{n}", staff)
        rows = {row["key"]: row for row in queries.tally(ballot)["by_division"]}
        assert (rows[parks.id]["voted"], rows[parks.id]["paper"]) == (6, 1)
        assert (rows[roads.id]["voted"], rows[roads.id]["paper"]) == (3, 3)
        services.close_ballot(db.session.get(Ballot, ballot_id))
        db.session.commit()
        parks_name = parks.name_en
    page = client.get(f"/voting/{ballot_id}").get_data(as_text=True)
    division_table = page[page.index("By division") :]
    assert '<th scope="col">On paper</th>' in division_table[: division_table.index("</thead>")]
    row = division_table[division_table.index(parks_name) :]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row[: row.index("</tr>")])
    assert (cells[1], cells[3]) == ("6", "1")  # voted, of whom on paper
