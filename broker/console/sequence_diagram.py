"""The layout of a case's sequence diagram: one lifeline per party, one arrow per message, in order.

Only geometry is computed here (plain data); ``templates/sequence.svg.html`` draws it, autoescaped, so no
text from a message can inject markup. Lifelines are ordered banks, then meglere, then Kartverket, the
way the process reads left to right; parties of the same role keep the order they first appear in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from broker.domain.messages import StoredMessage
from broker.domain.participants import Participant

LANE_WIDTH = 230
MARGIN_X = 24
HEADER_HEIGHT = 64
ROW_HEIGHT = 48
FOOTER = 24
_ROLE_ORDER = {"bank": 0, "megler": 1, "kartverket": 2}


@dataclass(frozen=True, slots=True)
class Lane:
    orgnr: str
    name: str
    role: str
    x: int


@dataclass(frozen=True, slots=True)
class Arrow:
    number: int
    message_id: str
    message_type: str
    status: str
    x1: int
    x2: int
    y: int

    @property
    def label_x(self) -> int:
        return (self.x1 + self.x2) // 2

    @property
    def rightwards(self) -> bool:
        return self.x2 > self.x1


@dataclass(frozen=True, slots=True)
class SequenceDiagram:
    lanes: tuple[Lane, ...]
    arrows: tuple[Arrow, ...]
    width: int
    height: int

    @property
    def lifeline_bottom(self) -> int:
        return self.height - FOOTER // 2


def layout(messages: Sequence[StoredMessage], participants: Mapping[str, Participant]) -> SequenceDiagram:
    order: list[str] = []
    for message in messages:
        for orgnr in (message.sender, message.recipient):
            if orgnr not in order:
                order.append(orgnr)

    def role_of(orgnr: str) -> str:
        participant = participants.get(orgnr)
        return participant.role.value if participant else "unknown"

    order.sort(key=lambda orgnr: _ROLE_ORDER.get(role_of(orgnr), len(_ROLE_ORDER)))
    lanes = tuple(
        Lane(
            orgnr=orgnr,
            name=participants[orgnr].name if orgnr in participants else orgnr,
            role=role_of(orgnr),
            x=MARGIN_X + LANE_WIDTH // 2 + i * LANE_WIDTH,
        )
        for i, orgnr in enumerate(order)
    )
    x_of = {lane.orgnr: lane.x for lane in lanes}
    arrows = tuple(
        Arrow(
            number=i,
            message_id=message.id,
            message_type=message.message_type,
            status=message.status.value,
            x1=x_of[message.sender],
            x2=x_of[message.recipient],
            y=HEADER_HEIGHT + ROW_HEIGHT * i,
        )
        for i, message in enumerate(messages, start=1)
    )
    width = 2 * MARGIN_X + LANE_WIDTH * max(len(lanes), 1)
    height = HEADER_HEIGHT + ROW_HEIGHT * len(arrows) + FOOTER
    return SequenceDiagram(lanes, arrows, width, height)
