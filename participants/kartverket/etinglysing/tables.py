"""The e-tinglysing side of the simulator's database: received submissions (innsendinger), the documents
each registered, and units the cadastre has closed. Same MetaData as the register, so they live beside it."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from participants.kartverket.tables import metadata

innsendinger = Table(
    "innsendinger",
    metadata,
    Column("innsending_id", Integer, primary_key=True, autoincrement=False),
    Column("innsender", String(11), nullable=False),
    # who sent the file (the authenticated party of the transport): the answers and hentStatus are theirs
    Column("avsender", String(11), nullable=False),
    Column("forsendelsesreferanse", String(200), nullable=False),
    Column("saksstatus", String(30), nullable=False),
    Column("behandlingsutfall", String(20), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("registreringstidspunkt", DateTime(timezone=True)),
    # the latest forsendelsesstatus as the data it was encoded from (JSON): hentStatus answers it again and a
    # case officer's decision re-encodes it with the final outcome
    Column("status", Text, nullable=False),
    # the file as received, so a submission a technical failure interrupted can be taken up again
    Column("payload", LargeBinary, nullable=False),
    # a status decided outside a request (a case officer, a retry) that the sender has not been sent yet
    Column("undelivered", Boolean, nullable=False, default=False),
    UniqueConstraint("innsender", "forsendelsesreferanse", name="uq_innsendinger_referanse"),
)

innsendingsdokumenter = Table(
    "innsendingsdokumenter",
    metadata,
    Column("innsending_id", ForeignKey("innsendinger.innsending_id"), primary_key=True),
    Column("document_id", ForeignKey("dokumenter.id"), primary_key=True),
)

utgaatte_registerenheter = Table(
    "utgaatte_registerenheter",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("utgaatt_at", DateTime(timezone=True), nullable=False),
)

begrensede_rettigheter = Table(
    "begrensede_rettigheter",
    metadata,
    # a burden in a share of a unit (begrensetTil): whose share it lies in
    Column("document_id", ForeignKey("dokumenter.id"), primary_key=True),
    Column("rettsstiftelsesnummer", Integer, primary_key=True),
    Column("unit_key", String(64), primary_key=True),
    Column("holder_ident", String(11), primary_key=True),
)

ETINGLYSING_TABLES = (innsendinger, innsendingsdokumenter, utgaatte_registerenheter, begrensede_rettigheter)
