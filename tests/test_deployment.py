"""The compose deployment is valid and wires every part the way the broker reads its settings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SERVICES = {"rabbitmq", "postgres", "pki-init", "broker", "kartverket", "bank", "megler"}
# The "cluster" profile: three RabbitMQ nodes sharing a cookie, and a broker that takes all three.
CLUSTER_SERVICES = {"rabbitmq-cookie", "rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "broker-cluster"}


def _compose_config() -> dict:
    docker_compose = shutil.which("docker-compose")
    if docker_compose is None:
        pytest.fail("docker-compose (Debian package docker-compose) is needed to check the compose file")
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE), "config"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_complete() -> None:
    config = _compose_config()
    assert set(config["services"]) == SERVICES | CLUSTER_SERVICES
    for name in ("rabbitmq", "postgres", "broker"):
        assert "healthcheck" in config["services"][name], name


def test_every_dsve_variable_in_compose_is_a_known_setting() -> None:
    config = _compose_config()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, service in config["services"].items():
        for variable in service.get("environment", {}):
            if variable.startswith("DSVE_"):
                assert f"`{variable}`" in readme, f"{name}: {variable} is not documented in the README"


def test_simulators_start_after_a_healthy_broker() -> None:
    config = _compose_config()
    for name in ("kartverket", "bank", "megler"):
        depends = config["services"][name]["depends_on"]
        assert depends["broker"]["condition"] == "service_healthy"


def test_cluster_profile_gives_the_broker_every_node() -> None:
    config = _compose_config()
    for name in CLUSTER_SERVICES:
        assert config["services"][name].get("profiles") == ["cluster"], name
    broker = config["services"]["broker-cluster"]
    url = broker["environment"]["DSVE_AMQP_URL"]
    assert all(f"rabbitmq-{n}:5672" in url for n in (1, 2, 3))
    assert {f"rabbitmq-{n}" for n in (1, 2, 3)} <= set(broker["depends_on"])
