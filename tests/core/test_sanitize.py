"""User Markdown becomes safe HTML: one allow-list, no scripts, no javascript:/data: links."""

import pytest

from deliberation.core.sanitize import plain_text, render_markdown

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    "<iframe src=//evil.example.org></iframe>",
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<body onload=alert(1)>",
    '<a href="&#106;avascript:alert(1)">x</a>',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_defused(payload):
    html = str(render_markdown(payload)).lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "javascript:",
        "data:text",
        "<iframe",
        "<svg",
        "style=",
    ):
        assert bad not in html, (payload, html)


def test_markdown_still_works_and_links_are_nofollow():
    html = str(render_markdown("**bold** and [site](https://example.org)\n\n- one\n- two"))
    assert "<strong>bold</strong>" in html
    assert 'href="https://example.org"' in html
    assert 'rel="nofollow ugc noopener"' in html
    assert "<li>one</li>" in html


def test_plain_text_strips_all_tags():
    assert plain_text("<b>Kim</b><script>x</script>") == "Kimx"
