"""A client's mistakes are answered 4xx and logged once, below ERROR, without a traceback.

Each test reads the log records the broker wrote while it handled the mistake.
"""

from __future__ import annotations

import logging
import re

import pytest

from broker.app_keys import METRICS
from tests.http.conftest import BANK
from tests.http.served import Served, raw_exchange


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def _server_errors(served: Served) -> float:
    metrics = served.app[METRICS]
    return sum(
        sample.value
        for metric in metrics.requests.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("status", "").startswith("5")
    )


async def test_a_client_that_disconnects_mid_body_is_not_an_error(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    request = (
        "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
        f"Authorization: Bearer {served.token(BANK)}\r\nContent-Length: 5000\r\n\r\n<a>"
    ).encode()
    with caplog.at_level(logging.INFO):
        await raw_exchange(served, request, close_after_send=True)
    assert not _errors(caplog), [r.getMessage() for r in _errors(caplog)]
    assert any(r.getMessage() == "client closed the connection mid-request" for r in caplog.records)
    assert _server_errors(served) == 0


async def test_a_broken_chunked_body_is_answered_400(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    request = (
        "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n"
        f"Authorization: Bearer {served.token(BANK)}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n<a>\r\nzz\r\n"
    ).encode()
    with caplog.at_level(logging.INFO):
        answer = await raw_exchange(served, request)
    assert re.match(rb"HTTP/1.[01] 400", answer), answer[:200]
    assert not _errors(caplog), [r.getMessage() for r in _errors(caplog)]
    assert _server_errors(served) == 0


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    ],
    ids=["header-without-colon", "header-too-long", "negative-length"],
)
async def test_aiohttps_parser_errors_are_one_warning(
    served: Served, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await raw_exchange(served, request_bytes)
    assert re.match(rb"HTTP/1.[01] 4", answer), answer[:200]
    assert not _errors(caplog), [r.getMessage() for r in _errors(caplog)]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "aiohttp.server"]
    assert len(warnings) == 1 and warnings[0].getMessage().startswith("malformed HTTP request refused")


@pytest.mark.parametrize("path", ["/token", "/console/login"])
async def test_a_form_that_is_not_utf8_is_answered_400(
    served: Served, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    body = b"grant_type=%ff&assertion=\xff\xfe"
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with caplog.at_level(logging.INFO):
        answer = await raw_exchange(served, request)
    assert re.match(rb"HTTP/1.1 400", answer), answer[:300]
    assert not _errors(caplog), [r.getMessage() for r in _errors(caplog)]
    assert _server_errors(served) == 0
