"""The live polls' events of the `/roundtable` namespace: the lead opens and closes a poll, and
participants vote, a plain new vote served without a request context (`_fast_vote`)."""

from functools import partial
from typing import Any

from flask import current_app
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user

from deliberation.core.errors import DomainError
from deliberation.core.realtime import (
    client_id_from,
    payload_dict,
    payload_enum,
    payload_int,
    payload_str,
    socket_action,
)
from deliberation.core.sessions import login_identity
from deliberation.extensions import db
from deliberation.roundtables import ballotbox, payloads, polls, tallies, vote_readiness
from deliberation.roundtables.models import PollKind
from deliberation.roundtables.rooms import call_after_commit
from deliberation.roundtables.seats import Seat, is_plain_new_vote, vote_action, vote_request


def _cookie_identity() -> tuple[int, str]:
    """The person and session token the socket logged in with (checked in the vote's batch)."""
    identity = login_identity(flask_session.get("_user_id"))
    if identity is None:
        raise ballotbox.Unauthenticated(_("Please log in again."))
    return identity


class PollEvents:
    """Mixed into `RoundtableNamespace`, which gives it the sockets' seats (`seats`) and the
    checks of who is asking (`_seat`, `_context`)."""

    seats: dict[str, Seat]
    _seat: Any
    _context: Any
    socketio: Any
    namespace: str

    def _fast_vote(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any] | None:
        """A plain new vote by a seated participant, served without a Flask request context.

        Flask-SocketIO builds a request context (request, session, URL matching) for every
        event: a fifth of the server's work per vote when 1,000 people vote within a second.
        The seat and login token were kept at join and the poll is cached, so a valid vote
        needs none of it: it goes straight to the group commit, whose transaction re-checks
        the login as on the ordinary path. Anything else (a change, an agree/disagree vote,
        bad input, a refusal to explain) returns None, or is re-run, through `on_poll_vote`
        in a request context, so every error is worded and logged in one place.
        """
        seat = self.seats.get(sid)
        if extra or seat is None or not is_plain_new_vote(seat, data):
            return None
        app = self.socketio.server.get_environ(sid, namespace=self.namespace)["flask.app"]
        with app.app_context():
            try:
                poll = polls.get_poll_for_vote(seat.session_id, data["poll_id"])
            except DomainError:
                return None
        if not ballotbox.takes(poll, change=False) or data["option_id"] not in poll.option_ids:
            return None
        vote = vote_request(
            seat, poll, data["client_id"], data["option_id"], seat.user_id, seat.session_token
        )
        ballotbox.wait_for_batch(app, vote)
        if vote.refusal is None and vote.answer is not None:
            return {"ok": True, "vote": vote.answer}
        # Refused (closed, already voted, logged out): word it in the voter's language.
        return self.socketio._handle_event(
            vote_action(lambda: ballotbox.raise_refusal(vote)), "poll_vote", self.namespace, sid
        )

    @socket_action
    def on_poll_open(self, data: Any = None) -> dict[str, Any]:
        data, session, _participant, _seat = self._context(data)
        kind = payload_enum(data, "kind", PollKind, max_length=20)
        options = data.get("options")
        if options is not None and (
            not isinstance(options, list) or not all(isinstance(o, str) for o in options)
        ):
            raise DomainError(_("Options must be a list of texts."), code="bad_payload")
        poll = polls.open_poll(
            current_user,
            session,
            kind,
            payload_str(data, "question", max_length=300) or "",
            options,
            payload_int(data, "duration_s", required=False),
        )
        app = current_app._get_current_object()
        call_after_commit(partial(vote_readiness.poll_opened, app, poll.id, session.id))
        return {"poll": payloads.poll_payload(poll)}

    @socket_action
    def on_poll_close(self, data: Any = None) -> dict[str, Any]:
        data, session, _participant, _seat = self._context(data)
        poll = polls.get_poll(session, payload_int(data, "poll_id"))
        return {"tally": polls.close_poll(current_user, poll)}

    @vote_action
    def on_poll_vote(self, data: Any = None) -> dict[str, Any]:
        """Cast (or, with change=true, change) one's vote; acknowledged after the commit.

        A new choose-one or question vote goes through the group commit (ballotbox); changes
        and agree/disagree/pass votes take the ordinary one-transaction path.
        """
        data = payload_dict(data)
        seat = self._seat(data)
        client_id = client_id_from(data)
        poll = polls.get_poll_for_vote(seat.session_id, payload_int(data, "poll_id"))
        option_id = payload_int(data, "option_id", required=False)
        stances = data.get("stances")
        if stances is not None and not isinstance(stances, dict):
            raise DomainError(_("'stances' must be an object."), code="bad_payload")
        change = data.get("change") is True
        app = current_app._get_current_object()
        if not ballotbox.takes(poll, change=change):
            if not current_user.is_authenticated:
                raise ballotbox.Unauthenticated(_("Please log in again."))
            vote = polls.cast_poll_vote(
                poll, seat, client_id, option_id=option_id, stances=stances, change=change
            )
            new_votes = int(polls.is_new_vote(vote, change=change))
            call_after_commit(
                lambda: tallies.mark_dirty(app, poll.id, poll.session_id, new_votes=new_votes)
            )
            return {"vote": vote}
        polls.require_may_vote(seat)
        option, _stances = polls.validate_choice(poll, option_id, None)
        user_id, token = _cookie_identity()
        request_ = vote_request(seat, poll, client_id, option or 0, user_id, token)
        # Hand the connection back before waiting for the batch: hundreds of voters waiting
        # while each holds one would leave the batch writer none (a worker whose poll cache
        # is cold reads the poll first; every other worker's is, with several workers).
        db.session.rollback()
        return {"vote": ballotbox.submit(app, request_)}
