"""Participants: role, capabilities, certificate validity and whether they are active."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from cryptography import x509

from broker.console.rendering import render
from broker.console.request_context import console_of
from broker.domain.participants import Participant
from broker.store.unit_of_work import UnitOfWork

routes = web.RouteTableDef()


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    subject: str
    not_before: datetime | None
    not_after: datetime | None
    readable: bool = True

    def valid_at(self, now: datetime) -> bool:
        return bool(self.readable and self.not_before and self.not_after and self.not_before <= now <= self.not_after)


def certificate_info(pem: str) -> CertificateInfo:
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError:
        return CertificateInfo("(unreadable certificate)", None, None, readable=False)
    return CertificateInfo(
        certificate.subject.rfc4514_string(), certificate.not_valid_before_utc, certificate.not_valid_after_utc
    )


@routes.get("/participants")
async def participants(request: web.Request) -> web.Response:
    ctx = console_of(request)
    async with UnitOfWork(ctx.engine) as uow:
        registered: list[Participant] = await uow.participants.list()
    rows = [(p, certificate_info(p.certificate_pem)) for p in sorted(registered, key=lambda p: (p.role, p.orgnr))]
    return render(request, "participants.html", rows=rows, now=ctx.clock())
