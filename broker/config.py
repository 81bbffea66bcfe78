"""Settings from the environment, with embedded defaults that need no outside service.

Every variable is listed in the README. Nothing secret has a default: keys and certificates come from
files named here (or made by ``dsve pki init``), never from the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from broker.xml.settings import REPO_XSD_DIR, XmlLimits, limits_from_env, xsd_dir_from_env
from broker.xml.settings import env_int as _env_int

__all__ = ["REPO_XSD_DIR", "Settings", "XmlLimits"]


def _env(environ: dict[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip()
    return value or default


def _env_float(environ: dict[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _env_networks(environ: dict[str, str], name: str) -> tuple[str, ...]:
    entries = tuple(p.strip() for p in environ.get(name, "").split(",") if p.strip())
    if not entries:
        return ()
    import ipaddress  # here: only a deployment behind proxies pays for the import

    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(f"{name} must list IP addresses or networks separated by commas, got {entry!r}") from None
    return entries


def _env_listen(environ: dict[str, str], name: str) -> tuple[str, int] | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{name} must be host:port, such as 127.0.0.1:9464, got {raw!r}")
    return host.strip("[]"), int(port)


def _env_path(environ: dict[str, str], name: str) -> Path | None:
    raw = environ.get(name, "").strip()
    return Path(raw) if raw else None


def _env_bool(environ: dict[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _schema_sets(raw: str) -> tuple[tuple[str, Path], ...]:
    """``dsve=DIR,etinglysing=DIR``: the directories that hold each schema set's third-party schemas."""
    pairs = []
    for item in raw.split(","):
        if not item.strip():
            continue
        name, sep, directory = item.partition("=")
        if not sep or not name.strip() or not directory.strip():
            raise ValueError(f"DSVE_SCHEMA_SETS: {item.strip()!r} is not name=DIR")
        pairs.append((name.strip(), Path(directory.strip())))
    return tuple(pairs)


