"""The lead's console in a real Chromium through the rehearsal (`flask rehearse --console`).

It measures what the lead lives with at 100 tables: how long after a table's change on the
server the console's table list shows it (`console_update_p99_ms`), and how busy the console
keeps the browser's main thread while the room votes (`console_main_thread_ms_per_s`, from
Chrome's own `TaskDuration` metric). Playwright's async API runs on the rehearsal's loop.
"""

from __future__ import annotations

import time
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: Notes, in wall-clock milliseconds, when each table's row first shows chat in the last
#: minute (the "Messages" cell, a number in any language) — set up before the chat starts.
WATCH_ROWS = """() => {
  window.rtFirstChat = {};
  const note = () => document.querySelectorAll('#rt-tables tr').forEach((row) => {
    const number = row.cells[0].textContent.trim();
    if (!(number in window.rtFirstChat) && Number(row.cells[4].textContent) > 0) {
      window.rtFirstChat[number] = Date.now();
    }
  });
  new MutationObserver(note).observe(document.getElementById('rt-tables'),
    {subtree: true, childList: true, characterData: true});
  note();
}"""


class ConsoleWatch:
    """One Chromium page with the lead's console, opened with the lead's session cookie."""

    def __init__(self, base_url: str, session_id: int, cookie: str) -> None:
        self.base_url, self.session_id, self.cookie = base_url, session_id, cookie
        self.script_errors: list[str] = []
        self.playwright: Any = None
        self.browser: Any = None
        self.page: Any = None
        self.cdp: Any = None

    async def open(self) -> None:
        from playwright.async_api import async_playwright  # only with --console

        self.playwright = await async_playwright().start()
        self.browser = await self.playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = await self.browser.new_context(viewport={"width": 1280, "height": 900})
        name, value = self.cookie.split("=", 1)
        await context.add_cookies([{"name": name, "value": value, "url": self.base_url}])
        self.page = await context.new_page()
        self.page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        await self.page.goto(f"{self.base_url}/roundtables/{self.session_id}/console")
        await self.page.wait_for_function(
            "() => document.getElementById('rt-connection').textContent.trim() !== ''"
        )
        self.cdp = await context.new_cdp_session(self.page)
        await self.cdp.send("Performance.enable")

    async def watch_tables(self) -> None:
        """Start noting when each table's row shows its first chat."""
        await self.page.wait_for_selector("#rt-tables tr")
        await self.page.evaluate(WATCH_ROWS)

    async def first_chat_shown(self) -> dict[int, float]:
        """Table number → when (wall clock, seconds) its row first showed chat."""
        seen = await self.page.evaluate("() => window.rtFirstChat || {}")
        return {int(number): at / 1000 for number, at in seen.items()}

    async def busy_seconds(self) -> float:
        """Main-thread task time Chrome has counted for this page so far."""
        metrics = (await self.cdp.send("Performance.getMetrics"))["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "TaskDuration")

    async def wait_for_rows_with_chat(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(await self.first_chat_shown()) >= count:
                return
            await self.page.wait_for_timeout(100)

    async def close(self) -> None:
        if self.browser is not None:
            await self.browser.close()
        if self.playwright is not None:
            await self.playwright.stop()
