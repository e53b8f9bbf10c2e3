"""Demo data for the summaries feature: each demo item's summary computed ahead."""

from deliberation.demo_context import DemoContext
from deliberation.summaries.services import refresh_summary


def seed_demo(context: DemoContext) -> None:
    """Compute the consensus summary of every demo agenda item, so its page opens at once."""
    for item in context.extras.get("items", []):
        refresh_summary(item.id)
