"""Suite-wide fixtures: the loopback services and per-run isolation.

Tests that need RabbitMQ or PostgreSQL talk to the real servers. Locally a missing server skips them;
in CI (``CI=true``) it fails them, so a green CI always means they ran.
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import NoReturn

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.pki",
    "tests.fixtures.postgres_pair",
    "tests.fixtures.rabbitmq_cluster",
    "tests.fixtures.rabbitmq_management",
]

RUN_ID = uuid.uuid4().hex[:10]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def service_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def missing(message: str) -> NoReturn:
    """Something a test needs is not there (a service, a tool, reference files): skip locally, fail in CI."""
    if in_ci():
        pytest.fail(message + " (CI=true: tests that need it must not skip)")
    pytest.skip(message)


def require_service(name: str, host: str, port: int) -> None:
    if not service_reachable(host, port):
        missing(f"{name} is not reachable on {host}:{port}")
