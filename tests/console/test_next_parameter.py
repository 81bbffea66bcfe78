"""The sign-in form's ``next``: a path inside the console, never a header of its own."""

from __future__ import annotations

import logging
import re

import pytest

from tests.console.conftest import OPERATOR, PASSWORD, ConsoleBroker


async def test_a_newline_in_next_cannot_split_the_redirect(
    console_broker: ConsoleBroker, caplog: pytest.LogCaptureFixture
) -> None:
    client = console_broker.client
    page = await client.get("/console/login")
    match = re.search(
        r'action="/console/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', await page.text()
    )
    assert match
    form = {"csrf_token": match.group(1), "username": OPERATOR, "password": PASSWORD, "next": "/console/\r\nX-A: b"}
    with caplog.at_level(logging.INFO):
        response = await client.post("/console/login", data=form, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/"
    assert "X-A" not in response.headers
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
