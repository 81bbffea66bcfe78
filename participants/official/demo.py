"""``dsve demo --profile dsve``: the sale in the official DSVE profile over the Altinn-compatible API.

The broker runs in this process on a loopback port (embedded defaults: SQLite, in-process transport) with the
``dsve`` and ``etinglysing`` schema sets from the directories given (``DSVE_SCHEMA_SETS`` or ``--schema-dir`` /
``--kartverket-schema-dir``: neither schema is in the repository) and the conversation rules enforced on
``kv_dsve``. The buyers' bank, the megler, the sellers' bank and Kartverket (its e-tinglysing receiver over a
seeded grunnbok in SQLite) are simulators that talk to it only through the SDK's file-transfer client. Tokens
come from the participants' enterprise certificates (the broker's own grant); a real deployment would use
Maskinporten clients. The account printed is the sale's log, then each conversation with its rule checks.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
from rich.console import Console

from broker.app_keys import SERVICES
from broker.config import Settings
from broker.usecases.conversation_checks import conversation, recent_conversations
from broker.xml.keys import SigningCredential
from participants.cases import demo_sale_case
from participants.demo import BrokerProcess
from participants.deployment import init_deployment
from participants.kartverket.etinglysing.altinn import RESOURCE as KV_RESOURCE
from participants.kartverket.etinglysing.altinn import AltinnReceiver
from participants.kartverket.etinglysing.official import NotRegistered
from participants.kartverket.etinglysing.service import ETinglysing
from participants.kartverket.priority import register_priority
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import seed
from participants.official.sale import RESOURCE, Kartverket, SaleLog, SaleStopped, run_official_sale
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


EXPECTED = {
    "megler": ["Restgjeldssvar", "IntensjonFraBank", "SignedMortgageDeed", "Innfrielsessaldosvar"],
    "sellers' bank": ["Restgjeldsforespoersel", "Innfrielsessaldoforespoersel"],
    "buyers' bank": [
        "IntensjonssvarFraMegler",
        "SignedMortgageDeedProcessed",
        "GjennomfoertEtinglysing",
        "OppnaaddPrioritetOk",
    ],
}


async def run_official_demo(
    schema_dir: Path, kartverket_dir: Path, console: Console, data_dir: Path | None = None
) -> bool:
    """Run the sale and print it; True when every party received what the sale should bring it and every
    conversation rule held. ``kartverket_dir`` holds innsending.xsd (the ``etinglysing`` schema set)."""
    if data_dir is not None:
        await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
        return await _run_in(schema_dir, kartverket_dir, data_dir, console)
    with tempfile.TemporaryDirectory(prefix="dsve-official-demo-") as tmp:
        return await _run_in(schema_dir, kartverket_dir, Path(tmp), console)


async def _run_in(schema_dir: Path, kartverket_dir: Path, data_dir: Path, console: Console) -> bool:
    started = time.monotonic()
    deployment = init_deployment(data_dir / "pki")
    case = demo_sale_case()
    settings = Settings(
        data_dir=data_dir,
        trust_ca_files=(deployment.pki.ca_cert_path,),
        participants_file=deployment.participants_file,
        token_audience=AUDIENCE,
        schema_sets=(("dsve", schema_dir), ("etinglysing", kartverket_dir)),
        conversation_rules=f"{RESOURCE}=enforce",
        service_owners=frozenset({case.kartverket.orgnr}),
    )
    broker = BrokerProcess(settings, None)
    register = await LandRegister.open(f"sqlite+aiosqlite:///{data_dir / 'grunnbok.db'}")
    await broker.start()
    log = SaleLog()
    try:
        console.rule(f"[bold]DSVE demo, official profile[/]: {RESOURCE} and {KV_RESOURCE} on {broker.url}")
        await seed(register)
        service = ETinglysing(register, kartverket_dir)
        await service.prepare()
        async with aiohttp.ClientSession() as session:

            def tokens(orgnr: str, scope: str) -> GrantTokens:
                return GrantTokens(broker.url, orgnr, deployment.pki.enterprise[orgnr].load(), scope)

            owner = tokens(case.kartverket.orgnr, OWNER_SCOPE)
            headers = {"Authorization": f"Bearer {await owner.token(session)}"}
            for resource, schema_set in ((RESOURCE, "dsve"), (KV_RESOURCE, "etinglysing")):
                async with session.put(
                    f"{broker.url}/broker/api/v1/resource/{resource}", json={"schemaSet": schema_set}, headers=headers
                ) as put:
                    put.raise_for_status()
            scope = f"{SCOPE_WRITE} {SCOPE_READ}"
            clients = {
                role: FileTransferClient(broker.url, tokens(org.orgnr, scope), session)
                for role, org in (
                    ("bank", case.buyers_bank),
                    ("megler", case.megler),
                    ("sellers_bank", case.sellers_bank),
                    ("kartverket", case.kartverket),
                )
            }
            kartverket = Kartverket(
                AltinnReceiver(clients["kartverket"], service, case.kartverket.orgnr), register_priority(register)
            )
            try:
                signers = [deployment.pki.credential(p.fodselsnummer) for p in case.buyer_persons]
                await run_official_sale(
                    case,
                    OfficialSchema(schema_dir),
                    clients,
                    lambda: asyncio.sleep(0.05),
                    kartverket,
                    log=log,
                    deed_signers=signers,
                )
                stopped = None
            except (SaleStopped, NotRegistered) as exc:
                stopped = str(exc)
        for line in log.lines:
            console.print(line)
        if stopped:
            console.print(f"[bold red]the sale stopped[/]: {stopped}")
        got = {who: [kind for kind, _ in received] for who, received in log.received.items()}
        ok = stopped is None and got == EXPECTED
        if stopped is None and not ok:
            console.print(f"[bold red]expected[/] {EXPECTED}, [bold red]got[/] {got}")
        ok = await _print_conversations(broker, console) and ok
        console.print(f"{sum(map(len, got.values()))} DSVE messages, {time.monotonic() - started:.1f} s")
        return ok
    finally:
        await broker.stop()
        await register.close()


async def _print_conversations(broker: BrokerProcess, console: Console) -> bool:
    """Each conversation the broker followed, with its rule checks; True when every rule held."""
    engine = broker.app[SERVICES].engine
    all_hold = True
    for key, count, broken in reversed(await recent_conversations(engine)):
        recorded = await conversation(engine, key)
        failing = sorted({r.rule for m in recorded for r in m.results if not r.holds})
        checks = sum(len(m.results) for m in recorded)
        verdict = f"[red]broken: {', '.join(failing)}[/]" if broken else f"{checks} rule checks, all pass"
        console.print(f"conversation {key}: {count} messages, {verdict}  (/console/conversations/{key})")
        all_hold = all_hold and not broken
    return all_hold
