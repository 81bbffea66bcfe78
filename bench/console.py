"""Benchmark: console page render times with many messages in the store (goal: each page's median < 200 ms).

Fills an SQLite store with whole sales made from the catalogue's examples (each case its own references
and its own property unit; a few messages dead-lettered), lets the property-unit index catch up, signs an
operator in, and times each page: the overview, the search by property unit, by reference and by orgnr,
a case page with its sequence diagram, a message page with its XML, participants and dead letters.

    python bench/console.py              # 10,000 messages
    python bench/console.py -n 2000      # fewer
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from broker.app import create_app
from broker.app_keys import CONSOLE_APP, PROPERTY_INDEXER, SERVICES
from broker.config import REPO_XSD_DIR, Settings
from broker.console.passwords import hash_password
from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import StoredMessage
from broker.registry import build_participant, read_catalogue_entries
from broker.store.console_user_repository import ConsoleUser, ConsoleUserRepository
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.participant_registration import register_participants
from broker.xml.pki import DEMO_ORGANISATIONS, init_test_pki

GOAL_MS = 200.0
EXAMPLES = REPO_XSD_DIR / "examples"
ROLES = {"910000004": "bank", "920000002": "bank", "930000000": "megler", "971040238": "kartverket"}
SALE_TYPES = (
    "finansieringsforespoersel",
    "finansieringssvar",
    "finansieringAvsluttet",
    "restgjeldsforespoersel",
    "restgjeldssvar",
    "intensjonFraBank",
    "intensjonssvarFraMegler",
    "kjoepekontraktforespoersel",
    "kjoepekontraktsvar",
    "pantedokument",
    "pantedokumentKvittering",
    "innfrielsessaldoforespoersel",
    "innfrielsessaldosvar",
    "slettingserklaering",
    "tinglysingsforsendelse",
    "forsendelsesstatus",
    "gjennomfoertTinglysing",
    "oppnaaddPrioritet",
)
REFERENCES = (
    "OPPGJ-2026-0412",
    "NLS-LAAN-2026-88213",
    "FKB-OPPG-2026-5531",
    "KV-2026-1014733",
    "BUD-2026-0412-07",
    "NLS-FIN-2026-30117",
)
OPERATOR = "bench.operator"
PASSWORD = "a benchmark password"


@dataclass(frozen=True, slots=True)
class Template:
    message_type: str
    content: str
    sender: str
    recipient: str
    sender_reference: str
    recipient_reference: str | None


def _text(root: etree._Element, *path: str) -> str | None:
    node: Any = root
    for step in path:
        node = next((c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == step), None)
        if node is None:
            return None
    return node.text


def _templates() -> list[Template]:
    templates = []
    for message_type in SALE_TYPES:
        content = (EXAMPLES / f"{message_type}.xml").read_text(encoding="utf-8")
        root = etree.fromstring(content.encode())
        templates.append(
            Template(
                message_type,
                content,
                _text(root, "hode", "avsender", "orgnr") or "",
                _text(root, "hode", "mottaker", "orgnr") or "",
                _text(root, "hode", "avsendersReferanse") or "",
                _text(root, "hode", "mottakersReferanse"),
            )
        )
    return templates


def case_reference(case: int) -> str:
    return f"OPPGJ-{case:06d}"


def case_unit(case: int) -> str:
    return f"4601-{1000 + case}-412"


def _for_case(text: str, case: int) -> str:
    for reference in REFERENCES:
        text = text.replace(reference, f"{reference.rsplit('-2026', 1)[0]}-{case:06d}")
    return text.replace("<gaardsnummer>165</gaardsnummer>", f"<gaardsnummer>{1000 + case}</gaardsnummer>")


def _message(template: Template, case: int, at: datetime, status: MessageStatus) -> StoredMessage:
    content = re.sub(r"<meldingsid>[^<]*</meldingsid>", f"<meldingsid>{uuid.uuid4()}</meldingsid>", template.content)
    data = _for_case(content, case).encode("utf-8")
    return StoredMessage(
        id=str(uuid.uuid4()),
        message_type=template.message_type,
        message_id=str(uuid.uuid4()),
        sender=template.sender,
        recipient=template.recipient,
        sender_reference=_for_case(template.sender_reference, case),
        recipient_reference=_for_case(template.recipient_reference, case) if template.recipient_reference else None,
        document_created=at,
        signer_subject=f"CN=bench,organizationIdentifier=NTRNO-{template.sender}",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        status=status,
        accepted_at=at,
        expires_at=at + timedelta(days=30),
        status_changed_at=at,
    )


async def fill_store(engine: Any, count: int, now: datetime | None = None) -> int:
    """Store ``count`` messages as whole sales (18 per case) over the last two hours; returns the case count.
    One message in fifty is dead-lettered, the rest are confirmed."""
    now = now or datetime.now(UTC)
    templates = _templates()
    batch: list[StoredMessage] = []
    for n in range(count):
        case, index = divmod(n, len(templates))
        at = now - timedelta(seconds=7200 * (count - n) / count)
        status = MessageStatus.DEAD_LETTERED if n % 50 == 7 else MessageStatus.CONFIRMED
        batch.append(_message(templates[index], case, at, status))
        if len(batch) == 1000 or n == count - 1:
            async with UnitOfWork(engine) as uow:
                await uow.messages.add_many(batch)
                await uow.commit()
            batch = []
    return (count + len(templates) - 1) // len(templates)


async def add_operator(engine: Any) -> None:
    async with UnitOfWork(engine) as uow:
        await ConsoleUserRepository(uow.connection).save(
            ConsoleUser(OPERATOR, hash_password(PASSWORD), "operator", None), datetime.now(UTC)
        )
        await uow.commit()


async def sign_in(client: TestClient, username: str = OPERATOR, password: str = PASSWORD) -> None:
    page = await (await client.get("/console/login")).text()
    match = re.search(r'action="/console/login"[^>]*>\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert match, "no sign-in form"
    response = await client.post(
        "/console/login",
        data={"csrf_token": match.group(1), "username": username, "password": password},
        allow_redirects=False,
    )
    assert response.status == 303, response.status


async def page_paths(client: TestClient, cases: int) -> dict[str, str]:
    """The pages to time, for a case in the middle of the store."""
    middle = cases // 2
    case_page = f"/console/cases/{case_reference(middle)}?org=930000000"
    html = await (await client.get(case_page)).text()
    message_id = re.search(r'data-message-id="([^"]+)"', html)
    assert message_id, "the case page drew no message"
    return {
        "overview": "/console/",
        "search by unit": f"/console/cases?unit={case_unit(middle)}",
        "search by reference": f"/console/cases?reference={case_reference(middle)}",
        "search by orgnr": "/console/cases?orgnr=920000002",
        "case": case_page,
        "message": f"/console/messages/{message_id.group(1)}",
        "participants": "/console/participants",
        "dead letters": "/console/dead-letters",
    }


async def time_pages(client: TestClient, paths: dict[str, str], repeat: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    for name, path in paths.items():
        await client.get(path)  # warm-up: template compilation, statement caches
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = await client.get(path)
            await response.read()
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, (path, response.status)
        timings[name] = samples
    return timings


async def start_broker(directory: Path) -> tuple[TestClient, Any]:
    pki = init_test_pki(directory / "pki", DEMO_ORGANISATIONS, (), key_type="ec")
    settings = Settings(
        data_dir=directory / "data",
        database_url=f"sqlite+aiosqlite:///{directory / 'broker.db'}",
        trust_ca_files=(pki.ca_cert_path,),
        lifecycle_interval_s=3600,
    )
    app = create_app(settings)
    client = TestClient(TestServer(app))
    await client.start_server()
    services = app[SERVICES]
    entries = read_catalogue_entries(REPO_XSD_DIR)
    await register_participants(
        services.engine,
        [
            build_participant(
                orgnr=orgnr,
                role=ROLES[orgnr],
                name=name,
                certificate_pem=pki.enterprise[orgnr].cert_path.read_text(),
                entries=entries,
            )
            for orgnr, name in DEMO_ORGANISATIONS
        ],
    )
    return client, app


async def run(count: int, repeat: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        client, app = await start_broker(Path(tmp))
        try:
            engine = app[SERVICES].engine
            started = time.perf_counter()
            cases = await fill_store(engine, count)
            print(f"stored {count} messages in {cases} cases: {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            await app[CONSOLE_APP][PROPERTY_INDEXER].catch_up(budget_s=600)
            print(f"property-unit index complete after {time.perf_counter() - started:.1f} s more")
            await add_operator(engine)
            await sign_in(client)
            timings = await time_pages(client, await page_paths(client, cases), repeat)
        finally:
            await client.close()
    ok = True
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'page':<22}{'median ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, samples in timings.items():
        p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]
        print(f"{name:<22}{statistics.median(samples):>10.1f}{p95:>10.1f}{max(samples):>10.1f}")
        ok = ok and statistics.median(samples) < GOAL_MS
    print(f"goal: every page's median under {GOAL_MS:.0f} ms: {'met' if ok else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    return 0 if asyncio.run(run(args.messages, args.repeat)) else 1


if __name__ == "__main__":
    sys.exit(main())
