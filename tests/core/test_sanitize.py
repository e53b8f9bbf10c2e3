"""User Markdown becomes safe HTML: one allow-list, no scripts, no javascript:/data: links;
plain text stays as typed and shows literally when written into Markdown; typed text with a
control character is refused."""

import html
import re

import pytest

from deliberation.core.sanitize import (
    UntypableText,
    clean_text,
    markdown_literal,
    plain_text,
    render_markdown,
)

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


def test_plain_text_is_kept_as_typed_without_untypable_controls():
    typed = '1 < 2 & "R&D" <3 <b>Kim</b> &amp; &copy;\ttab'
    assert plain_text(typed) == typed  # escaping is for the places that show it
    assert plain_text("a\r\nb\rc\x00d\x0be\x1bf\x7fg\x85h\ud800i") == "a\nb\ncdefghi"
    assert plain_text(None) == ""


def test_clean_text_keeps_typed_text_and_unifies_line_endings():
    typed = '  1 < 2 & "R&D" <3 <b>Kim</b>\ttab 한국어 \u200b\ufeff\u202e 𝕏  '
    assert clean_text(typed) == typed  # no escaping, no trimming, format characters stay
    assert clean_text("a\r\nb\rc\nd") == "a\nb\nc\nd"
    assert clean_text(None) == ""


@pytest.mark.parametrize(
    "control",
    ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9f", "\ud800"],
)
def test_clean_text_refuses_control_characters_with_one_message(app, control):
    with app.test_request_context(), pytest.raises(UntypableText) as refused:
        clean_text(f"before{control}after")
    assert refused.value.status_code == 400 and refused.value.code == "control_character"
    assert refused.value.message.startswith("The text contains a control character")


def _shown(markdown: str) -> str:
    """The text a reader sees of rendered Markdown: tags out, character references resolved."""
    return html.unescape(re.sub(r"<[^>]+>", "", str(render_markdown(markdown))))


@pytest.mark.parametrize(
    "typed",
    [
        '1 < 2 & "R&D" <3',
        "<b>bold?</b> <script>alert(1)</script> <img src=x onerror=alert(1)>",
        "*not em* _nor this_ `nor code` ~~nor struck~~ \\ back\\slash",
        "[not a link](javascript:alert(1)) ![no image](https://example.org/x.png) <https://e.org>",
        "# not a heading\n> not a quote\n- not a list\n1. nor this\n+ nor this",
        "| a | b |\n|---|---|\n| c | d |",
        "a line\n===\nanother\n---\n***",
        "&amp; &copy; &#60; stay as typed",
    ],
)
def test_markdown_literal_shows_exactly_what_was_typed(typed):
    rendered = str(render_markdown(markdown_literal(typed)))
    for markup in ("<h", "<blockquote", "<ul", "<ol", "<table", "<em", "<code", "<img", "<b>"):
        assert markup not in rendered, (typed, rendered)
    assert 'href="javascript' not in rendered and "<script" not in rendered
    lines = [line.strip() for line in _shown(markdown_literal(typed)).split("\n")]
    assert lines == [line.strip() for line in typed.split("\n")]


def test_markdown_literal_keeps_lines_but_not_code_indentation():
    assert _shown(markdown_literal("one\n    indented\n\nafter a blank")).split("\n") == [
        "one",
        "indented",
        "after a blank",
    ]
