"""A socket's seat and the room-poll vote's hot path: what a socket joined, which votes the
fast path serves (exactly the browser's plain new vote), the vote's request for the batch
writer, and the wrapper that answers it."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask_socketio import disconnect, emit

from deliberation.accounts.models import MemberCategory
from deliberation.core.errors import DomainError, is_database_outage
from deliberation.core.realtime import error_payload, refuse_database_away
from deliberation.extensions import db
from deliberation.roundtables import ballotbox, polls
from deliberation.roundtables.models import ParticipantRole

log = logging.getLogger(__name__)


#: The fields of a plain new vote as the browser sends it (`loadtest.payloads.poll_vote`,
#: `static/js/roundtable-poll.js`): the only kind the fast path serves.
FAST_VOTE_FIELDS = frozenset({"session_id", "poll_id", "option_id", "client_id", "change"})


def _whole_number(value: Any) -> bool:
    return type(value) is int and -(2**31) < value < 2**31


def is_plain_new_vote(seat: "Seat | None", data: Any) -> bool:
    """A seated participant's first choose-one vote, well formed: what the fast path serves.

    Anything else (a change, stances, extra fields, a stranger) goes the ordinary way.
    """
    return (
        seat is not None
        and polls.may_vote(seat)
        and seat.user_id is not None
        and bool(seat.session_token)
        and isinstance(data, dict)
        and data.keys() == FAST_VOTE_FIELDS
        and data["change"] is False
        and data["session_id"] == seat.session_id
        and _whole_number(data["poll_id"])
        and _whole_number(data["option_id"])
        and isinstance(data["client_id"], str)
        and 8 <= len(data["client_id"]) <= 64
    )


def vote_action(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Like core.realtime.socket_action, for the vote hot path: the login is re-checked inside
    the vote's own transaction (ballotbox) instead of loading the whole user first."""

    @wraps(handler)
    def wrapper(*args: Any) -> dict[str, Any]:
        try:
            result = handler(*args) or {}
            db.session.commit()
        except ballotbox.Unauthenticated as error:
            db.session.rollback()
            disconnect()
            return {"ok": False, "error": "unauthenticated", "message": error.message}
        except DomainError as error:
            db.session.rollback()
            payload = error_payload(error)
            emit("error", {**payload, "event": "poll_vote"})
            return payload
        except Exception as error:
            if is_database_outage(error):
                return refuse_database_away("poll_vote", error)
            db.session.rollback()
            log.exception("poll_vote failed")
            payload = {"ok": False, "error": "server_error", "message": "Something went wrong."}
            emit("error", {**payload, "event": "poll_vote"})
            return payload
        return {"ok": True, **result}

    return wrapper


@dataclass(frozen=True)
class Seat:
    """What a socket joined: kept per connection so hot paths (votes) skip a lookup."""

    session_id: int
    participant_id: int | None
    user_id: int | None
    role: ParticipantRole | None
    table_id: int | None
    member_category: MemberCategory
    staff: bool
    rooms: tuple[str, ...]
    #: The login token the socket's cookie carried at join (re-checked in each vote's batch).
    session_token: str | None = None
    #: The name the table's chat shows for this person (read at join).
    display_name: str = ""

    # The attributes a vote needs from a Participant.
    @property
    def id(self) -> int | None:
        return self.participant_id

    @property
    def may_vote(self) -> bool:
        return self.role == ParticipantRole.PARTICIPANT


def vote_request(
    seat: Seat, poll: polls.PollInfo, client_id: str, option_id: int, user_id: int, token: str
) -> ballotbox.VoteRequest:
    """A new choose-one vote for the batch writer: the seat's participant, the poll, the choice,
    and the login (user id and session token) the batch re-checks."""
    return ballotbox.VoteRequest(
        poll_id=poll.id,
        session_id=poll.session_id,
        participant_id=seat.participant_id or 0,
        user_id=user_id,
        session_token=token,
        client_id=client_id,
        option_id=option_id,
        member_category=seat.member_category,
    )
