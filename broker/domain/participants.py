"""Participants: who may take part, in which role, and which message types they can send and receive."""

from __future__ import annotations

from dataclasses import dataclass, field

from broker.domain.roles import Role


@dataclass(frozen=True, slots=True)
class Participant:
    """A registered organisation, like an entry in Kartverket's actor register (AKELDO)."""

    orgnr: str
    role: Role
    name: str
    certificate_pem: str
    sends: frozenset[str] = field(default_factory=frozenset)
    receives: frozenset[str] = field(default_factory=frozenset)
    active: bool = True

    def can_send(self, message_type: str) -> bool:
        return self.active and message_type in self.sends

    def can_receive(self, message_type: str) -> bool:
        return self.active and message_type in self.receives
