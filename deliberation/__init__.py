"""Madang: civic deliberation, from an agenda item to an official's public answer."""

from typing import Any


def create_app(config: Any = None, overrides: dict[str, Any] | None = None) -> Any:
    """Build the Flask app (see factory.py).

    Imported lazily so that `python -m deliberation.serve` can let gevent patch the standard
    library before Flask, SQLAlchemy or redis are imported.
    """
    from deliberation.config import Config
    from deliberation.factory import create_app as build

    return build(config or Config, overrides)
