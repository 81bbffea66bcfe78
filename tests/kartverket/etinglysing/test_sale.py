"""The demo sale as a real forsendelse: the deed and the buyers' mortgage end TINGLYST, in følgebrev order."""

from __future__ import annotations

from participants.cases import demo_sale_case
from participants.kartverket.etinglysing.sale import sale_forsendelse
from participants.kartverket.etinglysing.service import ETinglysing
from participants.kartverket.model import RightKind
from participants.kartverket.seed import DEMO_SALE
from tests.kartverket.etinglysing.conftest import statuses


async def test_the_demo_sale_is_registered_from_a_real_forsendelse(kv: ETinglysing) -> None:
    sale = demo_sale_case()
    *_, final = statuses(await kv.handle("sendTilTinglysing", sale_forsendelse(sale, "OPPGJ-1", kv.schema)))
    assert (final.saksstatus, final.utfall, final.findings) == ("AVSLUTTET", "TINGLYST", [])
    assert [(d[0], d[2], d[4]) for d in final.documents] == [
        ("OPPGJ-1-skjoete", 1, [("OPPGJ-1-skjoete-1", 1)]),
        ("OPPGJ-1-pant", 2, [("OPPGJ-1-pant-1", 1)]),
    ]
    extract = await kv.register.extract(DEMO_SALE.unit)
    assert {s.holder.ident for s in extract.owners} == {p.fodselsnummer for p in sale.buyer_persons}
    pants = [r for r in extract.rights if r.kind is RightKind.PANT]
    assert [(r.holder.ident if r.holder else None, r.beloep) for r in pants][-1] == (
        sale.buyers_bank.orgnr,
        sale.new_mortgage_amount,
    )
