"""Every Kartverket example file sent through the broker as a submitter's system sends it: one ZIP on
``kv_etinglysing`` with ``operation`` in the manifest, every forsendelsesstatus fetched back from the broker.

The test is parametrised over the example directory's listing, so a new example file is picked up (and fails
until it is given an expectation here). One broker serves the module (SQLite, in-process transport); each
example meets a freshly seeded register of its own, so each is judged as if it came first. One example also
runs on PostgreSQL (broker and register) with RabbitMQ.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from broker.routing.transport import DEFAULT_DELIVERY_LIMIT
from broker.xml.pki import TestPki
from participants.kartverket.etinglysing.altinn import RESOURCE, AltinnReceiver
from participants.kartverket.etinglysing.container import pack
from participants.kartverket.etinglysing.service import ETinglysing
from participants.kartverket.model import Borettslagsandel, Matrikkelenhet, Registerenhet
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import seed
from tests.filetransfer.conftest import KARTVERKET, MEGLER, AltinnApi
from tests.fixtures.services import own_database
from tests.kartverket.conftest import SteppingClock
from tests.kartverket.etinglysing.conftest import EXAMPLES, SCHEMA_DIR, Status, example
from tests.kartverket.etinglysing.over_altinn import answers, receiver_for, served, start_etinglysing_broker
from tests.routing.transports import rabbitmq_transport

pytestmark = pytest.mark.asyncio(loop_scope="module")

FIRST_ID = 1010010  # the innsendingId Kartverket's hentStatus.xml asks for


@dataclass(frozen=True)
class Registered:
    """Ends TINGLYST: document 1 of the year at office 200, its rettsstiftelse numbered 1, these units changed."""

    reference: str
    units: tuple[Registerenhet, ...]


@dataclass(frozen=True)
class Returned:
    """Ends AVSLUTTET/AVVIST with these control results (kodeverdi, utfall, dokumentindeks, rettsstiftelsesindeks);
    ``codes_only``: compare the set of codes only."""

    findings: tuple[tuple[str, str, int | None, int | None], ...] = ()
    codes_only: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class SchemaRefused:
    """The broker refuses the upload with the schema error at this line and path; Kartverket never sees it."""

    line: int
    path: str


@dataclass(frozen=True)
class AnswersStatus:
    """``hentStatus`` for an innsendingId the sender has: the status of that submission."""


CADASTRE_ONLY = Returned((("RETTSSTIFTELSESTYPE_IKKE_TILLATT", "IKKE_GODKJENT", 1, 1),))
UNIT_82_1, SHARE_1 = Matrikkelenhet("0301", 82, 1), Borettslagsandel("952923978", 1)
EXPECTED: dict[str, Registered | Returned | SchemaRefused | AnswersStatus] = {
    "overdragelse.xml": Registered("minReferanse#1", (Matrikkelenhet("0605", 38, 98),)),
    "overdragelse-borettslag.xml": Registered("minReferanse#1", (Borettslagsandel("959096503", 2),)),
    "overdragelse-festerett-uten-bygning.xml": Registered(
        "overdragelse.festerett", (Matrikkelenhet("0301", 100, 17, 1),)
    ),
    "pant.xml": Registered("pant.test", (UNIT_82_1, SHARE_1)),
    "annenHeftelse.xml": Registered("annen.heftelse", (UNIT_82_1,)),
    "sletting.xml": Registered("sletting.1", (UNIT_82_1,)),
    "anmerkning-paa-person-konkursmelding.xml": Registered("anmerkning.test", (Matrikkelenhet("0301", 82, 3),)),
    "tvangsforretning.xml": Registered(
        "tvangsforretning",
        (UNIT_82_1, SHARE_1, Matrikkelenhet("0301", 82, 2), Borettslagsandel("952923978", 2)),
    ),
    # only the cadastre (matrikkelen) sends these; a submitter's copy is returned
    "fradeling.xml": CADASTRE_ONLY,
    "sammenslaaing-av-matrikkelenheter.xml": CADASTRE_ONLY,
    "overfoering-fra-tidligere-festenummer.xml": CADASTRE_ONLY,
    # its BankID test certificates expired years ago, and the simulator trusts no BankID CA
    "signert-pant.xml": Returned(codes_only=frozenset({"SIGNATUR_UGYLDIG"})),
    "ugyldig.xml": SchemaRefused(3, "/forsendelse/usignertMelding"),
    "hentStatus.xml": AnswersStatus(),
}


@dataclass
class Kartverket:
    register: LandRegister
    receiver: AltinnReceiver


async def open_kartverket(api: AltinnApi, test_pki: TestPki, database_url: str) -> Kartverket:
    register = await LandRegister.open(database_url, clock=SteppingClock())
    assert await seed(register)
    service = ETinglysing(register, SCHEMA_DIR, first_innsending_id=FIRST_ID)
    await service.prepare()
    return Kartverket(register, receiver_for(api, service, test_pki))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def broker(tmp_path_factory: pytest.TempPathFactory, test_pki: TestPki) -> AsyncIterator[AltinnApi]:
    tmp = tmp_path_factory.mktemp("broker")
    async with served() as make_client:
        yield await start_etinglysing_broker(make_client, tmp, test_pki, f"sqlite+aiosqlite:///{tmp / 'broker.db'}")


@pytest.fixture(scope="module")
def seen() -> set[str]:
    """Every transfer the megler has looked at so far (the module's broker keeps them all)."""
    return set()


async def send(api: AltinnApi, kartverket: Kartverket, name: str, operation: str, seen: set[str]) -> list[Status]:
    """Send one file as the megler's system does, let Kartverket poll once, and fetch what came back."""
    seen.add(
        await api.new_transfer(
            MEGLER, [KARTVERKET], pack(name, example(name)), properties={"operation": operation}, resource=RESOURCE
        )
    )
    assert await kartverket.receiver.poll_once() == 1
    got = await answers(api, seen)
    assert all(overview["propertyList"]["operation"] == operation for overview, _ in got)
    return [status for _, status in got]


async def check_registered(
    api: AltinnApi, kartverket: Kartverket, name: str, expected: Registered, seen: set[str]
) -> None:
    before = [await kartverket.register.extract(unit) for unit in expected.units]
    received, registered, final = await send(api, kartverket, name, "sendTilTinglysing", seen)
    assert (received.saksstatus, received.utfall, received.innsending_id) == ("MOTTATT", "UAVKLART", str(FIRST_ID))
    assert (registered.saksstatus, registered.utfall) == ("UNDER_BEHANDLING", "UAVKLART")
    assert (final.saksstatus, final.utfall, final.findings) == ("AVSLUTTET", "TINGLYST", [])
    assert final.documents == [("1", 2026, 1, "200", [(expected.reference, 1)])]
    assert final.text("i:registreringstidspunkt") == registered.text("i:registreringstidspunkt")
    assert len(final.extracts) == len(expected.units)
    after = [await kartverket.register.extract(unit) for unit in expected.units]
    for unit, old, new in zip(expected.units, before, after, strict=True):
        assert new != old, f"{name} left {unit} as it was"


async def check_returned(api: AltinnApi, kartverket: Kartverket, name: str, expected: Returned, seen: set[str]) -> None:
    documents = await kartverket.register.document_count()
    received, final = await send(api, kartverket, name, "sendTilTinglysing", seen)
    assert received.saksstatus == "MOTTATT"
    assert (final.saksstatus, final.utfall, final.documents) == ("AVSLUTTET", "AVVIST", [])
    if expected.codes_only:
        assert final.codes == expected.codes_only
    else:
        found = [(f.kodeverdi, f.utfall, f.dokumentindeks, f.rettsstiftelsesindeks) for f in final.findings]
        assert found == list(expected.findings)
    assert all(f.begrunnelser for f in final.findings)
    assert await kartverket.register.document_count() == documents  # returned: nothing registered


async def check_schema_refused(api: AltinnApi, kartverket: Kartverket, name: str, expected: SchemaRefused) -> None:
    initialized = await api.initialize(
        MEGLER, [KARTVERKET], file_name="ugyldig.zip", properties={"operation": "sendTilTinglysing"}, resource=RESOURCE
    )
    transfer_id = str((await initialized.json())["fileTransferId"])
    upload = await api.upload(MEGLER, transfer_id, pack(name, example(name)))
    assert upload.status == 400
    [error] = (await upload.json())["errors"]
    assert (error["file"], error["line"], error["path"]) == (name, expected.line, expected.path)
    assert "forsendelsesreferanse" in error["message"]
    assert await kartverket.receiver.poll_once() == 0


async def check_status(api: AltinnApi, kartverket: Kartverket, name: str, seen: set[str]) -> None:
    *_, final = await send(api, kartverket, "overdragelse.xml", "sendTilTinglysing", seen)
    [status] = await send(api, kartverket, name, "hentStatus", seen)
    assert (status.innsending_id, status.saksstatus, status.utfall) == (str(FIRST_ID), "AVSLUTTET", "TINGLYST")
    assert status.documents == final.documents and status.root.findtext("{*}forsendelsesreferanse") == "3"


@pytest.mark.parametrize("name", sorted(path.name for path in EXAMPLES.glob("*.xml")))
async def test_each_example_through_the_broker(
    broker: AltinnApi, seen: set[str], test_pki: TestPki, tmp_path: Path, name: str
) -> None:
    expected = EXPECTED.get(name)
    assert expected is not None, f"{name} is a new example: say what Kartverket would answer"
    kartverket = await open_kartverket(broker, test_pki, f"sqlite+aiosqlite:///{tmp_path / 'grunnbok.db'}")
    try:
        if isinstance(expected, Registered):
            await check_registered(broker, kartverket, name, expected, seen)
        elif isinstance(expected, Returned):
            await check_returned(broker, kartverket, name, expected, seen)
        elif isinstance(expected, SchemaRefused):
            await check_schema_refused(broker, kartverket, name, expected)
        else:
            await check_status(broker, kartverket, name, seen)
    finally:
        await kartverket.register.close()


@pytest.mark.postgres
@pytest.mark.rabbitmq
async def test_an_example_on_postgres_and_rabbitmq(
    postgres_url: str, postgres_server_url: str, amqp_url: str, amqp_prefix: str, test_pki: TestPki, tmp_path: Path
) -> None:
    """The broker on PostgreSQL with RabbitMQ, Kartverket's register on a PostgreSQL database of its own."""
    async with served() as make_client, own_database(postgres_server_url) as grunnbok_url:
        api = await start_etinglysing_broker(
            make_client, tmp_path, test_pki, postgres_url, amqp_url=amqp_url, amqp_prefix=amqp_prefix
        )
        async with rabbitmq_transport(amqp_url, amqp_prefix, [MEGLER, KARTVERKET], DEFAULT_DELIVERY_LIMIT):
            kartverket = await open_kartverket(api, test_pki, grunnbok_url)
            try:
                expected = EXPECTED["pant.xml"]
                assert isinstance(expected, Registered)
                await check_registered(api, kartverket, "pant.xml", expected, set())
            finally:
                await kartverket.register.close()
