"""The file-transfer API's payload check, done by the schema sets: a transfer on a resource with a schema set
(``kv_dsve`` → ``dsve``, ``kv_etinglysing`` → ``etinglysing``) is checked as its set's mapping says.

The sender's role comes from the participant registry (a type names the roles that may send it). The ZIP is
checked in a worker thread: reading and validating are blocking and CPU-bound, the event loop stays free.
Each finding names its rule in its message, so a ``Failed`` transfer's status text says which rule broke.
A valid transfer of the ``dsve`` set then goes through the conversation checks (recorded; a broken rule the
resource enforces fails the transfer with the rule's name).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from broker.config import Settings
from broker.domain.conversations import ConversationMessage
from broker.domain.payload_check import PayloadError, PayloadReport, PayloadSubject
from broker.domain.roles import Role
from broker.schemasets.findings import Finding
from broker.schemasets.package import PackageReport
from broker.schemasets.schema_set import SchemaSetError
from broker.schemasets.validators import Validators, build_validators
from broker.store.unit_of_work import UnitOfWork
from broker.usecases.conversation_checks import ConversationPolicy, check_conversation
from broker.xml.verification import SignatureVerifier

# The schema set whose messages follow DSVE's conversation rules.
CONVERSATION_SET = "dsve"

RoleLookup = Callable[[str], Awaitable[Role | None]]


def _error(finding: Finding) -> PayloadError:
    return PayloadError(f"{finding.message} ({finding.code})", finding.file, finding.line, finding.column, finding.path)


class SchemaSetPayloadValidator:
    """Implements the file-transfer API's ``PayloadValidator`` with the configured schema sets."""

    def __init__(
        self,
        validators: Validators,
        role_of: RoleLookup,
        engine: AsyncEngine | None = None,
        conversation_policy: ConversationPolicy | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.validators = validators
        self.role_of = role_of
        self.engine = engine
        self.conversation_policy = conversation_policy or ConversationPolicy()
        self.clock = clock or (lambda: datetime.now(UTC))

    async def check(self, subject: PayloadSubject, file: Path) -> PayloadReport:
        validator = self.validators.by_set.get(subject.schema_set)
        if validator is None:
            why = self.validators.problems.get(subject.schema_set, "it is not configured (DSVE_SCHEMA_SETS)")
            return PayloadReport((PayloadError(f"the schema set {subject.schema_set} cannot check files: {why}"),))
        role = await self.role_of(subject.sender)
        recipient_roles = {orgnr: await self.role_of(orgnr) for orgnr in subject.recipients}
        known = {orgnr: found for orgnr, found in recipient_roles.items() if found is not None}
        report = await asyncio.to_thread(
            validator.check_zip, file, dict(subject.properties), role, subject.sender, tuple(subject.recipients), known
        )
        if report.errors:
            return PayloadReport(tuple(_error(finding) for finding in report.errors))
        if subject.schema_set != CONVERSATION_SET or self.engine is None or report.message_type is None:
            return PayloadReport()
        message = self._conversation_message(subject, report, role)
        verdict = await check_conversation(self.engine, self.conversation_policy, subject.resource_id, message)
        return PayloadReport(
            tuple(
                PayloadError(
                    f"the conversation rule {result.rule} is broken: {result.detail} (conversation:{result.rule})"
                )
                for result in verdict.enforced
            )
        )

    def _conversation_message(
        self, subject: PayloadSubject, report: PackageReport, role: Role | None
    ) -> ConversationMessage:
        return ConversationMessage(
            message_type=report.message_type or "",
            sender=subject.sender,
            recipients=tuple(subject.recipients),
            sender_reference=report.routing.get("sender_reference"),
            recipient_reference=report.routing.get("recipient_reference"),
            status=subject.properties.get("status"),
            sender_role=role.value if role is not None else None,
            at=self.clock(),
            transfer_id=subject.file_transfer_id,
        )


def schema_set_validator(
    settings: Settings,
    engine: AsyncEngine,
    clock: Callable[[], datetime],
    personal_verifier: SignatureVerifier | None = None,
) -> SchemaSetPayloadValidator:
    """The payload validator of this broker: the configured schema sets, compiled now (a configured set that
    cannot be used is a deployment fault, raised here, at start), the registry's roles, the conversation
    policy of the settings and the verifier of the mortgagors' signatures on a mortgage deed."""
    validators = build_validators(settings, personal_verifier)
    if validators.problems:
        raise SchemaSetError("; ".join(validators.problems.values()))

    async def role_of(orgnr: str) -> Role | None:
        async with UnitOfWork(engine) as uow:
            participant = await uow.participants.get(orgnr)
        return participant.role if participant is not None else None

    return SchemaSetPayloadValidator(
        validators, role_of, engine, ConversationPolicy.parse(settings.conversation_rules), clock
    )
