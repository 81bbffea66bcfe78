"""``dsve serve --tls-cert --tls-key``: the broker serves HTTPS itself, for deployments without a proxy."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from broker.xml.pki import TestPki
from tests.http.served import RUN_CLI, serve_command


def _server_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls.pem", directory / "tls-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file.write_bytes(key_pem)
    key_file.chmod(0o600)
    return cert_file, key_file


def test_serve_speaks_tls_and_the_console_cookie_is_secure(tmp_path: Path, test_pki: TestPki) -> None:
    cert_file, key_file = _server_certificate(tmp_path)
    client = ssl.create_default_context(cafile=str(cert_file))
    args = ("--tls-cert", str(cert_file), "--tls-key", str(key_file))
    with serve_command(tmp_path, test_pki, {}, args, tls=client) as port:
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/console/login", context=client, timeout=5) as page:
            assert page.status == 200
            assert all("Secure" in cookie for cookie in page.headers.get_all("Set-Cookie"))
        with pytest.raises(OSError):  # plain HTTP on the TLS port is no way in
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()


def test_serve_names_the_settings_when_the_key_is_missing(tmp_path: Path, test_pki: TestPki) -> None:
    cert_file, _ = _server_certificate(tmp_path)
    run = subprocess.run(
        [sys.executable, "-c", RUN_CLI, "serve", "--tls-cert", str(cert_file)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "DSVE_DATA_DIR": str(tmp_path / "data"),
            "DSVE_TRUST_CA_FILES": str(test_pki.ca_cert_path),
            "PATH": "",
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
    )
    assert run.returncode == 2
    assert "DSVE_TLS_KEY_FILE" in run.stderr and "--tls-key" in run.stderr
