"""Who takes part in a rehearsal: the accounts (a lead, a facilitator per ten people, the
participants, across six divisions and every member category), a session in the lobby with
everyone registered, and a signed session cookie per person, written in bulk.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import insert, select

from deliberation.accounts.models import Division, MemberCategory, Role, User, UserRole
from deliberation.accounts.models import division_memberships as memberships
from deliberation.accounts.passwords import hash_password
from deliberation.extensions import db
from deliberation.roundtables import sessions
from deliberation.roundtables.models import Participant, ParticipantRole

CATEGORIES = [
    MemberCategory.CITIZEN,
    MemberCategory.CITIZEN,
    MemberCategory.CITIZEN,
    MemberCategory.WELFARE_ORGANISATION,
    MemberCategory.EXPERT,
    MemberCategory.CIVIL_SERVANT,
]


@dataclass
class Cast:
    session_id: int
    lead_cookie: str
    participant_cookies: list[str]
    facilitator_cookies: list[str]


def create_cast(app: Flask, participants: int, run: str) -> Cast:
    """Create the people (one pre-computed password hash for all: nobody logs in with it),
    a session in the lobby with everyone registered, and a signed session cookie per person."""
    facilitators = max(1, -(-participants // 10))
    with app.app_context():
        password_hash = hash_password(secrets.token_urlsafe(16))
        divisions = []
        for i in range(6):
            division = Division(
                slug=f"rehearsal-{run}-{i}", name_en=f"Rehearsal {i}", name_ko=f"리허설 {i}"
            )
            db.session.add(division)
            divisions.append(division)
        db.session.flush()

        def add_users(prefix: str, count: int) -> list[tuple[int, str, MemberCategory, int]]:
            rows = []
            for i in range(count):
                rows.append(
                    {
                        "email": f"{prefix}-{run}-{i}@rehearsal.example.org",
                        "display_name": f"{prefix} {i + 1}",
                        "password_hash": password_hash,
                        "preferred_language": "en",
                        "member_category": CATEGORIES[i % len(CATEGORIES)],
                        "session_token": secrets.token_urlsafe(24),
                        "is_active_account": True,
                        "large_text": False,
                    }
                )
            db.session.execute(insert(User), rows)
            found = db.session.execute(
                select(User.id, User.session_token, User.member_category)
                .where(User.email.like(f"{prefix}-{run}-%"))
                .order_by(User.id)
            ).all()
            division_ids = [d.id for d in divisions]
            db.session.execute(
                insert(memberships),
                [
                    {"user_id": uid, "division_id": division_ids[i % len(division_ids)]}
                    for i, (uid, _t, _c) in enumerate(found)
                ],
            )
            return [
                (uid, token, category, division_ids[i % len(division_ids)])
                for i, (uid, token, category) in enumerate(found)
            ]

        lead_rows = add_users("lead", 1)
        facilitator_rows = add_users("facilitator", facilitators)
        people_rows = add_users("participant", participants)
        db.session.execute(
            insert(UserRole),
            [
                {"user_id": uid, "role": Role.FACILITATOR}
                for uid, *_ in lead_rows + facilitator_rows
            ],
        )
        db.session.flush()
        lead = db.session.get(User, lead_rows[0][0])
        session = sessions.create_session(
            lead,
            division=divisions[0],
            title=f"Rehearsal {run}",
            briefing="A synthetic session.",
            capacity=max(participants, 10),
        )
        session.open_lobby()
        db.session.flush()

        def register(rows, role: ParticipantRole) -> None:
            db.session.execute(
                insert(Participant),
                [
                    {
                        "session_id": session.id,
                        "user_id": uid,
                        "role": role,
                        "member_category": category,
                        "division_id": division_id,
                    }
                    for uid, _token, category, division_id in rows
                ],
            )

        register(people_rows, ParticipantRole.PARTICIPANT)
        register(facilitator_rows, ParticipantRole.TABLE_FACILITATOR)
        db.session.commit()
        session_id = session.id
        serializer = SecureCookieSessionInterface().get_signing_serializer(app)
        cookie_name = app.config["SESSION_COOKIE_NAME"]

        def cookie(uid: int, token: str) -> str:
            value = serializer.dumps({"_user_id": f"{uid}:{token}", "_fresh": True})
            return f"{cookie_name}={value}"

        return Cast(
            session_id=session_id,
            lead_cookie=cookie(lead_rows[0][0], lead_rows[0][1]),
            participant_cookies=[cookie(uid, token) for uid, token, *_ in people_rows],
            facilitator_cookies=[cookie(uid, token) for uid, token, *_ in facilitator_rows],
        )
