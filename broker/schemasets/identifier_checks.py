"""Identifier fields named by a schema set's mapping (``//person/@id`` → fødselsnummer) and their check digits.

Unlike the native catalogue, whose identifiers are found by element name, an official message keeps its
numbers in attributes and in elements of other names, so the mapping lists them by path. Each kind has a
policy: ``enforce`` (a wrong check digit refuses the message), ``warn`` (recorded, not refused) or ``off``.
A personal number never appears in a finding in clear text.

Test data is the exception a test environment may ask for (``DSVE_ACCEPT_TEST_IDENTIFIERS``): the numbers
that describe the case (persons, their accounts and KIDs, organisations other than the two exchanging
parties) are then only recorded when their check digits are wrong, because test data, the official
specification's own examples among them, carries placeholders there (``12345678901``). The fields a mapping
marks ``party`` (the organisation numbers of sender and recipient, which route the message and which their
owners authenticate as) are checked by the policy all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lxml import etree

from broker.domain.identifiers import (
    is_valid_account_number,
    is_valid_fodselsnummer,
    is_valid_kid,
    is_valid_orgnr,
    mask_fodselsnummer,
)
from broker.schemasets.field_paths import FieldPath
from broker.schemasets.findings import Finding
from broker.xml.paths import Locator, readable_path

POLICIES = ("enforce", "warn", "off")


def parse_policy(raw: str) -> dict[str, str]:
    """``foedselsnummer=warn,kontonummer=off`` → a policy per kind (kinds not named are enforced)."""
    policy: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        kind, _, mode = item.partition("=")
        kind, mode = kind.strip(), mode.strip()
        if mode not in POLICIES:
            raise ValueError(f"identifier check {item.strip()!r}: the mode must be one of {', '.join(POLICIES)}")
        policy[kind] = mode
    return policy


def _describe_party(value: str) -> str | None:
    if len(value) == 9:
        return None if is_valid_orgnr(value) else f"orgnr {value} has a wrong check digit (mod 11)"
    if len(value) == 11:
        return None if is_valid_fodselsnummer(value) else _describe_fnr(value)
    return f"identification number of {len(value)} digits is neither an orgnr (9) nor a fødselsnummer (11)"


def _describe_fnr(value: str) -> str:
    return f"fødselsnummer {mask_fodselsnummer(value)} has wrong check digits or an impossible birth date"


def _check(valid: Callable[[str], bool], describe: Callable[[str], str]) -> Callable[[str], str | None]:
    return lambda value: None if valid(value) else describe(value)


CHECKS: dict[str, Callable[[str], str | None]] = {
    "orgnr": _check(is_valid_orgnr, lambda v: f"orgnr {v} is not 9 digits with a valid check digit (mod 11)"),
    "foedselsnummer": _check(is_valid_fodselsnummer, _describe_fnr),
    "kontonummer": _check(is_valid_account_number, lambda v: f"account number {v} has a wrong check digit (mod 11)"),
    "kid": _check(is_valid_kid, lambda v: f"KID {v} has no valid MOD10 or MOD11 check digit"),
    "party": _describe_party,
}


@dataclass(frozen=True, slots=True)
class IdentifierField:
    path: FieldPath
    kind: str
    party: bool = False


def check_identifier_fields(
    file: str,
    root: etree._Element,
    locator: Locator,
    fields: tuple[IdentifierField, ...],
    policy: Mapping[str, str],
    test_data: bool = False,
) -> tuple[list[Finding], list[Finding]]:
    """``(errors, warnings)``: every identifier with a wrong check digit, by its kind's policy.

    With ``test_data``, a wrong number in a field that is no ``party`` field is a warning at most.
    """
    errors: list[Finding] = []
    warnings: list[Finding] = []
    seen: set[tuple[int, str]] = set()
    for field in fields:
        mode = policy.get(field.kind, "enforce")
        if mode == "off":
            continue
        if test_data and not field.party:
            mode = "warn"
        for element, value in field.path.values(root):
            key = (id(element), field.path.source)
            if key in seen or not value:
                continue
            seen.add(key)
            problem = CHECKS[field.kind](value)
            if problem is None:
                continue
            attribute = field.path.source.rpartition("/")[2]
            path = readable_path(element) + (f"/{attribute}" if attribute.startswith("@") else "")
            finding = Finding(
                file, problem, element.sourceline or 0, locator.column(element), path, f"rule:{field.kind}"
            )
            (errors if mode == "enforce" else warnings).append(finding)
    return errors, warnings
