"""Sign-in, sessions and CSRF: wrong passwords are refused, repeated failures back off, forms without the
session's token are refused, and signing out ends the session on the server."""

from __future__ import annotations

from tests.console.conftest import BANK_STAFF, OPERATOR, PASSWORD, ConsoleBroker, csrf_token, sign_in


async def test_a_wrong_password_is_refused(console_broker: ConsoleBroker) -> None:
    response = await sign_in(console_broker.client, OPERATOR, "not the password at all")
    assert response.status == 401
    assert "Wrong username or password" in await response.text()
    assert "dsve_console" not in response.cookies
    unknown = await sign_in(console_broker.client, "nobody.here", PASSWORD)
    assert unknown.status == 401  # the same answer as for a known user


async def test_repeated_failures_back_off_per_user_and_client(console_broker: ConsoleBroker) -> None:
    client = console_broker.client
    console_broker.clock.freeze()
    for _ in range(3):
        assert (await sign_in(client, OPERATOR, "wrong password!!")).status == 401
    # Now even the right password must wait: the attempt is refused without being checked.
    waiting = await sign_in(client, OPERATOR)
    assert waiting.status == 429
    assert int(waiting.headers["Retry-After"]) == 2
    # Another user from the same client is not held back by someone else's few failures.
    assert (await sign_in(client, BANK_STAFF)).status == 303

    console_broker.clock.advance(2.5)
    assert (await sign_in(client, OPERATOR, "wrong again!!!")).status == 401
    assert int((await sign_in(client, OPERATOR)).headers["Retry-After"]) == 4  # the wait doubles

    console_broker.clock.advance(4.5)
    signed_in = await sign_in(client, OPERATOR)
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/console/"
    # A success clears the count: the next failure does not wait.
    await client.post("/console/logout", data={"csrf_token": csrf_token(await (await client.get("/console/")).text())})
    assert (await sign_in(client, OPERATOR, "wrong once more")).status == 401
    assert (await sign_in(client, OPERATOR)).status == 303


async def test_the_session_cookie_is_signed_http_only_and_same_site_strict(console_broker: ConsoleBroker) -> None:
    response = await sign_in(console_broker.client, OPERATOR)
    cookie = response.cookies["dsve_console"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/console"
    session_id, _, _ = cookie.value.partition(".")
    forged = session_id + ".AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"
    console_broker.client.session.cookie_jar.clear()
    response = await console_broker.client.get(
        "/console/", headers={"Cookie": f"dsve_console={forged}"}, allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"].startswith("/console/login")


async def test_forms_without_the_csrf_token_are_refused(console_broker: ConsoleBroker) -> None:
    client = console_broker.client
    # The sign-in form itself.
    response = await client.post("/console/login", data={"username": OPERATOR, "password": PASSWORD})
    assert response.status == 403
    await client.get("/console/login")  # a sign-in cookie, but a token that does not match it
    response = await client.post(
        "/console/login", data={"username": OPERATOR, "password": PASSWORD, "csrf_token": "guessed"}
    )
    assert response.status == 403

    assert (await sign_in(client, OPERATOR)).status == 303
    token = csrf_token(await (await client.get("/console/")).text())
    pantedokument = console_broker.message_ids["pantedokument"]
    reveal = f"/console/messages/{pantedokument}/personal-numbers"
    assert (await client.post(reveal, data={})).status == 403
    assert (await client.post(reveal, data={"csrf_token": "x" + token})).status == 403
    # The right token from another site's page is still refused.
    cross_site = await client.post(reveal, data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert cross_site.status == 403
    assert (await client.post("/console/logout", data={}, allow_redirects=False)).status == 403
    assert (await client.get("/console/")).status == 200  # still signed in: the forged sign-out did nothing
    assert (await client.post(reveal, data={"csrf_token": token})).status == 200


async def test_signing_out_ends_the_session_on_the_server(console_broker: ConsoleBroker) -> None:
    client = console_broker.client
    response = await sign_in(client, OPERATOR)
    cookie = response.cookies["dsve_console"].value
    token = csrf_token(await (await client.get("/console/")).text())
    signed_out = await client.post("/console/logout", data={"csrf_token": token}, allow_redirects=False)
    assert signed_out.status == 303 and signed_out.headers["Location"] == "/console/login"
    client.session.cookie_jar.clear()
    replayed = await client.get("/console/", headers={"Cookie": f"dsve_console={cookie}"}, allow_redirects=False)
    assert replayed.status == 303 and replayed.headers["Location"].startswith("/console/login")


async def test_pages_need_a_session_and_next_stays_inside_the_console(console_broker: ConsoleBroker) -> None:
    client = console_broker.client
    for path in ("/console/", "/console/cases", "/console/participants", "/console/dead-letters"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
    page = await client.get("/console/login")
    token = csrf_token(await page.text())
    response = await client.post(
        "/console/login",
        data={"csrf_token": token, "username": OPERATOR, "password": PASSWORD, "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/console/"
