"""A real headless Chromium for the console's browser tests, driven by Playwright over the Debian browser.

Playwright is told to use ``/usr/bin/chromium`` (Debian's ``chromium`` package): it never downloads a
browser of its own. Without that browser the tests skip locally and fail in CI, like the other services.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.conftest import missing

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if CHROMIUM.exists() and shutil.which("chromium"):
        return
    missing(f"Chromium is not installed at {CHROMIUM} (Debian package 'chromium')")


@asynccontextmanager
async def chromium_page(profile_dir: Path) -> AsyncIterator[object]:
    """A page in a fresh Chromium with its own profile directory, closed afterwards."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=LAUNCH_ARGS,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            page.set_default_timeout(15_000)
            yield page
        finally:
            await context.close()
