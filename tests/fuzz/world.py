"""What the fuzz targets run against: the repository's catalogue, a test PKI made at run time, the broker's
verifier and use-case services, and the seeds (the catalogue's valid and invalid examples, unsigned,
signed by their senders, and the mortgage deed signed by its mortgagors as well).

Built once per process (key generation is the slow part); nothing is written outside a temporary directory.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from broker.auth.access_tokens import AccessTokens
from broker.auth.grant import GrantPolicy
from broker.config import REPO_XSD_DIR, Settings
from broker.domain.participants import Participant
from broker.registry import build_participant, read_catalogue_entries
from broker.store.engine import create_engine
from broker.usecases.services import Services
from broker.usecases.storing import AfterCommit, StoreEach
from broker.xml.catalogue import Catalogue
from broker.xml.inner_signatures import SignedDocuments, named_signers
from broker.xml.keys import SigningCredential
from broker.xml.pki import DEMO_ORGANISATIONS, DEMO_PERSONS, TestPki, init_test_pki, issue_certificate
from broker.xml.signing import sign_enveloped, sign_inner_document
from broker.xml.trust import TrustStore
from broker.xml.verification import SignatureVerifier

T = TypeVar("T")
EXAMPLES = REPO_XSD_DIR / "examples"
AUDIENCE = "dsve-broker"
ROLES = {"910000004": "bank", "920000002": "bank", "930000000": "megler", "971040238": "kartverket"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@dataclass(frozen=True, slots=True)
class Seed:
    """One starting document: its bytes, the orgnr that sends it (the caller) and whether it is signed."""

    name: str
    data: bytes
    sender: str
    signed: bool


@dataclass(slots=True)
class World:
    pki: TestPki
    catalogue: Catalogue
    verifier: SignatureVerifier
    services: Services
    trust: TrustStore
    tokens: AccessTokens
    policy: GrantPolicy
    participants: dict[str, Participant]
    credentials: dict[str, SigningCredential]
    seeds: list[Seed]
    unsigned: dict[str, bytes]  # example name → unsigned bytes (the re-signing mutators start here)
    odd_certificates: list[x509.Certificate]  # for x5c: other CAs, other key types, persons, the CA itself
    scratch: Path  # where the ZIP target writes its upload (the reader reads from a file, as uploads are kept)
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)

    def close(self) -> None:
        self.loop.run_until_complete(self.services.engine.dispose())
        self.loop.close()

    def run(self, coroutine: Coroutine[object, object, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def sender_of(self, root: etree._Element) -> str:
        for element in root.iter("{*}orgnr"):
            parent = element.getparent()
            if parent is not None and etree.QName(parent).localname == "avsender":
                return (element.text or "").strip()
        return ""

    def sign(self, root: etree._Element, name: str) -> bytes:
        """Sign a document as its sender (and its inner documents as those they name); the input is kept."""
        tree = copy.deepcopy(root)
        assert self.services.signed_documents is not None
        for tag, document in self.services.signed_documents.documents.items():
            for element in list(tree.iter(tag)):
                container = element.getnext()
                if container is None or etree.QName(container).localname != "signaturer" or len(container):
                    continue
                for identifier in sorted(named_signers(element, document)):
                    credential = self.credentials.get(identifier)
                    if credential is not None and element.get("Id"):
                        sign_inner_document(tree, element.get("Id", ""), container, credential)
        sender = self.sender_of(tree)
        credential = self.credentials.get(sender, self.credentials["910000004"])
        return etree.tostring(sign_enveloped(tree, credential), xml_declaration=True, encoding="UTF-8")


def _odd_certificates(pki: TestPki) -> list[x509.Certificate]:
    """Certificates a grant's x5c might carry that the broker must refuse without failing."""
    other_key, other_ca = _self_signed(rsa.generate_private_key(public_exponent=65537, key_size=2048), "Other CA")
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "NTRNO-910000004")])
    _, foreign = issue_certificate(other_key, other_ca, name, "ec")
    _, small_rsa = _self_signed(rsa.generate_private_key(public_exponent=65537, key_size=1024), "small")
    _, edwards = _self_signed(ed25519.Ed25519PrivateKey.generate(), "edwards")
    _, p384 = _self_signed(ec.generate_private_key(ec.SECP384R1()), "p384")
    person = x509.load_pem_x509_certificate(next(iter(pki.persons.values())).cert_path.read_bytes())
    return [pki.ca_certificate(), other_ca, foreign, small_rsa, edwards, p384, person]


