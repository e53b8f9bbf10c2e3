"""flask commands of the voting feature: close-due-ballots (cron) and `bench votes`."""

import json
import os
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import insert, select

from deliberation.config import config_for_environment
from deliberation.extensions import db


def register_commands(cli: click.Group, bench: click.Group) -> None:
    """Add close-due-ballots and the votes benchmark."""
    cli.add_command(close_due_ballots_command)
    bench.add_command(bench_votes_command)


@click.command("close-due-ballots")
@with_appcontext
def close_due_ballots_command() -> None:
    """Open and close ballots whose time has come (for cron; the server also does it)."""
    from deliberation.voting.services import close_due_ballots, open_due_ballots

    opened = open_due_ballots()
    db.session.commit()
    closed = close_due_ballots()
    db.session.commit()
    click.echo(f"Opened {len(opened)} ballot(s), closed {len(closed)} ballot(s).")
    for ballot in closed:
        outcome = "adopted" if (ballot.result or {}).get("adopted") else "not adopted"
        click.echo(f"  ballot {ballot.id}: {outcome}")


@click.command("votes")
@with_appcontext
@click.option("--voters", default=100_000, show_default=True, type=click.IntRange(10, 1_000_000))
@click.option("--divisions", default=10, show_default=True, type=click.IntRange(1, 50))
@click.option("--seed", default=7, show_default=True)
def bench_votes_command(voters: int, divisions: int, seed: int) -> None:
    """Cast VOTERS votes through cast_vote into a temporary SQLite database, then tally."""
    from deliberation import create_app
    from deliberation.accounts.models import (
        Division,
        MemberCategory,
        Role,
        User,
        UserRole,
        division_memberships,
    )
    from deliberation.agendas.models import AgendaItem, ItemState
    from deliberation.db import utcnow
    from deliberation.voting import queries, services

    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark choices, not secrets
    with tempfile.TemporaryDirectory(prefix="madang-bench-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        app = create_app(
            config_for_environment(),
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                "RUN_SCHEDULER": False,
                # Each voter votes once, but the in-memory limiter would keep 100,000 keys and
                # sweep them every 10 ms: that would measure the limiter, not the cast.
                "RATELIMIT_ENABLED": False,
            },
        )
        with app.app_context():
            db.create_all()
            session = db.session()
            session.expire_on_commit = False
            division_rows = [
                Division(slug=f"bench-{n}", name_en=f"Bench {n}", name_ko=f"벤치 {n}")
                for n in range(divisions)
            ]
            session.add_all(division_rows)
            session.flush()
            categories = list(MemberCategory)
            started = time.perf_counter()
            user_ids: list[int] = []
            for start in range(0, voters, 5000):
                rows = [
                    {
                        "email": f"bench{n}@example.org",
                        "display_name": f"Voter {n}",
                        "password_hash": "!",
                        "preferred_language": "ko",
                        "member_category": categories[n % len(categories)],
                        "is_active_account": True,
                        "session_token": f"bench-{n}",
                        "large_text": False,
                        "created_at": utcnow(),
                    }
                    for n in range(start, min(voters, start + 5000))
                ]
                ids = list(session.scalars(insert(User).returning(User.id), rows))
                session.execute(
                    insert(division_memberships),
                    [
                        {"user_id": uid, "division_id": division_rows[uid % divisions].id}
                        for uid in ids
                    ],
                )
                user_ids.extend(ids)
            facilitator = User(
                email="bench-facilitator@example.org",
                display_name="Facilitator",
                password_hash="!",  # noqa: S106 - an unusable hash: nobody logs in
            )
            facilitator.role_rows = [UserRole(role=Role.FACILITATOR)]
            item = AgendaItem(
                division=division_rows[0],
                title="Benchmark item",
                body="",
                state=ItemState.DISCUSSION,
            )
            session.add_all([facilitator, item])
            session.flush()
            ballot = services.open_ballot(
                facilitator,
                item,
                opens_at=utcnow() - timedelta(seconds=1),
                closes_at=utcnow() + timedelta(days=1),
            )
            session.commit()
            click.echo(f"Created {voters} voters in {time.perf_counter() - started:.1f} s.")

            choices = ["yes"] * 5 + ["no"] * 4 + ["abstain"]
            expected: dict[str, int] = {}
            started = time.perf_counter()
            batch = 2000
            for start in range(0, len(user_ids), batch):
                people = session.scalars(
                    select(User).where(User.id.in_(user_ids[start : start + batch]))
                ).all()
                for person in people:
                    choice = rng.choice(choices)
                    services.cast_vote(ballot.id, person, choice, f"bench-{person.id}-{seed}")
                    session.commit()
                    expected[choice] = expected.get(choice, 0) + 1
                session.expunge_all()
                done = start + len(people)
                if done % 20_000 < batch:
                    rate = done / (time.perf_counter() - started)
                    click.echo(f"  {done} votes cast ({rate:.0f}/s)")
            cast_s = time.perf_counter() - started
            cast_per_s = voters / cast_s

            ballot = session.get(type(ballot), ballot.id)
            timings, cpu_timings = [], []
            for _ in range(5):
                t0, c0 = time.perf_counter(), time.process_time()
                result = queries.tally(ballot)
                timings.append((time.perf_counter() - t0) * 1000)
                cpu_timings.append((time.process_time() - c0) * 1000)
            tally_ms = statistics.median(timings)
            tally_cpu_ms = statistics.median(cpu_timings)
            if result["counts"] != {k: expected.get(k, 0) for k in ballot.option_keys}:
                raise click.ClickException("the tally differs from the votes cast")
            t0 = time.perf_counter()
            services.close_ballot(ballot)
            session.commit()
            close_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            recount = queries.recount_from_receipts(ballot)
            recount_ms = (time.perf_counter() - t0) * 1000
            if recount != ballot.result["counts"]:
                raise click.ClickException("the recount differs from the tally")
            click.echo(f"Cast {voters} votes in {cast_s:.1f} s: {cast_per_s:.0f} votes/s.")
            click.echo(
                f"Tally (overall, by category, by division), median of 5: {tally_ms:.1f} ms "
                f"(runs: {', '.join(f'{t:.1f}' for t in timings)}); CPU time {tally_cpu_ms:.1f} ms."
            )
            click.echo(f"Load average while measuring: {os.getloadavg()[0]:.2f}.")
            click.echo(f"Close (tally + adoption + proposal): {close_ms:.1f} ms.")
            click.echo(f"Recount from {voters} published receipts: {recount_ms:.1f} ms.")
            db.session.remove()
            db.engine.dispose()
        click.echo(
            json.dumps(
                {
                    "voters": voters,
                    "cast_per_s": round(cast_per_s),
                    "tally_ms": round(tally_ms, 1),
                    "tally_cpu_ms": round(tally_cpu_ms, 1),
                    "close_ms": round(close_ms, 1),
                    "recount_ms": round(recount_ms, 1),
                }
            )
        )
