"""flask commands of the summaries feature."""

import json
import time

import click


def register_commands(cli: click.Group, bench: click.Group) -> None:
    """Add this feature's commands: the consensus benchmark."""
    bench.add_command(bench_consensus_command)


@click.command("consensus")
@click.option("--participants", default=2000, show_default=True, type=click.IntRange(1, 20000))
@click.option("--comments", default=1000, show_default=True, type=click.IntRange(1, 5000))
@click.option("--density", default=0.1, show_default=True, type=click.FloatRange(0.001, 1.0))
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20))
def bench_consensus_command(participants: int, comments: int, density: float, repeat: int) -> None:
    """Time the whole consensus summary on a synthetic matrix; last line JSON (slowest run)."""
    from deliberation.consensus import summarize
    from deliberation.consensus.synthetic import synthetic_matrix

    matrix = synthetic_matrix(participants, comments, density=density)
    filled = float(matrix.voted.mean())
    timings = []
    summary = None
    for run in range(1, repeat + 1):
        started = time.perf_counter()
        summary = summarize(matrix)
        timings.append(time.perf_counter() - started)
        click.echo(f"run {run}: {timings[-1]:.3f} s")
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
            }
        )
    )
