"""The participant registry: building checked ``Participant`` entries and seeding them from a file.

An entry is only registered when it is consistent: a valid orgnr, a known role, a certificate that names
that same orgnr, and message types the catalogue knows. Without explicit capabilities a participant gets
every type its role may send or receive according to the catalogue. The seed file (TOML, ``[[participant]]``
tables) is what the demo and docker-compose use; ``DSVE_PARTICIPANTS_FILE`` points the broker at it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from broker.config import REPO_XSD_DIR
from broker.domain.identifiers import is_valid_orgnr
from broker.domain.participants import Participant
from broker.domain.roles import Role
from broker.xml.trust import identity_from_certificate

CATALOGUE_FILE = "catalogue.toml"
SETS_DIR = "sets"


class RegistryError(ValueError):
    """A participant entry that cannot be registered as given."""


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """What the registry needs of one message type: which roles send it and which receive it."""

    type_name: str
    sender_roles: frozenset[str]
    recipient_roles: frozenset[str]


def read_catalogue_entries(xsd_dir: Path = REPO_XSD_DIR) -> list[CatalogueEntry]:
    """The roles of every message type in ``xsd_dir/catalogue.toml`` and of the schema sets' mapping files.

    The official types (``IntensjonFraBank``, ``SignedMortgageDeed``, ...) come from ``xsd_dir/sets/*.toml``
    under their official ``messageType`` names, so a participant's capabilities name them as real systems do.
    Read with tomllib directly: the registry needs two lists per type, not the compiled schemas.
    """
    path = xsd_dir / CATALOGUE_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"cannot read the message catalogue {path}: {exc}") from exc
    entries = [
        CatalogueEntry(name, frozenset(spec.get("sender_roles", ())), frozenset(spec.get("recipient_roles", ())))
        for name, spec in data.items()
        if isinstance(spec, dict)
    ]
    for mapping_path in sorted((xsd_dir / SETS_DIR).glob("*.toml")):
        try:
            mapping = tomllib.loads(mapping_path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise RegistryError(f"cannot read the schema set mapping {mapping_path}: {exc}") from exc
        types = mapping.get("types", {})
        entries.extend(
            CatalogueEntry(name, frozenset(spec.get("sender_roles", ())), frozenset(spec.get("recipient_roles", ())))
            for name, spec in (types.items() if isinstance(types, dict) else ())
            if isinstance(spec, dict)
        )
    return entries


def default_capabilities(
    role: Role | str, entries: Iterable[tuple[str, Iterable[str], Iterable[str]] | CatalogueEntry]
) -> tuple[frozenset[str], frozenset[str]]:
    """The types a participant of ``role`` may send and receive: every type whose roles include it."""
    role_name = Role(role).value
    sends: set[str] = set()
    receives: set[str] = set()
    sender_roles: Iterable[str]
    recipient_roles: Iterable[str]
    for entry in entries:
        if isinstance(entry, CatalogueEntry):
            type_name, sender_roles, recipient_roles = entry.type_name, entry.sender_roles, entry.recipient_roles
        else:
            type_name, sender_roles, recipient_roles = entry
        if role_name in set(sender_roles):
            sends.add(type_name)
        if role_name in set(recipient_roles):
            receives.add(type_name)
    return frozenset(sends), frozenset(receives)


def certificate_orgnr(certificate_pem: str) -> str | None:
    """The orgnr an enterprise certificate names (subject ``organizationIdentifier`` ``NTRNO-<orgnr>``)."""
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise RegistryError(f"the certificate is not a PEM X.509 certificate: {exc}") from exc
    return identity_from_certificate(certificate).orgnr


def build_participant(
    *,
    orgnr: str,
    role: str,
    name: str,
    certificate_pem: str,
    entries: Sequence[CatalogueEntry],
    sends: Iterable[str] | None = None,
    receives: Iterable[str] | None = None,
    active: bool = True,
) -> Participant:
    """A checked participant; raises RegistryError naming the first thing that is wrong."""
    if not is_valid_orgnr(orgnr):
        raise RegistryError(f"{orgnr!r} is not a valid organisation number (9 digits, mod-11 check digit)")
    try:
        parsed_role = Role(role)
    except ValueError:
        raise RegistryError(f"unknown role {role!r}; use one of {', '.join(r.value for r in Role)}") from None
    if not name.strip():
        raise RegistryError(f"participant {orgnr} needs a name")
    named = certificate_orgnr(certificate_pem)
    if named != orgnr:
        raise RegistryError(f"the certificate names orgnr {named or 'none'}, not {orgnr}")
    default_sends, default_receives = default_capabilities(parsed_role, entries)
    chosen_sends = default_sends if sends is None else frozenset(sends)
    chosen_receives = default_receives if receives is None else frozenset(receives)
    known = {entry.type_name for entry in entries}
    unknown = sorted((chosen_sends | chosen_receives) - known)
    if unknown:
        raise RegistryError(f"unknown message types for {orgnr}: {', '.join(unknown)}")
    return Participant(
        orgnr=orgnr,
        role=parsed_role,
        name=name.strip(),
        certificate_pem=certificate_pem,
        sends=chosen_sends,
        receives=chosen_receives,
        active=active,
    )


def _string_list(entry: dict[str, Any], key: str, where: str) -> list[str] | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise RegistryError(f"{where}: {key} must be a list of message types")
    return value


def load_participants_file(path: Path | str, xsd_dir: Path = REPO_XSD_DIR) -> list[Participant]:
    """The checked participants of a seed file; certificate paths are relative to the file.

    ``[[participant]]`` tables with ``orgnr``, ``role``, ``name``, ``cert`` and optional ``sends``,
    ``receives`` (default: the role's types from the catalogue) and ``active`` (default true).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise RegistryError(f"cannot read {path}: {exc}") from exc
    raw_entries = data.get("participant", [])
    if not isinstance(raw_entries, list):
        raise RegistryError(f"{path}: expected [[participant]] tables")
    entries = read_catalogue_entries(xsd_dir)
    result: list[Participant] = []
    for index, entry in enumerate(raw_entries, start=1):
        where = f"{path} participant {index}"
        missing = [key for key in ("orgnr", "role", "name", "cert") if not isinstance(entry.get(key), str)]
        if missing:
            raise RegistryError(f"{where}: missing {', '.join(missing)}")
        cert_path = path.parent / entry["cert"]
        try:
            certificate_pem = cert_path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise RegistryError(f"{where}: cannot read certificate {cert_path}: {exc}") from exc
        active = entry.get("active", True)
        if not isinstance(active, bool):
            raise RegistryError(f"{where}: active must be true or false")
        try:
            participant = build_participant(
                orgnr=entry["orgnr"],
                role=entry["role"],
                name=entry["name"],
                certificate_pem=certificate_pem,
                entries=entries,
                sends=_string_list(entry, "sends", where),
                receives=_string_list(entry, "receives", where),
                active=active,
            )
        except RegistryError as exc:
            raise RegistryError(f"{where}: {exc}") from None
        result.append(participant)
    orgnrs = [p.orgnr for p in result]
    duplicates = sorted({o for o in orgnrs if orgnrs.count(o) > 1})
    if duplicates:
        raise RegistryError(f"{path}: orgnr listed more than once: {', '.join(duplicates)}")
    return result
