"""The registration use case: judge a deed package and, when every control passes, register it whole.

The rules and the writes run in one database transaction with the touched units locked, so two packages on
the same unit are judged one after the other and neither sees the other half-done. ``process_package`` works
on plain objects; ``handle_submission`` is the same use case for a verified XML tree, answering the signed
status messages, so any transport (the broker's queue, a test, the demo) can drive it.
"""

from __future__ import annotations

from dataclasses import dataclass

from participants.kartverket.controls import ControlResult, Outcome, outcome_of
from participants.kartverket.model import Operation, Package, RegisteredDocument
from participants.kartverket.register import LandRegister
from participants.kartverket.rules import assess


@dataclass(frozen=True, slots=True)
class Decision:
    """The end of one package: outcome, every failed control, and what was registered (empty for
    ``valider`` and for a refusal)."""

    innsendingsreferanse: str
    operation: Operation
    outcome: Outcome
    results: tuple[ControlResult, ...] = ()
    registered: tuple[RegisteredDocument, ...] = ()


async def process_package(package: Package, register: LandRegister) -> Decision:
    """Judge ``package`` against the register and register it when it passes and the operation is
    ``tinglys``. All documents are written in one transaction: any failure leaves the register untouched."""
    async with register.transaction() as tx:
        state = await tx.load_state(package)
        results = assess(package, state)
        outcome = outcome_of(results)
        registered: list[RegisteredDocument] = []
        if outcome is Outcome.TINGLYST and package.operation is Operation.TINGLYS:
            registered = await tx.register(package, register.clock())
    return Decision(package.innsendingsreferanse, package.operation, outcome, tuple(results), tuple(registered))
