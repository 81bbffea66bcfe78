"""The megler's working record of one sale, beyond the sale's facts: what each bank has said and sent."""

from __future__ import annotations

from dataclasses import dataclass, field

from participants.cases import SaleCase
from participants.messages.model import RegisteredDocument
from participants.messages.package import PresignedDocument

TRANSFER = "skjoete"
DELETION = "sletting"
MORTGAGE = "pant"


@dataclass(slots=True)
class MeglerCase:
    sale: SaleCase
    status: str = "opprettet"
    buyers_bank_reference: str | None = None
    sellers_bank_reference: str | None = None
    financing_result: str | None = None
    loan_accounts: tuple[str, ...] = ()
    debt_answered: bool = False
    payoff_amount: int | None = None
    mortgage: PresignedDocument | None = None
    deletions: list[PresignedDocument] = field(default_factory=list)
    submission_reference: str | None = None
    submissions: int = 0
    registered: dict[str, RegisteredDocument] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)

    @property
    def reference(self) -> str:
        return self.sale.reference

    def document_reference(self, kind: str, position: int = 1) -> str:
        """Unique in the package and telling which of our documents Kartverket answers about."""
        return f"{self.document_prefix(kind)}{position}"

    def document_prefix(self, kind: str) -> str:
        return f"{self.reference}-{kind}-"

    @property
    def ready_for_registration(self) -> bool:
        """The buyers' deed is in, and the sellers' bank has consented to delete what the loans secured."""
        if self.mortgage is None or not self.debt_answered:
            return False
        return not self.loan_accounts or bool(self.deletions)
