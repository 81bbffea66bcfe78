"""The physical bound: the machine's msg/s for the workload if the servers under test cost nothing."""

from __future__ import annotations

import math
from dataclasses import replace

from bench.common import Tally
from bench.figures import CpuShares, Figures, figures, services_cpu_s, services_cpu_ticks, summary_lines


def _figures(
    loadgen_s: float, postgres_s: float, rabbitmq_s: float, delivered: int, wall_s: float, *, uses_services: bool = True
) -> Figures:
    tally = Tally()
    for n in range(delivered):
        reference = f"r{n}"
        tally.sent_at[reference] = 100.0
        tally.answered_at[reference] = 100.0
        tally.delivered_at[reference] = 100.0 + wall_s * (n + 1) / delivered
    cpu = CpuShares(
        server_s=1.0, loadgen_s=loadgen_s, services_s={"postgres": postgres_s, "beam.smp": rabbitmq_s}, machine_busy=0.5
    )
    return figures("pg1", tally, 100.0, cpu, 1024, uses_services=uses_services)


def test_the_bound_is_the_cores_over_the_cpu_per_message_of_everything_but_the_broker() -> None:
    # 1,000 messages in 1 s; the load generator 0.1 ms, PostgreSQL 0.2 ms, RabbitMQ 0.2 ms per message.
    result = _figures(loadgen_s=0.1, postgres_s=0.2, rabbitmq_s=0.2, delivered=1000, wall_s=1.0)
    assert math.isclose(result.others_cpu_ms_per_msg, 0.5)
    assert math.isclose(result.bound_per_s, result.cores * 1000 / 0.5)
    assert math.isclose(result.share_of_bound, 1000 / result.bound_per_s)
    assert f"bound {result.bound_per_s:6.0f} msg/s" in result.line()
    assert result.bound_summary().endswith(f"pg1 reaches {result.share_of_bound:.0%} of it")


def test_without_any_other_cpu_the_bound_is_unlimited() -> None:
    result = _figures(loadgen_s=0.0, postgres_s=0.0, rabbitmq_s=0.0, delivered=10, wall_s=1.0)
    assert result.bound_per_s == float("inf") and result.share_of_bound == 0.0


def test_a_variant_without_the_services_is_bound_by_the_load_generator_alone() -> None:
    """The embedded broker uses neither PostgreSQL nor RabbitMQ: what they spend then is other users' load."""
    result = _figures(loadgen_s=0.1, postgres_s=3.0, rabbitmq_s=3.0, delivered=1000, wall_s=1.0, uses_services=False)
    assert math.isclose(result.bound_per_s, result.cores * 1000 / 0.1)
    assert "ms/msg of load generator)" in result.bound_summary()


def test_service_cpu_counts_each_process_from_its_own_start() -> None:
    """A process that ended between the readings is missed, never subtracted: the figure cannot go negative."""
    now = services_cpu_ticks()
    gone = {("beam.smp", 2**22 + 1): 10**9, ("postgres", 2**22 + 2): 10**9}
    since = services_cpu_s({**now, **gone})
    assert all(seconds >= 0 for seconds in since.values())
    assert set(since) == {"postgres", "beam.smp"}


def _run(variant: str, per_s: float) -> Figures:
    result = _figures(loadgen_s=0.1, postgres_s=0.2, rabbitmq_s=0.2, delivered=1000, wall_s=1.0)
    return replace(result, variant=variant, per_s=per_s)


def test_each_round_is_set_against_its_own_naive_run_and_the_median_round_is_reported() -> None:
    rounds = [
        [_run("naive", 300), _run("pg1", 1200)],  # 4.0x
        [_run("naive", 400), _run("pg1", 1400)],  # 3.5x
        [_run("naive", 250), _run("pg1", 1125)],  # 4.5x
    ]
    lines = summary_lines(rounds)
    assert lines[0].startswith("  naive: 300 msg/s (median of 3 rounds); physical bound")
    assert lines[1].startswith("  pg1: 4.0x the naive pipeline (median of 3 rounds: 3.5, 4.0, 4.5); physical bound")
    # the bound quoted is the median round's (the first), with that round's msg/s as its share
    assert lines[1].endswith(f"pg1 reaches {1200 / rounds[0][1].bound_per_s:.0%} of it")


def test_one_round_reads_as_before() -> None:
    lines = summary_lines([[_run("naive", 300), _run("pg1", 1200)]])
    assert lines[0] == f"  naive: {_run('naive', 300).bound_summary()}"
    assert lines[1].startswith("  pg1: 4.0x the naive pipeline; physical bound")


def test_without_a_naive_run_there_is_no_ratio() -> None:
    assert summary_lines([[_run("embedded", 1000)]]) == [f"  embedded: {_run('embedded', 1000).bound_summary()}"]


def test_in_an_open_loop_the_cpu_per_message_is_compared() -> None:
    naive = replace(_run("naive", 100), cpu_ms_per_msg=4.0)
    lines = summary_lines([[naive, replace(_run("embedded", 100), cpu_ms_per_msg=3.0)]], open_loop=True)
    assert lines[1].startswith("  embedded: 0.75x the naive pipeline's CPU per message; physical bound")


def test_in_an_open_loop_the_idle_share_and_the_bare_servers_floor_are_given() -> None:
    """The clock's part (idle CPU ÷ msg/s) and the bare HTTP server's CPU per request put the figure in proportion."""
    naive = replace(_run("naive", 20), cpu_ms_per_msg=7.0, idle_ms_per_s=0.0)
    embedded = replace(_run("embedded", 20), cpu_ms_per_msg=5.0, idle_ms_per_s=8.0)
    bare = replace(_run("bare", 20), cpu_ms_per_msg=0.5, idle_ms_per_s=0.0)
    assert embedded.idle_ms_per_msg is not None and math.isclose(embedded.idle_ms_per_msg, 0.4)
    assert "idle 8.0 ms/s" in embedded.line()
    lines = summary_lines([[naive, embedded, bare]], open_loop=True)
    assert lines[1].startswith(
        "  embedded: 0.71x the naive pipeline's CPU per message; idle 8.0 ms/s, 0.40 ms of each message's 5.00; "
        "10.0x the bare server's 0.50 ms; physical bound"
    )
    assert "0.50 ms of CPU per request: reading and answering it, nothing else; physical bound" in lines[2]


def test_closed_loop_lines_name_no_idle_or_floor() -> None:
    result = _run("pg1", 1200)
    assert result.idle_ms_per_s is None and result.idle_ms_per_msg is None and "idle" not in result.line()
    assert "bare server" not in summary_lines([[_run("naive", 300), result]])[1]
