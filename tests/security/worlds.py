"""Foreign objects of each feature for the hostile world (see support.build_world).

Each builder adds objects that belong to someone else, to another division, to a private or a
closed session, tagged with who may read and who may change them (per action where it differs).
A feature merged later adds its builder to WORLD_EXTENSIONS.
"""

from flask import Flask

from deliberation.accounts.models import Division, User
from deliberation.agendas import services as agendas
from deliberation.extensions import db
from tests.security.support import ALL, FACILITATORS, SIGNED_IN, World

SECRET_HIDDEN = "SECRETHIDDENBODY7f3a"
SECRET_DELETED = "SECRETDELETEDBODY9c1e"


def agendas_world(app: Flask, world: World) -> None:
    victim = db.session.get(User, world.user_ids["victim"])
    admin = db.session.get(User, world.user_ids["admin"])
    other = db.session.scalar(db.select(Division).where(Division.slug == "sec-other"))
    world.add("slug", other.slug, read=ALL, write=set(), label="another division")

    closed = agendas.propose_item(victim, division_id=other.id, title="Closed", body="closed")
    agendas.withdraw_item(victim, closed.id)
    draft = agendas.propose_item(victim, division_id=other.id, title="Draft", body="draft")
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
    world.add("item_id", closed.id, read=ALL, write=set(), label="a withdrawn item")
    world.add(
        "item_id",
        draft.id,
        read=ALL,
        write=SIGNED_IN,
        actions={"start_discussion": FACILITATORS, "withdraw": FACILITATORS},
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


WORLD_EXTENSIONS = [agendas_world]
