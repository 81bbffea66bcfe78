"""`dsve demo` end to end: on the embedded defaults, and on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa
from rich.console import Console

from broker.domain.lifecycle import MAIN_LINE, MessageStatus
from broker.store import tables
from broker.store.engine import create_engine
from broker.store.unit_of_work import UnitOfWork
from participants.demo import DemoOptions, run_demo


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160, highlight=False, color_system=None), out


async def assert_histories_in_order(database_url: str) -> int:
    """Every message's history, as the API and the console read it, tells the steps in the order they
    happened: times never go back, and ``published`` (the publish confirm) comes before any download or
    confirm of the message. Returns how many messages were checked."""
    engine = create_engine(database_url)
    try:
        async with UnitOfWork(engine) as uow:
            ids = list(await uow.connection.scalars(sa.select(tables.messages.c.id)))
            for message_id in ids:
                history = await uow.history.for_message(message_id)
                steps = [entry.status for entry in history]
                times = [entry.at for entry in history]
                assert times == sorted(times), (message_id, history)
                main_line = [step for step in steps if step in MAIN_LINE]
                assert main_line == sorted(main_line, key=MAIN_LINE.index), (message_id, steps)
                assert steps[0] is MessageStatus.ACCEPTED, (message_id, steps)
                assert MessageStatus.PUBLISHED in steps, (message_id, steps)  # every demo message is routed
    finally:
        await engine.dispose()
    return len(ids)


async def test_the_demo_runs_the_whole_sale_on_the_embedded_defaults(tmp_path: Path) -> None:
    console, out = _console()
    result = await run_demo(DemoOptions(data_dir=tmp_path), console)
    text = out.getvalue()
    assert result.ok, result.failures
    assert result.messages == 23
    for step in (
        "finansieringssjekk",
        "restgjeld",
        "intensjon",
        "kjøpekontrakt",
        "pantedokument",
        "innfrielsessaldo",
        "slettingserklæring",
        "tinglysingsforsendelse",
        "Kartverket: TINGLYST",
        "slettingen sendes til tinglysing",
        "oppnådd prioritet 1",
        "Grunnboksutskrift",
        "Kartverket: AVVIST",
        "SELGER_ER_IKKE_HJEMMELSHAVER",
    ):
        assert step in text, step
    assert "15889210181" not in text, "personal numbers are masked in the demo's output"
    assert await assert_histories_in_order(f"sqlite:///{tmp_path / 'broker.db'}") >= result.messages


async def test_the_demo_runs_on_rabbitmq_and_postgresql(
    tmp_path: Path, postgres_url: str, amqp_url: str, amqp_prefix: str
) -> None:
    console, out = _console()
    options = DemoOptions(data_dir=tmp_path, database_url=postgres_url, amqp_url=amqp_url, amqp_prefix=amqp_prefix)
    result = await run_demo(options, console)
    assert result.ok, result.failures
    assert "broker on PostgreSQL with RabbitMQ" in out.getvalue()
    assert result.messages == 23
    assert await assert_histories_in_order(postgres_url) >= result.messages
