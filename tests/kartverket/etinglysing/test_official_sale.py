"""A whole sale in the official DSVE profile that goes through Kartverket: the megler registers the deed and
the buyers' mortgage on kv_etinglysing and passes Kartverket's real forsendelsesstatus to the buyers' bank in
GjennomfoertEtinglysing (``forsendelsesstatus_*.xml`` beside the message, named in its metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from broker.usecases.conversation_checks import conversation
from broker.xml.pki import TestPki
from participants.cases import demo_sale_case
from participants.kartverket.etinglysing.altinn import RESOURCE, AltinnReceiver, GrantTokens
from participants.kartverket.etinglysing.official import KartverketRegistration
from participants.official.sale import BANK_REFERENCE, run_official_sale
from participants.official.schema import OfficialSchema
from participants.sdk.file_transfer_client import FileTransferClient
from tests.filetransfer.conftest import KARTVERKET, start_altinn
from tests.fixtures.third_party import DSVE_SPEC, require_third_party
from tests.http.conftest import AUDIENCE
from tests.kartverket.etinglysing.conftest import SCHEMA_DIR, open_service, statuses


async def test_the_official_sale_passes_kartverkets_status_to_the_bank(
    aiohttp_client: Any, tmp_path: Path, test_pki: TestPki
) -> None:
    require_third_party()
    api = await start_altinn(
        aiohttp_client,
        tmp_path,
        test_pki,
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        schema_sets=(("dsve", DSVE_SPEC), ("etinglysing", SCHEMA_DIR / "schema")),
        conversation_rules="kv_dsve=enforce",
    )
    assert (await api.configure(schemaSet="dsve")).status == 200
    assert (await api.configure(resource=RESOURCE, schemaSet="etinglysing")).status == 200
    case = demo_sale_case()
    base = str(api.client.make_url("")).rstrip("/")
    token_url = f"{base}/token"

    def client(orgnr: str) -> FileTransferClient:
        return FileTransferClient(
            base, GrantTokens(token_url, orgnr, test_pki.credential(orgnr), AUDIENCE), api.client.session
        )

    clients = {
        role: client(org.orgnr)
        for role, org in (("bank", case.buyers_bank), ("megler", case.megler), ("sellers_bank", case.sellers_bank))
    }
    (tmp_path / "kartverket").mkdir()
    register, service = await open_service(tmp_path / "kartverket")
    try:
        registration = KartverketRegistration(
            AltinnReceiver(client(KARTVERKET), service, KARTVERKET), clients["megler"], case.megler.orgnr
        )

        async def settle() -> None:
            return None

        signers = [test_pki.credential(p.fodselsnummer) for p in case.buyer_persons]
        log = await run_official_sale(
            case, OfficialSchema(DSVE_SPEC), clients, settle, kartverket=registration, deed_signers=signers
        )
        kinds = [kind for kind, _ in log.received["buyers' bank"]]
        assert kinds == [
            "IntensjonssvarFraMegler",
            "SignedMortgageDeedProcessed",
            "GjennomfoertEtinglysing",
            "OppnaaddPrioritetOk",
        ]
        files = log.files["buyers' bank"][kinds.index("GjennomfoertEtinglysing")]
        name = f"forsendelsesstatus_{case.reference}.xml"
        assert sorted(files) == sorted([f"gjennomfoertetinglysing_{case.reference}.xml", name])
        [status] = statuses([files[name]])
        assert (status.saksstatus, status.utfall) == ("AVSLUTTET", "TINGLYST")
        assert [d[0] for d in status.documents] == [f"{case.reference}-skjoete", f"{case.reference}-pant"]
        assert len(status.extracts) == 1  # the grunnboksutskrift of the unit sold
        notice = etree.fromstring(files[f"gjennomfoertetinglysing_{case.reference}.xml"])
        assert notice.findtext("metadata/ressurser/vedlegg/navn") == name
        recorded = await conversation(api.broker.services.engine, f"{case.buyers_bank.orgnr}/{BANK_REFERENCE}")
        assert all(r.accepted and all(result.holds for result in r.results) for r in recorded)
    finally:
        await register.close()
