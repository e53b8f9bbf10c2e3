"""A roundtable run through to its results, through the real services (no sockets: fast)."""

from collections.abc import Sequence

from deliberation.accounts.models import MemberCategory, User
from deliberation.extensions import db
from deliberation.roundtables import polls, sessions, tables, themes
from deliberation.roundtables.models import (
    Participant,
    PassRule,
    Phase,
    PollKind,
    ThemeDestination,
)
from tests.roundtables.helpers import build_session, cid, session_of


def run_session(
    *,
    destination: ThemeDestination = ThemeDestination.AGENDA_ITEM,
    threshold: int = 50,
    rule: PassRule = PassRule.AT_LEAST,
    item_ids: tuple[int, ...] = (),
    park_agrees: int | None = None,
    choose_one: bool = True,
    close: bool = True,
    people: int = 8,
    categories: Sequence[MemberCategory] = tuple(MemberCategory),
) -> dict:
    """`people` people (person n of category `categories[n % len(categories)]`) at tables of
    six with two facilitators; ideas from both facilitators' tables; themes "Green parks" (both
    tables) and "Better buses" (table of the second facilitator); an agree poll (closed):
    parks agreed by the first `park_agrees` (default: everyone), buses by the pattern of
    n % 8: agree (0-2), disagree (3-6), pass (7); then a choose-one poll: everyone but the last
    person votes, parks when n % 8 < 5, else buses. With the default eight: parks 8 agree,
    buses 3 / 4 / 1; parks 5, buses 2. Closes the session unless told not to."""
    park_agrees = people if park_agrees is None else park_agrees
    info = build_session(participants=people, facilitators=2, table_size=6, categories=categories)
    session = session_of(info["session_id"])
    session.theme_destination = destination
    session.threshold_percent = threshold
    session.pass_rule = rule
    session.agenda_items = sessions.linkable_agenda_items(item_ids)
    lead = db.session.get(User, info["lead_id"])
    sessions.start_session(lead, session)
    sessions.set_phase(lead, session, Phase.DISCUSSION)
    facilitators = [sessions.find_participant(session.id, uid) for uid in info["facilitators"]]
    assert len({f.table_id for f in facilitators}) == 2
    ideas = [
        tables.add_idea(session, f, f.table_id, f"Idea from table {n}", cid())["id"]
        for n, f in enumerate(facilitators)
    ]
    bus_idea = tables.add_idea(
        session, facilitators[1], facilitators[1].table_id, "Night buses", cid()
    )["id"]
    sessions.set_phase(lead, session, Phase.SUBMISSIONS)
    for facilitator in facilitators:
        tables.submit_ideas(session, facilitator, facilitator.table_id)
    sessions.set_phase(lead, session, Phase.SYNTHESIS)
    parks = themes.create_theme(lead, session, None, "Green parks", "More trees", ideas)
    buses = themes.create_theme(lead, session, None, "Better buses", "", [bus_idea])
    themes.publish_themes(lead, session, None)
    sessions.set_phase(lead, session, Phase.POLL)
    agree = polls.open_poll(lead, session, PollKind.AGREE, "Agree with each theme?")
    park_option, bus_option = (str(o.id) for o in agree.options)
    seats = [sessions.find_participant(session.id, uid) for uid in info["people"]]
    bus_stances = ["agree"] * 3 + ["disagree"] * 4 + ["pass"]
    info_agree = polls.get_poll_for_vote(session.id, agree.id)
    for n, person in enumerate(seats):
        stance = bus_stances[n % 8]
        park_stance = "agree" if n < park_agrees else "disagree"
        polls.cast_poll_vote(
            info_agree, person, cid(), stances={park_option: park_stance, bus_option: stance}
        )
    polls.close_poll(lead, agree)
    choose = None
    if choose_one:
        choose = polls.open_poll(lead, session, PollKind.CHOOSE_ONE, "Which one first?")
        info_choose = polls.get_poll_for_vote(session.id, choose.id)
        park_choice, bus_choice = (o.id for o in choose.options)
        for n, person in enumerate(seats[:-1]):
            chosen = park_choice if n % 8 < 5 else bus_choice
            polls.cast_poll_vote(info_choose, person, cid(), option_id=chosen)
    adoption = sessions.close_session(lead, session) if close else None
    db.session.commit()
    return {
        **info,
        "parks": parks["id"],
        "buses": buses["id"],
        "agree_poll": agree.id,
        "choose_poll": choose.id if choose else None,
        "park_tables": sorted({f_table(f) for f in facilitators}),
        "bus_table": f_table(facilitators[1]),
        "adoption": adoption,
    }


def f_table(participant: Participant) -> int:
    return participant.table.number
