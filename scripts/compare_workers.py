"""Does a second worker help? Production rehearsals with one worker and with two, alternated.

`python -m scripts.compare_workers --participants 3000 --pairs 3` (`make rehearse-workers`)
runs `scripts.localstack rehearse` with one worker, then two, `--pairs` times, each on a fresh
private stack, so the two shapes of a pair meet the machine in the same minute. It prints
each run's figures as it goes and, as its last line, a JSON object: every pair's ack p50 and
p99, converge and worker CPU, in how many pairs two workers did no worse than one on each
figure (issue 15: "at 3,000, two workers do no worse than one"), and whether they did worse
more often than chance allows.

Two shapes that do the same work still differ from run to run: a pair is a coin toss on each
figure, so "no worse in every pair" cannot hold for them. `two_worse_p` is a one-sided sign
test over the pairs (ties dropped): the chance that two workers would lose at least as many
pairs as they did if the two shapes were alike. Below 0.05 two workers are measurably worse;
it takes at least five pairs for the test to be able to say so.
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
from typing import Any

from scripts.processes import PROJECT_ROOT

#: The figures compared; lower is better for each.
COMPARED = ("ack_p50_ms", "ack_p99_ms", "converge_ms")


def rehearse(participants: int, workers: int, window: float, timeout: float) -> dict[str, Any]:
    """One production rehearsal; its JSON figures (the last line it prints)."""
    command = [
        sys.executable, "-m", "scripts.localstack", "rehearse",
        "--participants", str(participants), "--workers", str(workers),
        "--window", str(window), "--timeout", str(timeout),
    ]  # fmt: skip
    done = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout)[-2000:]
        raise SystemExit(f"the rehearsal with {workers} worker(s) failed:\n{tail}")
    return json.loads(lines[-1])


def summary(runs: dict[str, Any]) -> dict[str, Any]:
    """A pair's figures: each shape's compared figures, errors and workers' CPU."""
    shown: dict[str, Any] = {}
    for shape, figures in runs.items():
        cpu = figures.get("poll_cpu_s", {})
        shown[shape] = {key: figures.get(key) for key in COMPARED} | {
            "errors": figures.get("errors"),
            "workers_cpu_s": round(sum(v for k, v in cpu.items() if k.startswith("worker")), 2),
            "postgres_cpu_s": cpu.get("postgres"),
        }
    return shown


def sign_test_p(worse: int, better: int) -> float:
    """One-sided sign test: the chance of at least `worse` losses in `worse + better` fair
    coin tosses."""
    tosses = worse + better
    return sum(math.comb(tosses, k) for k in range(worse, tosses + 1)) / 2**tosses


def compare(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    """The pairs (`summary`), their errors, in how many two workers did no worse than one on
    each figure, the sign test of their losses, and each shape's medians."""
    one, two = ([pair[shape] for pair in pairs] for shape in ("1_worker", "2_worker"))
    matched = list(zip(one, two, strict=True))
    return {
        "pairs": pairs,
        "errors": sum(run["errors"] or 0 for run in one + two),
        "two_no_worse": {key: sum(b[key] <= a[key] for a, b in matched) for key in COMPARED},
        "two_worse_p": {
            key: round(
                sign_test_p(
                    sum(b[key] > a[key] for a, b in matched),
                    sum(b[key] < a[key] for a, b in matched),
                ),
                3,
            )
            for key in COMPARED
        },
        "median": {
            shape: {key: round(statistics.median(run[key] for run in runs), 1) for key in COMPARED}
            for shape, runs in (("1_worker", one), ("2_worker", two))
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=3000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--window", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    pairs = []
    for number in range(1, args.pairs + 1):
        runs = {
            f"{workers}_worker": rehearse(args.participants, workers, args.window, args.timeout)
            for workers in (1, 2)
        }
        pair = summary(runs)
        pairs.append(pair)
        print(f"pair {number}: {json.dumps(pair)}", flush=True)
    print(json.dumps({"participants": args.participants, **compare(pairs)}))


if __name__ == "__main__":
    main()
