"""A sale in the official DSVE profile between the simulators, over the Altinn-compatible API: each step a
checked transfer, each party finding its transfers by search, answering and confirming; the conversation's
rules all pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from broker.usecases.conversation_checks import conversation
from broker.xml.pki import TestPki
from participants.cases import demo_sale_case
from participants.official.sale import BANK_REFERENCE, run_official_sale
from participants.official.schema import OfficialSchema
from participants.sdk.file_transfer_client import FileTransferClient
from tests.filetransfer.conftest import READ, WRITE, AltinnApi, start_altinn
from tests.fixtures.third_party import DSVE_SPEC, require_third_party


class _Tokens:
    """Access tokens from the test broker's grant (the SDK's Maskinporten source is tested on its own)."""

    def __init__(self, api: AltinnApi, orgnr: str) -> None:
        self.api, self.orgnr = api, orgnr

    async def token(self, session: aiohttp.ClientSession) -> str:
        return await self.api.token(self.orgnr, f"{WRITE} {READ}")

    def invalidate(self) -> None:
        return None


async def test_a_whole_sale_in_the_official_profile(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> None:
    require_third_party()
    api = await start_altinn(
        aiohttp_client,
        tmp_path,
        test_pki,
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        schema_sets=(("dsve", DSVE_SPEC),),
        conversation_rules="kv_dsve=enforce",
    )
    assert (await api.configure(schemaSet="dsve")).status == 200
    case = demo_sale_case()
    base = str(api.client.make_url("")).rstrip("/")
    session = api.client.session
    clients = {
        role: FileTransferClient(base, _Tokens(api, org.orgnr), session)  # type: ignore[arg-type]
        for role, org in (("bank", case.buyers_bank), ("megler", case.megler), ("sellers_bank", case.sellers_bank))
    }

    async def settle() -> None:
        return None

    signers = [test_pki.credential(p.fodselsnummer) for p in case.buyer_persons]
    log = await run_official_sale(case, OfficialSchema(DSVE_SPEC), clients, settle, deed_signers=signers)
    assert log.received["megler"] == [
        ("IntensjonFraBank", ""),
        ("Restgjeldssvar", "RutetSuksessfullt"),
        ("SignedMortgageDeed", ""),
    ]
    assert log.received["sellers' bank"] == [("Restgjeldsforespoersel", "")]
    assert log.received["buyers' bank"] == [
        ("IntensjonssvarFraMegler", "RutetSuksessfullt"),
        ("SignedMortgageDeedProcessed", "RoutedSuccessfully"),
        ("GjennomfoertEtinglysing", ""),
        ("OppnaaddPrioritetOk", ""),
    ]
    recorded = await conversation(api.broker.services.engine, f"{case.buyers_bank.orgnr}/{BANK_REFERENCE}")
    assert [r.message.message_type for r in recorded] == [
        "IntensjonFraBank",
        "IntensjonssvarFraMegler",
        "GjennomfoertEtinglysing",
        "OppnaaddPrioritetOk",
    ]
    # The deed and its receipt carry no references of their own (a BankID SDO and a receipt object): they are
    # followed between the same parties, not by the bank's case reference.
    deed = await conversation(api.broker.services.engine, f"{case.buyers_bank.orgnr}/-")
    assert [r.message.message_type for r in deed] == ["SignedMortgageDeed", "SignedMortgageDeedProcessed"]
    assert all(r.accepted and all(result.holds for result in r.results) for r in (*recorded, *deed))
    assert [res.rule for res in recorded[-1].results] == ["priority-after-registration"]
