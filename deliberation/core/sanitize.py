"""The one place user text becomes HTML: Markdown through bleach with a single allow-list."""

import bleach
import markdown as md
from bleach.linkifier import DEFAULT_CALLBACKS
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote",
        "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody",
        "tr", "th", "td", "del",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"], "th": ["align"], "td": ["align"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})


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
    html = md.markdown(text, extensions=["tables", "sane_lists", "nl2br"], output_format="html")
    cleaned = _cleaner.clean(html)
    linked = bleach.linkify(cleaned, callbacks=[*DEFAULT_CALLBACKS, _nofollow], parse_email=False)
    return Markup(linked)  # noqa: S704 - output of the bleach allow-list above


def plain_text(text: str | None) -> str:
    """Strip every tag: for titles, names and notifications shown as text."""
    return bleach.clean(text or "", tags=set(), strip=True)
