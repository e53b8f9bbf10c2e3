"""The one place user text is cleaned (`clean_text`) and becomes HTML (Markdown through bleach
with a single allow-list).

Every text a person sends, through any form field or socket payload, passes `clean_text`: line
endings become `\n` and a control character is refused with one message, so SQLite and
PostgreSQL (which refuses NUL) store the same texts. Plain text (titles, names, chat, ideas,
themes, poll questions, reasons) is never HTML: it is kept as typed and escaped once where it is
shown (Jinja's autoescape, `textContent` in the browser, nothing at all in CSV and JSON), and
`markdown_literal` when it goes into Markdown.
"""

import re

import bleach
import markdown as md
from bleach.linkifier import DEFAULT_CALLBACKS
from flask_babel import gettext
from markupsafe import Markup

from deliberation.core.errors import DomainError

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
        "tr", "th", "td", "del",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "th": ["align"], "td": ["align"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
MARKDOWN_EXTENSIONS = ("tables", "sane_lists", "nl2br")


def _nofollow(attrs, new=False):
    """Every user link is rel=nofollow ugc noopener, so it carries no endorsement."""
    href_key = (None, "href")
    if href_key in attrs:
        attrs[(None, "rel")] = "nofollow ugc noopener"
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    filters=[],
)


def render_markdown(text: str | None) -> Markup:
    """User Markdown as safe HTML: no scripts, event handlers, or javascript:/data: links."""
    if not text:
        return Markup("")
    html = md.markdown(text, extensions=list(MARKDOWN_EXTENSIONS), output_format="html")
    cleaned = _cleaner.clean(html)
    linked = bleach.linkify(cleaned, callbacks=[*DEFAULT_CALLBACKS, _nofollow], parse_email=False)
    return Markup(linked)  # noqa: S704 - output of the bleach allow-list above


#: Characters nobody types and that break storage or display: C0 controls other than tab and
#: newline (PostgreSQL refuses NUL), DEL, C1 controls, and lone UTF-16 surrogates (which cannot
#: be encoded; a JSON socket payload can carry them).
_UNTYPABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class UntypableText(DomainError):
    """Text holding a character nobody types (see _UNTYPABLE): refused, and nothing changes."""

    code = "control_character"


def untypable_message() -> str:
    """The one wording of the refusal, in the reader's language, for forms and sockets alike."""
    return gettext(
        "The text contains a control character (such as a NUL byte) that cannot be saved. "
        "Please remove it and try again."
    )


def _unified_line_endings(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_text(text: str | None) -> str:
    """The one cleaner of text people send, for every form field and socket payload.

    Line endings become `\n` (browsers send a textarea's newlines as CRLF); any other control
    character (NUL included), or a lone surrogate, raises UntypableText with one message. The
    text is otherwise kept as typed: no HTML escaping, no trimming (see plain_text).
    """
    text = _unified_line_endings(text or "")
    if _UNTYPABLE.search(text):
        raise UntypableText(untypable_message())
    return text


def is_typable(text: str) -> bool:
    """Whether `clean_text` would take `text` as it is (for hot paths that must not raise)."""
    return not _UNTYPABLE.search(text)


def plain_text(text: str | None) -> str:
    """Text shown as text, stored exactly as typed: `1 < 2 & "R&D" <3` and `<b>` stay.

    Nothing is HTML-escaped or stripped here: escaping belongs to each place that shows the text
    (HTML escapes it once, CSV and JSON not at all), and stripping tag-looking text would lose
    what people typed (`<3`, `<Seoul>`), as escaping before storage shows `&lt;` on every page.
    Only line endings are made `\n` and untypable control characters removed (see _UNTYPABLE):
    input was already refused by `clean_text`, so this only matters for text stored before that
    rule, or written by a tool that bypasses forms and sockets.
    """
    return _UNTYPABLE.sub("", _unified_line_endings(text or ""))


#: Markdown-significant characters as Markdown shows them literally: a backslash before each one
#: Python-Markdown (with render_markdown's extensions) can escape, character references for
#: "&" and "<", which it cannot.
_MARKDOWN_LITERAL = str.maketrans(
    {char: "\\" + char for char in md.Markdown(extensions=list(MARKDOWN_EXTENSIONS)).ESCAPED_CHARS}
    | {"&": "&amp;", "<": "&lt;"}
)


def markdown_literal(text: str | None) -> str:
    """Plain text written into Markdown so that it renders exactly as typed, line by line: no
    emphasis, links, images, headings, lists, quotes, code, tables or raw HTML."""
    lines = []
    for line in plain_text(text).split("\n"):
        # Leading spaces would make a code block (HTML collapses them anyway); a line of "="
        # would make the line before it a heading, and "=" has no backslash escape.
        escaped = line.strip().translate(_MARKDOWN_LITERAL)
        lines.append("&#61;" + escaped[1:] if escaped.startswith("=") else escaped)
    return "\n".join(lines)
