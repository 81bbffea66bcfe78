"""``dsve validate`` in an official profile: a ZIP with its manifest keys, or one XML with ``--message-type``.

The verdicts and findings are the broker's own: the same validator checks a transfer on the
Altinn-compatible API. Each finding prints as ``package.zip!file.xml:line:column: message [path] (rule)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broker.config import Settings
    from broker.xml.verification import SignatureVerifier

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def wants_package_mode(args: argparse.Namespace) -> bool:
    return bool(
        args.set or args.message_type or args.property or any(str(p).lower().endswith(".zip") for p in args.paths)
    )


def _properties(args: argparse.Namespace) -> dict[str, str]:
    properties: dict[str, str] = {}
    for item in args.property or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--property {item!r} is not key=value")
        properties[key.strip()] = value
    if args.message_type:
        properties["messageType"] = args.message_type
    return properties


def _personal_verifier(settings: Settings) -> SignatureVerifier | None:
    """The broker's verifier of personal signatures, where this machine has its CAs (else deeds go unchecked)."""
    from broker.xml.trust import TrustStore
    from broker.xml.verification import SignatureVerifier

    files = settings.effective_personal_trust_ca_files
    if not all(Path(file).is_file() for file in files):
        return None
    return SignatureVerifier(TrustStore.from_pem_files(files))


def package_validate_command(args: argparse.Namespace) -> int:
    from broker.config import Settings
    from broker.schemasets.identifier_checks import parse_policy
    from broker.schemasets.package import PackageReport, PackageValidator
    from broker.schemasets.schema_set import SchemaSetError
    from broker.schemasets.validators import build_validators

    set_name = args.set or "dsve"
    try:
        settings = Settings.from_env()
        properties = _properties(args)
        validators = build_validators(settings, _personal_verifier(settings))
        policy = parse_policy(args.identifier_checks) if args.identifier_checks else None
    except (SchemaSetError, ValueError) as exc:
        print(f"dsve validate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    validator = validators.by_set.get(set_name)
    if validator is None:
        why = validators.problems.get(set_name, "not configured (DSVE_SCHEMA_SETS or dsve schemas add)")
        print(f"dsve validate: schema set {set_name}: {why}", file=sys.stderr)
        return EXIT_USAGE
    if policy is not None:
        validator = PackageValidator(
            validator.schema_set,
            validator.limits,
            validator.zip_limits,
            policy,
            validator.accept_test_identifiers,
            validator.file_checks,
        )
    reports: list[tuple[str, PackageReport]] = []
    for raw in args.paths:
        path = Path(raw)
        if not path.is_file():
            print(f"dsve validate: {path}: no such file", file=sys.stderr)
            return EXIT_USAGE
        if path.suffix.lower() == ".zip":
            report = validator.check_zip(path, properties, args.role)
        else:
            report = validator.check_xml(path.name, path.read_bytes(), properties, args.role)
        reports.append((str(path), report))
    if args.format == "json":
        import json  # here: every dsve validate imports this module to build its parser

        json.dump(
            [{"file": name, **report.as_dict()} for name, report in reports], sys.stdout, ensure_ascii=False, indent=2
        )
        sys.stdout.write("\n")
    else:
        for name, report in reports:
            for finding in report.errors:
                print(_line(name, finding, ""))
            for finding in report.warnings:
                print(_line(name, finding, "warning: "))
            verdict = "valid" if report.ok else "invalid"
            print(f"{name}: {report.message_type or 'unknown type'}: {verdict}")
    return EXIT_OK if all(report.ok for _, report in reports) else EXIT_INVALID


def _line(package: str, finding: object, prefix: str) -> str:
    from broker.schemasets.findings import Finding

    assert isinstance(finding, Finding)
    where = package if not finding.file or package.endswith(finding.file) else f"{package}!{finding.file}"
    path = f" [{finding.path}]" if finding.path else ""
    return f"{where}:{finding.line}:{finding.column}: {prefix}{finding.message}{path} ({finding.code})"


def add_package_arguments(validate: argparse.ArgumentParser) -> None:
    group = validate.add_argument_group("official profiles (a ZIP, or an XML with its manifest keys)")
    group.add_argument("--set", metavar="NAME", help="the schema set (default dsve when a profile option is given)")
    group.add_argument("--message-type", metavar="TYPE", help="the manifest's messageType (e.g. IntensjonFraBank)")
    group.add_argument("--property", action="append", metavar="KEY=VALUE", help="a manifest key (repeatable)")
    group.add_argument("--role", help="the sender's role, checked against the roles that may send the type")
    group.add_argument(
        "--identifier-checks",
        metavar="KIND=MODE,...",
        help="enforce|warn|off per kind (default DSVE_IDENTIFIER_CHECKS)",
    )
