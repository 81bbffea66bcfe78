"""The land register's tables, in a MetaData of their own: the simulator keeps its own database, apart from
the broker's, as Kartverket's grunnbok is apart from any message exchange."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

registerenheter = Table(
    "registerenheter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("kommunenummer", String(4)),
    Column("gaardsnummer", Integer),
    Column("bruksnummer", Integer),
    Column("festenummer", Integer),
    Column("seksjonsnummer", Integer),
    Column("borettslag_orgnr", String(9)),
    Column("andelsnummer", Integer),
    Column("address", String(200), nullable=False, default=""),
)

dokumenter = Table(
    "dokumenter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False),
    Column("number", Integer, nullable=False),
    Column("embete", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("reference", String(100), nullable=False, default=""),
    Column("innsendingsreferanse", String(100)),
    UniqueConstraint("year", "number", "embete", name="uq_dokumenter_number"),
)

dokumentnummerserier = Table(
    "dokumentnummerserier",
    metadata,
    Column("year", Integer, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

hjemmel = Table(
    "hjemmel",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ForeignKey("registerenheter.id"), nullable=False, index=True),
    Column("holder_kind", String(20), nullable=False),
    Column("holder_ident", String(11), nullable=False),
    Column("holder_name", String(200), nullable=False, default=""),
    Column("teller", Integer, nullable=False),
    Column("nevner", Integer, nullable=False),
    Column("document_id", ForeignKey("dokumenter.id")),
    Column("ended_by_document_id", ForeignKey("dokumenter.id")),
    Column("active", Boolean, nullable=False, default=True),
)

rettigheter = Table(
    "rettigheter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ForeignKey("registerenheter.id"), nullable=False, index=True),
    Column("document_id", ForeignKey("dokumenter.id"), nullable=False),
    Column("rettsstiftelsesnummer", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("holder_kind", String(20)),
    Column("holder_ident", String(11)),
    Column("holder_name", String(200), nullable=False, default=""),
    Column("beloep", BigInteger),
    Column("text", String(500), nullable=False, default=""),
    Column("deleted_by_document_id", ForeignKey("dokumenter.id")),
    Column("active", Boolean, nullable=False, default=True),
    UniqueConstraint("document_id", "rettsstiftelsesnummer", "unit_id", name="uq_rettigheter_number"),
)

innsendingsreferanser = Table(
    "innsendingsreferanser",
    metadata,
    # a reference is the submitter's own: two submitters may use the same one, neither may use one twice
    Column("sender_orgnr", String(9), primary_key=True),
    Column("reference", String(100), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)
