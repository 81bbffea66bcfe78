"""Fixtures for the HTTP API: a running broker app on a per-test store, the demo participants registered,
and helpers that make signed messages from the catalogue's examples and fetch tokens like a participant.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient
from lxml import etree

from broker.app import create_app
from broker.app_keys import SERVICES
from broker.config import REPO_XSD_DIR, Settings
from broker.registry import build_participant, read_catalogue_entries
from broker.store.engine import create_engine
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.participant_registration import register_participants
from broker.xml.inner_signatures import SignedDocuments, named_signers
from broker.xml.keys import SigningCredential
from broker.xml.pki import DEMO_ORGANISATIONS, TestPki
from broker.xml.signing import sign_enveloped_bytes, sign_inner_document
from participants.sdk.tokens import JWT_BEARER_GRANT, build_grant_assertion

if TYPE_CHECKING:
    from tests.http.served import Served

BANK = "910000004"
BANK_2 = "920000002"
MEGLER = "930000000"
KARTVERKET = "971040238"
ROLES = {BANK: "bank", BANK_2: "bank", MEGLER: "megler", KARTVERKET: "kartverket"}
EXAMPLES = REPO_XSD_DIR / "examples"
AUDIENCE = "dsve-broker"


def broker_settings(tmp_path: Path, database_url: str, pki: TestPki, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "trust_ca_files": (pki.ca_cert_path,),
        "lifecycle_interval_s": 3600,
        "token_audience": AUDIENCE,
    }
    values.update(overrides)
    return Settings(**values)


async def register_demo(app_services: Any, pki: TestPki, **capabilities: Any) -> None:
    """Register the four demo organisations with their catalogue capabilities (overridable per orgnr)."""
    entries = read_catalogue_entries(REPO_XSD_DIR)
    participants = []
    for orgnr, name in DEMO_ORGANISATIONS:
        extra = capabilities.get(f"o{orgnr}", {})
        participants.append(
            build_participant(
                orgnr=orgnr,
                role=ROLES[orgnr],
                name=name,
                certificate_pem=pki.enterprise[orgnr].cert_path.read_text(),
                entries=entries,
                **extra,
            )
        )
    await register_participants(app_services.engine, participants)


async def set_active_elsewhere(database_url: str, orgnr: str, active: bool) -> None:
    """Enable or disable a participant as ``dsve participants`` does: through a connection of its own."""
    engine = create_engine(database_url)
    try:
        async with UnitOfWork(engine) as uow:
            assert await uow.participants.set_active(orgnr, active)
            await uow.commit()
    finally:
        await engine.dispose()


def _set_text(root: etree._Element, path: Iterable[str], value: str) -> None:
    node = root
    for step in path:
        found = next((child for child in node if etree.QName(child).localname == step), None)
        assert found is not None, f"no {step} in the example"
        node = found
    node.text = value


def example_message(
    message_type: str,
    *,
    sender: str | None = None,
    recipient: str | None = None,
    message_id: str | None = None,
    reference: str | None = None,
    recipient_reference: str | None = None,
) -> bytes:
    """An unsigned catalogue example with a fresh message id and, where given, other routing fields."""
    root = etree.fromstring((EXAMPLES / f"{message_type}.xml").read_bytes())
    _set_text(root, ("hode", "meldingsid"), message_id or str(uuid.uuid4()))
    if sender:
        _set_text(root, ("hode", "avsender", "orgnr"), sender)
    if recipient:
        _set_text(root, ("hode", "mottaker", "orgnr"), recipient)
    if reference:
        _set_text(root, ("hode", "avsendersReferanse"), reference)
    if recipient_reference:
        _set_text(root, ("hode", "mottakersReferanse"), recipient_reference)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sign_inner_documents(data: bytes, pki: TestPki) -> bytes:
    """Sign the example's inner documents (a mortgage, a transfer, a deletion) by those they name as signers."""
    root = etree.fromstring(data)
    for tag, document in SignedDocuments.load(REPO_XSD_DIR).documents.items():
        for element in root.iter(tag):
            container = element.getnext()
            if container is None or etree.QName(container).localname != "signaturer" or len(container):
                continue
            for identifier in sorted(named_signers(element, document)):
                sign_inner_document(root, element.get("Id", ""), container, pki.credential(identifier))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass
class Broker:
    """A test client for one running broker, with the test PKI to act as any demo participant."""

    client: TestClient
    pki: TestPki

    @property
    def services(self) -> Any:
        return self.client.app[SERVICES]

    def credential(self, orgnr: str) -> SigningCredential:
        return self.pki.enterprise[orgnr].load()

    def sign(self, data: bytes, orgnr: str) -> bytes:
        return sign_enveloped_bytes(data, self.credential(orgnr))

    def signed(self, message_type: str, signer: str | None = None, **fields: Any) -> bytes:
        data = sign_inner_documents(example_message(message_type, **fields), self.pki)
        root = etree.fromstring(data)
        sender = fields.get("sender") or next(
            el.text
            for el in root.iter()
            if etree.QName(el).localname == "orgnr"
            and el.getparent() is not None
            and etree.QName(el.getparent()).localname == "avsender"
        )
        return self.sign(data, signer or sender)

    async def grant(self, orgnr: str, assertion: str | None = None) -> Any:
        form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion or self.assertion(orgnr)}
        return await self.client.post("/token", data=form)

    def assertion(self, orgnr: str, **kwargs: Any) -> str:
        return build_grant_assertion(orgnr, self.credential(orgnr), AUDIENCE, **kwargs)

    async def token(self, orgnr: str) -> str:
        response = await self.grant(orgnr)
        assert response.status == 200, await response.text()
        return (await response.json())["access_token"]

    async def headers(self, orgnr: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(orgnr)}", **extra}

    async def send(self, orgnr: str, body: bytes, content_type: str = "application/xml") -> Any:
        headers = await self.headers(orgnr, **{"Content-Type": content_type})
        return await self.client.post("/api/v1/messages", data=body, headers=headers)


@pytest.fixture
async def broker(database_url: str, aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Broker:
    """A running broker on SQLite and on PostgreSQL (the database outlives the app: it is set up first)."""
    app = create_app(broker_settings(tmp_path, database_url, test_pki))
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    return Broker(client, test_pki)


@pytest.fixture
async def sqlite_broker(aiohttp_client: Any, tmp_path: Path, test_pki: TestPki) -> Broker:
    """The same broker on SQLite only, for refusal tests that do not depend on the database."""
    app = create_app(broker_settings(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}", test_pki))
    client = await aiohttp_client(app)
    await register_demo(app[SERVICES], test_pki)
    return Broker(client, test_pki)


@pytest.fixture
async def served(tmp_path: Path, test_pki: TestPki) -> AsyncIterator[Served]:
    """The broker on SQLite, served as ``dsve serve`` serves it (raw-socket tests)."""
    from tests.http.served import serve  # that module builds on this one's helpers

    async for running in serve(tmp_path, test_pki):
        yield running