def _self_signed(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, name: str
) -> tuple[rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, x509.Certificate]:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "NTRNO-910000004"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
    )
    cert = builder.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256())
    signing_key = key if not isinstance(key, ed25519.Ed25519PrivateKey) else ec.generate_private_key(ec.SECP256R1())
    return signing_key, cert


def build_world(directory: Path | None = None) -> World:
    """The whole fuzzing world; ``directory`` holds the PKI (a temporary one when not given)."""
    where = directory or Path(tempfile.mkdtemp(prefix="dsve-fuzz-"))
    # EC keys sign and verify fastest; one bank gets RSA so both signature methods are exercised.
    pki = init_test_pki(where / "pki", DEMO_ORGANISATIONS, DEMO_PERSONS, key_type="ec")
    rsa_pki = init_test_pki(where / "pki-rsa", DEMO_ORGANISATIONS[:1], (), key_type="rsa")
    catalogue = Catalogue.load(REPO_XSD_DIR)
    catalogue.compile_all()
    trust = TrustStore([pki.ca_certificate(), rsa_pki.ca_certificate()])
    verifier = SignatureVerifier(trust)
    settings = Settings(data_dir=where, xsd_dir=REPO_XSD_DIR)
    engine = create_engine(f"sqlite+aiosqlite:///{where / 'unused.db'}")  # the checks never touch the store
    writer = StoreEach(engine, settings.message_ttl_s, AfterCommit(lambda: None, lambda _: None))
    services = Services(
        settings=settings,
        engine=engine,
        catalogue=catalogue,
        verifier=verifier,
        writer=writer,
        signed_documents=SignedDocuments.load(REPO_XSD_DIR),
        inner_verifier=verifier,
    )
    entries = read_catalogue_entries(REPO_XSD_DIR)
    credentials = {orgnr: pki.credential(orgnr) for orgnr, _ in DEMO_ORGANISATIONS}
    credentials.update({fnr: pki.credential(fnr) for fnr, _ in DEMO_PERSONS})
    participants = {
        orgnr: build_participant(
            orgnr=orgnr,
            role=ROLES[orgnr],
            name=name,
            certificate_pem=pki.enterprise[orgnr].cert_path.read_text(),
            entries=entries,
        )
        for orgnr, name in DEMO_ORGANISATIONS
    }
    from broker.auth.broker_key import load_or_create_token_key

    tokens = AccessTokens(load_or_create_token_key(where / "token-key.pem"), AUDIENCE, 300)
    world = World(
        pki=pki,
        catalogue=catalogue,
        verifier=verifier,
        services=services,
        trust=trust,
        tokens=tokens,
        policy=GrantPolicy(audience=AUDIENCE, max_lifetime_s=120),
        participants=participants,
        credentials=credentials,
        seeds=[],
        unsigned={},
        odd_certificates=_odd_certificates(pki),
        scratch=where,
    )
    world.credentials["rsa:910000004"] = rsa_pki.credential("910000004")
    _add_seeds(world)
    return world


def _add_seeds(world: World) -> None:
    for path in sorted(EXAMPLES.glob("*.xml")):
        data = path.read_bytes()
        root = etree.fromstring(data, _PARSER)
        sender = world.sender_of(root)
        world.unsigned[path.stem] = data
        world.seeds.append(Seed(path.stem, data, sender, signed=False))
        world.seeds.append(Seed(path.stem, world.sign(root, path.stem), sender, signed=True))
    for path in sorted((EXAMPLES / "invalid").glob("*.xml")):
        data = path.read_bytes()
        world.seeds.append(Seed(f"invalid/{path.stem}", data, world.sender_of(etree.fromstring(data, _PARSER)), False))
