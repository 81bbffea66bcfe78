"""Over HTTP: a signed message whose personal number hides a wrong check digit behind a comment is refused."""

from __future__ import annotations

from tests.http.conftest import BANK, Broker, example_message


async def test_a_comment_cannot_hide_a_wrong_check_digit(sqlite_broker: Broker) -> None:
    # Comments are outside exclusive c14n: added after signing, the signature still verifies.
    signed = sqlite_broker.sign(example_message("intensjonFraBank").replace(b"15889210181", b"15889210182"), BANK)
    response = await sqlite_broker.send(BANK, signed.replace(b"15889210182", b"15<!-- x -->889210182"))
    assert response.status == 422, await response.text()
    body = await response.json()
    assert body["type"].endswith("/rule-violation")
    assert "889210182" not in await response.text()


async def test_a_processing_instruction_in_a_signed_message_is_refused(sqlite_broker: Broker) -> None:
    data = example_message("intensjonFraBank").replace(b"<navn>Kari", b"<?x y?><navn>Kari")
    response = await sqlite_broker.send(BANK, data)
    assert response.status == 400, await response.text()
    assert (await response.json())["type"].endswith("/xml-processing-instruction")
