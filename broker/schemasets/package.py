"""Checking a package of an official profile: the manifest (``propertyList``), the ZIP and every file in it.

What the specification asks of a transfer, in order: the type is known (``messageType``, or the root
element for a set without that key), the sender's role may send it, the required manifest keys are there
and their values in the allowed sets, the ZIP holds the files the type requires (by name pattern and
count, e.g. exactly one mortgage deed and a ``coverletter_*.xml`` exactly when ``coverLetter=XmlAttached``),
each XML file is valid against the set's schema with its identifiers' check digits, and the parties named
in the message are the transfer's sender and recipients. A NACK (a status other than the ACK) may come as
an empty ZIP. Every finding is collected, with its file, line, column and path.
"""

from __future__ import annotations

import fnmatch
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from broker.config import XmlLimits
from broker.domain.roles import Role
from broker.schemasets.archive import ArchiveError, SafeZip, ZipLimits
from broker.schemasets.findings import Finding, PartReport
from broker.schemasets.mapping import FileRule, TypeMapping
from broker.schemasets.schema_set import SchemaSet

# Altinn's own files that may travel in a payload; never checked against the message's rules.
ALTINN_FILES = frozenset({"manifest.xml"})

# A check of an attachment's content (``FileRule.check``): the findings that refuse it.
FileCheck = Callable[[str, bytes], list[Finding]]


@dataclass(slots=True)
class PackageReport:
    """What checking one package found: the type, refusals, recorded warnings, routing values, files seen."""

    message_type: str | None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    routing: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, object]:
        return {
            "messageType": self.message_type,
            "valid": self.ok,
            "errors": [f.as_dict() for f in self.errors],
            "warnings": [f.as_dict() for f in self.warnings],
            "files": list(self.files),
        }

    def absorb(self, part: PartReport) -> None:
        self.errors.extend(part.errors)
        self.warnings.extend(part.warnings)
        for key, value in part.routing.items():
            self.routing.setdefault(key, value)


def _base_name(name: str) -> str:
    """The base name in lower case: the specification's file-name conventions are case-insensitive."""
    return name.rpartition("/")[2].lower()


def _matches(rule: FileRule, name: str) -> bool:
    lowered = _base_name(name)
    return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in rule.patterns)


