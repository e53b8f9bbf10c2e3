"""Room polls count verified categories and keep the one a vote was cast under (issue 19)."""

from sqlalchemy import select

from deliberation.accounts import categories
from deliberation.accounts.models import CategoryRequest, MemberCategory, Role, User
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Participant, PollVote
from tests.factories import make_division, make_user
from tests.roundtables.helpers import cid, emit, joined
from tests.roundtables.test_polls import poll_phase


def test_room_poll_vote_keeps_its_category_after_a_confirmation(app):
    info, sid, _lead, poll = poll_phase(app, people=4, facilitators=1)
    uid = info["people"][0]
    with app.app_context():
        admin = make_user(Role.ADMIN)
        user = db.session.get(User, uid)
        assert user.member_category == MemberCategory.CITIZEN
        request = categories.choose_category(user, MemberCategory.EXPERT)  # self-declared
        db.session.commit()
        request_id, admin_id = request.id, admin.id

    voter, _ = joined(app, uid, sid)
    option = poll["options"][0]["id"]
    vote = {"session_id": sid, "poll_id": poll["id"], "option_id": option, "client_id": cid()}
    assert emit(voter, "poll_vote", vote)["ok"]

    with app.app_context():
        row = db.session.scalar(select(PollVote).where(PollVote.poll_id == poll["id"]))
        assert row.member_category == MemberCategory.CITIZEN  # unconfirmed: a citizen
        categories.confirm_request(
            db.session.get(User, admin_id), db.session.get(CategoryRequest, request_id)
        )
        db.session.commit()
        db.session.refresh(row)
        assert row.member_category == MemberCategory.CITIZEN  # history is not rewritten
        # The next session the person joins counts them as the expert they now are.
        user = db.session.get(User, uid)
        later = sessions.create_session(
            make_user(Role.FACILITATOR), division=make_division(), title="Next roundtable"
        )
        later.open_lobby()
        sessions.register(later, user)
        db.session.commit()
        seat = db.session.scalar(
            select(Participant).where(
                Participant.session_id == later.id, Participant.user_id == uid
            )
        )
        assert seat.member_category == MemberCategory.EXPERT
