"""Security headers (a CSP without 'unsafe-inline') and safe redirect targets."""

from urllib.parse import urljoin, urlsplit

from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter

#: Ids in URLs fit a 32-bit integer column; a larger number is a 404, never a database error.
MAX_URL_INT = 2**31 - 1


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` refusing numbers no id column holds (SQLite overflows at 2**63)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", MAX_URL_INT)
        super().__init__(map, *args, **kwargs)


def bound_url_integers(app: Flask) -> None:
    """Call before registering blueprints: their rules compile with the bounded converter."""
    app.url_map.converters["int"] = BoundedIntegerConverter


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if request.is_secure:
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def is_safe_redirect(target: str | None) -> bool:
    """Only paths on this site: no other host, no scheme tricks, no protocol-relative URLs."""
    if not target or "\\" in target or any(ord(ch) < 32 for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    joined = urlsplit(urljoin(request.host_url, target))
    return joined.scheme in ("http", "https") and joined.netloc == urlsplit(request.host_url).netloc
