"""Case search: by reference, by property unit (``kommunenr-gnr-bnr``, optionally ``-fnr-snr``) or by orgnr.

Matching messages are grouped into cases by the references they share (see ``case_groups``); each group
links to its case page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from broker.app_keys import PROPERTY_INDEXER
from broker.console.rendering import render
from broker.console.request_context import console_of, viewer_of
from broker.domain.messages import StoredMessage
from broker.store.console_message_queries import CaseNode, ConsoleMessageQueries, case_nodes
from broker.store.unit_of_work import UnitOfWork

routes = web.RouteTableDef()

UNIT = re.compile(r"^(\d{4})-(\d{1,5})-(\d{1,4})(?:-(\d{1,4})(?:-(\d{1,4}))?)?$")
ORGNR = re.compile(r"^\d{9}$")
SEARCH_CATCH_UP_S = 1.0


@dataclass(frozen=True, slots=True)
class CaseGroup:
    reference: str
    orgnr: str
    references: tuple[str, ...]
    parties: tuple[str, ...]
    count: int
    last_activity: datetime

    @property
    def href(self) -> str:
        return f"/console/cases/{quote(self.reference, safe='')}?org={self.orgnr}"


def case_groups(found: Sequence[StoredMessage]) -> list[CaseGroup]:
    """Group messages that share a (party, reference) pair, transitively (union-find over the pairs)."""
    parent: dict[CaseNode, CaseNode] = {}

    def root(node: CaseNode) -> CaseNode:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for message in found:
        first, *rest = case_nodes(message)
        for node in rest:
            parent[root(node)] = root(first)
    members: dict[CaseNode, list[StoredMessage]] = {}
    for message in found:
        members.setdefault(root(case_nodes(message)[0]), []).append(message)
    groups = []
    for messages in members.values():
        uses = Counter(node for m in messages for node in case_nodes(m))
        (orgnr, reference), _ = uses.most_common(1)[0]
        groups.append(
            CaseGroup(
                reference=reference,
                orgnr=orgnr,
                references=tuple(sorted({ref for _, ref in uses})),
                parties=tuple(sorted({p for m in messages for p in (m.sender, m.recipient)})),
                count=len(messages),
                last_activity=max(m.status_changed_at for m in messages),
            )
        )
    return sorted(groups, key=lambda g: g.last_activity, reverse=True)


@routes.get("/cases")
async def cases(request: web.Request) -> web.Response:
    ctx = console_of(request)
    viewer = viewer_of(request)
    reference = request.query.get("reference", "").strip()
    unit = request.query.get("unit", "").strip()
    orgnr = request.query.get("orgnr", "").strip()
    error = ""
    found: list[StoredMessage] = []
    searched = bool(reference or unit or orgnr)
    unit_match = UNIT.match(unit) if unit else None
    if unit and unit_match is None:
        error = "A property unit is written kommunenummer-gårdsnummer-bruksnummer, e.g. 4601-165-412."
    elif orgnr and not ORGNR.match(orgnr):
        error = "An organisation number has 9 digits."
    elif searched:
        if unit_match is not None:
            await request.config_dict[PROPERTY_INDEXER].catch_up(SEARCH_CATCH_UP_S)
        async with UnitOfWork(ctx.engine) as uow:
            queries = ConsoleMessageQueries(uow.connection, viewer.scope)
            if reference:
                found = await queries.by_reference(reference)
            elif unit_match is not None:
                kommune, gnr, bnr, fnr, snr = unit_match.groups()
                found = await queries.naming_property_unit(
                    f"{kommune}-{int(gnr)}-{int(bnr)}",
                    int(fnr) if fnr is not None else None,
                    int(snr) if snr is not None else None,
                )
            else:
                found = await queries.by_orgnr(orgnr)
    return render(
        request,
        "cases.html",
        status=400 if error else 200,
        reference=reference,
        unit=unit,
        orgnr=orgnr,
        error=error,
        searched=searched and not error,
        groups=case_groups(found),
        found=found,
    )
