"""The rehearsal's clients wait and back off as the browser's pages do: the timings it copies
from `static/js` are read from the scripts themselves, so the two cannot drift apart."""

import re
from pathlib import Path

from loadtest import loadclient, payloads

STATIC_JS = Path(__file__).resolve().parent.parent.parent / "static" / "js"


def js_constant(script: str, name: str) -> float:
    match = re.search(rf"var {name} = (\d+);", (STATIC_JS / script).read_text())
    assert match, f"{name} not found in {script}"
    return float(match.group(1))


def test_seat_push_wait_is_the_room_pages():
    assert (
        js_constant("roundtable-common.js", "SEAT_PUSH_WAIT_MS") == payloads.SEAT_PUSH_WAIT_S * 1000
    )


def test_reconnect_backoff_is_live_js():
    assert js_constant("live.js", "RECONNECT_BASE_MS") == loadclient.RECONNECT_BASE_S * 1000
    assert js_constant("live.js", "RECONNECT_CAP_MS") == loadclient.RECONNECT_CAP_S * 1000
