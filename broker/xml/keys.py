"""Signing credentials: a private key with its certificate and chain, loaded once and reused.

Parsing a PEM key costs far more than a signature, so a process loads each credential once (``from_files``
caches by path and modification time) and keeps the object for every message it signs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CredentialError(ValueError):
    """A key or certificate file that cannot serve as a signing credential."""


def _key_info(key: CertificatePublicKeyTypes) -> bytes:
    """The SubjectPublicKeyInfo of a key: equal for the same key of any algorithm a certificate can hold."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclass(frozen=True, slots=True)
class SigningCredential:
    """What a signer needs: the private key, its certificate and any intermediate certificates.

    ``chain`` holds intermediates only (leaf first order, root excluded): verifiers pin their own roots,
    so sending a root would add bytes without adding trust.
    """

    private_key: SigningKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise CredentialError("only RSA and EC private keys can sign")
        if isinstance(self.private_key, ec.EllipticCurvePrivateKey) and not isinstance(
            self.private_key.curve, ec.SECP256R1
        ):
            raise CredentialError("EC keys must use the P-256 curve")
        if _key_info(self.private_key.public_key()) != _key_info(self.certificate.public_key()):
            raise CredentialError("the private key does not belong to the certificate")

    @property
    def is_ec(self) -> bool:
        return isinstance(self.private_key, ec.EllipticCurvePrivateKey)

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of the certificate, hex: how logs and caches name a signer."""
        return self.certificate.fingerprint(hashes.SHA256()).hex()

    @property
    def certificates(self) -> list[x509.Certificate]:
        """The leaf followed by its intermediates, as they go into KeyInfo."""
        return [self.certificate, *self.chain]

    @classmethod
    def from_pem(cls, key_pem: bytes, cert_pem: bytes, password: bytes | None = None) -> SigningCredential:
        """A credential from PEM bytes; ``cert_pem`` may hold the leaf followed by intermediates."""
        try:
            key = serialization.load_pem_private_key(key_pem, password=password)
        except (ValueError, TypeError) as exc:
            raise CredentialError(f"unreadable private key: {exc}") from exc
        try:
            certs = x509.load_pem_x509_certificates(cert_pem)
        except ValueError as exc:
            raise CredentialError(f"unreadable certificate: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise CredentialError("only RSA and EC private keys can sign")
        return cls(private_key=key, certificate=certs[0], chain=tuple(certs[1:]))

    @classmethod
    def from_files(cls, key_path: str | os.PathLike[str], cert_path: str | os.PathLike[str]) -> SigningCredential:
        """A credential from a PEM key file and a PEM certificate file, cached per path and file version."""
        key_file, cert_file = Path(key_path).resolve(), Path(cert_path).resolve()
        try:
            key_stamp, cert_stamp = key_file.stat().st_mtime_ns, cert_file.stat().st_mtime_ns
        except OSError as exc:
            raise CredentialError(f"cannot read credential file: {exc}") from exc
        return _load_files(str(key_file), key_stamp, str(cert_file), cert_stamp)


@lru_cache(maxsize=64)
def _load_files(key_path: str, key_stamp: int, cert_path: str, cert_stamp: int) -> SigningCredential:
    """Cached by modification stamps too, so a credential re-issued in place is read afresh."""
    return SigningCredential.from_pem(Path(key_path).read_bytes(), Path(cert_path).read_bytes())
