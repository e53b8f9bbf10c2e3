"""The layout conventions a newcomer relies on: every socket namespace's name and room names
live in its feature's rooms.py, and no module is an empty stub."""

import ast
import importlib
from pathlib import Path

from deliberation.extensions import socketio

PACKAGE = Path(__file__).resolve().parents[2] / "deliberation"


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_namespace_is_named_in_its_features_rooms_module(app):
    named = {}
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            targets = (
                node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            )
            if any(isinstance(t, ast.Name) and t.id == "NAMESPACE" for t in targets):
                named[path.relative_to(PACKAGE).as_posix()] = node
    assert named and all(path.endswith("/rooms.py") for path in named), (
        f"NAMESPACE is defined outside a feature's rooms.py: {sorted(named)}"
    )
    registered = set(socketio.server.namespace_handlers) - {"/"}
    in_rooms = {
        importlib.import_module(f"deliberation.{path[:-3].replace('/', '.')}").NAMESPACE
        for path in named
    }
    assert registered == in_rooms


def test_no_module_is_an_empty_stub():
    stubs = []
    for path in _modules():
        if path.name == "__init__.py":
            continue
        body = ast.parse(path.read_text()).body
        code = [
            node
            for node in body
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
            and not isinstance(node, ast.Import | ast.ImportFrom)
        ]
        # A module whose only function does nothing but carry a docstring is a stub too.
        if all(
            isinstance(node, ast.FunctionDef)
            and all(
                isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in node.body
            )
            for node in code
        ):
            stubs.append(path.relative_to(PACKAGE).as_posix())
    assert not stubs, f"empty stub modules (leave a role out instead): {stubs}"
