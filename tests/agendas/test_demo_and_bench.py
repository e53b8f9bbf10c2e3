"""The demo seed and the benchmark command run, and produce what other features rely on."""

import json

from sqlalchemy import func, select

from deliberation.agendas.models import AgendaItem, Comment, ItemState, Reaction
from deliberation.agendas.queries import discussion_statistics, reaction_matrix
from deliberation.demo import DIVISIONS, seed_demo
from deliberation.extensions import db


def test_demo_seed_gives_every_division_items_threads_and_reactions(app):
    with app.app_context():
        context = seed_demo()
        db.session.commit()
        items = context.extras["items"]
        assert {item.division.slug for item in items} == {slug for slug, _, _ in DIVISIONS}
        assert sum(item.state == ItemState.DISCUSSION for item in items) >= 10
        assert db.session.scalar(select(func.count(Comment.id))) >= 40
        assert db.session.scalar(select(func.count(Reaction.id))) >= 200
        korean = db.session.scalar(select(func.count(Comment.id)).where(Comment.body.like("%다%")))
        english = db.session.scalar(
            select(func.count(Comment.id)).where(Comment.body.like("% the %"))
        )
        assert korean >= 10 and english >= 5
        first = db.session.get(AgendaItem, items[0].id)
        stats = discussion_statistics(first.id)
        assert stats["comments"] == 6 and stats["participants"] > 6
        assert reaction_matrix(first.id)["votes"]


def test_bench_thread_command_prints_json_last(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bench", "thread", "--comments", "150", "--repeat", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    figures = json.loads(lines[-1])
    assert set(figures["first_page_ms"]) == {"100", "150"}
    assert figures["queries"]["100"] == figures["queries"]["150"]
    assert all(ms > 0 for ms in figures["first_page_ms"].values())
