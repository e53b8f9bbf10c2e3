"""Real Chromium through Playwright, and axe-core from node_modules."""

import functools
import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
AXE_SOURCE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


_SHARED: dict = {}


def shared_browser():
    """One Playwright and one Chromium per test process: Playwright's sync API cannot run two
    at once, and other test folders (tests/security) import the `browser` fixture too."""
    if "browser" not in _SHARED:
        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    return _SHARED["browser"]


def close_shared_browser() -> None:
    if "browser" in _SHARED:
        _SHARED.pop("browser").close()
        _SHARED.pop("playwright").stop()


@pytest.fixture(scope="session")
def browser():
    yield shared_browser()
    close_shared_browser()


@pytest.fixture
def new_page(browser):
    """Open a page in a fresh browser context (its own cookies): call once per person."""
    contexts = []

    def open_page(viewport: dict | None = None) -> Page:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.script_errors = []  # type: ignore[attr-defined]
        page.on("pageerror", lambda error: page.script_errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


def axe_results(page: Page) -> dict:
    """Run axe-core's WCAG 2.1 A/AA rules on the page: its violations (every node), and the
    rules that passed or did not apply (their first node only: `resultTypes`, since nothing
    here reads the others, and describing every passing node was most of axe's time)."""
    # A form post just clicked may still be replacing the page: audit the page that results.
    page.wait_for_load_state("load")
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
            resultTypes: ['violations']
        })"""
    )


@functools.cache
def _axe_source() -> str:
    return AXE_SOURCE.read_text()


def serious_violations(result: dict, impacts: tuple[str, ...] = ("serious", "critical")):
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core (WCAG 2.1 A/AA rules) on the page; return the violations of those impacts."""
    return serious_violations(axe_results(page), impacts)


def assert_accessible(page: Page, applies: tuple[str, ...] = ()) -> None:
    """No serious or critical violation; and each rule in `applies` found something on the page
    to check and passed it (e.g. "scrollable-region-focusable" on wide tables on a phone), so a
    test meant to exercise a rule cannot pass because the rule had nothing to look at."""
    result = axe_results(page)
    violations = serious_violations(result)
    assert violations == [], json.dumps(violations, indent=2, ensure_ascii=False)
    passed = {rule["id"] for rule in result["passes"]}
    assert [rule for rule in applies if rule not in passed] == [], page.url


def browser_login(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(base_url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def save_screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
