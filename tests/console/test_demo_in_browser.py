"""The console in a real headless Chromium against a broker that has run `dsve demo`'s whole sale.

The demo runs first and keeps its files (SQLite store, PKI); a fresh broker is then started on the same data,
the way an operator would open the console of a broker that has been carrying real traffic.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.config import Settings
from participants.demo import DemoOptions, run_demo
from participants.deployment import MEGLER
from tests.console.browser import chromium_page
from tests.console.conftest import OPERATOR, PASSWORD, add_users
from tests.console.test_browser import ARTIFACTS

DEMO_UNIT = "0301-208-47"


async def test_operator_follows_the_demo_sale_in_the_browser(aiohttp_client: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = await run_demo(DemoOptions(data_dir=data_dir), Console(file=io.StringIO()))
    assert result.ok, result.failures
    settings = Settings(
        data_dir=data_dir,
        trust_ca_files=(data_dir / "pki" / "ca.pem",),
        participants_file=data_dir / "pki" / "participants.toml",
        lifecycle_interval_s=3600,
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    await add_users(app[SERVICES])
    base = str(client.make_url("")).rstrip("/")

    async with chromium_page(tmp_path / "profile") as page:
        await page.goto(f"{base}/console/")
        await page.get_by_label("Username").fill(OPERATOR)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(f"{base}/console/")

        await page.get_by_role("link", name="Cases").click()
        await page.get_by_label("Property unit").fill(DEMO_UNIT)
        await page.get_by_role("button", name="Search").click()
        found = set(await page.locator("a", has_text="OPPGJ-").all_inner_texts())
        # The sale itself and the refused second attempt to sell the same flat.
        assert len(found) == 2, found
        reference = min(found, key=len)
        await page.get_by_role("link", name=reference, exact=True).first.click()

        await page.wait_for_selector("svg.sequence")
        drawn = await page.eval_on_selector_all(
            "svg.sequence a.seq-message", "links => links.map(a => a.dataset.messageId)"
        )
        assert len(drawn) == result.messages  # every message of the demo's sale
        lanes = await page.eval_on_selector_all("svg.sequence .seq-org", "texts => texts.map(t => t.textContent)")
        assert {lane.split(" · ")[0] for lane in lanes} == {"bank", "megler", "kartverket"}
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-demo-case.png"), full_page=True)

        await page.click(f"svg.sequence a[data-message-id='{drawn[0]}']")
        await page.wait_for_url(f"{base}/console/messages/{drawn[0]}")
        assert MEGLER in await page.content()

        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(f"{base}/console/login")
