"""Demo data for the roundtables feature."""

from deliberation.demo_context import DemoContext


def seed_demo(context: DemoContext) -> None:
    """Seed this feature's demo data (none yet)."""
