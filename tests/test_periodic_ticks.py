"""The pollers wait for shared ticks of the monotonic clock, so an idle broker wakes once for all of them."""

from __future__ import annotations

import math

from broker.periodic import until_tick


def test_the_wait_ends_at_the_next_multiple_of_the_interval() -> None:
    assert math.isclose(until_tick(1.0, 10.25), 0.75)
    assert math.isclose(until_tick(5.0, 12.0), 3.0)
    assert math.isclose(until_tick(0.25, 3.2), 0.05)


def test_at_a_tick_the_next_one_is_a_whole_interval_away() -> None:
    assert math.isclose(until_tick(1.0, 7.0), 1.0)


def test_pollers_of_different_intervals_meet_on_the_longer_one_s_ticks() -> None:
    """A 1 s and a 5 s poller, whenever each last ran, wake at the same moment every fifth second."""
    for now in (0.3, 1.9, 3.5, 4.99):
        assert math.isclose((now + until_tick(5.0, now)) % 1.0, 0.0, abs_tol=1e-9)


def test_no_interval_means_no_wait() -> None:
    assert until_tick(0.0, 12.3) == 0.0


def test_without_a_time_given_the_monotonic_clock_is_read() -> None:
    assert 0.0 < until_tick(1.0) <= 1.0
