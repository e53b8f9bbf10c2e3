"""Foreign objects of each feature for the hostile world (see support.build_world).

Each builder adds objects that belong to someone else, to another division, to a private or a
closed session, tagged with who may read and who may change them (per action where it differs).
A feature merged later adds its builder to WORLD_EXTENSIONS.
"""

import uuid
from datetime import timedelta

from flask import Flask

from deliberation.accounts.categories import choose_category
from deliberation.accounts.models import Division, MemberCategory, Role, User
from deliberation.agendas import services as agendas
from deliberation.core.mail import send_mail
from deliberation.db import utcnow
from deliberation.extensions import db
from deliberation.proposals.models import Proposal
from deliberation.voting import services as voting
from tests.factories import make_user
from tests.security.support import ALL, FACILITATORS, SIGNED_IN, World

try:  # merged into main after this suite; until then its routes do not exist either
    from deliberation.roundtables import sessions, tables
    from deliberation.roundtables.models import ParticipantRole, Phase
except ImportError:  # test_matrix_covers_every_route... fails if its routes come without these
    sessions = None

SECRET_HIDDEN = "SECRETHIDDENBODY7f3a"
SECRET_DELETED = "SECRETDELETEDBODY9c1e"
SECRET_DRAFT = "SECRETDRAFTTITLE4b8d"


def agendas_world(app: Flask, world: World) -> None:
    victim = db.session.get(User, world.user_ids["victim"])
    admin = db.session.get(User, world.user_ids["admin"])
    other = db.session.scalar(db.select(Division).where(Division.slug == "sec-other"))
    world.add("slug", other.slug, read=ALL, write=set(), label="another division")

    closed = agendas.propose_item(victim, division_id=other.id, title="Closed", body="closed")
    agendas.withdraw_item(victim, closed.id)
    draft = agendas.propose_item(
        victim, division_id=other.id, title="Draft", body=f"draft {SECRET_DRAFT}"
    )
    open_item = agendas.propose_item(victim, division_id=other.id, title="Open", body="open")
    agendas.start_discussion(admin, open_item.id)
    db.session.flush()
    visible, _ = agendas.post_comment(victim, open_item.id, "A visible comment")
    hidden, _ = agendas.post_comment(victim, open_item.id, f"Hidden {SECRET_HIDDEN}")
    agendas.hide_comment(admin, hidden.id, "off topic")
    deleted, _ = agendas.post_comment(victim, open_item.id, f"Deleted {SECRET_DELETED}")
    agendas.delete_comment(victim, deleted.id)
    db.session.commit()

    world.secrets[SECRET_HIDDEN] = set(FACILITATORS)
    world.secrets[SECRET_DELETED] = set()
    # A draft's text is for its author, facilitators and admins (agendas.permissions).
    world.secrets[SECRET_DRAFT] = set(FACILITATORS)
    world.add("item_id", closed.id, read=ALL, write=set(), label="a withdrawn item")
    world.add(
        "item_id",
        draft.id,
        read=FACILITATORS,  # and its author: agendas.permissions.can_view_item
        write=FACILITATORS,
        actions={"start_discussion": FACILITATORS, "withdraw": FACILITATORS},
        # A facilitator persona opens it for discussion at /agendas/<id>/start-discussion,
        # which the matrix tries before /summaries/items/<id>: from then on it is public.
        # tests/agendas/test_items.py checks that its summary is refused while it is a draft.
        # Leaving a room one is not in answers ok for any id, and so tells nothing.
        reads=dict.fromkeys(
            [
                "show",
                "printable",
                "as_json",
                "as_csv",
                "roundtables_as_csv",
                "categories_as_csv",
                "leave",
            ],
            ALL,
        ),
        label="someone else's draft",
    )
    world.add(
        "item_id",
        open_item.id,
        read=ALL,
        write=SIGNED_IN,  # anyone signed in may comment
        actions={"start_discussion": FACILITATORS, "withdraw": FACILITATORS},
        label="someone else's item in discussion (with hidden and deleted comments)",
    )
    moderation = {"moderate": FACILITATORS, "hide_comment": FACILITATORS}
    moderation["restore_comment"] = FACILITATORS
    world.add(
        "comment_id",
        visible.id,
        read=ALL,
        write=set(),  # edit and delete: the author only
        actions={"react": SIGNED_IN, "flag": SIGNED_IN, "flag_comment": SIGNED_IN, **moderation},
        label="someone else's comment",
    )
    world.add(
        "comment_id",
        hidden.id,
        read=ALL,
        write=set(),
        actions={"flag": SIGNED_IN, "flag_comment": SIGNED_IN, **moderation},
        label="someone else's hidden comment",
    )
    world.add(
        "comment_id",
        deleted.id,
        read=ALL,
        write=set(),
        actions=moderation,
        label="someone else's deleted comment",
    )


