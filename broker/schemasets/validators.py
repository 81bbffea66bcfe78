"""The package validators of this broker, one per usable schema set, built from the settings once at start."""

from __future__ import annotations

from dataclasses import dataclass

from broker.config import Settings
from broker.schemasets.configured import load_sets
from broker.schemasets.identifier_checks import parse_policy
from broker.schemasets.package import PackageValidator


@dataclass(frozen=True, slots=True)
class Validators:
    """Validators by set name, and why a configured set is not usable (shown by ``dsve schemas list``)."""

    by_set: dict[str, PackageValidator]
    problems: dict[str, str]


def build_validators(settings: Settings) -> Validators:
    """Load the configured sets (compiling their schemas) and wrap each in a validator."""
    policy = parse_policy(settings.identifier_checks)
    loaded = load_sets(settings.data_dir, settings.schema_sets)
    return Validators(
        {
            name: PackageValidator(
                schema_set,
                settings.limits,
                identifier_policy=policy,
                accept_test_identifiers=settings.accept_test_identifiers,
            )
            for name, schema_set in loaded.sets.items()
        },
        loaded.problems,
    )
