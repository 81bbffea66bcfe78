"""``dsve demo --profile dsve``: the sale in the official DSVE profile over the Altinn-compatible API.

The broker runs in this process on a loopback port (embedded defaults) with the ``dsve`` schema set from the
directory given (``DSVE_SCHEMA_SETS`` or ``--schema-dir``: the schema is not in the repository) and the
conversation rules enforced on ``kv_dsve``; the buyers' bank, the megler and the sellers' bank are simulators
that talk to it only through the SDK's file-transfer client. Tokens come from the participants' enterprise
certificates (the broker's own grant); a real deployment would use Maskinporten clients.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import aiohttp
from rich.console import Console

from broker.config import Settings
from broker.xml.keys import SigningCredential
from participants.cases import demo_sale_case
from participants.demo import BrokerProcess
from participants.deployment import init_deployment
from participants.official.sale import BANK_REFERENCE, RESOURCE, run_official_sale
from participants.official.schema import OfficialSchema
from participants.sdk.file_transfer_client import FileTransferClient
from participants.sdk.maskinporten import SCOPE_READ, SCOPE_WRITE, AltinnTokenSource
from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion

OWNER_SCOPE = "altinn:serviceowner"
AUDIENCE = "dsve-broker"


class GrantTokens(AltinnTokenSource):
    """Access tokens from the broker's own JWT bearer grant, signed with the enterprise certificate's key."""

    def __init__(self, base_url: str, orgnr: str, credential: SigningCredential, scope: str) -> None:
        super().__init__(base_url, orgnr, credential.private_key, kid=orgnr, orgnr=orgnr)
        self.orgnr_, self.credential, self.scope = orgnr, credential, scope

    async def token(self, session: aiohttp.ClientSession) -> str:
        assertion = build_grant_assertion(self.orgnr_, self.credential, AUDIENCE, scope=self.scope)
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
        async with session.post(f"{self.base_url}/token", data=form) as response:
            response.raise_for_status()
            body = await response.json()
        return str(body["access_token"])


async def run_official_demo(schema_dir: Path, console: Console, data_dir: Path | None = None) -> bool:
    if data_dir is not None:
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        return await _run_in(schema_dir, data_dir, console)
    with tempfile.TemporaryDirectory(prefix="dsve-official-demo-") as tmp:
        return await _run_in(schema_dir, Path(tmp), console)


async def _run_in(schema_dir: Path, data_dir: Path, console: Console) -> bool:
    deployment = init_deployment(data_dir / "pki")
    case = demo_sale_case()
    settings = Settings(
        data_dir=data_dir,
        trust_ca_files=(deployment.pki.ca_cert_path,),
        participants_file=deployment.participants_file,
        token_audience=AUDIENCE,
        schema_sets=(("dsve", schema_dir),),
        conversation_rules=f"{RESOURCE}=enforce",
        service_owners=frozenset({case.kartverket.orgnr}),
    )
    broker = BrokerProcess(settings, None)
    await broker.start()
    try:
        console.rule(f"[bold]DSVE demo, official profile[/]: {RESOURCE} on {broker.url}")
        async with aiohttp.ClientSession() as session:
            owner = GrantTokens(
                broker.url, case.kartverket.orgnr, deployment.pki.enterprise[case.kartverket.orgnr].load(), OWNER_SCOPE
            )
            headers = {"Authorization": f"Bearer {await owner.token(session)}"}
            async with session.put(
                f"{broker.url}/broker/api/v1/resource/{RESOURCE}", json={"schemaSet": "dsve"}, headers=headers
            ) as put:
                put.raise_for_status()
            scope = f"{SCOPE_WRITE} {SCOPE_READ}"
            clients = {
                role: FileTransferClient(
                    broker.url,
                    GrantTokens(broker.url, org.orgnr, deployment.pki.enterprise[org.orgnr].load(), scope),
                    session,
                )
                for role, org in (
                    ("bank", case.buyers_bank),
                    ("megler", case.megler),
                    ("sellers_bank", case.sellers_bank),
                )
            }
            signers = [deployment.pki.credential(p.fodselsnummer) for p in case.buyer_persons]
            log = await run_official_sale(
                case, OfficialSchema(schema_dir), clients, lambda: asyncio.sleep(0.2), deed_signers=signers
            )
        for line in log.lines:
            console.print(line)
        expected = {
            "buyers' bank": [
                "IntensjonssvarFraMegler",
                "SignedMortgageDeedProcessed",
                "GjennomfoertEtinglysing",
                "OppnaaddPrioritetOk",
            ],
            "megler": ["IntensjonFraBank", "Restgjeldssvar", "SignedMortgageDeed"],
            "sellers' bank": ["Restgjeldsforespoersel"],
        }
        got = {who: [kind for kind, _ in received] for who, received in log.received.items()}
        ok = got == expected
        console.print(
            f"conversation {case.buyers_bank.orgnr}/{BANK_REFERENCE}: see /console/conversations on the broker"
            if ok
            else f"[bold red]expected[/] {expected}, [bold red]got[/] {got}"
        )
        return ok
    finally:
        await broker.stop()
