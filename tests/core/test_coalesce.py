"""The shared coalescer: bursts of changes become a bounded rate of flushes, none lost."""

import itertools
import threading
import time

from deliberation.core.coalesce import Coalescer


def _timed(interval_s: float, gap_s: float, lull_s: float, **options) -> tuple[Coalescer, list]:
    """A coalescer for one room with this gap and burst lull; the list gets each flush's time."""
    flushed: list[float] = []
    coalescer = Coalescer(
        interval_s,
        lambda _app, _key: flushed.append(time.monotonic()),
        interval_for_key=lambda _key: gap_s,
        burst_lull_for_key=lambda _key: lull_s,
        **options,
    )
    return coalescer, flushed


def test_coalescer_folds_a_burst_into_few_flushes_and_never_loses_the_last(app):
    flushed: list[tuple[str, float]] = []
    state = {"value": 0}
    done = threading.Event()

    def flush(_app, key):
        flushed.append((key, state["value"]))
        if state["value"] == 500:
            done.set()

    coalescer = Coalescer(0.1, flush)
    started = time.monotonic()
    for n in range(1, 501):
        state["value"] = n
        coalescer.touch(app, "ballot:1")
        time.sleep(0.001)
    assert done.wait(2), flushed
    elapsed = time.monotonic() - started
    assert len(flushed) <= elapsed / 0.1 + 2  # at most ~10 a second
    assert len(flushed) < 50
    assert flushed[-1] == ("ballot:1", 500)


def test_coalescer_keeps_keys_apart(app):
    seen = []
    coalescer = Coalescer(0.05, lambda _app, key: seen.append(key))
    coalescer.touch(app, "a")
    coalescer.touch(app, "b")
    coalescer.touch(app, "a")
    time.sleep(0.3)
    assert seen.count("b") == 1
    assert 1 <= seen.count("a") <= 2  # leading flush, then at most one trailing one


def test_an_expensive_flush_slows_its_own_rate(app):
    coalescer = Coalescer(0.1, lambda _app, _key: time.sleep(0.08), cost_factor=5)
    coalescer.touch(app, "big")
    time.sleep(0.3)
    assert 0.39 < coalescer.interval_for("big") <= 2.0
    assert coalescer.interval_for("small") == 0.1


def test_an_interval_per_key_widens_the_gap_for_big_rooms(app):
    coalescer = Coalescer(0.1, lambda _app, _key: None, interval_for_key=lambda key: key / 1000)
    assert coalescer.interval_for(50) == 0.1
    assert coalescer.interval_for(500) == 0.5
    assert coalescer.interval_for(50_000) == 2.0  # capped


def test_a_slow_stream_is_flushed_rarely_but_its_end_promptly(app):
    flushed: list[tuple[float, int]] = []
    state = {"value": 0}
    coalescer = Coalescer(
        0.1,
        lambda _app, _key: flushed.append((time.monotonic(), state["value"])),
        quiet_s=0.03,
        interval_for_key=lambda _key: 0.5,
    )
    started = time.monotonic()
    while time.monotonic() - started < 0.8:
        state["value"] += 1
        coalescer.touch(app, "poll")
        time.sleep(0.005)
    last_touch = time.monotonic()
    time.sleep(0.3)
    assert flushed[-1][1] == state["value"]  # the final state went out
    assert flushed[-1][0] - last_touch < 0.2  # promptly, not a whole interval later
    assert len(flushed) <= 4  # leading flush, one per 0.5 s of stream, the final one


def test_waiting_until_idle_outlasts_every_pending_and_running_flush(app):
    from deliberation.core import coalesce

    finished: list[str] = []

    def slow_flush(_app, key):
        time.sleep(0.2)
        finished.append(key)

    coalescer = Coalescer(0.1, slow_flush, quiet_s=0.1)
    coalescer.touch(app, "a")
    coalescer.touch(app, "b")
    assert finished == []  # both still waiting for their quiet period
    assert coalesce.wait_until_idle(timeout_s=5)
    assert sorted(finished) == ["a", "b"]
    # A flush that fails still counts as finished, so the wait never hangs on it.
    failing = Coalescer(0.05, lambda _app, _key: 1 / 0, quiet_s=0.01)
    failing.touch(app, "c")
    assert failing.wait_until_idle(timeout_s=2)
    blocked = threading.Event()
    stuck = Coalescer(0.05, lambda _app, _key: blocked.wait(1), quiet_s=0.01)
    stuck.touch(app, "d")
    assert not stuck.wait_until_idle(timeout_s=0.2)  # reports the timeout, never hangs
    blocked.set()
    assert stuck.wait_until_idle(timeout_s=2)


