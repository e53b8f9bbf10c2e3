"""Socket.IO namespace of the proposals feature: live timelines and notifications."""

from typing import Any

from flask_login import current_user
from flask_socketio import SocketIO, join_room

from deliberation.core.realtime import (
    AuthenticatedNamespace,
    payload_dict,
    payload_int,
    register_namespace_once,
    socket_action,
    socket_query,
)
from deliberation.proposals import queries, services
from deliberation.proposals.rooms import NAMESPACE, proposal_room


class ProposalsNamespace(AuthenticatedNamespace):
    """On connect each person joins user:<id>, where their notifications arrive."""

    @socket_query
    def on_follow(self, data: Any = None) -> dict[str, Any]:
        """Watch a proposal's timeline; the ack carries its state and last step."""
        proposal = queries.get_proposal(payload_int(payload_dict(data), "proposal_id"))
        join_room(proposal_room(proposal.id))
        steps = queries.timeline(proposal)
        return {
            "proposal_id": proposal.id,
            "state": proposal.state.value,
            "last_event_id": steps[-1].id if steps else None,
        }

    @socket_query
    def on_notifications(self, data: Any = None) -> dict[str, Any]:
        """A snapshot of my unread count (after connecting or reconnecting)."""
        return {"unread": queries.unread_count(current_user.id)}

    @socket_action
    def on_mark_read(self, data: Any = None) -> dict[str, Any]:
        """Mark all my notifications read (repeating it changes nothing more)."""
        payload_dict(data)
        marked = services.mark_notifications_read(current_user)
        return {"marked": marked}


def register_namespaces(socketio: SocketIO) -> None:
    """Attach the /proposals namespace."""
    register_namespace_once(socketio, ProposalsNamespace(NAMESPACE))
