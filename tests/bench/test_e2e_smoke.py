"""A few seconds of the end-to-end benchmark, so it keeps working; the full run is not part of the suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_service

REPO = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(\w+) +(\d+) msg/s +delivered (\d+)/(\d+) .* bound +(\d+|inf) msg/s \((\d+)%\)")
SUMMARY = re.compile(r"^  (\w+): .*physical bound ([\d,]+|inf) msg/s \(\d+ cores ÷ [\d.]+ ms/msg .*\), \1 reaches \d+%")


def run_bench(*args: str) -> dict[str, tuple[int, int, int]]:
    command = [sys.executable, "-m", "bench.e2e", "--duration", "2", "--messages", "120", "--warmup", "20"]
    result = subprocess.run(
        [*command, "--concurrency", "4", *args], cwd=REPO, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {}
    summarized = set()
    for line in result.stdout.splitlines():
        match = LINE.match(line)
        if match:
            rows[match[1]] = (int(match[2]), int(match[3]), int(match[4]))
        summary = SUMMARY.match(line)
        if summary:
            summarized.add(summary[1])
    assert summarized == set(rows), result.stdout  # every variant with its physical bound in the summary
    return rows


@pytest.mark.slow
def test_embedded_variant_delivers_everything_it_accepted() -> None:
    rows = run_bench("--variants", "embedded")
    per_s, delivered, submitted = rows["embedded"]
    assert submitted > 0 and delivered == submitted and per_s > 0


@pytest.mark.slow
@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_naive_and_broker_on_postgres_and_rabbitmq() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    require_service("PostgreSQL", "127.0.0.1", 5432)
    rows = run_bench("--variants", "naive,pg1")
    for variant in ("naive", "pg1"):
        per_s, delivered, submitted = rows[variant]
        assert submitted > 0 and delivered == submitted and per_s > 0


@pytest.mark.slow
def test_the_bare_server_at_an_offered_rate_answers_everything() -> None:
    """The floor variant: its answers count as deliveries, and its summary line names its CPU per request."""
    rows = run_bench("--variants", "bare", "--rate", "40", "--idle-window", "0.5")
    per_s, delivered, submitted = rows["bare"]
    assert submitted > 0 and delivered == submitted and per_s > 0
