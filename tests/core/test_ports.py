"""Free loopback ports for the servers the tools start (scripts/ports.py)."""

import pytest

from scripts import ports


@pytest.fixture
def share():
    """Restore this test process's share and handed-out ports afterwards."""
    saved_share, saved = ports._share, set(ports._handed_out)
    yield
    ports._share = saved_share
    ports._handed_out.clear()
    ports._handed_out.update(saved)


def test_a_process_never_hands_out_the_same_port_twice(share):
    ports.use_share(0, 8)  # a small slice: about 1,600 ports, so repeats would show
    handed = [ports.free_port() for _ in range(300)]
    assert len(set(handed)) == len(handed)


def test_parallel_test_processes_choose_from_shares_that_never_meet(share):
    chosen = []
    for index in range(3):
        ports.use_share(index, 3)
        chosen.append({ports.free_port() for _ in range(50)})
    width = (ports.ephemeral_start() - ports.LOWEST) // 3
    for index, share_ports in enumerate(chosen):  # each within its own third of the range
        low = ports.LOWEST + index * width
        assert all(low <= port < low + width for port in share_ports), index
    with pytest.raises(ValueError):
        ports.use_share(3, 3)
