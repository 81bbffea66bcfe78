"""The soak's attribution of duplicates to faults and its delays by send time."""

from __future__ import annotations

from bench.soak_breakdown import delay_timeline, duplicates_by_fault
from bench.soak_duplicates import trace_duplicates


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


def test_each_second_copy_is_traced_to_its_kind_and_the_processes_that_published_it() -> None:
    faults = [(10.0, "broker killed"), (20.0, "node killed")]
    processes = {"101": "broker0#1", "202": "broker1#1"}
    copies = {
        "once": [(9.0, False, "101-aaa")],
        "taken over": [(9.75, False, "101-aaa"), (13.0, False, "202-bbb")],
        "redelivered": [(19.0, False, "202-bbb"), (21.0, True, "202-bbb")],
        "retried": [(19.5, False, "202-bbb"), (22.0, False, "202-bbb")],
    }
    traced = trace_duplicates(copies, faults, processes)
    assert traced["by_fault"] == {
        "broker killed": {
            "redelivered": 0,
            "same_process": 0,
            "other_process": 1,
            "by": {"broker0#1 -> broker1#1": 1},
            "first_copy_before_fault_s": {"min": 0.25, "max": 0.25},
        },
        "node killed": {
            "redelivered": 1,
            "same_process": 1,
            "other_process": 0,
            "by": {"broker1#1 -> broker1#1": 2},
            "first_copy_before_fault_s": {"min": 0.5, "max": 0.5},
        },
    }
    assert [example["reference"] for example in traced["examples"]] == ["taken over", "redelivered", "retried"]
