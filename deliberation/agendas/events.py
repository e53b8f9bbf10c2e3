"""Socket.IO namespace /agendas: one room per item, live comments, reactions and moderation.

Every state-changing event carries a client id or is naturally idempotent, is acknowledged
only after its transaction commits, and is broadcast to the item's room after the commit
(the services queue the broadcasts). The protocol: docs/realtime.md, *Namespace `/agendas`*.
"""

from typing import Any

from flask_login import current_user
from flask_socketio import SocketIO, join_room, leave_room

from deliberation.agendas import queries, services
from deliberation.agendas.rooms import NAMESPACE, item_room
from deliberation.core.errors import DomainError
from deliberation.core.realtime import (
    AuthenticatedNamespace,
    client_id_from,
    payload_dict,
    payload_int,
    payload_str,
    register_namespace_once,
    socket_action,
    socket_query,
)

#: Room joins and snapshots per person per minute (reconnect storms stay bounded).
JOIN_LIMIT = "60/minute"


def _snapshot(item_id: int, since_seq: int | None) -> dict[str, Any]:
    services.visible_item(current_user, item_id)
    return queries.changes_since(item_id, since_seq or 0)


class AgendasNamespace(AuthenticatedNamespace):
    """Live discussion of agenda items; clients join the room of the item they view."""

    @socket_query
    def on_join(self, data: Any = None) -> dict[str, Any]:
        """Join an item's room and get what changed since `since_seq` (a catch-up snapshot)."""
        data = payload_dict(data)
        item_id = payload_int(data, "item_id")
        since_seq = payload_int(data, "since_seq", required=False)
        services.throttle.enforce("agendas.join", current_user.id, JOIN_LIMIT)
        snapshot = _snapshot(item_id, since_seq)
        join_room(item_room(item_id))
        return snapshot

    @socket_query
    def on_snapshot(self, data: Any = None) -> dict[str, Any]:
        """What changed since `since_seq`, for a client that noticed a gap in the sequence."""
        data = payload_dict(data)
        item_id = payload_int(data, "item_id")
        services.throttle.enforce("agendas.join", current_user.id, JOIN_LIMIT)
        return _snapshot(item_id, payload_int(data, "since_seq", required=False))

    @socket_query
    def on_leave(self, data: Any = None) -> dict[str, Any]:
        """Stop receiving an item's events."""
        item_id = payload_int(payload_dict(data), "item_id")
        leave_room(item_room(item_id))
        return {}

    @socket_action
    def on_post_comment(self, data: Any = None) -> dict[str, Any]:
        """Post a comment or reply; a repeat with the same client_id returns the first post."""
        data = payload_dict(data)
        comment, created = services.post_comment(
            current_user,
            payload_int(data, "item_id"),
            payload_str(data, "body", max_length=services.COMMENT_PAYLOAD_MAX) or "",
            parent_id=payload_int(data, "parent_id", required=False),
            client_id=client_id_from(data),
        )
        author = current_user.display_name
        return {"comment": queries.comment_payload(comment, author), "created": created}

    @socket_action
    def on_edit_comment(self, data: Any = None) -> dict[str, Any]:
        """The author edits a comment within 15 minutes."""
        data = payload_dict(data)
        comment = services.edit_comment(
            current_user,
            payload_int(data, "comment_id"),
            payload_str(data, "body", max_length=services.COMMENT_PAYLOAD_MAX) or "",
        )
        return {"comment": queries.comment_payload(comment, current_user.display_name)}

    @socket_action
    def on_delete_comment(self, data: Any = None) -> dict[str, Any]:
        """The author deletes a comment (a placeholder stays)."""
        comment_id = payload_int(payload_dict(data), "comment_id")
        comment = services.delete_comment(current_user, comment_id)
        return {"comment": queries.comment_payload(comment, None)}

    @socket_action
    def on_react(self, data: Any = None) -> dict[str, Any]:
        """Agree, disagree or pass on a comment (repeating it changes nothing)."""
        data = payload_dict(data)
        comment = services.react(
            current_user,
            payload_int(data, "comment_id"),
            payload_str(data, "value", max_length=10) or "",
        )
        return {"comment_id": comment.id, "counts": comment.counts(), "mine": data["value"]}

    @socket_action
    def on_flag(self, data: Any = None) -> dict[str, Any]:
        """Report a comment to the facilitators."""
        data = payload_dict(data)
        flag, created = services.flag_comment(
            current_user,
            payload_int(data, "comment_id"),
            payload_str(data, "reason", max_length=services.REASON_MAX_LENGTH * 2) or "",
        )
        return {"flag_id": flag.id, "created": created}

    @socket_action
    def on_hide_comment(self, data: Any = None) -> dict[str, Any]:
        """A facilitator hides a comment with a public reason."""
        return self._moderate(data, services.hide_comment)

    @socket_action
    def on_restore_comment(self, data: Any = None) -> dict[str, Any]:
        """A facilitator restores a hidden comment, saying why."""
        return self._moderate(data, services.restore_comment)

    @staticmethod
    def _moderate(data: Any, change) -> dict[str, Any]:
        data = payload_dict(data)
        comment = change(
            current_user,
            payload_int(data, "comment_id"),
            payload_str(data, "reason", max_length=services.REASON_MAX_LENGTH * 2) or "",
        )
        row = queries.comment_with_author(comment.id)
        if row is None:
            raise DomainError("That comment does not exist.", code="not_found")
        return {"comment": queries.comment_payload(*row)}


def register_namespaces(socketio: SocketIO) -> None:
    """Attach the /agendas namespace."""
    register_namespace_once(socketio, AgendasNamespace(NAMESPACE))
