"""Plain text shows exactly as typed. `1 < 2 & "R&D" <3` written as an agenda item title, a
flag or moderation reason, a roundtable title, chat message, idea, theme, poll question and
option or broadcast is stored as typed; every page escapes it once (a reader sees what was
typed, never `&lt;`), socket payloads carry it as typed, and CSV and JSON exports hold it as is.
A theme description that looks like Markdown shows literally in the proposal made from it."""

import csv
import io
from html.parser import HTMLParser

from deliberation.accounts.models import Role
from deliberation.agendas import services as agendas
from deliberation.extensions import db, socketio
from deliberation.roundtables import polls, sessions
from deliberation.roundtables.models import Participant, ParticipantRole, Phase, ThemeDestination
from tests.conftest import AuthActions
from tests.factories import make_division, make_user
from tests.roundtables.helpers import cid, emit, joined, received, session_of

TYPED = '1 < 2 & "R&D" <3'
#: Written as a theme description, which goes into the Markdown summary of its proposal.
MARKDOWNISH = (
    "# Not a heading\n"
    "[not a link](javascript:alert(1)) ![no image](https://example.org/x.png)\n"
    "    *not code* <b>not bold</b> R&D\n"
    "===\n"
    "- not a list"
)


class _Page(HTMLParser):
    """The text a browser shows of a page (character references resolved once)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._in_title = False
        self.feed(html)
        self.close()
        self.text = "".join(self.parts)

    def handle_starttag(self, tag, attrs) -> None:
        self._in_title = self._in_title or tag == "title"

    def handle_endtag(self, tag) -> None:
        self._in_title = self._in_title and tag != "title"

    def handle_data(self, data) -> None:
        self.parts.append(data)
        if self._in_title:
            self.title += data


def shown(client, path: str, *texts: str) -> _Page:
    """The page at `path`, checked to show each of `texts` as typed and to escape it once."""
    response = client.get(path)
    assert response.status_code == 200, path
    html = response.get_data(as_text=True)
    page = _Page(html)
    for text in texts:
        assert text in page.text, (path, text)
    # escaped once: never raw HTML, never `&amp;lt;` (what a reader would see as `&lt;`)
    assert "<3" not in html and "&amp;lt;" not in html and "&amp;amp;" not in html, path
    return page


def test_roundtable_text_shows_as_typed_on_pages_in_payloads_and_exports(app):
    with app.app_context():
        division = make_division()
        lead = make_user(Role.FACILITATOR, email="lead@example.org")
        facilitator = make_user(Role.FACILITATOR, email="fac@example.org")
        citizen = make_user(email="citizen@example.org")
        item = agendas.propose_item(citizen, division_id=division.id, title=TYPED, body="About.")
        agendas.start_discussion(lead, item.id)
        session = sessions.create_session(
            lead,
            division=division,
            title=f"  {TYPED} ",
            table_size=6,
            agenda_item_ids=[item.id],
            theme_destination=ThemeDestination.PROPOSAL,
        )
        session.open_lobby()
        sessions.register(session, facilitator, ParticipantRole.TABLE_FACILITATOR)
        seat = sessions.register(session, citizen)
        sessions.seat_room(lead, session)
        sessions.start_session(lead, session)
        sessions.set_phase(lead, session, Phase.DISCUSSION)
        db.session.commit()
        sid, item_id, table_id, seat_id = session.id, item.id, seat.table_id, seat.id
        lead_id, facilitator_id, citizen_id = lead.id, facilitator.id, citizen.id

    # Socket payloads: acknowledgements, live events and the catch-up snapshot.
    lead_socket, _ = joined(app, lead_id, sid)
    fac_socket, _ = joined(app, facilitator_id, sid)
    citizen_socket, _ = joined(app, citizen_id, sid)

    def send(socket, event: str, **data) -> dict:
        ack = emit(socket, event, {"session_id": sid, "client_id": cid(), **data})
        assert ack["ok"], (event, ack)
        return ack

    assert send(citizen_socket, "chat_send", text=TYPED)["message"]["body"] == TYPED
    assert [e["args"][0]["body"] for e in received(fac_socket, "chat_message")] == [TYPED]
    idea = send(fac_socket, "idea_add", table_id=table_id, text=f"{TYPED}\n")["idea"]
    assert idea["body"] == TYPED
    send(lead_socket, "phase_set", phase="submissions")
    send(fac_socket, "ideas_submit", table_id=table_id)
    send(lead_socket, "phase_set", phase="synthesis")
    theme = send(
        lead_socket, "theme_create", name=TYPED, description=MARKDOWNISH, idea_ids=[idea["id"]]
    )["theme"]
    assert (theme["name"], theme["description"]) == (TYPED, MARKDOWNISH)
    send(lead_socket, "themes_publish")
    send(lead_socket, "phase_set", phase="poll")
    question = send(
        lead_socket, "poll_open", kind="question", question=TYPED, options=[TYPED, "No"]
    )
    assert question["poll"]["question"] == TYPED
    assert [o["label"] for o in question["poll"]["options"]] == [TYPED, "No"]
    send(lead_socket, "poll_close", poll_id=question["poll"]["id"])
    agree = send(lead_socket, "poll_open", kind="agree", question="Agree?")["poll"]
    assert [o["label"] for o in agree["options"]] == [TYPED]
    with app.app_context():  # one agreeing vote: the theme passes and becomes a proposal
        seat = db.session.get(Participant, seat_id)
        stances = {str(agree["options"][0]["id"]): "agree"}
        polls.cast_poll_vote(
            polls.get_poll_for_vote(sid, agree["id"]), seat, cid(), stances=stances
        )
        db.session.commit()
    send(lead_socket, "poll_close", poll_id=agree["id"])
    assert send(lead_socket, "broadcast", text=TYPED)["message"]["body"] == TYPED
    assert received(citizen_socket, "broadcast")[-1]["args"][0]["body"] == TYPED
    snapshot = emit(citizen_socket, "snapshot", {"session_id": sid})["snapshot"]
    assert snapshot["title"] == TYPED
    assert [m["body"] for m in snapshot["chat"]] == [TYPED]
    assert [(t["name"], t["description"]) for t in snapshot["themes"]] == [(TYPED, MARKDOWNISH)]
    proposal_id = send(lead_socket, "session_close")["proposals"][0]
    with app.app_context():
        assert session_of(sid).title == TYPED  # stored as typed (outer spaces trimmed)

    # Pages: each shows the text as typed, escaped once.
    client = app.test_client()
    AuthActions(client).login("citizen@example.org")
    assert TYPED in shown(client, f"/roundtables/{sid}", TYPED).title
    shown(client, "/roundtables/", TYPED)
    results = shown(client, f"/roundtables/{sid}/results")
    assert results.text.count(TYPED) >= 6  # title twice, theme, idea, question, its option
    proposal = shown(client, f"/proposals/{proposal_id}", f"From the roundtable “{TYPED}”.")
    assert TYPED in proposal.title
    for line in MARKDOWNISH.split("\n"):  # the Markdown summary shows the description literally
        assert line.strip() in proposal.text, line
    html = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    for markup in ("<h1>Not", 'href="javascript', "<img", "<code>", "<b>not", "<li>not"):
        assert markup not in html, markup
    assert proposal.text.count(TYPED) >= 6  # title twice, summary: title, idea; snapshot
    shown(client, "/proposals/", TYPED)
    shown(client, "/proposals/notifications", TYPED)  # the citizen's table follows it
    assert TYPED in shown(client, f"/agendas/{item_id}", TYPED).title
    summary = shown(client, f"/summaries/items/{item_id}")
    assert summary.text.count(TYPED) >= 5  # item title, session title, question, option, theme

    # Exports: JSON and CSV hold the text as typed (no HTML escaping at all).
    document = client.get(f"/summaries/items/{item_id}/summary.json").get_json()
    assert document["item"]["title"] == TYPED
    (roundtable,) = document["roundtables"]
    assert roundtable["title"] == TYPED
    assert TYPED in [p["question"] for p in roundtable["polls"]]
    assert TYPED in [o["label"] for p in roundtable["polls"] for o in p["options"]]
    assert [(t["name"], t["description"]) for t in roundtable["themes"]] == [(TYPED, MARKDOWNISH)]
    exported = client.get(f"/summaries/items/{item_id}/roundtables.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {row["session_title"] for row in rows} == {TYPED}
    assert TYPED in {row["poll_question"] for row in rows}
    assert TYPED in {row["option_label"] for row in rows}
    assert TYPED in {row["theme_name"] for row in rows if row["record"] == "theme"}


def _agendas_socket(app, email: str):
    http = app.test_client()
    AuthActions(http).login(email)
    socket = socketio.test_client(app, flask_test_client=http, namespace="/agendas")
    assert socket.is_connected("/agendas")
    return http, socket


def test_agenda_title_and_moderation_reasons_show_as_typed(app):
    with app.app_context():
        division = make_division()
        author = make_user(email="author@example.org")
        make_user(email="reader@example.org")
        moderator = make_user(Role.FACILITATOR, email="moderator@example.org")
        item = agendas.propose_item(author, division_id=division.id, title=TYPED, body="Body")
        agendas.start_discussion(moderator, item.id)
        comment, _created = agendas.post_comment(author, item.id, "A comment", client_id=cid())
        db.session.commit()
        item_id, comment_id = item.id, comment.id

    def act(socket, event: str, **data) -> dict:
        ack = socket.emit(event, {"client_id": cid(), **data}, namespace="/agendas", callback=True)
        assert ack["ok"], (event, ack)
        return ack

    reader, reader_socket = _agendas_socket(app, "reader@example.org")
    assert act(reader_socket, "join", item_id=item_id)["item"]["title"] == TYPED
    act(reader_socket, "flag", comment_id=comment_id, reason=TYPED)
    moderator, moderator_socket = _agendas_socket(app, "moderator@example.org")
    assert TYPED in shown(moderator, f"/agendas/{item_id}", TYPED).title
    shown(moderator, "/agendas/", TYPED)
    shown(moderator, "/agendas/moderation", TYPED)  # the flag's reason
    shown(moderator, f"/agendas/comments/{comment_id}/moderate", TYPED)
    act(moderator_socket, "hide_comment", comment_id=comment_id, reason=f"{TYPED}\r\n")
    updated = [m["args"][0] for m in reader_socket.get_received("/agendas")]
    assert [u["comment"]["hidden_reason"] for u in updated if "comment" in u] == [TYPED]
    shown(reader, f"/agendas/{item_id}", TYPED, f"Hidden by a moderator: {TYPED}")
