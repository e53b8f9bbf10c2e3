"""flask commands of the roundtables feature: the rehearsal an operator runs before an event.

The rehearsal itself lives in the top-level `loadtest` package, whose dependencies come with the
optional `loadtest` extra: it is imported inside the command, so the site and its other commands
run without them.
"""

import json
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

#: Top-level modules the `loadtest` extra brings; one missing means the extra is not installed.
LOADTEST_MODULES = frozenset({"loadtest", "websockets", "psutil"})
INSTALL_HINT = "install the loadtest extra: pip install -e '.[loadtest]'"


def register_commands(cli: click.Group, bench: click.Group) -> None:
    """Add `flask rehearse`."""
    cli.add_command(rehearse_command)


def load_rehearse() -> Callable[..., dict[str, Any]]:
    """The rehearsal, or a clear error when the loadtest extra is not installed."""
    try:
        from loadtest.rehearsal import rehearse
    except ModuleNotFoundError as missing:
        if (missing.name or "").partition(".")[0] not in LOADTEST_MODULES:
            raise  # something else is broken: show it as it is
        raise click.ClickException(f"the rehearsal needs {missing.name}: {INSTALL_HINT}") from None
    return rehearse


@click.command("rehearse")
@with_appcontext
@click.option("--participants", type=click.IntRange(10, 20_000), default=1000, show_default=True)
@click.option("--url", help="A running Madang on 127.0.0.1 (default: start a server here).")
@click.option(
    "--window",
    type=click.FloatRange(0.0, 60.0),
    default=1.0,
    show_default=True,
    help="Every participant votes once at a random moment within this many seconds.",
)
@click.option(
    "--reference",
    type=click.Path(exists=True, dir_okay=False),
    help="Also run this bare-websocket reference (ws_reference.py) and compare.",
)
@click.option(
    "--server-mode",
    type=click.Choice(["gevent", "threading"]),
    default="gevent",
    show_default=True,
    help="Async mode of the server it starts (to compare modes).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1.0, 600.0),
    default=60.0,
    show_default=True,
    help="Longest wait for any one step.",
)
@click.option(
    "--fault-command",
    help="A shell command run in the middle of the poll's window to inject a fault "
    "(scripts/localstack.py passes one for FAULT=worker-kill|redis-restart|postgres-restart).",
)
@click.option("--fault", help="The fault's name, for the figures.")
@click.option(
    "--watch",
    multiple=True,
    metavar="NAME=PID",
    help="Add this process's (and its children's) CPU during the poll to the figures; "
    "scripts/localstack.py passes each service of its stack.",
)
@click.option(
    "--console",
    is_flag=True,
    help="Keep the lead's console open in Chromium and measure it (needs Playwright).",
)
def rehearse_command(
    participants: int,
    url: str | None,
    window: float,
    reference: str | None,
    server_mode: str,
    timeout: float,
    fault_command: str | None,
    fault: str | None,
    console: bool,
    watch: tuple[str, ...],
) -> None:
    """Rehearse a live roundtable with N real Socket.IO clients; last line is JSON.

    Without --url it starts its own server (python -m deliberation.serve) on a free loopback
    port with a temporary database. With --url the command must run with the same
    configuration (DATABASE_URL, SECRET_KEY) as that server: it creates the rehearsal's people
    in that database and signs their session cookies with that key.
    """
    rehearse = load_rehearse()
    watched: dict[str, int] = {}
    for item in watch:
        name, _, pid = item.partition("=")
        if not name or not pid.isdigit():
            raise click.BadParameter(f"{item!r} is not NAME=PID", param_hint="--watch")
        watched[name] = int(pid)
    result = rehearse(
        current_app._get_current_object(),
        participants,
        url,
        window,
        reference,
        timeout,
        lambda line: click.echo(line, err=False),
        server_mode,
        console=console,
        fault=fault or (fault_command and "custom"),
        fault_command=fault_command,
        watched=watched,
    )
    click.echo(
        f"\n{result['connected']}/{participants} participants connected and joined in "
        f"{result['connect_s']} s (seated in {result['seat_s']} s)\n"
        f"phase change to every client: p99 {result['phase_p99_ms']} ms\n"
        f"table chat delivery: p99 {result['chat_p99_ms']} ms\n"
        f"vote acknowledgement: p50 {result['ack_p50_ms']} ms, p99 {result['ack_p99_ms']} ms\n"
        f"every client held the final tally {result['converge_ms']} ms after the last vote\n"
        f"errors: {result['errors']} {result['error_kinds'] or ''}\n"
        f"server peak memory: {result['server_rss_mb']} MB"
    )
    if fault_command:
        click.echo(
            f"fault {result['fault']}: {result['votes_acked']} votes acknowledged, "
            f"{result['votes_lost']} lost, {result['votes_doubled']} doubled, "
            f"{result['votes_unacked_then_settled']} resent after no answer; "
            f"{result['affected']} reconnected: p50 {result['reconnect_p50_s']} s, "
            f"p99 {result['reconnect_p99_s']} s; final tally {result['final_tally']} = "
            f"{result['votes_in_database']} rows: {result['tally_equals_database']}"
        )
    if console:
        click.echo(
            f"lead's console: a table's change shown within p99 "
            f"{result['console_update_p99_ms']} ms; main thread busy "
            f"{result['console_main_thread_ms_per_s']} ms/s during the poll"
        )
    if reference:
        click.echo(
            f"reference: converged in {result['reference_converge_ms']} ms; ratio {result['ratio']}"
        )
    click.echo(json.dumps(result))
