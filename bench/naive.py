"""The naive inline pipeline, the baseline the broker is measured against.

Built from the same libraries as the broker, one step after the other inside each request, as one would
write it first: aiohttp (with its default access log) → hardened lxml parse → lxml XSD → signxml verify
against the CA → SQLAlchemy insert and commit of this one message → aio-pika publish, awaiting its confirm
before answering → the recipient's consumer. It has no token check, no identifier rules, no registry lookups
and no status history: everything it leaves out only makes it faster, so the ratio it gives is conservative.

Run as a server by ``bench.e2e`` (``python -m bench.naive serve --port P``), configured by environment:
``NAIVE_DATABASE_URL``, ``NAIVE_AMQP_URL``, ``NAIVE_AMQP_PREFIX``, ``NAIVE_CA_FILE``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import sqlalchemy as sa
from aiohttp import web
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidInput
from sqlalchemy.ext.asyncio import create_async_engine

from broker.config import REPO_XSD_DIR
from broker.routing.topology import Topology, declare_participant, declare_shared
from broker.xml.catalogue import Catalogue

RECIPIENTS = ("930000000", "910000004")

metadata = sa.MetaData()
naive_messages = sa.Table(
    "naive_messages",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("sender", sa.String(9), nullable=False),
    sa.Column("message_id", sa.String(64), nullable=False),
    sa.Column("recipient", sa.String(9), nullable=False),
    sa.Column("message_type", sa.String(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("sender", "message_id"),
)

PROFILE = SignatureConfiguration(
    location="./",
    signature_methods=frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
APP_STATE = web.AppKey("state", dict)


async def submit(request: web.Request) -> web.Response:
    state = request.app[APP_STATE]
    data = await request.read()
    try:
        root = etree.fromstring(data, PARSER)
    except etree.XMLSyntaxError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    catalogue: Catalogue = state["catalogue"]
    spec = catalogue.spec_for_root(root)
    if spec is None or not catalogue.schema_for(spec).validate(root):
        return web.json_response({"error": "schema"}, status=422)
    try:
        verified = XMLVerifier().verify(data, ca_pem_file=state["ca"], expect_config=PROFILE)
    except InvalidInput as exc:
        return web.json_response({"error": str(exc)}, status=422)
    routing = spec.routing_fields(verified.signed_xml)
    broker_id = str(uuid.uuid4())
    async with state["engine"].begin() as conn:
        await conn.execute(
            sa.insert(naive_messages).values(
                id=broker_id,
                sender=routing.sender,
                message_id=routing.message_id,
                recipient=routing.recipient,
                message_type=routing.message_type,
                content=data,
            )
        )
    message = aio_pika.Message(
        body=data,
        message_id=broker_id,
        content_type="application/xml",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers={"sender-reference": routing.sender_reference, "message-type": routing.message_type},
    )
    await state["exchange"].publish(message, routing_key=f"{routing.recipient}.{routing.message_type}", mandatory=True)
    return web.json_response({"id": broker_id}, status=201)


async def healthz(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _running(app: web.Application) -> AsyncIterator[None]:
    state = app[APP_STATE]
    engine = create_async_engine(os.environ["NAIVE_DATABASE_URL"])
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    catalogue = Catalogue.load(REPO_XSD_DIR)
    catalogue.compile_all()
    topology = Topology(os.environ["NAIVE_AMQP_PREFIX"])
    connection = await aio_pika.connect_robust(os.environ["NAIVE_AMQP_URL"])
    declare = await connection.channel()
    await declare_shared(declare, topology)
    for orgnr in RECIPIENTS:
        await declare_participant(declare, topology, orgnr)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await channel.declare_exchange(topology.messages_exchange, aio_pika.ExchangeType.TOPIC, durable=True)
    state.update(engine=engine, catalogue=catalogue, ca=str(Path(os.environ["NAIVE_CA_FILE"])), exchange=exchange)
    yield
    await connection.close()
    await engine.dispose()


def create_app() -> web.Application:
    app = web.Application()
    app[APP_STATE] = {}
    app.router.add_post("/messages", submit)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(_running)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the naive pipeline as an HTTP server")
    serve.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if args.command == "serve":
        # aiohttp's default: an access log line per request, as a first version would have it.
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
