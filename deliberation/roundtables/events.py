"""Socket.IO namespace `/roundtable`: joining a seat, table chat, ideas, lead console and theme
team; the live polls' events are `poll_events`. Every handler re-checks who may act; see
docs/realtime.md."""

import logging
from functools import partial
from typing import Any

from flask import current_app, request
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import SocketIO, join_room

from deliberation.accounts.models import MemberCategory
from deliberation.accounts.services import find_user_by_email
from deliberation.core import memory
from deliberation.core.errors import DomainError, PermissionDenied
from deliberation.core.realtime import (
    AuthenticatedNamespace,
    client_id_from,
    payload_dict,
    payload_enum,
    payload_int,
    payload_str,
    register_namespace_once,
    socket_action,
    socket_query,
)
from deliberation.core.sessions import login_identity
from deliberation.core.throttle import enforce
from deliberation.extensions import db, socketio
from deliberation.roundtables import (
    fast_chat,
    hybrid,
    payloads,
    permissions,
    presence,
    queries,
    results,
    seat_push,
    sessions,
    staffing,
    tables,
    tallies,
    themes,
)
from deliberation.roundtables.models import (
    Participant,
    ParticipantRole,
    Phase,
    RoundtableSession,
    TableKind,
)
from deliberation.roundtables.poll_events import PollEvents
from deliberation.roundtables.rooms import (
    NAMESPACE,
    call_after_commit,
    projector_room,
    session_room,
)
from deliberation.roundtables.seats import Seat

log = logging.getLogger(__name__)

HELP_LIMIT = "3 per minute"


def _cookie_token(user_id: int) -> str | None:
    """The session token of `user_id` in this socket's cookie, if it is theirs."""
    identity = login_identity(flask_session.get("_user_id"))
    return identity[1] if identity is not None and identity[0] == user_id else None


