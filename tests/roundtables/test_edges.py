"""The rules the page and the socket share: the projector link's token length, and the
login cookie read by the page's user loader and the socket's vote path alike."""

import logging

from deliberation.accounts.models import Role
from deliberation.core.sessions import login_identity
from deliberation.extensions import db, socketio
from deliberation.roundtables import sessions
from deliberation.roundtables.models import RoundtableSession
from deliberation.roundtables.rooms import NAMESPACE
from tests.factories import make_division, make_user


def test_a_short_projector_token_is_refused_by_page_and_socket_even_if_stored(app, client, caplog):
    """A token under 16 characters opens nothing, even one a session really holds."""
    with app.app_context():
        lead = make_user(Role.FACILITATOR)
        session = sessions.create_session(lead, division=make_division(), title="Hall screen")
        session.projector_token = "fifteen-chars-x"  # 15 characters: below the minimum
        db.session.commit()
        session_id = session.id

    with caplog.at_level(logging.WARNING, logger="deliberation"):
        assert client.get("/roundtables/projector/fifteen-chars-x").status_code == 404
        short = socketio.test_client(
            app, namespace=NAMESPACE, auth={"projector": "fifteen-chars-x"}
        )
        assert not short.is_connected(NAMESPACE)
    refused = [m for m in caplog.messages if "projector link refused" in m]
    assert [m.split(" ")[3] for m in refused] == ["(page)", "(socket)"]

    with app.app_context():  # a token of 16 characters is long enough: both open the view
        db.session.get(RoundtableSession, session_id).projector_token = "sixteen-chars-xy"
        db.session.commit()
    assert client.get("/roundtables/projector/sixteen-chars-xy").status_code == 200
    right = socketio.test_client(app, namespace=NAMESPACE, auth={"projector": "sixteen-chars-xy"})
    assert right.is_connected(NAMESPACE)
    assert right.emit("projector_snapshot", {}, namespace=NAMESPACE, callback=True)["ok"]
    right.disconnect(namespace=NAMESPACE)


def test_the_login_cookie_is_read_as_id_and_token():
    """One parser for "id:token" (a logged-out token is refused in the vote's batch: see
    test_bad_input); anything malformed is no login at all."""
    assert login_identity("42:s3cr3t") == (42, "s3cr3t")
    assert login_identity("42:tok:en") == (42, "tok:en")  # the token is everything after ":"
    for malformed in (None, "", "42", "42:", ":tok", "x1:tok", "-1:tok", "４２:tok"):
        assert login_identity(malformed) is None, malformed
