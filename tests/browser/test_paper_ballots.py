"""In real Chromium on a 390 px phone, in Korean: field-office staff enter three paper ballots,
a duplicate slip is refused with everything typed kept, and the ballot's results show how many
votes came in online and on paper."""

import pytest

from deliberation.accounts.models import Role, User
from deliberation.extensions import db
from deliberation.voting import queries, services
from deliberation.voting.models import Ballot
from tests.browser.conftest import assert_accessible, browser_login, save_screenshot
from tests.factories import PASSWORD, make_division, make_user
from tests.voting.support import make_ballot, make_item

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def _seed(app) -> dict:
    with app.app_context():
        division = make_division("elderly")
        make_user(Role.FIELD_OFFICE, email="desk@example.org", name="현장 김", language="ko")
        paper = [
            make_user(name=name, email=f"paper{n}@example.org", language="ko").id
            for n, name in enumerate(["박종이", "이서면", "최투표", "정중복"])
        ]
        online = [make_user(email=f"online{n}@example.org").id for n in range(2)]
        item = make_item(division, title="경로당 저녁 운영")
        ballot = make_ballot(item)
        for uid in online:
            services.cast_vote(ballot.id, db.session.get(User, uid), "no", f"browser-online-{uid}")
            db.session.commit()
        return {"ballot_id": ballot.id, "paper": paper}


def _enter(
    page, name: str, voter_id: int, choice: str, slip: str, check: str, press_enter=False
) -> None:
    page.fill("#voter_query", name)
    page.click("button[name=action][value=search]")
    page.wait_for_selector(f"input[name=voter_id][value='{voter_id}']")
    page.check(f"input[name=voter_id][value='{voter_id}']")
    page.check(f"input[name=choice][value={choice}]")
    page.fill("#slip_number", slip)
    page.check(f"input[name=identity_check][value={check}]")
    if press_enter:
        page.press("#slip_number", "Enter")  # Enter in a field enters the ballot, not a search
    else:
        page.click("button[name=action][value=enter]")
    page.wait_for_load_state()


def test_field_office_enters_paper_ballots_and_results_show_the_split(app, live_server, new_page):
    seeded = _seed(app)
    ballot_id, paper = seeded["ballot_id"], seeded["paper"]
    desk = new_page(PHONE)
    browser_login(desk, live_server.url, "desk@example.org", PASSWORD)
    # The menu leads field-office staff to the page.
    assert desk.locator("a[href='/voting/paper']").count() >= 1
    desk.goto(f"{live_server.url}/voting/paper")
    desk.select_option("#ballot_id", str(ballot_id))
    desk.click("#pick-ballot button[type=submit]")
    desk.wait_for_selector("#voter_query")
    assert "종이 투표지 입력" in desk.locator("h2#entry-heading").inner_text()
    assert_accessible(desk)
    save_screenshot(desk, "paper-ballots-ko-1-empty-390")

    # An online voter watches the ballot's live turnout while the paper ballots go in.
    watcher = new_page(PHONE)
    browser_login(watcher, live_server.url, "online0@example.org", PASSWORD)
    watcher.goto(f"{live_server.url}/voting/{ballot_id}")
    watcher.wait_for_function("() => window.madangVoting && window.madangVoting.joined")
    assert watcher.locator("#turnout-paper").inner_text() == "0"

    entries = [("박종이", "yes", "101", "id_card"), ("이서면", "yes", "102", "known_in_person")]
    entries.append(("최투표", "abstain", "103", "council_card"))
    for n, ((name, choice, slip, check), voter_id) in enumerate(
        zip(entries, paper[:3], strict=True)
    ):
        _enter(desk, name, voter_id, choice, slip, check, press_enter=n == 2)
        flash = desk.locator(".flash-success").inner_text()
        assert f"종이 투표지 {slip}" in flash and name in flash
    watcher.wait_for_function(
        "() => document.getElementById('turnout-paper').textContent === '3'", timeout=5000
    )
    assert watcher.locator("#turnout-online").inner_text() == "2"
    recent = desk.locator("#recent-paper tbody tr")
    assert recent.count() == 3
    assert "103" in recent.first.inner_text() and "최투표" in recent.first.inner_text()
    save_screenshot(desk, "paper-ballots-ko-2-three-entered-390")

    # The same slip again, for another person: refused, nothing typed is lost.
    _enter(desk, "정중복", paper[3], "no", "0102", "id_card")
    error = desk.locator("#slip_number-error").inner_text()
    assert "102" in error and "이미 입력되었습니다" in error
    assert desk.locator(".error-summary").is_visible()
    assert desk.input_value("#slip_number") == "0102"
    assert desk.input_value("#voter_query") == "정중복"
    assert desk.is_checked(f"input[name=voter_id][value='{paper[3]}']")
    assert desk.is_checked("input[name=choice][value=no]")
    assert desk.is_checked("input[name=identity_check][value=id_card]")
    assert_accessible(desk)
    save_screenshot(desk, "paper-ballots-ko-3-duplicate-slip-390")
    with app.app_context():
        assert queries.paper_votes(ballot_id) == 3
        assert queries.votes_cast(ballot_id) == 5

    desk.goto(f"{live_server.url}/voting/{ballot_id}")
    assert desk.locator("#turnout-online").inner_text() == "2"
    assert desk.locator("#turnout-paper").inner_text() == "3"
    with app.app_context():
        services.close_ballot(db.session.get(Ballot, ballot_id))
        db.session.commit()
    desk.reload()
    table = desk.locator(f"#ballot-{ballot_id}-by-channel")
    assert "투표 경로" in table.locator("caption").inner_text()
    assert table.locator("td[data-channel=online]").inner_text() == "2"
    assert table.locator("td[data-channel=paper]").inner_text() == "3"
    assert_accessible(desk)
    save_screenshot(desk, "paper-ballots-ko-4-results-split-390")
    assert desk.script_errors == [] and watcher.script_errors == []
