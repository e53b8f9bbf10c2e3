"""Thread pages: constant query count at any size, unlimited depth, load more, continue thread."""

import random
import re

import pytest
from sqlalchemy import event

from deliberation.agendas.commands import _ThreadBuilder
from deliberation.agendas.models import FRAME_DEPTH, AgendaItem, Comment
from deliberation.agendas.queries import REPLIES_PER_BRANCH, ROOTS_PER_PAGE
from deliberation.extensions import db
from tests.agendas.conftest import comment_ids_on, login, user
from tests.agendas.helpers import post

pytestmark = pytest.mark.usefixtures("relaxed_limits")


def _queries_for(app, client, url: str) -> tuple[int, str]:
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def _grow(app, item_id: int, people, size: int, builder=None):
    with app.app_context():
        builder = builder or _ThreadBuilder(item_id, [people.alice, people.bob], random.Random(7))
        builder.grow_to(size)
    return builder


def test_first_page_query_count_does_not_grow_with_the_thread(app, client, people, item):
    login(client, "bob@example.org")
    builder = _grow(app, item, people, 40)
    small, small_html = _queries_for(app, client, f"/agendas/{item}")
    _grow(app, item, people, 1500, builder)
    large, large_html = _queries_for(app, client, f"/agendas/{item}")
    assert small == large
    assert len(comment_ids_on(large_html)) >= ROOTS_PER_PAGE  # a full first page, not everything
    assert len(comment_ids_on(large_html)) <= ROOTS_PER_PAGE * (REPLIES_PER_BRANCH + 1)
    assert "Load more comments" in large_html


def test_anonymous_first_page_is_also_constant(app, client, people, item):
    builder = _grow(app, item, people, 30)
    small, _ = _queries_for(app, client, f"/agendas/{item}")
    _grow(app, item, people, 900, builder)
    large, _ = _queries_for(app, client, f"/agendas/{item}")
    assert small == large


def _walk_everything(client, item_id: int) -> list[int]:
    """Follow every "load more", "more replies" and "continue this thread" link, without JS."""
    seen: list[int] = []
    queue = [f"/agendas/{item_id}"]
    visited = set()
    while queue:
        url = queue.pop(0).replace("&amp;", "&")
        if url in visited:
            continue
        visited.add(url)
        html = client.get(url).get_data(as_text=True)
        seen.extend(comment_ids_on(html))
        for link in re.findall(r'<li class="more[^"]*"[^>]*>\s*<a href="([^"]+)"', html):
            queue.append(link)
        for link in re.findall(r'<p class="continue">\s*<a href="([^"#]+)#', html):
            queue.append(link)
    return seen


def test_every_comment_is_reachable_without_javascript(app, client, people, item):
    _grow(app, item, people, 700)
    seen = _walk_everything(client, item)
    with app.app_context():
        all_ids = set(db.session.scalars(db.select(Comment.id).where(Comment.item_id == item)))
    assert set(seen) == all_ids


def test_unlimited_depth_continues_on_its_own_page(app, client, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        parent = None
        chain = []
        for n in range(30):
            parent = post(
                user(people.alice if n % 2 else people.bob), the_item, f"level {n}", parent=parent
            )
            chain.append(parent.id)
        deepest = db.session.get(Comment, chain[-1])
        assert deepest.depth == 29
        assert len(deepest.path.split("/")) == 29 % FRAME_DEPTH + 1  # the path stays bounded
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    shown = comment_ids_on(page)
    assert shown == chain[:FRAME_DEPTH]  # eight levels, then "continue this thread"
    assert "Continue this thread" in page
    seen = _walk_everything(client, item)
    assert set(seen) == set(chain)
    continued = client.get(f"/agendas/{item}/comments/{chain[FRAME_DEPTH - 1]}")
    html = continued.get_data(as_text=True)
    assert comment_ids_on(html)[:2] == [chain[FRAME_DEPTH - 1], chain[FRAME_DEPTH]]


def test_order_is_stable_newest_topics_first_replies_oldest_first(app, client, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        alice, bob = user(people.alice), user(people.bob)
        first = post(alice, the_item, "first topic")
        second = post(bob, the_item, "second topic")
        r1 = post(bob, the_item, "r1", parent=first)
        r2 = post(alice, the_item, "r2", parent=first)
        r1a = post(alice, the_item, "r1a", parent=r1)
        ids = [second.id, first.id, r1.id, r1a.id, r2.id]
    for _ in range(2):
        assert comment_ids_on(client.get(f"/agendas/{item}").get_data(as_text=True)) == ids


def test_more_replies_fragment_and_page(app, client, people, item):
    with app.app_context():
        the_item = db.session.get(AgendaItem, item)
        root = post(user(people.alice), the_item, "root")
        root_id = root.id
        replies = [
            post(user(people.bob), the_item, f"reply {n}", parent=root).id
            for n in range(REPLIES_PER_BRANCH + 5)
        ]
    page = client.get(f"/agendas/{item}").get_data(as_text=True)
    assert comment_ids_on(page) == [root_id, *replies[:REPLIES_PER_BRANCH]]
    link = re.search(r'data-fragment-url="([^"]+)"', page).group(1).replace("&amp;", "&")
    fragment = client.get(link).get_data(as_text=True)
    assert "<html" not in fragment
    assert comment_ids_on(fragment) == replies[REPLIES_PER_BRANCH:]


def test_bad_after_parameter_is_ignored(app, client, people, item):
    assert client.get(f"/agendas/{item}/comments?after=' OR 1=1--").status_code == 200
    assert client.get(f"/agendas/{item}/comments/999").status_code == 404
