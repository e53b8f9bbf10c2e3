"""One pass rule per session ("at least" or "more than" its threshold), used alike by the
adoption at close, the results page and the live tallies the console and projector show."""

import pytest
from sqlalchemy import select

from deliberation.agendas.models import AgendaItem
from deliberation.extensions import db
from deliberation.roundtables import polls
from deliberation.roundtables.models import PassRule, Poll, RoundtableSession
from tests.roundtables.results_helpers import run_session


@pytest.mark.parametrize(
    ("rule", "count", "total", "passes"),
    [
        (PassRule.AT_LEAST, 4, 8, True),
        (PassRule.MORE_THAN, 4, 8, False),
        (PassRule.MORE_THAN, 5, 8, True),
        (PassRule.AT_LEAST, 3, 8, False),
        (PassRule.AT_LEAST, 0, 0, False),
    ],
)
def test_a_share_is_judged_by_the_sessions_rule(rule, count, total, passes):
    session = RoundtableSession(threshold_percent=50, pass_rule=rule)
    assert session.passes(count, total) is passes


@pytest.mark.parametrize(
    ("rule", "items", "result", "rule_text"),
    [
        (PassRule.AT_LEAST, ["Green parks"], "Passed", "at least 50%"),
        (PassRule.MORE_THAN, [], "Did not pass", "more than 50%"),
    ],
)
def test_half_of_eight_passes_with_at_least_and_fails_with_more_than(
    app, client, rule, items, result, rule_text
):
    with app.app_context():
        # parks 4 of 8 agree (50 %), buses 3 of 8; no choose-one poll
        run = run_session(threshold=50, rule=rule, park_agrees=4, choose_one=False)
        made = db.session.scalars(select(AgendaItem.title).order_by(AgendaItem.id)).all()
        assert [t for t in made if t in ("Green parks", "Better buses")] == items
        agree = db.session.get(Poll, run["agree_poll"])
        tally = polls.poll_tally(agree)
        park_option = str(agree.options[0].id)
        assert tally["threshold_percent"] == 50 and tally["rule"] == rule.value
        assert tally["passes"][park_option] is (rule == PassRule.AT_LEAST)
        assert tally["final"] is True
        sid = run["session_id"]
    page = client.get(f"/roundtables/{sid}/results").text
    assert rule_text in page
    row = page.split(f'id="theme-{run["parks"]}"')[1].split("</tr>")[0]
    assert "50%" in row and result in row


def test_the_live_tally_says_whether_each_option_passes_so_far(app):
    with app.app_context():
        run = run_session(threshold=60, close=False)
        choose = db.session.get(Poll, run["choose_poll"])
        tally = polls.poll_tally(choose)
        parks, buses = (str(o.id) for o in choose.options)
        # parks 5 of 7 (71 %) passes 60 %, buses 2 of 7 does not; the poll is still open
        assert tally["passes"] == {parks: True, buses: False}
        assert tally["final"] is False and tally["rule"] == "at_least"
        assert tally["threshold_percent"] == 60 and "rule_text" not in tally
