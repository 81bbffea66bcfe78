"""Identifier rules: check digits the schemas cannot express.

The schemas check formats only (nine or eleven digits). Every element named ``orgnr``, ``foedselsnummer``
or ``kontonummer``, in any namespace and at any depth, holds that identifier (a catalogue convention), so
the rules find them by name. A value of the wrong format is the schema's finding and is left to it, so
one fault gives one issue. A personal number never appears in clear text in a finding: only its birth
date does.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from lxml import etree

from broker.domain.errors import Issue
from broker.domain.identifiers import (
    is_valid_account_number,
    is_valid_fodselsnummer,
    is_valid_orgnr,
    mask_fodselsnummer,
)
from broker.xml.paths import Locator, local_name


class IdentifierRule(NamedTuple):
    element: str
    length: int
    is_valid: Callable[[str], bool]
    describe: Callable[[str], str]

    @property
    def code(self) -> str:
        return f"rule:{self.element}"


RULES: dict[str, IdentifierRule] = {
    rule.element: rule
    for rule in (
        # The same organisations appear in message after message, so their answers are cached; personal
        # and account numbers are not, so that no cache holds them.
        IdentifierRule(
            "orgnr", 9, lru_cache(maxsize=8192)(is_valid_orgnr), lambda v: f"orgnr {v} has a wrong check digit (mod 11)"
        ),
        IdentifierRule(
            "foedselsnummer",
            11,
            is_valid_fodselsnummer,
            lambda v: f"foedselsnummer {mask_fodselsnummer(v)} has wrong check digits or an impossible birth date",
        ),
        IdentifierRule(
            "kontonummer", 11, is_valid_account_number, lambda v: f"kontonummer {v} has a wrong check digit (mod 11)"
        ),
    )
}

# "{*}name" matches the local name in any namespace (or none); lxml filters in C during one traversal.
_TAGS = tuple(f"{{*}}{name}" for name in RULES)


def check_identifiers(tree: etree._ElementTree, locator: Locator | None = None) -> list[Issue]:
    """Every identifier with the right format but a wrong check digit, in document order."""
    issues: list[Issue] = []
    for element in tree.getroot().iter(*_TAGS):
        rule = RULES[local_name(element)]
        value = (element.text or "").strip()
        if len(value) != rule.length or not value.isdigit() or rule.is_valid(value):
            continue
        locator = locator or Locator(tree)
        issues.append(locator.issue(element, rule.describe(value), rule.code))
    return issues
