"""The projector view is reached by a secret link only: a wrong link is refused (page and
socket) and each refusal is logged like every refusal by role, without copying the guessed
token into the log; the right link is served and logs nothing."""

import logging

from deliberation.accounts.models import Role
from deliberation.extensions import db, socketio
from deliberation.roundtables import sessions
from deliberation.roundtables.rooms import NAMESPACE
from tests.factories import make_division, make_user


def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "projector link refused" in r.getMessage()]


def test_a_wrong_projector_link_is_refused_and_logged(app, client, caplog):
    with app.app_context():
        lead = make_user(Role.FACILITATOR)
        session = sessions.create_session(lead, division=make_division(), title="Hall screen")
        db.session.commit()
        token = session.projector_token
    near_miss = token[:-1] + ("A" if token[-1] != "A" else "B")

    with caplog.at_level(logging.WARNING, logger="deliberation"):
        assert client.get(f"/roundtables/projector/{token}").status_code == 200
        right = socketio.test_client(app, namespace=NAMESPACE, auth={"projector": token})
        assert right.is_connected(NAMESPACE)
        right.disconnect(namespace=NAMESPACE)
        assert refusals(caplog) == []

        for guess in (near_miss, "short"):
            assert client.get(f"/roundtables/projector/{guess}").status_code == 404
        wrong = socketio.test_client(app, namespace=NAMESPACE, auth={"projector": near_miss})
        assert not wrong.is_connected(NAMESPACE)

    logged = refusals(caplog)
    assert len(logged) == 3, logged
    assert [m.split(" ")[3] for m in logged] == ["(page)", "(page)", "(socket)"]
    # The same guess leaves the same fingerprint on the page and the socket, so a person
    # probing links can be followed; neither the guess nor the real token is in the log.
    fingerprints = [m.split(": token ")[1].split(" ")[0] for m in logged]
    assert fingerprints[0] == fingerprints[2] != fingerprints[1]
    assert all("from 127.0.0.1" in m for m in logged[:2])  # (the test socket has no address)
    assert not any(near_miss in m or token in m for m in caplog.messages)
