"""flask commands: seed-demo, create-admin, and the `bench` group that features extend."""

from collections.abc import Callable

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from deliberation.extensions import db


def register_cli(app: Flask, feature_registrars: list[Callable]) -> None:
    bench = AppGroup("bench", help="Benchmarks: each prints figures, last line a JSON object.")
    app.cli.add_command(bench)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)
    for register in feature_registrars:
        register(app.cli, bench)


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has users already.")
def seed_demo_command(if_empty: bool) -> None:
    """Fill the database with demo divisions, people, items, ballots and a roundtable."""
    from deliberation.accounts.services import count_users
    from deliberation.demo import seed_demo

    if if_empty and count_users() > 0:
        click.echo("The database already has data; demo not seeded.")
        return
    seed_demo()
    db.session.commit()
    click.echo("Demo data seeded. Logins are listed in README.md.")


@click.command("create-admin")
@with_appcontext
@click.option("--email", prompt=True)
@click.option("--name", "display_name", prompt="Display name")
@click.password_option()
def create_admin_command(email: str, display_name: str, password: str) -> None:
    """Create an administrator account."""
    from deliberation.accounts.models import Role
    from deliberation.accounts.services import register_user
    from deliberation.core.errors import DomainError

    try:
        user = register_user(
            display_name=display_name, email=email, password=password, roles=(Role.ADMIN,)
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    click.echo(f"Administrator {user.email} created (id {user.id}).")
