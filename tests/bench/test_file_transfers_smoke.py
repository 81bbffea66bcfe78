"""A small run of the file-transfer benchmark (a few MiB, a few dozen transfers), so it keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_service

REPO = Path(__file__).resolve().parents[2]


def _bench(*args: str) -> str:
    command = [sys.executable, "-m", "bench.file_transfers", *args]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_large_and_small_runs() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    require_service("PostgreSQL", "127.0.0.1", 5432)
    large = _bench("large", "--size-mib", "8")
    assert "upload:" in large and "download:" in large and "broker RSS" in large
    small = _bench("small", "--transfers", "40", "--concurrency", "4")
    assert "transfers/s" in small and "physical bound" in small
    one_request = _bench("small", "--transfers", "20", "--concurrency", "4", "--multipart")
    assert "multipart initialize+upload" in one_request and "(3 requests)" in one_request
