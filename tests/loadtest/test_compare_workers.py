"""`make rehearse-workers`: the verdict on a second worker, pair by pair."""

from scripts.compare_workers import COMPARED, compare, sign_test_p, summary


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


def test_the_sign_test_tells_a_real_loss_from_coin_tosses():
    assert sign_test_p(0, 0) == 1.0
    assert sign_test_p(4, 0) == 1 / 16  # four losses in four pairs: not yet below 0.05
    assert sign_test_p(8, 0) == 1 / 256
    assert sign_test_p(7, 1) == 9 / 256
    assert sign_test_p(2, 2) == 11 / 16


def test_two_workers_losing_every_pair_is_measurably_worse_and_half_of_them_is_not():
    losing = [
        summary({"1_worker": _figures(3, 6, 140), "2_worker": _figures(4, 9 + i, 150)})
        for i in range(6)
    ]
    # Six losses in six pairs: a one-in-64 chance if the shapes were alike.
    assert compare(losing)["two_worse_p"] == dict.fromkeys(COMPARED, round(1 / 64, 3))
    tossed = [
        summary({"1_worker": _figures(3, 6, 140), "2_worker": _figures(3 + d, 6 + d, 140 + d)})
        for d in (1, -1, 1, -1, 0, 1)
    ]
    verdict = compare(tossed)
    # Three losses, two wins, one tie (dropped): well within chance.
    assert verdict["two_worse_p"]["ack_p99_ms"] == 0.5
    assert verdict["two_no_worse"]["ack_p99_ms"] == 3