def _batched_burst(say_more_coming: bool, app) -> tuple[list, float, int]:
    """Touch `poll` as a group commit does during a burst: a batch every 60 ms (a lull longer
    than quiet_s), more queued after most of them but not after every fifth (arrivals had a
    gap); then the last batch. Returns the flushes, the last touch's time and last value."""
    state = {"value": 0}
    flushed: list[tuple[float, int]] = []
    # Quiet 10 ms; a gap of 0.6 s for this room; in a burst a lull ends it after 90 ms.
    coalescer = Coalescer(
        0.05,
        lambda _app, _key: flushed.append((time.monotonic(), state["value"])),
        quiet_s=0.01,
        interval_for_key=lambda _key: 0.6,
        burst_lull_for_key=lambda _key: 0.09,
    )
    for n in range(1, 16):
        state["value"] = n
        coalescer.touch(app, "poll", more_coming=say_more_coming and n % 5 != 0)
        time.sleep(0.06)
    state["value"] = 16
    coalescer.touch(app, "poll")
    last_touch = time.monotonic()
    time.sleep(0.5)
    return flushed, last_touch, state["value"]


def test_a_batched_burst_flushes_at_its_gap_and_its_end_promptly(app):
    """tallies.py: while the vote writer has more votes queued, the pause while it writes a
    batch is no reason to send a tally; once nothing is queued, the final one goes promptly."""
    flushed, last_touch, last_value = _batched_burst(True, app)
    # The first touch, one per 0.6 s gap over the 0.9 s burst, and the final state.
    assert len(flushed) <= 4, [round(at - last_touch, 3) for at, _value in flushed]
    assert flushed[-1][1] == last_value
    assert flushed[-1][0] - last_touch < 0.25  # 90 ms of quiet, not a whole gap


def test_without_more_coming_a_burst_is_flushed_at_most_twice_a_gap(app):
    """The same burst, the writer saying nothing: each lull between batches outlasts quiet_s,
    so each batch would be flushed (what 5,000 voters on two workers did: 19 tallies per
    person in one poll). Flushes at least half the gap apart (0.3 s) bound it: 4 or 5 in the
    0.96 s, not 16."""
    flushed, _last_touch, last_value = _batched_burst(False, app)
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(flushed)]
    assert 3 <= len(flushed) <= 5, [round(gap, 3) for gap in gaps]
    assert min(gaps) >= 0.29
    assert flushed[-1][1] == last_value


def test_after_a_large_batch_a_lull_must_be_longer_but_not_a_whole_gap(app):
    """The SQLite writer holds the whole process while it writes, so nothing is ever queued
    after a batch: a large batch says `in_burst` instead. The lull that ends the burst is
    then `burst_lull_for_key` (90 ms here), not `quiet_s` and not the whole gap."""
    coalescer, flushed = _timed(0.05, gap_s=0.6, lull_s=0.09, quiet_s=0.01)
    coalescer.touch(app, "poll")  # the first flush goes at once
    time.sleep(0.1)
    assert len(flushed) == 1
    for _ in range(4):  # large batches 40 ms apart: each lull is longer than quiet_s
        last_touch = time.monotonic()  # measured, not guessed: a loaded machine oversleeps
        coalescer.touch(app, "poll", in_burst=True)
        time.sleep(0.04)
    time.sleep(0.4)
    assert len(flushed) == 2, [round(at - last_touch, 3) for at in flushed]
    assert 0.08 < flushed[-1] - last_touch < 0.3


def test_a_hurried_wait_runs_pending_flushes_now_with_the_latest_state(app):
    """Tests end by waiting for pending broadcasts: hurried, a room's one-second gap does not
    hold the teardown, and the flush still sends the final state."""
    flushed: list[int] = []
    state = {"value": 0}
    coalescer = Coalescer(1.0, lambda _app, _key: flushed.append(state["value"]), quiet_s=0.01)
    for value in (1, 2):
        state["value"] = value
        coalescer.touch(app, "room")
        time.sleep(0.1)
    assert flushed == [1]  # the second waits for the one-second gap
    started = time.monotonic()
    assert coalescer.wait_until_idle(timeout_s=5, hurry=True)
    assert time.monotonic() - started < 0.5
    assert flushed == [1, 2]
    # The hurry ends with the wait: the gap holds again.
    state["value"] = 3
    coalescer.touch(app, "room")
    time.sleep(0.2)
    assert flushed == [1, 2]
    assert coalescer.wait_until_idle(timeout_s=5)
    assert flushed == [1, 2, 3]


def _stream_from_the_first_change(app, *, gap_s: float) -> tuple[list[float], float, float]:
    """A poll's votes as a group commit reports them: a batch every 20 ms for 0.4 s, none
    saying more are queued, then silence. Returns the flushes' times, the first and the last
    touch's time."""
    coalescer, flushed = _timed(
        0.1, gap_s=gap_s, lull_s=gap_s / 10, quiet_s=0.015, large_keys_burst=True
    )
    first_touch = time.monotonic()
    while time.monotonic() - first_touch < 0.4:
        last_touch = time.monotonic()  # measured: a loaded machine oversleeps
        coalescer.touch(app, "poll")
        time.sleep(0.02)
    assert coalescer.wait_until_idle(timeout_s=5)
    return flushed, first_touch, last_touch


