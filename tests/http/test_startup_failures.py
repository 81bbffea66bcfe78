"""Every start-up failure names the setting at fault and what fixes it, without a traceback.

A newcomer's ``dsve serve`` on a fresh data directory died with ``cannot start: [Errno 2] No such file or
directory: '…/pki/ca.pem'``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from broker.xml.pki import TestPki
from tests.http.served import RUN_CLI, free_port


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DSVE_")}
    environment.update({"DSVE_DATA_DIR": str(tmp_path / "data"), **env})
    return subprocess.run(
        [sys.executable, "-c", RUN_CLI, "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def _says(run: subprocess.CompletedProcess[str], *words: str) -> None:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    for word in words:
        assert word in run.stderr, run.stderr


def test_a_fresh_data_directory_says_what_to_run(tmp_path: Path) -> None:
    run = _serve(tmp_path, {}, "--port", str(free_port()))
    _says(run, "DSVE_TRUST_CA_FILES", f"dsve sim init {tmp_path / 'data' / 'pki'}")


def test_an_unusable_token_key(tmp_path: Path, test_pki: TestPki) -> None:
    key = tmp_path / "token-key.pem"
    key.write_text("not a key")
    env = {"DSVE_TRUST_CA_FILES": str(test_pki.ca_cert_path), "DSVE_TOKEN_KEY_FILE": str(key)}
    _says(_serve(tmp_path, env, "--port", str(free_port())), "DSVE_TOKEN_KEY_FILE", "move it away")


def test_an_unreachable_database_without_its_password(tmp_path: Path, test_pki: TestPki) -> None:
    url = f"postgresql+asyncpg://postgres:hush-hush@127.0.0.1:{free_port()}/nothing"
    env = {"DSVE_TRUST_CA_FILES": str(test_pki.ca_cert_path), "DSVE_DATABASE_URL": url}
    run = _serve(tmp_path, env, "--port", str(free_port()))
    _says(run, "DSVE_DATABASE_URL", "dsve db current")
    assert "hush-hush" not in run.stderr


def test_an_unreachable_rabbitmq(tmp_path: Path, test_pki: TestPki) -> None:
    env = {"DSVE_TRUST_CA_FILES": str(test_pki.ca_cert_path), "DSVE_AMQP_URL": f"amqp://127.0.0.1:{free_port()}/"}
    _says(_serve(tmp_path, env, "--port", str(free_port())), "DSVE_AMQP_URL", "start RabbitMQ")


@pytest.mark.parametrize(
    ("env", "setting"),
    [({"DSVE_PORT": "eighty"}, "DSVE_PORT"), ({"DSVE_XSD_DIR": "/nowhere/xsd"}, "DSVE_XSD_DIR")],
    ids=["bad-number", "missing-schemas"],
)
def test_a_bad_setting(tmp_path: Path, test_pki: TestPki, env: dict[str, str], setting: str) -> None:
    _says(_serve(tmp_path, {"DSVE_TRUST_CA_FILES": str(test_pki.ca_cert_path), **env}), setting)


def test_a_port_in_use(tmp_path: Path, test_pki: TestPki) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = _serve(tmp_path, {"DSVE_TRUST_CA_FILES": str(test_pki.ca_cert_path)}, "--port", str(port))
    _says(run, "DSVE_PORT", "--port")
