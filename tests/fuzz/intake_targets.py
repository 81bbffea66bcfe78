"""Fuzz targets for the readers of untrusted bytes outside the native submit pipeline.

The Altinn-compatible file transfers' package check (the ZIP, its manifest, the official DSVE schema set and
Kartverket's e-tinglysing set: parse, XSD, identifier rules, routing fields), Kartverket's intake of a
forsendelse in the simulator (a ZIP or XML, the schema, the decoding and its signatures), the bearer token
every API call and Altinn's token exchange read, and a webhook subscription's JSON. Seeded from the
third-party examples (valid and invalid) and from what the broker itself issues. An input may be accepted or
refused as a client's mistake; any other exception, or a refusal with a 5xx status, is a finding.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from dataclasses import dataclass, field

from lxml import etree

from broker.domain.errors import Refusal
from broker.events.webhook_endpoints import EndpointRefused
from broker.http.webhooks import read_subscription_request
from broker.schemasets.configured import open_set
from broker.schemasets.package import PackageValidator
from broker.usecases.webhook_subscriptions import checked_subscription
from participants.kartverket.etinglysing.schema import Unreadable
from participants.kartverket.etinglysing.service import ETinglysing, UnknownInnsending
from participants.kartverket.register import LandRegister
from participants.kartverket.seed import seed
from tests.fixtures.third_party import DSVE_SPEC, INNSENDING, KARTVERKET_EXAMPLES
from tests.fuzz.mutations import mutate_bytes
from tests.fuzz.targets import Finding, Outcome, _refused
from tests.fuzz.world import World
from tests.schemasets.packages import STALE, VALID

KARTVERKET = "971040238"
BANK = "910000004"
MEGLER = "930000000"
SCHEMA_SETS = (("dsve", DSVE_SPEC), ("etinglysing", INNSENDING))
# The sender's role comes from the registry (a Role, or None for an unknown sender), never from the client.
_ROLES = ("bank", "megler", "kartverket", "oppgjoersforetak", "")
_ODD_NAMES = ("../x.xml", "a/b.xml", "x.txt", " .xml", "/abs.xml")
_ODD_VALUES = ("", " ", "\x00", "Ø" * 300, "1" * 9, "../../etc/passwd", "a" * 70_000, "{}", "null", "\ud800")


@dataclass(frozen=True, slots=True)
class PackageSeed:
    schema_set: str
    name: str  # the file's name in the ZIP
    data: bytes
    properties: dict[str, str]
    role: str
    sender: str
    recipients: tuple[str, ...]
    valid: bool  # the seed as it is passes every check


@dataclass(slots=True)
class Intake:
    """What these targets need beside the native world: the schema sets' validators, Kartverket's service."""

    validators: dict[str, PackageValidator]
    packages: list[PackageSeed]
    kartverket: ETinglysing
    forsendelser: list[bytes]
    tokens: list[str] = field(default_factory=list)
    webhooks: list[bytes] = field(default_factory=list)

    def close(self, world: World) -> None:
        """Close the land register's database (left open, its connection is collected during a later test)."""
        world.run(self.kartverket.register.close())


def build_intake(world: World) -> Intake:
    """The package validators on the third-party schemas, a Kartverket simulator on a land register of its own."""
    # The official examples carry placeholder personal, account and KID numbers: checked as a test environment
    # does (DSVE_ACCEPT_TEST_IDENTIFIERS: recorded, not refused; the parties' orgnrs still enforced), so that the
    # mutations start from packages that reach the routing fields behind the identifier rules.
    validators = {
        name: PackageValidator(open_set(name, path), accept_test_identifiers=True) for name, path in SCHEMA_SETS
    }
    packages = []
    for example in (*VALID, *STALE):  # the sender and recipient as the example's routing fields name them
        routing = validators["dsve"].schema_set.routing_values(example.message_type, etree.fromstring(example.data()))
        recipients = (routing["recipient"],) if "recipient" in routing else ()
        packages.append(
            PackageSeed(
                "dsve",
                example.zip_name,
                example.data(),
                example.manifest(),
                example.role,
                routing.get("sender", BANK),
                recipients,
                example in VALID,
            )
        )
    examples = sorted(KARTVERKET_EXAMPLES.glob("*.xml"))
    forsendelser = [path.read_bytes() for path in examples]
    packages += [
        PackageSeed(
            "etinglysing",
            path.name,
            path.read_bytes(),
            {"operation": _operation(path.stem)},
            "megler",
            MEGLER,
            (KARTVERKET,),
            path.stem != "ugyldig",
        )
        for path in examples
    ]

    async def open_kartverket() -> ETinglysing:
        register = await LandRegister.open(f"sqlite+aiosqlite:///{world.scratch / 'grunnbok.db'}")
        await seed(register)
        service = ETinglysing(register, INNSENDING.parent)
        await service.prepare()
        return service

    tokens = [world.tokens.issue(orgnr, ("dsve:messages",)).access_token for orgnr in (BANK, MEGLER)]
    webhooks = [
        json.dumps(body).encode()
        for body in (
            {"endPoint": "https://receiver.example.no/hook", "resourceFilter": "kv_dsve"},
            {
                "endPoint": "https://51.174.10.9:8443/e",
                "resourceFilter": "urn:altinn:resource:kv_etinglysing",
                "typeFilter": ["no.altinn.broker.published"],
            },
            {
                "endPoint": "https://x.example/h",
                "resourceFilter": "kv_dsve",
                "typeFilter": "no.altinn.broker.filepurged",
            },
        )
    ]
    return Intake(validators, packages, world.run(open_kartverket()), forsendelser, tokens, webhooks)


def _operation(example: str) -> str:
    """What Kartverket is asked to do with an example: the one status query among them asks for a status."""
    return "hentStatus" if example == "hentStatus" else "valider"


