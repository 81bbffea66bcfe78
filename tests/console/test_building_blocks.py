"""The pure parts of the console: property units from content, the readable XML, the diagram layout,
the sign-in backoff, and the secret file."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from broker.config import REPO_XSD_DIR, Settings, XmlLimits
from broker.console.options import ConsoleOptions
from broker.console.property_index import units_in
from broker.console.secret import load_or_create_secret
from broker.console.sequence_diagram import layout
from broker.console.xml_view import readable_xml
from broker.domain.lifecycle import MessageStatus
from broker.domain.messages import StoredMessage
from broker.domain.participants import Participant
from broker.domain.roles import Role
from broker.store.console_property_repository import UnitRef

EXAMPLES = REPO_XSD_DIR / "examples"


def test_units_are_read_from_every_matrikkelenhet() -> None:
    units = units_in((EXAMPLES / "tinglysingsforsendelse.xml").read_bytes(), XmlLimits())
    assert set(units) == {UnitRef("4601-165-412", 0, 3)}
    assert units_in((EXAMPLES / "pantedokumentKvittering.xml").read_bytes(), XmlLimits()) == []
    assert units_in(b"<not-xml", XmlLimits()) == []
    assert units_in(None, XmlLimits()) == []
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "4601">]><x><matrikkelenhet/></x>'
    assert units_in(doctype, XmlLimits()) == []  # the hardened parser refuses it


def test_readable_xml_masks_personal_numbers_unless_revealed() -> None:
    content = (EXAMPLES / "intensjonFraBank.xml").read_bytes()
    masked = readable_xml(content, XmlLimits())
    assert masked.personal_numbers == 2 and masked.masked
    assert "158892*****" in masked.text and "15889210181" not in masked.text
    full = readable_xml(content, XmlLimits(), reveal=True)
    assert "15889210181" in full.text and not full.masked


def _message(n: int, sender: str, recipient: str) -> StoredMessage:
    now = datetime.now(UTC)
    return StoredMessage(
        f"id-{n}",
        "t",
        f"m{n}",
        sender,
        recipient,
        "ref",
        None,
        None,
        "CN=x",
        1,
        "0" * 64,
        None,
        MessageStatus.ACCEPTED,
        now,
        now,
        now,
        n,
    )


def test_the_diagram_puts_banks_left_of_the_megler_and_kartverket_right() -> None:
    participants = {
        "930000000": Participant("930000000", Role.MEGLER, "Megler", ""),
        "910000004": Participant("910000004", Role.BANK, "Bank", ""),
        "971040238": Participant("971040238", Role.KARTVERKET, "Kartverket", ""),
    }
    diagram = layout([_message(1, "930000000", "971040238"), _message(2, "910000004", "930000000")], participants)
    assert [lane.role for lane in diagram.lanes] == ["bank", "megler", "kartverket"]
    first, second = diagram.arrows
    assert first.rightwards and second.rightwards
    assert first.y < second.y and diagram.height > second.y
    assert diagram.width >= max(lane.x for lane in diagram.lanes)


def test_backoff_doubles_after_the_free_attempts_up_to_the_cap() -> None:
    options = ConsoleOptions(secret_file=Path("unused"))
    waits = [options.backoff_after(n).total_seconds() for n in range(0, 12)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3:7] == [2, 4, 8, 16]
    assert waits[-1] == options.backoff_max.total_seconds() == 300
    assert ConsoleOptions.from_env(Settings(data_dir=Path("d")), {}).secret_file == Path("d/console-secret.key")
    environ = {"DSVE_CONSOLE_SECRET_FILE": "/s", "DSVE_CONSOLE_SESSION_LIFETIME": "60"}
    from_env = ConsoleOptions.from_env(Settings(), environ)
    assert from_env.secret_file == Path("/s") and from_env.session_lifetime == timedelta(seconds=60)


def test_the_secret_file_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / "console-secret.key"
    secret = load_or_create_secret(path)
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == secret
