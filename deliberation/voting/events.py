"""Socket.IO namespace of the voting feature: live turnout and casting with a client id."""

from typing import Any

from flask_login import current_user
from flask_socketio import SocketIO, join_room, leave_room

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
from deliberation.db import utcnow
from deliberation.voting import queries, services
from deliberation.voting.live import next_sequence
from deliberation.voting.rooms import NAMESPACE, ballot_room


def ballot_snapshot(ballot_id: int) -> dict[str, Any]:
    """Live turnout plus the caller's own receipt, with a sequence number for catching up."""
    ballot = queries.get_ballot(ballot_id)
    seq = next_sequence()  # before the counts are read: a higher number means a later read
    turnout = queries.turnout(ballot) | {"seq": seq}
    return {
        "turnout": turnout,
        "accepting": ballot.accepts_votes_at(utcnow()),
        "my_receipt": queries.current_receipt(ballot.id, current_user.id),
        "my_channel": queries.current_channel(ballot.id, current_user.id),
    }


class VotingNamespace(AuthenticatedNamespace):
    @socket_query
    def on_join_ballot(self, data: Any = None) -> dict[str, Any]:
        """Watch a ballot's live turnout; the ack carries a fresh snapshot."""
        ballot_id = payload_int(payload_dict(data), "ballot_id")
        snapshot = ballot_snapshot(ballot_id)
        join_room(ballot_room(ballot_id))
        return snapshot

    @socket_query
    def on_leave_ballot(self, data: Any = None) -> dict[str, Any]:
        """Stop watching a ballot."""
        leave_room(ballot_room(payload_int(payload_dict(data), "ballot_id")))
        return {}

    @socket_query
    def on_snapshot(self, data: Any = None) -> dict[str, Any]:
        """A fresh snapshot (after a reconnect)."""
        return ballot_snapshot(payload_int(payload_dict(data), "ballot_id"))

    @socket_action
    def on_cast(self, data: Any = None) -> dict[str, Any]:
        """Cast or change one's vote; acknowledged with the receipt after the commit."""
        data = payload_dict(data)
        ballot_id = payload_int(data, "ballot_id")
        choice = payload_str(data, "choice", max_length=40)
        client_id = client_id_from(data)
        if not choice:
            raise DomainError("'choice' is required.", code="bad_payload")
        return services.cast_vote(ballot_id, current_user, choice, client_id).as_dict()


def register_namespaces(socketio: SocketIO) -> None:
    """Attach the /voting namespace."""
    register_namespace_once(socketio, VotingNamespace(NAMESPACE))