class PackageValidator:
    """Checks packages against one schema set (compiled once; safe to share between threads)."""

    def __init__(
        self,
        schema_set: SchemaSet,
        limits: XmlLimits | None = None,
        zip_limits: ZipLimits | None = None,
        identifier_policy: Mapping[str, str] | None = None,
        accept_test_identifiers: bool = False,
        file_checks: Mapping[str, FileCheck] | None = None,
    ) -> None:
        self.schema_set = schema_set
        self.limits = limits or XmlLimits()
        self.zip_limits = zip_limits or ZipLimits()
        self.identifier_policy = dict(identifier_policy or {})
        self.accept_test_identifiers = accept_test_identifiers
        self.file_checks = dict(file_checks or {})

    def _check_xml_part(
        self, name: str, data: bytes, expected: TypeMapping | None = None, schema_name: str | None = None
    ) -> PartReport:
        """One XML part against the set, by this validator's identifier policy."""
        return self.schema_set.check_xml(
            name,
            data,
            self.limits,
            self.identifier_policy,
            expected=expected,
            schema_name=schema_name,
            test_identifiers=self.accept_test_identifiers,
        )

    # -- the manifest ------------------------------------------------------------------------------------

    def _type_from_manifest(self, properties: Mapping[str, str], report: PackageReport) -> TypeMapping | None:
        key = self.schema_set.mapping.type_key
        if key is None:
            return None
        value = properties.get(key, "").strip()
        if not value:
            report.errors.append(Finding("", f"the manifest key {key} is missing", path=key, code=f"manifest:{key}"))
            return None
        found = self.schema_set.mapping.types.get(value)
        if found is None:
            report.errors.append(
                Finding(
                    "",
                    f"{key} {value!r} is no message type of {self.schema_set.name}",
                    path=key,
                    code=f"manifest:{key}",
                )
            )
        return found

    def _check_manifest(
        self, mapping: TypeMapping, properties: Mapping[str, str], sender_role: Role | str | None, report: PackageReport
    ) -> None:
        report.message_type = mapping.name
        if sender_role is not None and Role(sender_role) not in mapping.sender_roles:
            allowed = ", ".join(sorted(role.value for role in mapping.sender_roles))
            report.errors.append(
                Finding(
                    "", f"a {Role(sender_role).value} may not send {mapping.name} (senders: {allowed})", code="role"
                )
            )
        for required in mapping.required_keys:
            if not properties.get(required, "").strip():
                report.errors.append(
                    Finding(
                        "",
                        f"{mapping.name} needs the manifest key {required}",
                        path=required,
                        code=f"manifest:{required}",
                    )
                )
        for key, allowed_values in mapping.allowed_values.items():
            value = properties.get(key)
            if value is not None and value.strip() and value not in allowed_values:
                report.errors.append(
                    Finding(
                        "",
                        f"{key} {value!r} is not allowed for {mapping.name} (one of {', '.join(allowed_values)})",
                        path=key,
                        code=f"manifest:{key}",
                    )
                )

    def _check_recipient_roles(
        self, mapping: TypeMapping, recipient_roles: Mapping[str, Role | str], report: PackageReport
    ) -> None:
        for orgnr, role in sorted(recipient_roles.items()):
            if Role(role) not in mapping.recipient_roles:
                allowed = ", ".join(sorted(r.value for r in mapping.recipient_roles))
                report.errors.append(
                    Finding(
                        "",
                        f"{orgnr}, a {Role(role).value}, may not receive {mapping.name} ({allowed})",
                        code="role:recipient",
                    )
                )

    def _is_nack(self, mapping: TypeMapping, properties: Mapping[str, str]) -> bool:
        status = properties.get("status")
        return mapping.ack_status is not None and status is not None and status != mapping.ack_status

    # -- the files ---------------------------------------------------------------------------------------

    def _check_counts(
        self,
        mapping: TypeMapping,
        properties: Mapping[str, str],
        counted: Mapping[int, list[str]],
        report: PackageReport,
    ) -> None:
        nack = self._is_nack(mapping, properties)
        for index, rule in enumerate(mapping.files):
            names = counted.get(index, [])
            pattern = " or ".join(rule.patterns)
            applies = all(properties.get(key) == value for key, value in rule.when.items())
            if not applies:
                if names:
                    condition = ", ".join(f"{key}={value}" for key, value in rule.when.items())
                    report.errors.extend(
                        Finding(name, f"{name} is sent, but only belongs in the ZIP with {condition}", code="zip:file")
                        for name in names
                    )
                continue
            if len(names) < rule.min and not nack:
                report.errors.append(
                    Finding(
                        "",
                        f"{mapping.name} needs {rule.min} file(s) named {pattern}; found {len(names)}",
                        code="zip:missing-file",
                    )
                )
            if len(names) > rule.max:
                report.errors.append(
                    Finding(
                        "",
                        f"{mapping.name} takes at most {rule.max} file(s) named {pattern}; found {len(names)}",
                        code="zip:file",
                    )
                )

    def _check_part(self, mapping: TypeMapping, rule: FileRule, name: str, data: bytes) -> PartReport:
        if rule.kind == "xml":
            return self._check_xml_part(name, data, schema_name=rule.schema)
        if mapping.schema is None:
            return PartReport(name, mapping.name)
        return self._check_xml_part(name, data, expected=mapping)

    def _check_parties(self, sender: str | None, recipients: Sequence[str], report: PackageReport) -> None:
        named_sender = report.routing.get("sender")
        if sender is not None and named_sender is not None and named_sender != sender:
            report.errors.append(
                Finding(
                    "",
                    f"the message names sender {named_sender}, but the transfer is sent by {sender}",
                    code="routing:sender",
                )
            )
        named_recipient = report.routing.get("recipient")
        if recipients and named_recipient is not None and named_recipient not in recipients:
            report.errors.append(
                Finding(
                    "",
                    f"the message names recipient {named_recipient},"
                    f" not a recipient of the transfer ({', '.join(recipients)})",
                    code="routing:recipient",
                )
            )

    def check_zip(
        self,
        path: Path,
        properties: Mapping[str, str],
        sender_role: Role | str | None = None,
        sender: str | None = None,
        recipients: Sequence[str] = (),
        recipient_roles: Mapping[str, Role | str] | None = None,
    ) -> PackageReport:
        """Check the package in the ZIP file ``path`` (blocking: run it in a worker thread from async code).

        ``recipient_roles`` (orgnr → role) lets the check refuse a recipient whose role may not receive the type.
        """
        report = PackageReport(None)
        mapping = self._type_from_manifest(properties, report)
        if self.schema_set.mapping.type_key is not None and mapping is None:
            return report
        try:
            archive = SafeZip(path, self.zip_limits)
        except ArchiveError as exc:
            report.errors.extend(exc.findings)
            return report
        with archive:
            entries = [info for info in archive.entries if _base_name(info.filename) not in ALTINN_FILES]
            report.files = [info.filename for info in entries]
            if mapping is None:
                mapping = self._type_from_root(archive, entries, report)
                if mapping is None:
                    return report
            self._check_manifest(mapping, properties, sender_role, report)
            self._check_recipient_roles(mapping, recipient_roles or {}, report)
            counted: dict[int, list[str]] = {}
            for info in entries:
                index = next((i for i, rule in enumerate(mapping.files) if _matches(rule, info.filename)), None)
                if index is None:
                    report.errors.append(
                        Finding(info.filename, f"{info.filename} is not a file {mapping.name} carries", code="zip:file")
                    )
                    continue
                counted.setdefault(index, []).append(info.filename)
                rule = mapping.files[index]
                try:
                    if rule.check is not None and _base_name(info.filename).endswith(".xml"):
                        self._check_attachment(rule.check, info.filename, archive.read(info), report)
                    elif rule.kind == "attachment":
                        archive.drain(info)
                    else:
                        report.absorb(self._check_part(mapping, rule, info.filename, archive.read(info)))
                except ArchiveError as exc:
                    report.errors.extend(exc.findings)
            self._check_counts(mapping, properties, counted, report)
        self._check_parties(sender, recipients, report)
        return report

    def _check_attachment(self, check: str, name: str, data: bytes, report: PackageReport) -> None:
        run = self.file_checks.get(check)
        if run is None:
            report.warnings.append(
                Finding(
                    name, f"no {check} check is configured here: the file was not checked", code=f"{check}:unchecked"
                )
            )
            return
        report.errors.extend(run(name, data))

    def _type_from_root(
        self, archive: SafeZip, entries: list[zipfile.ZipInfo], report: PackageReport
    ) -> TypeMapping | None:
        """For a set without a type key: the one XML file's root element names the type."""
        xml_entries = [info for info in entries if _base_name(info.filename).endswith(".xml")]
        if len(xml_entries) != 1:
            report.errors.append(
                Finding(
                    "", f"the ZIP must hold exactly one XML file; found {len(xml_entries)}", code="zip:missing-file"
                )
            )
            return None
        try:
            data = archive.read(xml_entries[0])
        except ArchiveError as exc:
            report.errors.extend(exc.findings)
            return None
        part = self._check_xml_part(xml_entries[0].filename, data)
        found = self.schema_set.mapping.types.get(part.message_type or "")
        if found is None:
            report.absorb(part)
        return found

    def check_xml(
        self,
        name: str,
        data: bytes,
        properties: Mapping[str, str],
        sender_role: Role | str | None = None,
    ) -> PackageReport:
        """One XML message with its manifest keys, as if it were the only file of its ZIP (``dsve validate``)."""
        report = PackageReport(None, files=[name])
        mapping = self._type_from_manifest(properties, report)
        if self.schema_set.mapping.type_key is not None and mapping is None:
            return report
        part = self._check_xml_part(name, data, expected=mapping)
        if mapping is None:
            mapping = self.schema_set.mapping.types.get(part.message_type or "")
        if mapping is not None:
            self._check_manifest(mapping, properties, sender_role, report)
        report.absorb(part)
        return report
