"""flask commands of the summaries feature: import-polis, consensus-report, bench consensus."""

import json
import sys
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from deliberation.extensions import db


def register_commands(cli: click.Group, bench: click.Group) -> None:
    """Add this feature's commands and its benchmark."""
    cli.add_command(import_polis_command)
    cli.add_command(consensus_report_command)
    bench.add_command(bench_consensus_command)


@click.command("import-polis")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--division", "division_slug", default=None, help="Division slug to import into.")
@with_appcontext
def import_polis_command(directory: Path, division_slug: str | None) -> None:
    """Import a Pol.is open-data export folder as an agenda item; prints the item's id."""
    from deliberation.summaries.polis_files import PolisFormatError, read_polis_export
    from deliberation.summaries.services import import_polis_export, refresh_summary

    try:
        export = read_polis_export(directory)
    except PolisFormatError as error:
        raise click.ClickException(f"Nothing imported. {error}") from error
    steps = len(export.participants) + len(export.comments) + len(export.votes)
    try:
        with click.progressbar(
            length=steps, label=f"Importing {directory.name}", file=sys.stderr
        ) as bar:
            item, created = import_polis_export(
                export, division_slug=division_slug, progress=bar.update
            )
        if created:  # the summary is ready when the first official opens the page
            refresh_summary(item.id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if created:
        click.echo(
            f"Imported {len(export.comments)} comments, {len(export.participants)} participants "
            f"and {len(export.votes)} votes as item {item.id}.",
            err=True,
        )
    else:
        click.echo(
            f"This export was imported before, as item {item.id}; nothing changed.", err=True
        )
    click.echo(item.id)


@click.command("consensus-report")
@click.argument("item_id", type=int)
@click.option("--format", "output_format", type=click.Choice(["json", "csv"]), default="json")
@click.option(
    "--table",
    type=click.Choice(["comments", "roundtables"]),
    default="comments",
    show_default=True,
    help="With --format csv: the comment table, or the roundtable polls and themes.",
)
@with_appcontext
def consensus_report_command(item_id: int, output_format: str, table: str) -> None:
    """Print an item's consensus summary (pseudonymous participants) as JSON or CSV."""
    from deliberation.agendas.models import AgendaItem
    from deliberation.summaries.exports import comments_csv, roundtables_csv
    from deliberation.summaries.queries import compute_summary_document

    if db.session.get(AgendaItem, item_id) is None:
        raise click.ClickException(f"There is no agenda item {item_id}.")
    document = compute_summary_document(item_id)
    if output_format == "json":
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
    elif table == "roundtables":
        click.echo(roundtables_csv(document), nl=False)
    else:
        click.echo(comments_csv(document), nl=False)


@click.command("consensus")
@click.option("--participants", default=2000, show_default=True, type=click.IntRange(1, 20000))
@click.option("--comments", default=1000, show_default=True, type=click.IntRange(1, 5000))
@click.option("--density", default=0.1, show_default=True, type=click.FloatRange(0.001, 1.0))
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
def bench_consensus_command(participants: int, comments: int, density: float, repeat: int) -> None:
    """Time the whole consensus summary on a synthetic matrix; last line JSON (slowest run)."""
    # scikit-learn is imported when a clustering first needs it (servers start sooner); a
    # running server pays that once, so it is not part of what this times.
    import sklearn.cluster  # noqa: F401
    import sklearn.metrics  # noqa: F401

    from deliberation.consensus import summarize
    from deliberation.consensus.synthetic import synthetic_matrix

    matrix = synthetic_matrix(participants, comments, density=density)
    filled = float(matrix.voted.mean())
    timings, cpu_timings = [], []
    summary = None
    for run in range(1, repeat + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = summarize(matrix)
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
        click.echo(f"run {run}: {timings[-1]:.3f} s wall, {cpu_timings[-1]:.3f} s CPU")
    assert summary is not None  # noqa: S101 - repeat >= 1
    click.echo(
        f"{participants} participants x {comments} comments, {filled:.1%} filled, "
        f"{summary.participants_placed} placed, {len(summary.groups)} groups"
    )
    click.echo(
        json.dumps(
            {
                "participants": participants,
                "comments": comments,
                "filled": round(filled, 4),
                "placed": summary.participants_placed,
                "groups": len(summary.groups),
                "seconds": round(max(timings), 3),
                "seconds_per_run": [round(t, 3) for t in timings],
                "cpu_seconds": round(max(cpu_timings), 3),
            }
        )
    )
