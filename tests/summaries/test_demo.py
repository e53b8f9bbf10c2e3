"""The demo seed leaves every demo item with a computed summary."""

from sqlalchemy import func, select

from deliberation.agendas.models import AgendaItem
from deliberation.demo import seed_demo
from deliberation.extensions import db
from deliberation.summaries.models import SummaryCache
from deliberation.summaries.queries import cached_summary


def test_demo_items_have_fresh_summaries(app):
    with app.app_context():
        seed_demo()
        db.session.commit()
        items = db.session.scalar(select(func.count(AgendaItem.id)))
        caches = db.session.scalars(select(SummaryCache)).all()
        assert items > 0 and len(caches) == items
        fresh = [cached_summary(cache.item_id)[2] for cache in caches]
        assert all(fresh)
