"""The fuzz targets: each feeds one input to the broker's own code and classifies what happened.

An input may be accepted or refused with a client error (a ``Refusal`` whose status is 4xx); anything
else is a finding: an exception other than a refusal (it would be a 500 over HTTP), a refusal with a 5xx
status, or an accepted document that breaks an invariant (an identifier the schema sees with a wrong
check digit; routing fields that differ from the values the schema and c14n see).
"""

from __future__ import annotations

import datetime as dt
import random
import traceback
from dataclasses import dataclass

from cryptography import x509
from lxml import etree

from broker.auth.grant import grant_access_token
from broker.console.xml_view import readable_xml
from broker.domain.errors import Refusal
from broker.domain.identifiers import is_valid_account_number, is_valid_fodselsnummer, is_valid_orgnr
from broker.domain.participants import Participant
from broker.schemasets.archive import ArchiveError, SafeZip
from broker.usecases.intake import verify_submission
from broker.xml.parsing import parse_xml
from tests.fuzz.mutations import grant_assertion, mutate_bytes, mutate_tree, zip_upload
from tests.fuzz.world import World

_PLAIN = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_CHECKS = {"orgnr": is_valid_orgnr, "foedselsnummer": is_valid_fodselsnummer, "kontonummer": is_valid_account_number}
_LENGTHS = {"orgnr": 9, "foedselsnummer": 11, "kontonummer": 11}


class Finding(Exception):
    """Something the broker must never do with a client's input; ``data`` is that input."""

    data: bytes = b""


@dataclass(frozen=True, slots=True)
class Outcome:
    target: str
    label: str  # "accepted", or the refusal's slug


def _refused(target: str, refusal: Refusal) -> Outcome:
    if refusal.error.spec.status >= 500:
        raise Finding(f"{target}: a client's input answered {refusal.error.spec.status}: {refusal}")
    return Outcome(target, refusal.error.spec.slug)


def _identifiers_hold(data: bytes) -> None:
    """Every identifier of the right format, as the schema reads it (all its text), has valid check digits."""
    try:
        root = etree.fromstring(data, _PLAIN)
    except etree.XMLSyntaxError:
        raise Finding("an accepted document does not parse with a plain parser") from None
    for name, is_valid in _CHECKS.items():
        for element in root.iter(f"{{*}}{name}"):
            value = str(element.xpath("string(.)")).strip()
            if len(value) == _LENGTHS[name] and value.isascii() and value.isdigit() and not is_valid(value):
                raise Finding(f"accepted with a wrong check digit in {name}")


def check_message(world: World, data: bytes, caller: str) -> Outcome:
    """The submit pipeline up to the registry (parse, XSD, rules, signature, signer, routing fields)."""
    try:
        return _check_message(world, data, caller)
    except Finding as finding:
        finding.data = data
        raise


def _check_message(world: World, data: bytes, caller: str) -> Outcome:
    try:
        readable_xml(data, world.services.settings.limits)  # the console's view of stored bytes never fails
    except Exception as exc:
        raise Finding(f"console view: {type(exc).__name__}: {exc}") from exc
    try:
        submission = world.run(verify_submission(world.services, caller, data))
    except Refusal as refusal:
        return _refused("message", refusal)
    except Exception as exc:
        raise Finding(f"message: {type(exc).__name__}: {exc}") from exc
    _identifiers_hold(data)
    routing = submission.routing
    if routing.sender != caller or not routing.message_id:
        raise Finding("accepted without the caller as sender or without a message id")
    return Outcome("message", "accepted")


def _participant_lookup(world: World):  # type: ignore[no-untyped-def]
    async def find(orgnr: str) -> Participant | None:
        return world.participants.get(orgnr)

    return find


def check_grant(world: World, assertion: str, used: set[str]) -> Outcome:
    """The token grant's checks, with the broker's trust store and an in-memory registry and jti set."""
    now = dt.datetime.now(dt.UTC)

    def check_chain(leaf: x509.Certificate, intermediates: list[x509.Certificate]) -> None:
        world.trust.validate(leaf, intermediates, now)

    async def once(jti: str, issuer: str, until: dt.datetime) -> bool:
        if jti in used:
            return False
        used.add(jti)
        return True

    try:
        world.run(
            grant_access_token(
                assertion, world.policy, check_chain, _participant_lookup(world), once, world.tokens, now.timestamp()
            )
        )
    except Refusal as refusal:
        try:
            return _refused("grant", refusal)
        except Finding as finding:
            finding.data = assertion.encode("utf-8", "surrogateescape")
            raise
    except Exception as exc:
        finding = Finding(f"grant: {type(exc).__name__}: {exc}")
        finding.data = assertion.encode("utf-8", "surrogateescape")
        raise finding from exc
    return Outcome("grant", "accepted")


def one_execution(world: World, rnd: random.Random, used: set[str]) -> Outcome:
    """One input, chosen and mutated by ``rnd``: a message (raw, or re-signed after a tree change) or a grant."""
    kind = rnd.random()
    if kind < 0.1:
        return check_zip(world, zip_upload(world, rnd))
    if kind < 0.25:
        return check_grant(world, grant_assertion(world, rnd), used)
    if kind < 0.55:
        seed = rnd.choice(world.seeds)
        other = rnd.choice(world.seeds).data
        return check_message(world, mutate_bytes(seed.data, rnd, other), seed.sender)
    name = rnd.choice(sorted(world.unsigned))
    root = etree.fromstring(world.unsigned[name], _PLAIN)
    mutated = mutate_tree(root, rnd)
    caller = world.sender_of(root)
    try:
        data = world.sign(mutated, name)
    except Exception:
        # The signer would not sign it (a document the broker's own signing refuses): send it unsigned.
        data = etree.tostring(mutated, xml_declaration=True, encoding="UTF-8")
    return check_message(world, data, caller)


def check_zip(world: World, data: bytes) -> Outcome:
    """The upload ZIP reader: the central directory's checks, then every entry read and parsed as XML."""
    path = world.scratch / "upload.zip"
    path.write_bytes(data)
    try:
        with SafeZip(path) as archive:
            for info in archive.entries:
                content = archive.read(info)
                if info.filename.endswith(".xml"):
                    try:
                        parse_xml(content, world.services.settings.limits)
                    except Refusal as refusal:
                        _refused("zip", refusal)
    except ArchiveError as error:
        return Outcome("zip", error.findings[0].code if error.findings else "archive-error")
    except Finding as finding:
        finding.data = data
        raise
    except Exception as exc:
        finding = Finding(f"zip: {type(exc).__name__}: {exc}")
        finding.data = data
        raise finding from exc
    return Outcome("zip", "read")


def describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)).strip()
