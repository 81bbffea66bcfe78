"""The console in a real headless Chromium: an operator follows a whole sale, a bank's staff is kept to
its own organisation. The case page's screenshot is written to ``test-artifacts/console-case.png``."""

from __future__ import annotations

from pathlib import Path

from tests.console.browser import chromium_page
from tests.console.conftest import (
    BANK_STAFF,
    FINANCING_TYPES,
    OPERATOR,
    PASSWORD,
    SALE_REFERENCE,
    SALE_UNIT,
    SETTLEMENT_CASE_SIZE,
    ConsoleBroker,
)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def _sign_in(page, base: str, username: str) -> None:
    await page.goto(f"{base}/console/")
    assert "/console/login" in page.url  # signed out: sent to the sign-in page
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/console/")


async def test_operator_finds_the_sale_by_property_unit_and_follows_it(
    console_broker: ConsoleBroker, tmp_path: Path
) -> None:
    base = str(console_broker.client.make_url("")).rstrip("/")
    ids = console_broker.message_ids
    async with chromium_page(tmp_path / "profile") as page:
        await _sign_in(page, base, OPERATOR)
        assert await page.get_by_role("heading", level=1).inner_text() == "Overview"

        await page.get_by_role("link", name="Cases").click()
        await page.get_by_label("Property unit").fill(SALE_UNIT)
        await page.get_by_role("button", name="Search").click()
        await page.get_by_role("link", name=SALE_REFERENCE, exact=True).first.click()

        await page.wait_for_selector("svg.sequence")
        assert await page.get_by_role("heading", level=1).inner_text() == f"Case {SALE_REFERENCE}"
        drawn = await page.eval_on_selector_all(
            "svg.sequence a.seq-message", "links => links.map(a => a.dataset.messageId)"
        )
        expected = [id for message_type, id in ids.items() if message_type not in FINANCING_TYPES]
        assert len(drawn) == SETTLEMENT_CASE_SIZE
        assert drawn == expected  # every message of the settlement, in the order it was sent
        lanes = await page.eval_on_selector_all("svg.sequence .seq-org", "texts => texts.map(t => t.textContent)")
        assert [lane.split(" · ")[0] for lane in lanes] == ["bank", "bank", "megler", "kartverket"]
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "console-case.png"), full_page=True)

        await page.click(f'svg.sequence a[data-message-id="{ids["pantedokument"]}"]')
        await page.wait_for_url(f"{base}/console/messages/{ids['pantedokument']}")
        assert await page.get_by_role("heading", level=1).inner_text() == "pantedokument"
        xml = await page.locator("pre.xml").inner_text()
        assert "<foedselsnummer>158892*****</foedselsnummer>" in xml
        assert "15889210181" not in await page.content()

        await page.get_by_role("button", name="Sign out").click()
        await page.wait_for_url(f"{base}/console/login")
        await page.goto(f"{base}/console/messages/{ids['pantedokument']}")
        assert "/console/login" in page.url


async def test_bank_staff_cannot_reach_another_organisations_case_or_message(
    console_broker: ConsoleBroker, tmp_path: Path
) -> None:
    base = str(console_broker.client.make_url("")).rstrip("/")
    ids = console_broker.message_ids
    async with chromium_page(tmp_path / "profile") as page:
        await _sign_in(page, base, BANK_STAFF)

        # The deed package went from the megler to Kartverket: the buyer's bank is not a party.
        response = await page.goto(f"{base}/console/messages/{ids['tinglysingsforsendelse']}")
        assert response.status == 404
        assert await page.get_by_role("heading", level=1).inner_text() == "Not found"
        # The seller's bank's payoff case with the megler.
        response = await page.goto(f"{base}/console/cases/FKB-OPPG-2026-5531?org=920000002")
        assert response.status == 404

        # The sale's case shows the bank only its own messages: no Kartverket, no seller's bank.
        await page.goto(f"{base}/console/cases/{SALE_REFERENCE}")
        lanes = await page.eval_on_selector_all("svg.sequence .seq-org", "texts => texts.map(t => t.textContent)")
        assert sorted(lane.split(" · ")[1] for lane in lanes) == ["910000004", "930000000"]
        await page.get_by_role("link", name="Cases").click()
        await page.get_by_label("Property unit").fill(SALE_UNIT)
        await page.get_by_role("button", name="Search").click()
        assert "tinglysingsforsendelse" not in await page.locator("main").inner_text()
