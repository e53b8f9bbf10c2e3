"""A test process reuses Werkzeug's compiled URL builders from one app to the next.

The suite creates about a thousand apps. For each of an app's ~110 URL rules Werkzeug writes
two builder functions as Python syntax trees and compiles them (`Rule._compile_builder`):
about 90 % of `create_app`'s 32 ms. A builder's code depends only on the rule's parts, its
defaults and whether unknown arguments are appended; it reaches its converters through the
rule it is bound to, so the same function serves the same rule in every app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

_compiled: dict[tuple, Callable[..., tuple[str, str]]] = {}


def _builder_key(rule: Rule, append_unknown: bool) -> tuple:
    defaults = rule.defaults or {}
    return (
        rule.rule,  # with its converters, which turn a default into the URL's text
        tuple(rule._trace),
        tuple(sorted((name, repr(value)) for name, value in defaults.items())),
        append_unknown,
    )


def reuse_compiled_url_builders() -> None:
    """Memoise `Rule._compile_builder` for this process (once; later calls do nothing)."""
    original: Any = Rule._compile_builder
    if getattr(original, "memoised", False):
        return

    def compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., Any]:
        key = _builder_key(self, append_unknown)
        builder = _compiled.get(key)
        if builder is None:
            builder = _compiled[key] = original(self, append_unknown)
        return builder

    compile_builder.memoised = True  # type: ignore[attr-defined]
    compile_builder.original = original  # type: ignore[attr-defined]
    Rule._compile_builder = compile_builder  # type: ignore[method-assign]
