"""The figures of one benchmark run: latency percentiles, CPU per message of the servers, the load generator,
PostgreSQL and RabbitMQ, how busy the machine was, and the result line each variant prints.

The physical bound is what the machine could carry of this workload if the broker cost nothing: its cores
divided by the CPU per message of everything else that must run on them (the load generator with its
consumers, PostgreSQL, RabbitMQ). The broker's msg/s as a share of it says how much of the room its
neighbours leave the broker actually uses."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import ServerProcess, Tally

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True, slots=True)
class Figures:
    """One variant's result line."""

    variant: str
    submitted: int
    delivered: int
    wall_s: float
    per_s: float
    p50_ms: float
    p99_ms: float
    submit_p50_ms: float
    submit_p99_ms: float
    cpu_ms_per_msg: float
    peak_rss_mib: float
    loadgen_cpu_ms_per_msg: float
    services_cpu_ms_per_msg: float
    postgres_cpu_ms_per_msg: float
    rabbitmq_cpu_ms_per_msg: float
    machine_busy: float  # share of all cores busy during the run, whoever used them
    refused: dict[int, int]
    errors: int
    cores: int
    uses_services: bool  # whether PostgreSQL and RabbitMQ are part of this variant's workload
    idle_ms_per_s: float | None = None  # the servers' CPU per second with nothing submitted (offered rates)

    @property
    def idle_ms_per_msg(self) -> float | None:
        """The share of ``cpu_ms_per_msg`` that the clock costs, not the messages: idle CPU ÷ msg/s."""
        if self.idle_ms_per_s is None or self.per_s <= 0:
            return None
        return self.idle_ms_per_s / self.per_s

    @property
    def others_cpu_ms_per_msg(self) -> float:
        """CPU per message of all but the servers under test: the load generator, and PostgreSQL and RabbitMQ
        when the variant uses them (without them, their figure is other users' load)."""
        services = self.services_cpu_ms_per_msg if self.uses_services else 0.0
        return self.loadgen_cpu_ms_per_msg + services

    @property
    def bound_per_s(self) -> float:
        """msg/s of the machine for this workload if the servers under test took no CPU (cores ÷ the rest)."""
        return physical_bound(self.cores, self.others_cpu_ms_per_msg)

    @property
    def share_of_bound(self) -> float:
        return self.per_s / self.bound_per_s

    def bound_summary(self) -> str:
        others = "load generator + PostgreSQL + RabbitMQ" if self.uses_services else "load generator"
        return (
            f"physical bound {self.bound_per_s:,.0f} msg/s ({self.cores} cores ÷ "
            f"{self.others_cpu_ms_per_msg:.2f} ms/msg of {others}), "
            f"{self.variant} reaches {self.share_of_bound:.0%} of it"
        )

    def line(self) -> str:
        extra = f" refused={self.refused}" if self.refused else ""
        extra += f" errors={self.errors}" if self.errors else ""
        extra += f"  idle {self.idle_ms_per_s:.1f} ms/s" if self.idle_ms_per_s is not None else ""
        return (
            f"{self.variant:<28} {self.per_s:7.0f} msg/s  delivered {self.delivered}/{self.submitted} in "
            f"{self.wall_s:5.1f} s  e2e p50 {self.p50_ms:6.1f} ms p99 {self.p99_ms:7.1f} ms  "
            f"(HTTP p50 {self.submit_p50_ms:5.1f} p99 {self.submit_p99_ms:5.1f} ms)  "
            f"broker CPU {self.cpu_ms_per_msg:5.2f} ms/msg  "
            f"peak RSS {self.peak_rss_mib:5.1f} MiB  load generator CPU {self.loadgen_cpu_ms_per_msg:4.2f} ms/msg  "
            f"PostgreSQL+RabbitMQ CPU {self.services_cpu_ms_per_msg:4.2f} ms/msg "
            f"({self.postgres_cpu_ms_per_msg:4.2f} + {self.rabbitmq_cpu_ms_per_msg:4.2f})  "
            f"machine busy {self.machine_busy:.0%}  "
            f"bound {self.bound_per_s:6.0f} msg/s ({self.share_of_bound:.0%}){extra}"
        )


