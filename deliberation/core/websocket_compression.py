"""The site's WebSockets are sent uncompressed: the server declines the browser's offer.

Every browser offers permessage-deflate, and simple-websocket (the WebSocket server under
engine.io, embedded and in gunicorn) accepted it: each socket then kept a zlib compressor and
decompressor (about 300 KB at full use) and deflated every message it sent. Madang's messages
are small JSON (a tally, a chat line, an acknowledgement), which deflate barely shrinks; at
5,000 people the compression cost the workers CPU on every message of every broadcast
(docs/realtime.md, "Compression declined"). Removing the offer from the handshake before
engine.io reads it makes the server answer without the extension, so no socket compresses.
"""

from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: The handshake header that carries the client's extension offer (RFC 6455 9.1), as WSGI names it.
EXTENSIONS_OFFER = "HTTP_SEC_WEBSOCKET_EXTENSIONS"


def decline_websocket_compression(wsgi_app: WSGIApp) -> WSGIApp:
    """Wrap the outermost WSGI app: WebSocket handshakes reach it with no extension offer."""

    def without_extension_offer(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        environ.pop(EXTENSIONS_OFFER, None)
        return wsgi_app(environ, start_response)

    return without_extension_offer