def test_in_a_large_room_the_first_change_starts_a_burst(app):
    """tallies.py: in a room of thousands the first votes of a poll are the first of a burst.
    Its first tally waits for the room's gap (0.6 s here) or a lull of a tenth of it, instead
    of going to every socket 15 ms after the first vote (at 5,000 people on two workers that
    early tally stalled the phones and the vote writers: ack p99 about 1 s, not 0.4)."""
    flushed, first_touch, last_touch = _stream_from_the_first_change(app, gap_s=0.6)
    assert len(flushed) == 1, [round(at - first_touch, 3) for at in flushed]
    # The final state goes out after a lull of a tenth of the gap, not after a whole gap.
    assert 0.05 < flushed[0] - last_touch < 0.3


def test_in_a_small_room_the_first_change_is_flushed_at_once(app):
    """Where the room's gap is the smallest interval, the first change flushes after the
    quiet time as before: a table of ten sees the first vote within a tenth of a second."""
    flushed, first_touch, _last_touch = _stream_from_the_first_change(app, gap_s=0.1)
    assert flushed[0] - first_touch < 0.08
    assert len(flushed) >= 3


def test_a_large_room_stays_in_a_burst_after_a_flush(app):
    """Votes trickling in over a minute: after every batch, 15 ms of quiet looked like the
    end, and each of 5,000 people got two tallies a second. In a large room a flush does not
    end the burst: a stream with no lull as long as the burst's flushes at its gap."""
    coalescer, flushed = _timed(0.1, gap_s=0.5, lull_s=0.05, quiet_s=0.015, large_keys_burst=True)
    started = time.monotonic()
    while time.monotonic() - started < 1.6:  # a batch every 25 ms: lulls of 15, never 50 ms
        last_touch = time.monotonic()  # measured: a loaded machine oversleeps
        coalescer.touch(app, "poll")
        time.sleep(0.025)
    assert coalescer.wait_until_idle(timeout_s=5)
    # Flushes at about 0.5, 1.0 and 1.5 s, then the final state after a 50 ms lull; with
    # the burst ended by each flush, one every 0.1 s (15 or so).
    assert 3 <= len(flushed) <= 5, [round(at - started, 2) for at in flushed]
    assert 0.03 < flushed[-1] - last_touch < 0.25


def test_a_costly_flush_spaces_even_changes_that_each_end_in_a_lull(app):
    """A slow trickle: each change is followed by a lull, so each would flush. A flush that
    costs 40 ms (cost_factor 10: an interval of 0.4 s) comes at most every 0.2 s, and the
    last change still goes out."""
    flushed: list[tuple[float, int]] = []
    state = {"value": 0}

    def costly_flush(_app, _key):
        flushed.append((time.monotonic(), state["value"]))
        time.sleep(0.04)

    coalescer = Coalescer(0.05, costly_flush, quiet_s=0.01, cost_factor=10)
    for value in range(1, 13):  # one change every 80 ms for about a second
        state["value"] = value
        coalescer.touch(app, "room")
        time.sleep(0.08)
    assert coalescer.wait_until_idle(timeout_s=5)
    gaps = [later - earlier for (earlier, _), (later, _) in itertools.pairwise(flushed)]
    assert min(gaps) >= 0.19, [round(gap, 3) for gap in gaps]  # not every 80 ms
    assert flushed[-1][1] == 12


def test_a_final_change_is_flushed_at_once_even_in_a_burst(app):
    """tallies.py: when the last voter of a large room votes, no vote can follow, so the
    tally goes out after the quiet time instead of the burst's lull (here 0.4 s) or the gap;
    the same stream without the word waits for the lull."""

    def stream(*, last_is_final: bool) -> float:
        coalescer, flushed = _timed(
            0.1, gap_s=2.0, lull_s=0.4, quiet_s=0.015, large_keys_burst=True
        )
        started = time.monotonic()
        while time.monotonic() - started < 0.3:
            coalescer.touch(app, "poll", in_burst=True)
            time.sleep(0.02)
        coalescer.touch(app, "poll", in_burst=True, final=last_is_final)
        last_touch = time.monotonic()
        assert coalescer.wait_until_idle(timeout_s=5)
        assert len(flushed) == 1
        return flushed[0] - last_touch

    assert stream(last_is_final=True) < 0.1
    assert stream(last_is_final=False) > 0.35


def test_a_final_change_flushes_at_once_but_never_alongside_a_running_flush(app):
    """A final change right after a flush skips the smallest interval (0.1 s here), but waits
    for a flush still running (40 ms), so the final state is the last to go out."""
    flushed: list[tuple[float, float, int]] = []
    state = {"value": 0}

    def costly_flush(_app, _key):
        value, started = state["value"], time.monotonic()
        time.sleep(0.04)
        flushed.append((started, time.monotonic(), value))

    coalescer = Coalescer(0.1, costly_flush, quiet_s=0.005)
    state["value"] = 1
    coalescer.touch(app, "room")
    time.sleep(0.02)  # the first flush runs
    state["value"] = 2
    coalescer.touch(app, "room", final=True)
    final_touch = time.monotonic()
    assert coalescer.wait_until_idle(timeout_s=5)
    (_, first_end, first_value), (second_start, _, second_value) = flushed
    assert (first_value, second_value) == (1, 2)
    assert second_start >= first_end  # never alongside
    assert second_start - final_touch < 0.06  # not 0.1 s after the first