def _ratio(result: Figures, naive: Figures | None, open_loop: bool) -> float | None:
    if naive is None or result is naive:
        return None
    if open_loop:
        return result.cpu_ms_per_msg / naive.cpu_ms_per_msg if naive.cpu_ms_per_msg > 0 else None
    return result.per_s / naive.per_s if naive.per_s > 0 else None


def _floor_text(result: Figures, bare: Figures | None) -> str:
    """At an offered rate: how much of the CPU per message is idle, and how it compares with the bare
    HTTP server's per request (the floor) at the same rate."""
    parts = []
    cpu = result.cpu_ms_per_msg
    idle = result.idle_ms_per_msg
    if idle is not None:
        parts.append(f"idle {result.idle_ms_per_s:.1f} ms/s, {idle:.2f} ms of each message's {cpu:.2f}")
    if result.variant == "bare":
        parts.append(f"{cpu:.2f} ms of CPU per request: reading and answering it, nothing else")
    elif bare is not None and bare.cpu_ms_per_msg > 0:
        parts.append(f"{cpu / bare.cpu_ms_per_msg:.1f}x the bare server's {bare.cpu_ms_per_msg:.2f} ms")
    return "".join(f"{part}; " for part in parts)


def summary_lines(rounds: Sequence[Sequence[Figures]], *, open_loop: bool = False) -> list[str]:
    """One line per variant: its msg/s against the naive pipeline's and its physical bound; in an open loop,
    where every variant carries the offered rate, its CPU per message against the naive pipeline's instead.

    With several rounds (each variant once per round, in the same order), each ratio is taken against the
    naive pipeline of its own round, minutes apart at most, and the median round is reported with the
    others beside it (the lower middle one of an even count): the machine's speed drifts by a third within
    minutes, so one naive run set against variants measured later can misstate a ratio by more than any
    change under test. The bound is that of the variant's median round. In an open loop each line also says
    how much of the CPU per message is the server's idle CPU, and, when the ``bare`` variant ran in that round,
    how many times the bare HTTP server's CPU per request it is."""
    variants = list(dict.fromkeys(result.variant for results in rounds for result in results))
    lines = []
    for variant in variants:
        runs: list[tuple[float | None, Figures]] = []
        for results in rounds:
            naive = next((r for r in results if r.variant == "naive"), None)
            for result in results:
                if result.variant == variant:
                    runs.append((_ratio(result, naive, open_loop), result))
        ratios = sorted(ratio for ratio, _ in runs if ratio is not None)
        if ratios:
            median = ratios[(len(ratios) - 1) // 2]
            median_run = next(result for ratio, result in runs if ratio == median)
            digits = 2 if open_loop else 1
            spread = f" (median of {len(ratios)} rounds: {', '.join(f'{r:.{digits}f}' for r in ratios)})"
            what = "the naive pipeline's CPU per message" if open_loop else "the naive pipeline"
            ratio_text = f"{median:.{digits}f}x {what}{spread if len(ratios) > 1 else ''}; "
        else:
            ordered = sorted(runs, key=lambda run: run[1].per_s)
            median_run = ordered[(len(ordered) - 1) // 2][1]
            ratio_text = f"{median_run.per_s:,.0f} msg/s (median of {len(runs)} rounds); " if len(runs) > 1 else ""
        floor = ""
        if open_loop:
            round_of_median = next(results for results in rounds if median_run in results)
            floor = _floor_text(median_run, next((r for r in round_of_median if r.variant == "bare"), None))
        lines.append(f"  {variant}: {ratio_text}{floor}{median_run.bound_summary()}")
    return lines


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from ``/proc/stat``."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


SERVICE_COMMANDS = frozenset({"postgres", "beam.smp"})


ServiceTicks = dict[tuple[str, int], int]


def services_cpu_ticks() -> ServiceTicks:
    """CPU ticks of every PostgreSQL and RabbitMQ process so far, by (command, pid)."""
    ticks: ServiceTicks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        command = raw[raw.index("(") + 1 : raw.rindex(")")]
        if command in SERVICE_COMMANDS:
            fields = raw.rsplit(")", 1)[1].split()
            ticks[(command, int(stat.parent.name))] = int(fields[11]) + int(fields[12])
    return ticks


def services_cpu_s(since: ServiceTicks) -> dict[str, float]:
    """CPU seconds of PostgreSQL and RabbitMQ by command since ``since`` (other users' load on them included).

    Per process: one that started meanwhile counts whole, one that ended meanwhile (a short-lived
    ``rabbitmqctl``, a backend of a closed connection) is missed, rather than subtracted as a sum of
    all processes would do, which could make the figure negative.
    """
    totals = dict.fromkeys(SERVICE_COMMANDS, 0)
    for (command, pid), ticks in services_cpu_ticks().items():
        before = since.get((command, pid), 0)
        totals[command] += ticks - before if ticks >= before else ticks  # a smaller count: the pid was reused
    return {command: ticks / CLOCK_TICKS for command, ticks in totals.items()}


@dataclass(frozen=True, slots=True)
class CpuShares:
    """CPU seconds of the servers and of this process, and how busy the machine was, over one run."""

    server_s: float
    loadgen_s: float
    services_s: dict[str, float]  # by command: postgres, beam.smp
    machine_busy: float


class CpuWindow:
    """CPU counted from its creation: the servers' (with their children), this process's (the load generator's),
    PostgreSQL's and RabbitMQ's, and how busy the machine was; ``shares()`` closes the window."""

    def __init__(self, servers: Sequence[ServerProcess]) -> None:
        self._servers = servers
        self._server_s = sum(s.cpu_s() for s in servers)
        self._own_s = time.process_time()
        self._services = services_cpu_ticks()
        self._busy, self._total = machine_jiffies()

    def shares(self) -> CpuShares:
        busy, total = machine_jiffies()
        return CpuShares(
            server_s=sum(s.cpu_s() for s in self._servers) - self._server_s,
            loadgen_s=time.process_time() - self._own_s,
            services_s=services_cpu_s(self._services),
            machine_busy=(busy - self._busy) / max(total - self._total, 1),
        )


def physical_bound(cores: int, others_ms: float) -> float:
    """Work units per second of the machine if the servers under test took no CPU: cores ÷ the rest's CPU."""
    return cores * 1000 / others_ms if others_ms > 0 else float("inf")


def figures(
    variant: str,
    tally: Tally,
    start: float,
    cpu: CpuShares,
    peak_rss_kib: int,
    *,
    uses_services: bool = True,
    idle_ms_per_s: float | None = None,
) -> Figures:
    answered = [r for r in tally.answered_at if r in tally.sent_at]
    done = [r for r in answered if r in tally.delivered_at]
    end = max((tally.delivered_at[r] for r in done), default=start)
    wall = max(end - start, 1e-9)
    latencies = [(tally.delivered_at[r] - tally.sent_at[r]) * 1000 for r in done]
    submits = [(tally.answered_at[r] - tally.sent_at[r]) * 1000 for r in answered]
    return Figures(
        variant=variant,
        submitted=len(answered),
        delivered=len(done),
        wall_s=wall,
        per_s=len(done) / wall,
        p50_ms=percentile(latencies, 0.5),
        p99_ms=percentile(latencies, 0.99),
        submit_p50_ms=percentile(submits, 0.5),
        submit_p99_ms=percentile(submits, 0.99),
        cpu_ms_per_msg=cpu.server_s * 1000 / max(len(done), 1),
        peak_rss_mib=peak_rss_kib / 1024,
        loadgen_cpu_ms_per_msg=cpu.loadgen_s * 1000 / max(len(done), 1),
        services_cpu_ms_per_msg=sum(cpu.services_s.values()) * 1000 / max(len(done), 1),
        postgres_cpu_ms_per_msg=cpu.services_s["postgres"] * 1000 / max(len(done), 1),
        rabbitmq_cpu_ms_per_msg=cpu.services_s["beam.smp"] * 1000 / max(len(done), 1),
        machine_busy=cpu.machine_busy,
        refused=dict(tally.refused),
        errors=tally.errors,
        cores=os.cpu_count() or 1,
        uses_services=uses_services,
        idle_ms_per_s=idle_ms_per_s,
    )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
