"""The soak's attribution of duplicates to faults and its delays by send time."""

from __future__ import annotations

from bench.soak_breakdown import delay_timeline, duplicates_by_fault


def test_each_duplicate_counts_under_the_fault_injected_last_before_it() -> None:
    faults = [(10.0, "broker killed"), (20.0, "node killed")]
    duplicates = [(5.0, False), (12.0, False), (13.0, False), (21.0, True), (22.0, False)]
    assert duplicates_by_fault(duplicates, faults) == {
        "before any fault": {"redelivered": 0, "published_twice": 1},
        "broker killed": {"redelivered": 0, "published_twice": 2},
        "node killed": {"redelivered": 1, "published_twice": 1},
    }


def test_delays_are_grouped_by_when_the_message_was_first_sent() -> None:
    first_sent = {"a": 100.0, "b": 101.0, "c": 112.0, "lost": 113.0}
    delivered = {"a": 100.5, "b": 104.0, "c": 112.25}
    assert delay_timeline(first_sent, delivered) == [
        {"from_s": 0.0, "messages": 2, "p50_s": 3.0, "max_s": 3.0},
        {"from_s": 10.0, "messages": 1, "p50_s": 0.25, "max_s": 0.25},
    ]
