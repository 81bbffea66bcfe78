"""Every duplicate delivery of a soak run traced to its cause: which copies the consumer had, when, and which
broker process published each.

Each delivered copy carries the ``published-by`` header of the relay that published it (its process id
first), and RabbitMQ's ``redelivered`` flag. A second copy is then one of three kinds: ``redelivered`` (the
same publish handed out again after a consumer's ack was lost with its connection), ``other_process`` (the
message published again by another broker process: a takeover of a dead relay's rows) or ``same_process``
(published again by the same relay: a publish retried after its confirm was lost). For the kinds published
twice, ``first_copy_before_fault_s`` says how long before the fault the first copy reached the consumer: for
a killed broker that is how long its publish stayed unrecorded in the store (the window the fix narrows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# One delivered copy: when the consumer had it, whether RabbitMQ flagged it redelivered, who published it.
Copy = tuple[float, bool, str]


def _pid(published_by: str) -> str:
    return published_by.split("-", 1)[0]


def _kind(first: Copy, later: Copy) -> str:
    if later[1]:
        return "redelivered"
    return "same_process" if later[2] == first[2] else "other_process"


def trace_duplicates(
    copies: Mapping[str, Sequence[Copy]], faults: Sequence[tuple[float, str]], processes: Mapping[str, str]
) -> dict[str, Any]:
    """Duplicates by the fault before them and by kind, with the publishing processes named (``processes``
    maps a process id to a name such as ``broker0``) and the spread of their times around the fault."""
    causes: dict[str, dict[str, Any]] = {}
    examples: list[dict[str, Any]] = []
    for reference, seen in copies.items():
        if len(seen) < 2:
            continue
        first = seen[0]
        for later in seen[1:]:
            at, cause = max(((t, what) for t, what in faults if t <= later[0]), default=(0.0, "before any fault"))
            kind = _kind(first, later)
            entry = causes.setdefault(cause, {"redelivered": 0, "same_process": 0, "other_process": 0, "by": {}})
            entry[kind] += 1
            pair = (
                f"{processes.get(_pid(first[2]), first[2] or '?')} -> {processes.get(_pid(later[2]), later[2] or '?')}"
            )
            entry["by"][pair] = entry["by"].get(pair, 0) + 1
            if kind != "redelivered" and at:
                before = entry.setdefault("first_copy_before_fault_s", [])
                before.append(round(at - first[0], 3))
            if len(examples) < 20:
                examples.append(
                    {
                        "reference": reference,
                        "kind": kind,
                        "cause": cause,
                        "first_s_after_fault": round(first[0] - at, 3) if at else None,
                        "again_s_after_fault": round(later[0] - at, 3) if at else None,
                        "first_by": processes.get(_pid(first[2]), first[2]),
                        "again_by": processes.get(_pid(later[2]), later[2]),
                    }
                )
    for entry in causes.values():
        before = entry.pop("first_copy_before_fault_s", [])
        if before:
            entry["first_copy_before_fault_s"] = {"min": min(before), "max": max(before)}
    return {"by_fault": causes, "examples": examples}