def _zip(files: list[tuple[str, bytes]], rnd: random.Random) -> bytes:
    out = io.BytesIO()
    method = rnd.choice((zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED))
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in files:
            archive.writestr(name, data)
    data = out.getvalue()
    if rnd.random() < 0.2:  # a broken archive: the reader's own checks, not only the XML behind them
        return mutate_bytes(data, rnd, data)
    return data


def _mutated_properties(properties: dict[str, str], rnd: random.Random) -> dict[str, str]:
    changed = dict(properties)
    for _ in range(rnd.randint(1, 3)):
        what = rnd.random()
        if what < 0.3 and changed:
            del changed[rnd.choice(sorted(changed))]
        elif what < 0.7 and changed:
            changed[rnd.choice(sorted(changed))] = rnd.choice(_ODD_VALUES)
        else:
            changed[rnd.choice(("messageType", "operation", "status", "x" * 300, ""))] = rnd.choice(_ODD_VALUES)
    return changed


def check_package(world: World, intake: Intake, rnd: random.Random) -> Outcome:
    """A file transfer's package as the upload checks it: the manifest, the ZIP, every file of it."""
    seed = rnd.choice(intake.packages)
    data = seed.data if rnd.random() < 0.1 else mutate_bytes(seed.data, rnd, rnd.choice(intake.packages).data)
    files = [(seed.name if rnd.random() < 0.9 else rnd.choice(_ODD_NAMES), data)]
    if rnd.random() < 0.1:
        files.append((f"second-{rnd.randint(0, 9)}.xml", rnd.choice(intake.packages).data))
    package = _zip(files, rnd)
    properties = seed.properties if rnd.random() < 0.3 else _mutated_properties(seed.properties, rnd)
    role = seed.role if rnd.random() < 0.8 else rnd.choice(_ROLES)
    return check_package_bytes(world, intake, seed, package, properties, role)


def check_package_bytes(
    world: World, intake: Intake, seed: PackageSeed, package: bytes, properties: dict[str, str], role: str
) -> Outcome:
    path = world.scratch / "package.zip"
    path.write_bytes(package)
    validator = intake.validators[seed.schema_set]
    try:
        report = validator.check_zip(path, properties, role or None, seed.sender, seed.recipients, {})
    except Exception as exc:
        raise _finding(f"package ({seed.schema_set}): {type(exc).__name__}: {exc}", package) from exc
    if report.errors:
        return Outcome("package", report.errors[0].code)
    return Outcome("package", "accepted")


def seed_package(seed: PackageSeed) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(seed.name, seed.data)
    return out.getvalue()


def check_forsendelse(world: World, intake: Intake, rnd: random.Random) -> Outcome:
    """Kartverket's simulator asked to validate a forsendelse (``valider``) or for a status: answered, or refused
    as unreadable (or as an unknown innsending)."""
    seed = rnd.choice(intake.packages[-len(intake.forsendelser) :])  # the Kartverket examples, with their operation
    operation = seed.properties["operation"]
    data = mutate_bytes(seed.data, rnd, rnd.choice(intake.forsendelser))
    if rnd.random() < 0.3:
        data = _zip([("forsendelse.xml", data)], rnd)
    try:
        world.run(intake.kartverket.handle(operation, data, MEGLER))
    except Unreadable:
        return Outcome("forsendelse", "unreadable")
    except UnknownInnsending:
        return Outcome("forsendelse", "unknown-innsending")
    except Exception as exc:
        raise _finding(f"forsendelse: {type(exc).__name__}: {exc}", data) from exc
    return Outcome("forsendelse", "answered")


def check_bearer(world: World, intake: Intake, rnd: random.Random) -> Outcome:
    """A bearer token as every API call (and Altinn's token exchange) reads it: the caller, or a 401."""
    token = rnd.choice(intake.tokens)
    raw = (
        token.encode() if rnd.random() < 0.1 else mutate_bytes(token.encode(), rnd, rnd.choice(intake.tokens).encode())
    )
    text = raw.decode("utf-8", "surrogateescape")
    try:
        world.tokens.authenticate(text)
    except Refusal as refusal:
        try:
            return _refused("bearer", refusal)
        except Finding as finding:
            finding.data = raw
            raise
    except Exception as exc:
        raise _finding(f"bearer: {type(exc).__name__}: {exc}", raw) from exc
    return Outcome("bearer", "accepted")


def check_webhook(world: World, intake: Intake, rnd: random.Random) -> Outcome:
    """A webhook subscription's body as the API reads and checks it (before it is stored)."""
    seed = rnd.choice(intake.webhooks)
    body = mutate_bytes(seed, rnd, rnd.choice(intake.webhooks)) if rnd.random() < 0.9 else seed
    try:
        request = read_subscription_request(body)
        checked_subscription(BANK, request.endpoint, request.resource, request.event_types, allow_loopback=False)
    except Refusal as refusal:
        try:
            return _refused("webhook", refusal)
        except Finding as finding:
            finding.data = body
            raise
    except EndpointRefused:
        raise _finding("webhook: an endpoint refusal escaped as EndpointRefused (a 500)", body) from None
    except Exception as exc:
        raise _finding(f"webhook: {type(exc).__name__}: {exc}", body) from exc
    return Outcome("webhook", "accepted")


def _finding(message: str, data: bytes) -> Finding:
    finding = Finding(message)
    finding.data = data
    return finding


INTAKE_TARGETS = (check_package, check_forsendelse, check_bearer, check_webhook)


def one_intake_execution(world: World, intake: Intake, rnd: random.Random) -> Outcome:
    return rnd.choice(INTAKE_TARGETS)(world, intake, rnd)
