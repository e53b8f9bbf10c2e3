"""Verified member categories: a self-declared category is a request until someone entitled
confirms it; confirmations are audited, the person is told, and votes keep their category."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from deliberation.accounts import categories
from deliberation.accounts.models import (
    CategoryRequest,
    CategoryRequestState,
    MemberCategory,
    Role,
    User,
)
from deliberation.core.audit import AuditEntry
from deliberation.core.errors import DomainError, PermissionDenied
from deliberation.extensions import db
from deliberation.mail.models import OutboxMessage
from deliberation.voting import services as voting
from deliberation.voting.models import Vote
from tests.accounts.test_registration import register
from tests.conftest import csrf_token_from
from tests.factories import make_division, make_user
from tests.voting.support import make_ballot


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _decide(client, request_id: int, decision: str, reason: str = ""):
    token = csrf_token_from(client.get("/admin/category-requests").get_data(as_text=True))
    return client.post(
        f"/admin/category-requests/{request_id}",
        data={"decision": decision, "reason": reason, "csrf_token": token},
    )


def test_self_registered_expert_counts_as_citizen_until_confirmed(app, client, auth):
    response = register(client, member_category="expert")
    assert response.status_code == 302
    # Registered in Korean: told so in Korean.
    assert "관리자가 구분을 확인할 때까지" in client.get("/").get_data(as_text=True)
    profile = client.get("/profile").get_data(as_text=True)
    assert "확인 대기 중" in profile  # registered in Korean
    with app.app_context():
        minji = _user("minji@example.org")
        assert minji.member_category == MemberCategory.CITIZEN
        (request,) = db.session.scalars(select(CategoryRequest))
        assert request.requested_category == MemberCategory.EXPERT
        assert categories.pending_request_count() == 1
        admin = make_user(Role.ADMIN, email="admin@example.org")
        ballot = make_ballot()
        voting.cast_vote(ballot.id, minji, "yes", "vote-before-1")
        db.session.commit()
        request_id, ballot_id, admin_id = request.id, ballot.id, admin.id

    auth.logout()
    auth.login("admin@example.org")
    page = client.get("/admin/category-requests").get_data(as_text=True)
    assert "Kim Minji" in page and "1 request waits for you." in page
    response = _decide(client, request_id, "confirm", "Listed in the council's roster")
    assert response.status_code == 303
    assert "No request waits" in client.get("/admin/category-requests").get_data(as_text=True)

    with app.app_context():
        minji = _user("minji@example.org")
        assert minji.member_category == MemberCategory.EXPERT
        request = db.session.get(CategoryRequest, request_id)
        assert request.state == CategoryRequestState.CONFIRMED
        assert request.decided_by_id == admin_id
        # Audited, and the person is told in their language (Korean at registration).
        (entry,) = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "category_request.confirm")
        )
        assert entry.actor_id == admin_id and entry.details["category"] == "expert"
        mail = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to_address == "minji@example.org")
        ).all()
        assert any("확인" in m.subject and "전문가" in m.body_text for m in mail)
        # The vote cast before stays a citizen's; a new vote counts as expert.
        other = make_ballot()
        voting.cast_vote(other.id, minji, "no", "vote-after-1")
        db.session.commit()
        old = db.session.scalar(select(Vote).where(Vote.ballot_id == ballot_id))
        new = db.session.scalar(select(Vote).where(Vote.ballot_id == other.id))
        assert old.voter_category == MemberCategory.CITIZEN
        assert new.voter_category == MemberCategory.EXPERT

    auth.logout()
    auth.login("minji@example.org")
    assert "확인됨" in client.get("/profile").get_data(as_text=True)


def test_decline_needs_a_reason_which_the_person_reads(app, client, auth):
    with app.app_context():
        admin = make_user(Role.ADMIN, email="admin@example.org")
        person = make_user(email="p@example.org", language="en")
        request = categories.choose_category(person, MemberCategory.CIVIL_SERVANT)
        db.session.commit()
        request_id, admin_id = request.id, admin.id
    auth.login("admin@example.org")
    page = _decide(client, request_id, "decline", "")
    assert page.status_code == 303
    assert "Please give a reason" in client.get("/admin/category-requests").get_data(as_text=True)
    _decide(client, request_id, "decline", "Not on the list of city staff")
    with app.app_context():
        person_id = _user("p@example.org").id
    person_page = client.get(f"/admin/users/{person_id}").get_data(as_text=True)
    assert "Request to take part as Civil servant: <strong>Not confirmed</strong>" in person_page
    with app.app_context():
        request = db.session.get(CategoryRequest, request_id)
        assert request.state == CategoryRequestState.DECLINED
        assert _user("p@example.org").member_category == MemberCategory.CITIZEN
        assert (
            db.session.scalar(
                select(AuditEntry).where(AuditEntry.action == "category_request.decline")
            ).actor_id
            == admin_id
        )
    auth.logout()
    auth.login("p@example.org")
    profile = client.get("/profile").get_data(as_text=True)
    assert "Not confirmed" in profile and "Not on the list of city staff" in profile


def test_only_admins_and_coordinators_of_the_persons_division_may_decide(app, client, auth):
    with app.app_context():
        elderly, children = make_division("elderly"), make_division("children")
        person = make_user(email="p@example.org", divisions=[elderly])
        make_user(Role.COORDINATOR, email="elsewhere@example.org", divisions=[children])
        make_user(Role.COORDINATOR, email="coord@example.org", divisions=[elderly])
        make_user(Role.FACILITATOR, email="fac@example.org", divisions=[elderly])
        request = categories.choose_category(person, MemberCategory.WELFARE_ORGANISATION)
        db.session.commit()
        request_id = request.id

    auth.login("fac@example.org")
    assert client.get("/admin/category-requests").status_code == 403
    assert client.post(f"/admin/category-requests/{request_id}").status_code in (400, 403)
    auth.logout()

    auth.login("elsewhere@example.org")
    assert "p@example.org" not in client.get("/admin/category-requests").get_data(as_text=True)
    assert _decide(client, request_id, "confirm").status_code == 403
    auth.logout()

    auth.login("coord@example.org")
    assert 'href="/admin/category-requests"' in client.get("/").get_data(as_text=True)  # menu
    assert "p@example.org" in client.get("/admin/category-requests").get_data(as_text=True)
    assert _decide(client, request_id, "confirm").status_code == 303
    with app.app_context():
        assert _user("p@example.org").member_category == MemberCategory.WELFARE_ORGANISATION
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("category_request.confirm"))
        ).all()
        assert [e.actor_id for e in entries] == [_user("coord@example.org").id]


def test_nobody_decides_their_own_request_and_a_decision_is_final(app_ctx):
    admin = make_user(Role.ADMIN)
    other_admin = make_user(Role.ADMIN)
    own = categories.choose_category(admin, MemberCategory.EXPERT)
    with pytest.raises(PermissionDenied):
        categories.confirm_request(admin, own)
    categories.confirm_request(other_admin, own)
    with pytest.raises(DomainError):
        categories.decline_request(other_admin, own, "changed my mind")
    assert admin.member_category == MemberCategory.EXPERT


def test_one_pending_request_per_person_in_the_database(app_ctx):
    person = make_user()
    categories.choose_category(person, MemberCategory.EXPERT)
    db.session.commit()
    # A second pending row for the same person, written past the service, is refused.
    db.session.add(CategoryRequest(user_id=person.id, requested_category=MemberCategory.EXPERT))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.flush()
    db.session.rollback()
    # Through the service, choosing again replaces the open request.
    categories.choose_category(person, MemberCategory.CIVIL_SERVANT)
    db.session.commit()
    states = {r.requested_category: r.state for r in db.session.scalars(select(CategoryRequest))}
    assert states == {
        MemberCategory.EXPERT: CategoryRequestState.WITHDRAWN,
        MemberCategory.CIVIL_SERVANT: CategoryRequestState.PENDING,
    }


def test_profile_can_drop_to_citizen_at_once_but_not_claim_more(app, client, auth):
    with app.app_context():
        make_user(email="x@example.org", category=MemberCategory.EXPERT)
    auth.login("x@example.org")
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    form = {"display_name": "X", "preferred_language": "en", "csrf_token": token}
    client.post("/profile", data={**form, "member_category": "citizen"})
    with app.app_context():
        assert _user("x@example.org").member_category == MemberCategory.CITIZEN
    client.post("/profile", data={**form, "member_category": "civil_servant"})
    with app.app_context():
        assert _user("x@example.org").member_category == MemberCategory.CITIZEN
        assert categories.pending_request_count() == 1


def test_a_council_term_ends_with_its_last_day(app, auth):
    with app.app_context():
        member = make_user(email="m@example.org", category=MemberCategory.CIVIL_SERVANT)
        member.council_term_end = date.today() - timedelta(days=1)
        staying = make_user(category=MemberCategory.EXPERT)
        staying.council_term_end = date.today()
        db.session.commit()
        assert categories.end_council_terms() == 1
        db.session.commit()
        assert member.member_category == MemberCategory.CITIZEN
        assert staying.member_category == MemberCategory.EXPERT
        audit = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "user.council_term_end")
        )
        assert audit.object_id == str(member.id) and audit.actor_id is None
        # The same rule at login, for whoever logs in before the hourly job runs.
        staying.council_term_end = date.today() - timedelta(days=1)
        db.session.commit()
        email = staying.email
    auth.login(email)
    with app.app_context():
        assert _user(email).member_category == MemberCategory.CITIZEN


@pytest.mark.parametrize(("zone", "day"), [("Asia/Seoul", "2026-12-07"), ("UTC", "2026-12-06")])
def test_category_requests_are_dated_in_the_viewers_time_zone(app, client, auth, zone, day):
    with app.app_context():
        admin = make_user(Role.ADMIN, email="admin@example.org", language="ko")
        admin.timezone = zone
        person = make_user(email="p@example.org")
        categories.choose_category(person, MemberCategory.EXPERT)
        # Asked at 00:58 on 7 December in Seoul: still 6 December in UTC.
        db.session.scalar(select(CategoryRequest)).created_at = datetime(2026, 12, 6, 15, 58)
        db.session.commit()
    auth.login("admin@example.org")
    page = client.get("/admin/category-requests").get_data(as_text=True)
    other = {"2026-12-07", "2026-12-06"} - {day}
    assert f">{day}</time>" in page
    assert f">{other.pop()}</time>" not in page
