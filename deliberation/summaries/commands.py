"""flask commands of the summaries feature."""

import click


def register_commands(cli: click.Group, bench: click.Group) -> None:
    """Add this feature's commands (none yet)."""