class RoundtableNamespace(PollEvents, AuthenticatedNamespace):
    """Participants, facilitators, theme team and (read-only, by secret link) projectors."""

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self.seats: dict[str, Seat] = {}
        #: Who is connected, and at which table, over every server process (the lead's
        #: console, the people page's "connected" filter).
        self.connected = presence.ConnectedCounts(self._connected_here, self._sessions_here)
        seat_push.serve(self)

    def dispatch(self, event: str, *args: Any) -> Any:
        if event == "poll_vote":
            answer = self._fast_vote(*args)
            if answer is not None:
                return answer
        if event == "chat_send":
            answer = fast_chat.serve(self, *args)
            if answer is not None:
                return answer
        return super().dispatch(event, *args)

    # --- connection and seat ------------------------------------------------------------

    def on_connect(self, auth: Any = None) -> None:
        token = auth.get("projector") if isinstance(auth, dict) else None
        if isinstance(token, str) and token:
            session = permissions.projector_session(token, "socket")
            db.session.rollback()
            if session is None:
                raise ConnectionRefusedError("unknown projector link")
            rooms = (session_room(session.id), projector_room(session.id))
            for room in rooms:
                join_room(room)
            self.seats[request.sid] = Seat(
                session.id, None, None, None, None, MemberCategory.CITIZEN, False, rooms
            )
            return
        super().on_connect(auth)

    def on_disconnect(self, *args: Any) -> None:
        self._seat_changed(self.seats.pop(request.sid, None), None)

    def _seat_changed(self, old: Seat | None, new: Seat | None) -> None:
        """A person's socket joined or left a session, or changed its table: who is connected
        to those sessions may have changed."""
        before, after = _presence(old), _presence(new)
        if before == after:
            return
        app = current_app._get_current_object()
        for session_id in {seat[0] for seat in (before, after) if seat is not None}:
            self.connected.changed(app, session_id)

    def move_rooms(self, sid: str, old: Seat | None, new: Seat) -> None:
        """Leave the rooms of the old seat that the new one has not; enter the new one's."""
        server = socketio.server
        for room in old.rooms if old else ():
            if room not in new.rooms:
                server.leave_room(sid, room, namespace=NAMESPACE)
        for room in new.rooms:
            server.enter_room(sid, room, namespace=NAMESPACE)

    def take_seat(self, sid: str, old: Seat, new: Seat) -> bool:
        """Seat a socket as the room's seating placed it (seat_push): False if the socket left
        or joined anew meanwhile, whose own join then holds."""
        if self.seats.get(sid) is not old:
            return False
        self.seats[sid] = new
        self._seat_changed(old, new)
        self.move_rooms(sid, old, new)
        return True

    def _connected_here(self, session_id: int) -> dict[int, int]:
        """People connected to the session on this server process, {user id: table id}
        (presence.LOBBY: at no table): a person with two tabs open is one entry, so a table's
        count compares with its seated people. Projectors (no user) are nobody."""
        return presence.merge(
            {},
            (
                (seat.user_id, seat.table_id or presence.LOBBY)
                for seat in list(self.seats.values())
                if seat.session_id == session_id and seat.user_id is not None
            ),
        )

    def _sessions_here(self) -> set[int]:
        """Sessions this process holds people's sockets of."""
        return {seat.session_id for seat in list(self.seats.values()) if seat.user_id is not None}

    def _with_connected(self, console: dict[str, Any], session_id: int) -> dict[str, Any]:
        """Add how many people of each table are connected, on every server process (a
        person connected through two processes counts once)."""
        connected = self.connected.totals(current_app._get_current_object(), session_id)
        for table in console["tables"]:
            table["connected"] = connected.get(table["id"], 0)
        console["counts"]["connected"] = sum(t["connected"] for t in console["tables"])
        return console

    def _seat(self, data: dict[str, Any]) -> Seat:
        session_id = payload_int(data, "session_id")
        seat = self.seats.get(request.sid)
        if seat is None or seat.session_id != session_id or seat.user_id is None:
            raise PermissionDenied(_("Join this session first."), code="not_joined")
        return seat

    def _context(
        self, data: Any
    ) -> tuple[dict[str, Any], RoundtableSession, Participant | None, Seat]:
        data = payload_dict(data)
        seat = self._seat(data)
        session = sessions.get_session(seat.session_id)
        participant = sessions.find_participant(session.id, current_user.id)
        return data, session, participant, seat

    @socket_action
    def on_join(self, data: Any = None) -> dict[str, Any]:
        """Join a session (registering if needed) and one's own table; returns seat + snapshot."""
        data = payload_dict(data)
        session = sessions.get_session(payload_int(data, "session_id"))
        wanted_table = payload_int(data, "table_id", required=False)
        user = current_user._get_current_object()
        joined = sessions.join_session(user, session, wanted_table)
        participant, staff, rooms = joined.participant, joined.staff, joined.rooms
        sid = request.sid
        old = self.seats.get(sid)
        seat = self.seats[sid] = Seat(
            session_id=session.id,
            participant_id=participant.id if participant else None,
            user_id=user.id,
            role=participant.role if participant else None,
            table_id=participant.table_id if participant else None,
            member_category=participant.member_category if participant else user.member_category,
            staff=staff,
            rooms=rooms,
            session_token=_cookie_token(user.id),
            display_name=user.display_name,
        )
        self._seat_changed(old, seat)
        tallies.listen_to_other_processes(current_app._get_current_object())
        if seat.table_id is not None:
            memory.settle_after_seated_join()
        call_after_commit(partial(self.move_rooms, sid, old, seat))
        snapshot = queries.snapshot(session, participant, staff=staff)
        if staff:
            self._with_connected(snapshot["console"], session.id)
        return {"seat": snapshot["seat"], "staff": staff, "snapshot": snapshot}

    @socket_query
    def on_snapshot(self, data: Any = None) -> dict[str, Any]:
        """Catch up after a reconnect: phase, timer, table chat, open poll and one's own vote."""
        data, session, participant, seat = self._context(data)
        snapshot = queries.snapshot(session, participant, staff=seat.staff)
        if seat.staff:
            self._with_connected(snapshot["console"], session.id)
        return {"snapshot": snapshot}

    def on_projector_snapshot(self, data: Any = None) -> dict[str, Any]:
        """The projector view's read-only snapshot (its socket came in by the secret link)."""
        seat = self.seats.get(request.sid)
        try:
            if seat is None or seat.user_id is not None:
                raise PermissionDenied(_("Only projector links use this."), code="forbidden")
            session = sessions.get_session(seat.session_id)
            return {"ok": True, "snapshot": queries.snapshot(session, None)}
        except DomainError as error:
            return {"ok": False, "error": error.code, "message": error.message}
        finally:
            db.session.rollback()

    # --- tables -------------------------------------------------------------------------

    @socket_action
    def on_chat_send(self, data: Any = None) -> dict[str, Any]:
        """Post to one's own table (throttled per person)."""
        data, session, participant, _seat = self._context(data)
        text = payload_str(data, "text", max_length=tables.CHAT_MAX_CHARS) or ""
        enforce("roundtable.chat", current_user.id, fast_chat.CHAT_LIMIT)
        if participant is None:
            raise PermissionDenied(_("You do not have a seat in this session."), code="no_seat")
        return {"message": tables.send_chat(session, participant, text, client_id_from(data))}

    @socket_action
    def on_help_request(self, data: Any = None) -> dict[str, Any]:
        """Ask the lead facilitator for help at one's table."""
        data, session, participant, _seat = self._context(data)
        enforce("roundtable.help", current_user.id, HELP_LIMIT)
        if participant is None:
            raise PermissionDenied(_("You do not have a seat in this session."), code="no_seat")
        return tables.request_help(session, participant)

    @socket_action
    def on_help_clear(self, data: Any = None) -> dict[str, Any]:
        """The lead answers a table's call for help."""
        data, session, _participant, _seat = self._context(data)
        table = tables.get_table(session, payload_int(data, "table_id"))
        return tables.clear_help(current_user, session, table)

    @socket_action
    def on_lead_chat_send(self, data: Any = None) -> dict[str, Any]:
        """The lead posts in one table's chat."""
        data, session, _participant, _seat = self._context(data)
        table = tables.get_table(session, payload_int(data, "table_id"))
        text = payload_str(data, "text", max_length=tables.CHAT_MAX_CHARS) or ""
        enforce("roundtable.chat", current_user.id, fast_chat.CHAT_LIMIT)
        return {
            "message": tables.lead_chat(current_user, session, table, text, client_id_from(data))
        }

    @socket_query
    def on_table_chat(self, data: Any = None) -> dict[str, Any]:
        """The lead reads one table's recent chat."""
        data, session, _participant, _seat = self._context(data)
        permissions.require_lead(current_user, session)
        table = tables.get_table(session, payload_int(data, "table_id"))
        return {"table_id": table.id, "chat": queries.recent_chat(session.id, table.id)}

    @socket_action
    def on_idea_add(self, data: Any = None) -> dict[str, Any]:
        """The table facilitator records one of the table's ideas."""
        data, session, participant, _seat = self._context(data)
        text = payload_str(data, "text", max_length=tables.IDEA_MAX_CHARS) or ""
        table_id = payload_int(data, "table_id")
        idea = tables.add_idea(session, participant, table_id, text, client_id_from(data))
        return {"idea": idea}

    @socket_action
    def on_idea_edit(self, data: Any = None) -> dict[str, Any]:
        """The table facilitator rewords a draft idea."""
        data, session, participant, _seat = self._context(data)
        text = payload_str(data, "text", max_length=tables.IDEA_MAX_CHARS) or ""
        return {"idea": tables.edit_idea(session, participant, payload_int(data, "idea_id"), text)}

    @socket_action
    def on_idea_delete(self, data: Any = None) -> dict[str, Any]:
        """The table facilitator deletes a draft idea."""
        data, session, participant, _seat = self._context(data)
        return tables.delete_idea(session, participant, payload_int(data, "idea_id"))

    @socket_action
    def on_ideas_submit(self, data: Any = None) -> dict[str, Any]:
        """The table facilitator sends the round's ideas to the theme team."""
        data, session, participant, _seat = self._context(data)
        return tables.submit_ideas(session, participant, payload_int(data, "table_id"))

    # --- paper participants (hybrid) ---------------------------------------------------

    @socket_action
    def on_paper_register(self, data: Any = None) -> dict[str, Any]:
        """A table's facilitator enters a person without a device as a paper participant."""
        data, session, clerk, _seat = self._context(data)
        table = tables.get_table(session, payload_int(data, "table_id"))
        email = payload_str(data, "member_email", max_length=254, required=False)
        member = find_user_by_email(email) if email and email.strip() else None
        if email and email.strip() and member is None:
            raise DomainError(_("No member has that email address."), code="no_such_member")
        person = hybrid.register_paper_participant(
            current_user, session, clerk, table,
            name=payload_str(data, "name", max_length=hybrid.NAME_MAX_CHARS * 2) or "",
            member_category=payload_str(data, "member_category", max_length=30) or "",
            division_id=payload_int(data, "division_id", required=False),
            member=member, client_id=client_id_from(data),
            same_name_confirmed=data.get("same_name_confirmed") is True,
        )  # fmt: skip
        return {"participant_id": person.id, "name": person.name}

    @socket_query
    def on_paper_list(self, data: Any = None) -> dict[str, Any]:
        """A table's paper participants, for its facilitator's panel."""
        data, session, clerk, _seat = self._context(data)
        table = tables.get_table(session, payload_int(data, "table_id"))
        hybrid.require_paper_clerk(current_user, session, clerk, table.id)
        return {"table_id": table.id, "people": hybrid.paper_participants(session, table.id)}

    @socket_action
    def on_paper_idea(self, data: Any = None) -> dict[str, Any]:
        """The facilitator writes down a paper participant's idea."""
        data, session, clerk, _seat = self._context(data)
        person = hybrid.get_paper_participant(session, payload_int(data, "participant_id"))
        text = payload_str(data, "text", max_length=tables.IDEA_MAX_CHARS * 2) or ""
        idea = hybrid.record_paper_idea(
            current_user, session, clerk, person, text, client_id_from(data)
        )
        return {"idea": idea}

    @socket_action
    def on_paper_vote(self, data: Any = None) -> dict[str, Any]:
        """The facilitator enters one paper participant's vote from their slip (never a
        count for the table)."""
        data, session, clerk, _seat = self._context(data)
        hybrid.refuse_table_count(data)
        person = hybrid.get_paper_participant(session, payload_int(data, "participant_id"))
        stances = data.get("stances")
        if stances is not None and not isinstance(stances, dict):
            raise DomainError(_("'stances' must be an object."), code="bad_payload")
        vote = hybrid.enter_paper_vote(
            current_user, session, clerk, person, payload_int(data, "poll_id"),
            payload_str(data, "slip_no", max_length=20) or "", client_id_from(data),
            option_id=payload_int(data, "option_id", required=False), stances=stances,
        )  # fmt: skip
        return {"vote": vote}

    @socket_action
    def on_table_kind(self, data: Any = None) -> dict[str, Any]:
        """The lead says whether a table is online, in the hall, or mixed."""
        data, session, _participant, _seat = self._context(data)
        table = tables.get_table(session, payload_int(data, "table_id"))
        kind = payload_enum(data, "kind", TableKind, max_length=10)
        return hybrid.set_table_kind(current_user, session, table, kind)

    # --- lead facilitator console ------------------------------------------------------

    @socket_action
    def on_lobby_open(self, data: Any = None) -> dict[str, Any]:
        data, session, _participant, _seat = self._context(data)
        sessions.open_lobby(current_user, session)
        return {"state": payloads.session_state_payload(session)}

    @socket_action
    def on_seat_room(self, data: Any = None) -> dict[str, Any]:
        """Seat (or reseat) the whole room at balanced tables."""
        data, session, _participant, _seat = self._context(data)
        return sessions.seat_room(current_user, session)

    @socket_action
    def on_move_participant(self, data: Any = None) -> dict[str, Any]:
        """Move one person to another table."""
        data, session, _participant, _seat = self._context(data)
        person = sessions.get_participant(session, payload_int(data, "participant_id"))
        table = tables.get_table(session, payload_int(data, "table_id"))
        sessions.move_participant(current_user, session, person, table)
        return {"participant_id": person.id, "table_id": table.id}

    @socket_action
    def on_set_role(self, data: Any = None) -> dict[str, Any]:
        """Name someone to the theme team or as a table facilitator."""
        data, session, _participant, _seat = self._context(data)
        person = sessions.get_participant(session, payload_int(data, "participant_id"))
        role = payload_enum(data, "role", ParticipantRole, max_length=30)
        sessions.set_participant_role(current_user, session, person, role)
        return {"participant_id": person.id, "role": role.value}

    @socket_action
    def on_table_merge(self, data: Any = None) -> dict[str, Any]:
        """Merge a table without a facilitator into a neighbour (default: the nearest staffed)."""
        data, session, _participant, _seat = self._context(data)
        table = tables.get_table(session, payload_int(data, "table_id"))
        into_id = payload_int(data, "into_id", required=False)
        into = tables.get_table(session, into_id) if into_id else None
        return staffing.merge_table(current_user, session, table, into)

    @socket_action
    def on_session_start(self, data: Any = None) -> dict[str, Any]:
        data, session, _participant, _seat = self._context(data)
        duration = payload_int(data, "duration_s", required=False)
        sessions.start_session(current_user, session, duration)
        return {"state": payloads.session_state_payload(session)}

    @socket_action
    def on_phase_set(self, data: Any = None) -> dict[str, Any]:
        """Move the room to a phase, with an optional timer."""
        data, session, _participant, _seat = self._context(data)
        phase = payload_enum(data, "phase", Phase, max_length=20)
        duration = payload_int(data, "duration_s", required=False)
        sessions.set_phase(current_user, session, phase, duration)
        return {"state": payloads.session_state_payload(session)}

    @socket_action
    def on_timer(self, data: Any = None) -> dict[str, Any]:
        """Extend, pause, resume or end the phase timer (the lead only)."""
        data, session, _participant, _seat = self._context(data)
        action = payload_str(data, "action", max_length=10) or ""
        seconds = payload_int(data, "seconds", required=False)
        sessions.control_timer(current_user, session, action, seconds)
        return {"state": payloads.session_state_payload(session)}

    @socket_action
    def on_broadcast(self, data: Any = None) -> dict[str, Any]:
        """A message from the lead to every table."""
        data, session, _participant, _seat = self._context(data)
        text = payload_str(data, "text", max_length=sessions.BROADCAST_MAX_CHARS) or ""
        return {"message": sessions.broadcast_message(current_user, session, text)}

    @socket_action
    def on_session_close(self, data: Any = None) -> dict[str, Any]:
        """Close the session; passing themes become agenda items or proposals."""
        data, session, _participant, _seat = self._context(data)
        adoption = sessions.close_session(current_user, session)
        return {
            "agenda_items": [item.id for item in adoption.items],
            "proposals": [proposal.id for proposal in adoption.proposals],
            "summary": results.close_summary(session, adoption.items, adoption.proposals),
            "state": payloads.session_state_payload(session),
        }

    @socket_query
    def on_console(self, data: Any = None) -> dict[str, Any]:
        """All tables at a glance (lead and theme team)."""
        data, session, participant, _seat = self._context(data)
        permissions.require_theme_team(current_user, session, participant)
        return {"console": self._with_connected(queries.console_overview(session), session.id)}

    # --- theme team ---------------------------------------------------------------------

    @socket_action
    def on_theme_create(self, data: Any = None) -> dict[str, Any]:
        data, session, participant, _seat = self._context(data)
        theme = themes.create_theme(
            current_user,
            session,
            participant,
            payload_str(data, "name", max_length=themes.THEME_NAME_MAX) or "",
            payload_str(data, "description", max_length=themes.THEME_DESCRIPTION_MAX,
                        required=False) or "",
            _int_list(data, "idea_ids"),
        )  # fmt: skip
        return {"theme": theme}

    @socket_action
    def on_theme_update(self, data: Any = None) -> dict[str, Any]:
        data, session, participant, _seat = self._context(data)
        theme = themes.update_theme(
            current_user,
            session,
            participant,
            payload_int(data, "theme_id"),
            name=payload_str(data, "name", max_length=themes.THEME_NAME_MAX, required=False),
            description=payload_str(
                data, "description", max_length=themes.THEME_DESCRIPTION_MAX, required=False
            ),
            idea_ids=_int_list(data, "idea_ids") if "idea_ids" in data else None,
        )
        return {"theme": theme}

    @socket_action
    def on_theme_merge(self, data: Any = None) -> dict[str, Any]:
        data, session, participant, _seat = self._context(data)
        theme = themes.merge_themes(
            current_user,
            session,
            participant,
            payload_int(data, "theme_id"),
            payload_int(data, "into_id"),
        )
        return {"theme": theme}

    @socket_action
    def on_theme_unmerge(self, data: Any = None) -> dict[str, Any]:
        """Undo a merge: the merged theme comes back with the ideas it brought."""
        data, session, participant, _seat = self._context(data)
        changed = themes.undo_merge(
            current_user, session, participant, payload_int(data, "theme_id"),
            _int_list(data, "idea_ids"),
        )  # fmt: skip
        return {"themes": changed}

    @socket_action
    def on_theme_idea_add(self, data: Any = None) -> dict[str, Any]:
        """Put a submitted idea into an existing theme (out of the one it was in, if any)."""
        data, session, participant, _seat = self._context(data)
        changed = themes.add_idea_to_theme(
            current_user, session, participant, payload_int(data, "theme_id"),
            payload_int(data, "idea_id"),
        )  # fmt: skip
        return {"themes": changed}

    @socket_action
    def on_theme_idea_remove(self, data: Any = None) -> dict[str, Any]:
        """Take an idea out of a theme; it waits for a theme again."""
        data, session, participant, _seat = self._context(data)
        theme = themes.remove_idea_from_theme(
            current_user, session, participant, payload_int(data, "theme_id"),
            payload_int(data, "idea_id"),
        )  # fmt: skip
        return {"theme": theme}

    @socket_action
    def on_themes_publish(self, data: Any = None) -> dict[str, Any]:
        data, session, participant, _seat = self._context(data)
        return themes.publish_themes(current_user, session, participant)


def _int_list(data: dict[str, Any], key: str) -> list[int]:
    values = data.get(key, [])
    if (
        not isinstance(values, list)
        or len(values) > 500
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)
    ):
        raise DomainError(f"'{key}' must be a list of numbers.", code="bad_payload")
    return values


def register_namespaces(socketio_server: SocketIO) -> None:
    """Attach the /roundtable namespace."""
    register_namespace_once(socketio_server, RoundtableNamespace(NAMESPACE))


def _presence(seat: Seat | None) -> tuple[int, int, int] | None:
    """What a seat tells the presence entries: (session, user, table), None for no person."""
    if seat is None or seat.user_id is None:
        return None
    return seat.session_id, seat.user_id, seat.table_id or presence.LOBBY


def connected_user_ids(session_id: int) -> set[int]:
    """People with a socket in this session on any server process, at a table or not (the
    people page's "connected" filter; called inside a request)."""
    # Registered before the server started (a list) or after (the server's own table).
    handlers = list(socketio.namespace_handlers)
    if socketio.server is not None:
        handlers += list(socketio.server.namespace_handlers.values())
    for handler in handlers:
        if isinstance(handler, RoundtableNamespace):
            return handler.connected.user_ids(current_app._get_current_object(), session_id)
    return set()