def default_check_workers() -> int:
    """One check worker process where there is a second core for it (``broker/usecases/check_workers.py``)."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("dsve-data")
    database_url: str = ""
    amqp_url: str | None = None
    amqp_prefix: str = "dsve"
    amqp_quorum_group_size: int = 0
    # The management plugin's API: the registry commands revoke and grant participants' own RabbitMQ users.
    amqp_management_url: str | None = None
    amqp_participant_user: str = "{orgnr}"  # the name of a participant's RabbitMQ user
    xsd_dir: Path = REPO_XSD_DIR
    trust_ca_files: tuple[Path, ...] = ()
    token_key_file: Path | None = None
    token_audience: str = "dsve-broker"
    token_lifetime_s: int = 300
    grant_max_lifetime_s: int = 120
    message_ttl_s: int = 30 * 24 * 3600
    retention_s: int = 90 * 24 * 3600
    lifecycle_interval_s: int = 60
    refusal_flush_interval_s: int = 5
    limits: XmlLimits = field(default_factory=XmlLimits)
    host: str = "127.0.0.1"
    port: int = 8080
    access_log: bool = False
    log_level: str = "INFO"
    participants_file: Path | None = None
    group_commit_max: int = 256
    group_commit_linger_ms: float = 5.0
    check_workers: int = 0
    store_maintenance_interval_s: int = 5
    outbox_high_water: int = 500
    schema_sets: tuple[tuple[str, Path], ...] = ()
    identifier_checks: str = ""
    accept_test_identifiers: bool = False
    conversation_rules: str = ""
    webhook_allow_loopback: bool = False
    webhook_max_attempts: int = 10
    webhook_retry_base_s: float = 2.0
    webhook_retry_max_s: float = 3600.0
    webhook_timeout_s: float = 10.0
    webhook_poll_interval_s: float = 1.0
    body_timeout_s: float = 30.0
    trusted_proxies: tuple[str, ...] = ()
    trust_personal_ca_files: tuple[Path, ...] = ()
    metrics_token: str | None = None
    metrics_listen: tuple[str, int] | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    keepalive_timeout_s: float = 15.0
    file_store_dir: Path | None = None
    max_file_transfer_size: int = 10 * 1024**3
    upload_stall_timeout_s: int = 3600
    service_owners: frozenset[str] = frozenset()

    @property
    def effective_file_store_dir(self) -> Path:
        return self.file_store_dir or self.data_dir / "files"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.data_dir / 'broker.db').resolve()}"

    @property
    def effective_trust_ca_files(self) -> tuple[Path, ...]:
        return self.trust_ca_files or (self.data_dir / "pki" / "ca.pem",)

    @property
    def effective_personal_trust_ca_files(self) -> tuple[Path, ...]:
        """The CAs that issue the personal certificates of inner signatures, and the enterprise CAs (an inner
        document may be signed by an organisation too): the broker, its check workers and ``dsve`` commands
        verify inner signatures against the same set."""
        return (*self.trust_personal_ca_files, *self.effective_trust_ca_files)

    @property
    def effective_token_key_file(self) -> Path:
        return self.token_key_file or self.data_dir / "broker-token-key.pem"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        data_dir = Path(_env(env, "DSVE_DATA_DIR", "dsve-data"))
        ca_raw = env.get("DSVE_TRUST_CA_FILES", "").strip()
        key_raw = env.get("DSVE_TOKEN_KEY_FILE", "").strip()
        participants_raw = env.get("DSVE_PARTICIPANTS_FILE", "").strip()
        file_store_raw = env.get("DSVE_FILE_STORE_DIR", "").strip()
        return cls(
            data_dir=data_dir,
            database_url=env.get("DSVE_DATABASE_URL", "").strip(),
            amqp_url=env.get("DSVE_AMQP_URL", "").strip() or None,
            amqp_prefix=_env(env, "DSVE_AMQP_PREFIX", "dsve"),
            amqp_quorum_group_size=_env_int(env, "DSVE_AMQP_QUORUM_GROUP_SIZE", 0),
            amqp_management_url=env.get("DSVE_AMQP_MANAGEMENT_URL", "").strip() or None,
            amqp_participant_user=_env(env, "DSVE_AMQP_PARTICIPANT_USER", "{orgnr}"),
            xsd_dir=xsd_dir_from_env(env),
            trust_ca_files=tuple(Path(p) for p in ca_raw.split(os.pathsep) if p),
            token_key_file=Path(key_raw) if key_raw else None,
            token_audience=_env(env, "DSVE_TOKEN_AUDIENCE", "dsve-broker"),
            token_lifetime_s=_env_int(env, "DSVE_TOKEN_LIFETIME", 300),
            grant_max_lifetime_s=_env_int(env, "DSVE_GRANT_MAX_LIFETIME", 120),
            message_ttl_s=_env_int(env, "DSVE_MESSAGE_TTL", 30 * 24 * 3600),
            retention_s=_env_int(env, "DSVE_RETENTION", 90 * 24 * 3600),
            lifecycle_interval_s=_env_int(env, "DSVE_LIFECYCLE_INTERVAL", 60),
            refusal_flush_interval_s=_env_int(env, "DSVE_REFUSAL_FLUSH_INTERVAL", 5),
            limits=limits_from_env(env),
            host=_env(env, "DSVE_HOST", "127.0.0.1"),
            port=_env_int(env, "DSVE_PORT", 8080),
            access_log=_env_bool(env, "DSVE_ACCESS_LOG", False),
            log_level=_env(env, "DSVE_LOG_LEVEL", "INFO").upper(),
            participants_file=Path(participants_raw) if participants_raw else None,
            group_commit_max=_env_int(env, "DSVE_GROUP_COMMIT_MAX", 256),
            group_commit_linger_ms=_env_float(env, "DSVE_GROUP_COMMIT_LINGER_MS", 5.0),
            check_workers=_env_int(env, "DSVE_CHECK_WORKERS", default_check_workers()),
            store_maintenance_interval_s=_env_int(env, "DSVE_STORE_MAINTENANCE_INTERVAL", 5),
            outbox_high_water=_env_int(env, "DSVE_OUTBOX_HIGH_WATER", 500),
            schema_sets=_schema_sets(env.get("DSVE_SCHEMA_SETS", "")),
            identifier_checks=env.get("DSVE_IDENTIFIER_CHECKS", "").strip(),
            accept_test_identifiers=_env_bool(env, "DSVE_ACCEPT_TEST_IDENTIFIERS", False),
            conversation_rules=env.get("DSVE_CONVERSATION_RULES", "").strip(),
            webhook_allow_loopback=_env_bool(env, "DSVE_WEBHOOK_ALLOW_LOOPBACK", False),
            webhook_max_attempts=_env_int(env, "DSVE_WEBHOOK_MAX_ATTEMPTS", 10),
            webhook_retry_base_s=_env_float(env, "DSVE_WEBHOOK_RETRY_BASE", 2.0),
            webhook_retry_max_s=_env_float(env, "DSVE_WEBHOOK_RETRY_MAX", 3600.0),
            webhook_timeout_s=_env_float(env, "DSVE_WEBHOOK_TIMEOUT", 10.0),
            webhook_poll_interval_s=_env_float(env, "DSVE_WEBHOOK_POLL_INTERVAL", 1.0),
            body_timeout_s=_env_float(env, "DSVE_BODY_TIMEOUT", 30.0),
            trusted_proxies=_env_networks(env, "DSVE_TRUSTED_PROXIES"),
            trust_personal_ca_files=tuple(
                Path(p) for p in env.get("DSVE_TRUST_PERSONAL_CA_FILES", "").strip().split(os.pathsep) if p
            ),
            metrics_token=env.get("DSVE_METRICS_TOKEN", "").strip() or None,
            metrics_listen=_env_listen(env, "DSVE_METRICS_LISTEN"),
            tls_cert_file=_env_path(env, "DSVE_TLS_CERT_FILE"),
            tls_key_file=_env_path(env, "DSVE_TLS_KEY_FILE"),
            keepalive_timeout_s=_env_float(env, "DSVE_KEEPALIVE_TIMEOUT", 15.0),
            file_store_dir=Path(file_store_raw) if file_store_raw else None,
            max_file_transfer_size=_env_int(env, "DSVE_MAX_FILE_TRANSFER_SIZE", 10 * 1024**3),
            upload_stall_timeout_s=_env_int(env, "DSVE_UPLOAD_STALL_TIMEOUT", 3600),
            service_owners=frozenset(o.strip() for o in env.get("DSVE_SERVICE_OWNERS", "").split(",") if o.strip()),
        )
