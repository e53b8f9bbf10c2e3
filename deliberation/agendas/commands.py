"""flask commands of the agendas feature: `flask bench thread`."""

import json
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from sqlalchemy import event, insert

#: Thread sizes the benchmark measures (those up to --comments, plus --comments itself).
BENCH_SIZES = (100, 1_000, 10_000)
BENCH_PEOPLE = 60

_WORDS = (
    "care centre bus ramp visit nurse family fee hours waiting list volunteer budget district "
    "돌봄 복지관 경사로 방문 간호 가족 이용료 운영시간 대기자 자원봉사 예산 자치구"
).split()


def register_commands(cli: click.Group, bench: click.Group) -> None:
    """Add `flask bench thread`."""
    bench.add_command(bench_thread)


@click.command("thread")
@click.option("--comments", "total", default=10_000, show_default=True, type=click.IntRange(1))
@click.option("--repeat", default=15, show_default=True, type=click.IntRange(1, 200))
@click.option("--seed", default=42, show_default=True)
def bench_thread(total: int, repeat: int, seed: int) -> None:
    """Time the first page of a thread of 100, 1,000 and 10,000 comments (temporary database)."""
    sizes = sorted({size for size in BENCH_SIZES if size <= total} | {total})
    with tempfile.TemporaryDirectory(prefix="madang-bench-") as tmp:
        results = _run_thread_bench(Path(tmp) / "bench.sqlite3", sizes, repeat, seed)
    for size in sizes:
        click.echo(
            f"{size:>7} comments: first page {results['first_page_ms'][str(size)]:7.1f} ms "
            f"(median of {repeat}), {results['queries'][str(size)]} SQL queries, "
            f"{results['page_comments'][str(size)]} comments on the page"
        )
    click.echo(json.dumps(results))


def _run_thread_bench(db_path: Path, sizes: list[int], repeat: int, seed: int) -> dict[str, Any]:
    from deliberation import create_app
    from deliberation.config import Config
    from deliberation.extensions import db

    app = create_app(
        Config,
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "RUN_SCHEDULER": False,
            "SERVER_NAME": None,
        },
    )
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    results: dict[str, dict[str, Any]] = {"first_page_ms": {}, "queries": {}, "page_comments": {}}
    with app.app_context():
        db.create_all()
        viewer, people, item_id = _bench_people_and_item()
    builder = _ThreadBuilder(item_id, people, rng)
    client = app.test_client()
    with client.session_transaction() as session:  # logged in as a participant
        session["_user_id"] = viewer
        session["_fresh"] = True
    for size in sizes:
        with app.app_context():
            builder.grow_to(size)
        # Requests run outside any app context, each with its own session, as in production.
        timings, queries, page_comments = _time_first_page(app, client, item_id, repeat)
        results["first_page_ms"][str(size)] = round(statistics.median(timings), 1)
        results["queries"][str(size)] = queries
        results["page_comments"][str(size)] = page_comments
    with app.app_context():
        db.engine.dispose()
    return results


def _bench_people_and_item() -> tuple[str, list[int], int]:
    from deliberation.accounts.models import Division, User
    from deliberation.agendas.models import AgendaItem, ItemState
    from deliberation.extensions import db

    division = Division(slug="elderly", name_en="Elderly", name_ko="노인")
    people = [
        User(display_name=f"Bench {n:02d}", email=f"bench{n:02d}@example.org", password_hash="-")  # noqa: S106
        for n in range(BENCH_PEOPLE)
    ]
    db.session.add_all([division, *people])
    db.session.flush()
    item = AgendaItem(
        division_id=division.id,
        author_id=people[0].id,
        title="Benchmark thread",
        body="A long discussion.",
        state=ItemState.DISCUSSION,
    )
    db.session.add(item)
    db.session.flush()
    result = people[0].get_id(), [p.id for p in people], item.id
    db.session.commit()
    return result


class _ThreadBuilder:
    """Adds comments with the services' placement rule, in bulk: mixed widths and depths."""

    def __init__(self, item_id: int, people: list[int], rng: random.Random) -> None:
        self.item_id = item_id
        self.people = people
        self.rng = rng
        self.nodes: list[dict[str, Any]] = []
        self.next_id = 1

    def _parent(self) -> dict[str, Any] | None:
        roll = self.rng.random()
        if not self.nodes or roll < 0.12:
            return None
        if roll < 0.22:  # a long back-and-forth: answer the newest comment
            return self.nodes[-1]
        if roll < 0.6:  # a reply to something recent
            return self.nodes[self.rng.randrange(max(0, len(self.nodes) - 50), len(self.nodes))]
        return self.nodes[self.rng.randrange(len(self.nodes))]

    def grow_to(self, size: int) -> None:
        from deliberation.agendas.models import Comment, Reaction, ReactionValue
        from deliberation.agendas.services import place_in_thread
        from deliberation.core.sanitize import render_markdown
        from deliberation.db import utcnow
        from deliberation.extensions import db

        start = utcnow() - timedelta(days=3)
        comments, reactions, reply_counts = [], [], {}
        values = list(ReactionValue)
        while len(self.nodes) < size:
            parent = self._parent()
            comment_id = self.next_id
            self.next_id += 1
            shim = None
            if parent:
                shim = Comment(
                    id=parent["id"], depth=parent["depth"], path=parent["path"],
                    anchor_id=parent["anchor_id"], branch_id=parent["branch_id"],
                )  # fmt: skip
            place = place_in_thread(comment_id, shim)
            node = {"id": comment_id, **place}
            self.nodes.append(node)
            if parent:
                reply_counts[parent["id"]] = reply_counts.get(parent["id"], 0) + 1
            body = " ".join(self.rng.choice(_WORDS) for _ in range(self.rng.randint(8, 60)))
            comments.append(
                {**node, "item_id": self.item_id, "parent_id": parent["id"] if parent else None,
                 "author_id": self.rng.choice(self.people), "body": body,
                 "body_html": str(render_markdown(body)),
                 "created_at": start + timedelta(seconds=comment_id)}
            )  # fmt: skip
            for person in self.rng.sample(
                self.people, self.rng.randint(0, min(6, len(self.people)))
            ):
                reactions.append(
                    {"comment_id": comment_id, "user_id": person, "item_id": self.item_id,
                     "value": self.rng.choice(values)}
                )  # fmt: skip
        for offset in range(0, len(comments), 2000):
            db.session.execute(insert(Comment), comments[offset : offset + 2000])
        for offset in range(0, len(reactions), 5000):
            db.session.execute(insert(Reaction), reactions[offset : offset + 5000])
        for comment_id, added in reply_counts.items():
            db.session.execute(
                Comment.__table__.update()
                .where(Comment.__table__.c.id == comment_id)
                .values(reply_count=Comment.__table__.c.reply_count + added)
            )
        db.session.commit()


def _time_first_page(app, client, item_id: int, repeat: int) -> tuple[list[float], int, int]:
    from deliberation.extensions import db

    counter = {"n": 0}

    def count(*_args: Any) -> None:
        counter["n"] += 1

    url = f"/agendas/{item_id}"
    for _ in range(3):  # warm caches and templates
        _expect_ok(client.get(url))
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        _expect_ok(response)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        html = client.get(url).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The page's comments, less the per-viewer template the script clones.
    page_comments = html.count('<li class="comment ') - 1
    return timings, counter["n"], page_comments


def _expect_ok(response) -> None:
    if response.status_code != 200:
        raise click.ClickException(f"the item page answered {response.status_code}")
