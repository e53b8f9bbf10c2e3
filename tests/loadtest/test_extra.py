"""The load test is a tool, not product: the site runs, and `flask rehearse` explains itself,
on an install without the `loadtest` extra (websockets, psutil) and without the dev tools."""

import os
import subprocess
import sys
from pathlib import Path

from deliberation.roundtables.commands import INSTALL_HINT

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent

#: Each name set to None in sys.modules: importing it raises, as on an install without it.
BLOCK = """
import sys
for name in {names!r}:
    sys.modules[name] = None
"""

#: Every module of the product, the server's entry point first (it patches with gevent before
#: anything else is imported, as in production), then the app serving a request.
IMPORT_THE_PRODUCT = """
import importlib, pkgutil
import deliberation.serve
import deliberation
names = [m.name for m in pkgutil.walk_packages(deliberation.__path__, "deliberation.")]
for name in names:
    importlib.import_module(name)
from deliberation import create_app
from deliberation.config import TestConfig
app = create_app(TestConfig, {{"SQLALCHEMY_DATABASE_URI": "sqlite:///{database}"}})
assert app.test_client().get("/healthz").status_code == 200
assert "rehearse" in app.cli.commands
print("imported", len(names), "modules")
"""

RUN_FLASK = """
from flask.cli import main
sys.argv = ["flask", "--app", "wsgi", *{args!r}]
main()
"""


def run_python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter on this checkout with a throwaway database."""
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "SECRET_KEY": "x" * 32,
    }
    env.pop("MADANG_ENV", None)
    env.pop("FLASK_RUN_FROM_CLI", None)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_product_imports_neither_the_load_tools_nor_their_dependencies(tmp_path):
    blocked = ["websockets", "psutil", "requests", "loadtest", "tests"]
    code = BLOCK.format(names=blocked) + IMPORT_THE_PRODUCT.format(database=tmp_path / "a.db")
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # More than the few packages' __init__ modules: the walk found the features' modules.
    assert int(result.stdout.split()[-2]) > 50, result.stdout


def test_rehearse_without_the_extra_says_how_to_install_it(tmp_path):
    code = BLOCK.format(names=["websockets", "psutil"]) + RUN_FLASK.format(
        args=["rehearse", "--participants", "10"]
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "install the loadtest extra: pip install -e '.[loadtest]'" in result.stderr
    assert INSTALL_HINT in result.stderr
    assert "Traceback" not in result.stderr, result.stderr
