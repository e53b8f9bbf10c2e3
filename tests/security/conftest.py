"""Browser fixtures for the security suite (real Chromium through Playwright)."""

from tests.browser.conftest import browser, new_page  # noqa: F401
