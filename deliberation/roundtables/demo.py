"""Demo data for the roundtables feature: a session in the lobby with the crowd registered."""

from datetime import timedelta

from deliberation.db import utcnow
from deliberation.demo_context import DemoContext
from deliberation.roundtables import sessions
from deliberation.roundtables.models import ParticipantRole

BRIEFING = """\
**오늘의 질문 · Today's question**: how should the city support older people living alone?

1. Talk at your table (about ten people, one table facilitator).
2. Your table facilitator records up to five ideas and sends them to the theme team.
3. The theme team groups the ideas into themes; the whole room votes on them.

Themes that win at least half the room become agenda items in the Elderly division.
"""


def seed_demo(context: DemoContext) -> None:
    """A roundtable in the lobby: the crowd registered, the demo facilitators leading it."""
    lead = context.users["lead"]
    elderly = context.divisions["elderly"]
    open_items = [
        item
        for item in context.extras.get("items", [])  # type: ignore[union-attr]
        if item.division_id == elderly.id and item.state in sessions.LINKABLE_ITEM_STATES
    ]
    session = sessions.create_session(
        lead,
        division=elderly,
        title="어르신 돌봄 1,000인 원탁회의 · Caring for older people: a 1,000-citizen roundtable",
        briefing=BRIEFING,
        starts_at=utcnow() + timedelta(hours=1),
        table_size=8,
        agenda_item_ids=[item.id for item in open_items[:1]],
    )
    session.open_lobby()
    sessions.register(session, context.users["facilitator"], ParticipantRole.TABLE_FACILITATOR)
    for handle in ("citizen", "expert"):
        sessions.register(session, context.users[handle])
    for user in context.crowd:
        sessions.register(session, user)
    context.extras["roundtable_session"] = session