def voting_world(app: Flask, world: World) -> None:
    """Ballots the personas may not vote on (another division's, a closed one), the victim's
    receipts (never next to the victim's identity), and the proposal the adopted item became."""
    victim = db.session.get(User, world.user_ids["victim"])
    admin = db.session.get(User, world.user_ids["admin"])
    other = db.session.scalar(db.select(Division).where(Division.slug == "sec-other"))
    now = utcnow()

    def ballot_on(title: str, **rules):
        item = agendas.propose_item(victim, division_id=other.id, title=title, body=title)
        agendas.start_discussion(admin, item.id)
        db.session.flush()
        return voting.open_ballot(
            admin,
            item,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(days=1),
            **rules,
        )

    restricted = ballot_on("Restricted ballot", division_ids=[other.id])
    open_receipt = voting.cast_vote(
        restricted.id, victim, restricted.option_keys[0], uuid.uuid4().hex
    ).receipt
    closed = ballot_on("Closed ballot")
    closed_receipt = voting.cast_vote(
        closed.id, victim, closed.option_keys[0], uuid.uuid4().hex
    ).receipt
    voting.close_ballot(closed, admin)
    db.session.commit()

    world.add("ballot_id", restricted.id, read=ALL, write=set(), label="another division's ballot")
    world.add("ballot_id", closed.id, read=ALL, write=set(), label="a closed ballot")
    # An open ballot's receipt is the voter's alone until the close publishes the list.
    world.secrets[open_receipt] = set()
    for identity in (victim.display_name, victim.email):
        world.unlinkable.append((identity, closed_receipt))
    proposal = db.session.scalar(db.select(Proposal).where(Proposal.item_id == closed.item_id))
    assert proposal is not None, "the adopted item did not reach the officials' queue"
    officials = {"official", "admin"}
    world.add(
        "proposal_id",
        proposal.id,
        read=ALL,
        write=set(),
        actions={
            "follow": SIGNED_IN,
            "start_review": officials,
            "respond": officials,
            "progress": officials,
        },
        label="a proposal in the officials' queue",
    )


SECRET_CHAT = "SECRETTABLECHAT4d2b"


def roundtables_world(app: Flask, world: World) -> None:
    """A running session in another division, led by someone else: the table facilitator
    persona leads one table, the victim sits at another and writes in its private chat."""
    victim = db.session.get(User, world.user_ids["victim"])
    other = db.session.scalar(db.select(Division).where(Division.slug == "sec-other"))
    lead = make_user(
        Role.FACILITATOR, email="sec-victim-lead@example.org", name="Lead Qzx", divisions=[other]
    )
    session = sessions.create_session(lead, division=other, title="Private", table_size=6)
    people = [victim] + [
        make_user(email=f"sec-seat{n}@example.org", divisions=[other], commit=False)
        for n in range(11)
    ]
    for person in people:
        sessions.register(session, person)
    facilitator = db.session.get(User, world.user_ids["table_facilitator"])
    sessions.register(session, facilitator, ParticipantRole.TABLE_FACILITATOR)
    sessions.open_lobby(lead, session)
    sessions.start_session(lead, session)
    sessions.set_phase(lead, session, Phase.DISCUSSION)
    db.session.flush()
    own = sessions.find_participant(session.id, facilitator.id)
    seats = [sessions.find_participant(session.id, p.id) for p in people]
    seat = next(s for s in seats if s.table_id is not None and s.table_id != own.table_id)
    tables.send_chat(session, seat, f"chat {SECRET_CHAT}", uuid.uuid4().hex)
    closed = sessions.create_session(lead, division=other, title="Closed", table_size=6)
    sessions.open_lobby(lead, closed)
    sessions.start_session(lead, closed)
    sessions.close_session(lead, closed)
    db.session.commit()

    world.secrets[SECRET_CHAT] = {"admin"}
    lead_only = {"admin"}
    joined = {"table_facilitator", "admin"}
    world.add(
        "session_id",
        session.id,
        read=ALL,
        write=set(),
        reads={"console": lead_only, "themes": lead_only, "snapshot": joined},
        actions={
            "register": SIGNED_IN,
            "join": SIGNED_IN,
            "chat_send": joined,
            "help_request": joined,
        },
        label="a running session in another division, led by someone else",
    )
    world.add(
        "session_id",
        closed.id,
        read=ALL,
        write=set(),
        reads={"console": lead_only, "themes": lead_only, "snapshot": joined},
        label="a closed session",
    )
    world.add(
        "table_id", seat.table_id, read={"admin"}, write=set(), label="another table of the session"
    )
    # Print sheets name a table by its number: another table's are the lead's (admin's) only.
    world.add(
        "number", seat.table.number, read={"admin"}, write=set(), label="another table's number"
    )
    world.add(
        "token",
        "forged-projector-token",
        read=ALL,
        write=set(),
        reads={"projector": set()},
        label="a forged projector token",
    )


def mail_world(app: Flask, world: World) -> None:
    """A message to the victim in the outbox: only admins read it or send it again."""
    message = send_mail("sec-victim-private@example.org", "Private", "For the victim only")
    db.session.commit()
    world.add("message_id", message.id, read={"admin"}, write={"admin"}, label="an outbox message")


def categories_world(app: Flask, world: World) -> None:
    """The victim asks to count as an expert: only admins (no coordinator here) decide it."""
    victim = db.session.get(User, world.user_ids["victim"])
    request = choose_category(victim, MemberCategory.EXPERT)
    db.session.commit()
    world.add("request_id", request.id, read={"admin"}, write={"admin"}, label="a category request")


WORLD_EXTENSIONS = [agendas_world, voting_world, mail_world, categories_world]
if sessions is not None:
    WORLD_EXTENSIONS.append(roundtables_world)

from tests.security.worlds_feedback import feedback_world  # noqa: E402 - after the base worlds

WORLD_EXTENSIONS.append(feedback_world)
