"""`make rehearse-workers`: the verdict on a second worker, pair by pair."""

from scripts.compare_workers import compare, summary


def _figures(ack_p50: float, ack_p99: float, converge: float, errors: int = 0) -> dict:
    return {
        "ack_p50_ms": ack_p50,
        "ack_p99_ms": ack_p99,
        "converge_ms": converge,
        "errors": errors,
        "poll_cpu_s": {"clients": 0.4, "postgres": 0.3, "worker-a": 0.5, "worker-b": 0.6},
    }


def test_each_pair_is_judged_on_its_own_and_errors_add_up():
    first = summary({"1_worker": _figures(3, 6, 140), "2_worker": _figures(4, 9, 130)})
    second = summary({"1_worker": _figures(3, 9, 120), "2_worker": _figures(3, 9, 150, errors=2)})
    verdict = compare([first, second])
    assert first["2_worker"]["workers_cpu_s"] == 1.1
    assert first["2_worker"]["postgres_cpu_s"] == 0.3
    # Pair 1: two workers worse on ack p99, better on converge; pair 2: a tie, then worse.
    assert verdict["two_no_worse"] == {"ack_p50_ms": 1, "ack_p99_ms": 1, "converge_ms": 1}
    assert verdict["errors"] == 2
    assert verdict["median"]["2_worker"] == {"ack_p50_ms": 3.5, "ack_p99_ms": 9, "converge_ms": 140}
