"""The demo seed leaves a roundtable in the lobby with the crowd and facilitators registered."""

from sqlalchemy import func, select

from deliberation.extensions import db
from deliberation.roundtables.models import (
    Participant,
    ParticipantRole,
    RoundtableSession,
    SessionState,
)


def test_seed_demo_opens_a_lobby_with_the_crowd(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = db.session.scalar(select(RoundtableSession))
        assert session.state == SessionState.LOBBY
        assert session.lead.email == "lead@madang.example"
        counts = dict(
            db.session.execute(
                select(Participant.role, func.count()).group_by(Participant.role)
            ).all()
        )
        assert counts[ParticipantRole.PARTICIPANT] >= 40
        assert counts[ParticipantRole.TABLE_FACILITATOR] == 1
