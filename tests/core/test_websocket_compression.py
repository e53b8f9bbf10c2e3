"""The server declines the browser's permessage-deflate offer (core/websocket_compression.py):
the rehearsal's clients offer exactly what Chromium offers, and every socket stays plain."""

import pytest
from websockets.headers import build_extension

from loadtest import loadclient, payloads
from tests.conftest import browser_handshake
from tests.production.helpers import run_async

pytestmark = pytest.mark.slow


def test_the_rehearsal_offers_the_browsers_extensions():
    offers = loadclient.browser_extensions()
    header = build_extension([(offer.name, offer.get_request_params()) for offer in offers])
    assert header == payloads.WEBSOCKET_EXTENSIONS


def test_a_browsers_compression_offer_is_declined(live_server):
    answer, in_use, opened = run_async(browser_handshake(live_server.url))
    assert answer is None
    assert in_use == []
    assert opened.startswith('0{"sid":')
