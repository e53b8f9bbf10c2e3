"""plain text stored as typed: undo the HTML escaping of earlier rows

Revision ID: dff9eb5cd9d2
Revises: a45daa9254d5
Create Date: 2026-11-23 14:20:00

Until this revision `core.sanitize.plain_text` stored titles, moderation reasons, chat, ideas,
themes and polls HTML-escaped (bleach wrote `<`, `>` and `&` as `&lt;`, `&gt;` and `&amp;`),
and every page escaped them again, so people saw `&lt;`. Those rows, and the copies made of them
(agenda items and proposals from themes, poll options from themes, the texts frozen in proposal
snapshots and cached summaries), get back the text as typed. Only the three references bleach
wrote are undone, in one pass, rather than `html.unescape`: a `&copy;` that someone typed was
kept as is by bleach and stays `&copy;` (html.unescape would make it ©, and `&not` in text ¬).
Markdown bodies written from themes are left alone: Markdown already shows `&lt;` as `<`.
Downgrading stores the same texts as the earlier plain_text did (bleach, tags stripped).
"""
import json
import re
from collections.abc import Callable
from typing import Any

import bleach
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'dff9eb5cd9d2'
down_revision = 'a45daa9254d5'
branch_labels = None
depends_on = None

#: Every column that held plain_text output, or a copy of it, by table (primary key "id").
PLAIN_TEXT_COLUMNS = {
    "agenda_items": ("title",),
    "comments": ("hidden_reason",),
    "comment_flags": ("reason",),
    "roundtable_sessions": ("title",),
    "roundtable_chat_messages": ("body",),
    "roundtable_ideas": ("body",),
    "roundtable_themes": ("name", "description"),
    "roundtable_polls": ("question",),
    "roundtable_poll_options": ("label",),
    "proposals": ("title",),
}

_ESCAPED = re.compile("&(amp|lt|gt);")
_CHARACTERS = {"amp": "&", "lt": "<", "gt": ">"}

Convert = Callable[[str], str]


def unescape(text: str) -> str:
    return _ESCAPED.sub(lambda match: _CHARACTERS[match.group(1)], text)


def as_before(text: str) -> str:
    """What the earlier plain_text stored of a text."""
    return bleach.clean(text, tags=set(), strip=True)


def _keys(entry: Any, keys: tuple[str, ...], convert: Convert) -> None:
    if isinstance(entry, dict):
        for key in keys:
            if isinstance(entry.get(key), str):
                entry[key] = convert(entry[key])


def _roundtables(sessions: Any, convert: Convert) -> None:
    """The roundtables of a summary (roundtables.results.item_results), live or frozen."""
    for session in sessions if isinstance(sessions, list) else []:
        _keys(session, ("title",), convert)
        for poll in session.get("polls") or []:
            _keys(poll, ("question",), convert)
            for option in poll.get("options") or []:
                _keys(option, ("label",), convert)
        for theme in session.get("themes") or []:
            _keys(theme, ("name", "description"), convert)
            for idea in theme.get("ideas") or []:
                _keys(idea, ("text",), convert)


def _snapshot(snapshot: Any, convert: Convert) -> Any:
    """A proposal's snapshot: a theme's (roundtables.results.theme_snapshot) or an item's
    frozen summary; ballot option labels and comment texts were never escaped."""
    if not isinstance(snapshot, dict):
        return snapshot
    if snapshot.get("kind") == "roundtable-theme":
        _keys(snapshot.get("roundtable"), ("title",), convert)
        theme = snapshot.get("theme") or {}
        _keys(theme, ("name", "description"), convert)
        for idea in theme.get("ideas") or []:
            _keys(idea, ("text",), convert)
        for poll in snapshot.get("polls") or []:
            _keys(poll, ("question",), convert)
    _roundtables((snapshot.get("consensus") or {}).get("roundtables"), convert)
    return snapshot


def _cached_summary(data: str | None, convert: Convert) -> str | None:
    if not data:
        return data
    document = json.loads(data)
    before = json.loads(data)
    _keys(document.get("item"), ("title",), convert)
    _roundtables(document.get("roundtables"), convert)
    # as summaries.services.refresh_summary writes it; an unchanged row is left as it was
    return data if document == before else json.dumps(document, ensure_ascii=False)


def _rewrite(
    bind: sa.Connection, table: sa.TableClause, column: str, change: Callable[[Any], Any]
) -> None:
    """Apply `change` to `column` of every row whose text holds &, < or >."""
    text = sa.cast(table.c[column], sa.Text)
    rows = bind.execute(
        sa.select(table.c.id, table.c[column]).where(
            sa.or_(*(text.contains(char) for char in "&<>"))
        )
    ).all()
    updates = []
    for row_id, value in rows:
        before = json.dumps(value, sort_keys=True)
        changed = change(json.loads(before))  # a copy: JSON values change in place
        if json.dumps(changed, sort_keys=True) != before:
            updates.append({"row_id": row_id, "value": changed})
    if updates:
        bind.execute(
            table.update()
            .where(table.c.id == sa.bindparam("row_id"))
            .values({column: sa.bindparam("value")}),
            updates,
        )


def convert_all(bind: sa.Connection, convert: Convert) -> None:
    """Apply `convert` to every plain text stored, and to its copies."""
    for name, columns in PLAIN_TEXT_COLUMNS.items():
        for column in columns:
            table = sa.table(name, sa.column("id", sa.Integer), sa.column(column, sa.Text))
            _rewrite(bind, table, column, lambda value: convert(value) if value else value)
    proposals = sa.table("proposals", sa.column("id", sa.Integer), sa.column("snapshot", sa.JSON))
    _rewrite(bind, proposals, "snapshot", lambda value: _snapshot(value, convert))
    caches = sa.table("summary_caches", sa.column("id", sa.Integer), sa.column("data", sa.Text))
    _rewrite(bind, caches, "data", lambda value: _cached_summary(value, convert))


def upgrade():
    convert_all(op.get_bind(), unescape)


def downgrade():
    convert_all(op.get_bind(), as_before)
