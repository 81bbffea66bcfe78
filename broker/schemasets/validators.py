"""The package validators of this broker, one per usable schema set, built from the settings once at start."""

from __future__ import annotations

from dataclasses import dataclass

from broker.config import Settings
from broker.schemasets.configured import load_sets
from broker.schemasets.deed_check import MortgageDeedCheck
from broker.schemasets.identifier_checks import parse_policy
from broker.schemasets.package import FileCheck, PackageValidator
from broker.xml.verification import SignatureVerifier


@dataclass(frozen=True, slots=True)
class Validators:
    """Validators by set name, and why a configured set is not usable (shown by ``dsve schemas list``)."""

    by_set: dict[str, PackageValidator]
    problems: dict[str, str]


def build_validators(settings: Settings, personal_verifier: SignatureVerifier | None = None) -> Validators:
    """Load the configured sets (compiling their schemas) and wrap each in a validator.

    ``personal_verifier`` checks the mortgagors' signatures on a mortgage deed; without it such a deed is
    recorded as not checked.
    """
    policy = parse_policy(settings.identifier_checks)
    checks: dict[str, FileCheck] = {}
    if personal_verifier is not None:
        checks["mortgage-deed"] = MortgageDeedCheck(personal_verifier, settings.limits)
    loaded = load_sets(settings.data_dir, settings.schema_sets)
    return Validators(
        {
            name: PackageValidator(
                schema_set,
                settings.limits,
                identifier_policy=policy,
                accept_test_identifiers=settings.accept_test_identifiers,
                file_checks=checks,
            )
            for name, schema_set in loaded.sets.items()
        },
        loaded.problems,
    )
