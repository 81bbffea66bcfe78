"""`dsve demo` end to end: on the embedded defaults, and on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from participants.demo import DemoOptions, run_demo


def _console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160, highlight=False, color_system=None), out


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


async def test_the_demo_runs_on_rabbitmq_and_postgresql(
    tmp_path: Path, postgres_url: str, amqp_url: str, amqp_prefix: str
) -> None:
    console, out = _console()
    options = DemoOptions(data_dir=tmp_path, database_url=postgres_url, amqp_url=amqp_url, amqp_prefix=amqp_prefix)
    result = await run_demo(options, console)
    assert result.ok, result.failures
    assert "broker on PostgreSQL with RabbitMQ" in out.getvalue()
    assert result.messages == 23
