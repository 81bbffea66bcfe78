"""A test PKI: a CA, enterprise certificates (virksomhetssertifikat) and personal "BankID" certificates.

Real enterprise certificates name the organisation in ``organizationIdentifier`` as ``NTRNO-<orgnr>``
(ETSI EN 319 412-1), and BankID-like personal certificates carry the fødselsnummer in ``serialNumber``;
the test certificates follow the same shapes so the broker reads identities exactly as it would in
production. Keys are made at run time and written with mode 0600; they never belong in the repository.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from broker.secret_files import write_private_file
from broker.xml.keys import SigningCredential, SigningKey

KeyType = Literal["rsa", "ec"]

DEMO_ORGANISATIONS: tuple[tuple[str, str], ...] = (
    ("910000004", "Nordlys Sparebank"),
    ("920000002", "Fjellkysten Bank ASA"),
    ("930000000", "Fjordmegleren Oppgjør AS"),
    ("971040238", "Kartverket"),
)

# Synthetic test numbers (birth month + 80), never real people: the buyers and the sellers of the
# examples in xsd/examples.
DEMO_PERSONS: tuple[tuple[str, str], ...] = (
    ("15889210181", "Kari Nordmann"),
    ("03928810037", "Ola Nordmann"),
    ("22817510020", "Per Hansen"),
    ("04876610170", "Ingrid Hansen"),
)

CA_NAME = "DSVE Test CA"
CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
ENTERPRISE_DIR = "enterprise"
PERSONS_DIR = "persons"
_KEY_SUFFIX = "-key.pem"
_CERT_SUFFIX = ".pem"
_DEFAULT_VALIDITY = dt.timedelta(days=3 * 365)
_BACKDATE = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class CredentialFiles:
    """Where one credential lives on disk."""

    key_path: Path
    cert_path: Path

    def load(self) -> SigningCredential:
        return SigningCredential.from_files(self.key_path, self.cert_path)


@dataclass(frozen=True, slots=True)
class TestPki:
    """A CA and the credentials it issued, by orgnr and by fødselsnummer."""

    __test__ = False  # a data class, not a pytest test class

    directory: Path
    ca_cert_path: Path
    ca_key_path: Path
    enterprise: dict[str, CredentialFiles] = field(default_factory=dict)
    persons: dict[str, CredentialFiles] = field(default_factory=dict)

    def ca_certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.ca_cert_path.read_bytes())

    def ca_private_key(self) -> SigningKey:
        key = serialization.load_pem_private_key(self.ca_key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
        return key

    def credential(self, identifier: str) -> SigningCredential:
        """The loaded credential of an orgnr or a fødselsnummer."""
        files = self.enterprise.get(identifier) or self.persons.get(identifier)
        if files is None:
            raise KeyError(f"no credential for {identifier[:6]} in this PKI")
        return files.load()


def generate_key(key_type: KeyType = "rsa") -> SigningKey:
    """RSA 2048 or ECDSA P-256: the two key types the broker's signature profile accepts."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r}; use 'rsa' or 'ec'")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_ca(
    name: str = CA_NAME,
    key_type: KeyType = "rsa",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[SigningKey, x509.Certificate]:
    """A self-signed root CA."""
    key = generate_key(key_type)
    start = not_before or _now() - _BACKDATE
    subject = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "DSVE Test"), x509.NameAttribute(NameOID.COMMON_NAME, name)]
    )
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + 2 * _DEFAULT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def enterprise_subject(orgnr: str, name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTRNO-{orgnr}"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


def personal_subject(fodselsnummer: str, name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, fodselsnummer),
        ]
    )


def issue_certificate(
    ca_key: SigningKey,
    ca_cert: x509.Certificate,
    subject: x509.Name,
    key_type: KeyType = "rsa",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    key: SigningKey | None = None,
) -> tuple[SigningKey, x509.Certificate]:
    """An end-entity signing certificate for ``subject``, issued by the given CA, with chosen validity."""
    key = key or generate_key(key_type)
    start = not_before or _now() - _BACKDATE
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or start + _DEFAULT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def private_key_pem(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_private_key(path: Path, key: SigningKey) -> None:
    """Write a key readable by its owner only; the file is created 0600, never widened after the fact."""
    if path.exists():
        path.unlink()
    write_private_file(path, private_key_pem(key))


def write_credential(directory: Path, stem: str, key: SigningKey, cert: x509.Certificate) -> CredentialFiles:
    """Write ``<stem>-key.pem`` (0600) and ``<stem>.pem`` into ``directory``."""
    files = CredentialFiles(key_path=directory / f"{stem}{_KEY_SUFFIX}", cert_path=directory / f"{stem}{_CERT_SUFFIX}")
    write_private_key(files.key_path, key)
    files.cert_path.write_bytes(certificate_pem(cert))
    return files


def init_test_pki(
    directory: str | os.PathLike[str],
    organisations: Iterable[tuple[str, str]] = DEMO_ORGANISATIONS,
    persons: Iterable[tuple[str, str]] = DEMO_PERSONS,
    key_type: KeyType = "rsa",
) -> TestPki:
    """Create a CA in ``directory`` and issue one credential per organisation and per person.

    Layout: ``ca.pem``, ``ca-key.pem``, ``enterprise/<orgnr>.pem`` + ``-key.pem``, ``persons/<fnr>.pem``
    + ``-key.pem``. An existing PKI in the directory is replaced.
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = create_ca(key_type=key_type)
    write_private_key(root / CA_KEY_FILE, ca_key)
    (root / CA_FILE).write_bytes(certificate_pem(ca_cert))
    enterprise: dict[str, CredentialFiles] = {}
    for orgnr, name in organisations:
        key, cert = issue_certificate(ca_key, ca_cert, enterprise_subject(orgnr, name), key_type)
        enterprise[orgnr] = write_credential(root / ENTERPRISE_DIR, orgnr, key, cert)
    people: dict[str, CredentialFiles] = {}
    for fnr, name in persons:
        key, cert = issue_certificate(ca_key, ca_cert, personal_subject(fnr, name), key_type)
        people[fnr] = write_credential(root / PERSONS_DIR, fnr, key, cert)
    return TestPki(root, root / CA_FILE, root / CA_KEY_FILE, enterprise, people)


def _credentials_in(directory: Path) -> dict[str, CredentialFiles]:
    found: dict[str, CredentialFiles] = {}
    if not directory.is_dir():
        return found
    for key_path in sorted(directory.glob(f"*{_KEY_SUFFIX}")):
        stem = key_path.name[: -len(_KEY_SUFFIX)]
        cert_path = directory / f"{stem}{_CERT_SUFFIX}"
        if cert_path.is_file():
            found[stem] = CredentialFiles(key_path, cert_path)
    return found


def load_test_pki(directory: str | os.PathLike[str]) -> TestPki:
    """Open a PKI that ``init_test_pki`` (or ``dsve pki init``) wrote earlier."""
    root = Path(directory)
    if not (root / CA_FILE).is_file():
        raise FileNotFoundError(f"no test PKI in {root} (missing {CA_FILE})")
    return TestPki(
        root,
        root / CA_FILE,
        root / CA_KEY_FILE,
        _credentials_in(root / ENTERPRISE_DIR),
        _credentials_in(root / PERSONS_DIR),
    )
