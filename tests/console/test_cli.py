"""``dsve console add-user``: users from a password file or the environment, checked roles and orgnr."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from broker.cli import main
from broker.console.passwords import verify_password
from broker.store.console_user_repository import ConsoleUserRepository
from broker.store.engine import create_engine
from broker.store.unit_of_work import UnitOfWork


def _user(url: str, username: str):
    async def read():
        engine = create_engine(url)
        try:
            async with UnitOfWork(engine) as uow:
                return await ConsoleUserRepository(uow.connection).get(username)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_add_user_from_a_password_file_and_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    secret = tmp_path / "password"
    secret.write_text("a long operator password\n")
    assert (
        main(
            [
                "console",
                "add-user",
                "--username",
                "ops",
                "--role",
                "operator",
                "--password-file",
                str(secret),
                "--database-url",
                url,
            ]
        )
        == 0
    )
    assert "console user ops (operator) saved" in capsys.readouterr().out
    user = _user(url, "ops")
    assert user is not None and user.role == "operator" and user.orgnr is None
    assert user.password_hash.startswith("$argon2id$")
    assert asyncio.run(verify_password(user.password_hash, "a long operator password"))

    monkeypatch.setenv("DSVE_CONSOLE_PASSWORD", "the bank's own password")
    assert (
        main(
            [
                "console",
                "add-user",
                "--username",
                "bank",
                "--role",
                "participant",
                "--orgnr",
                "910000004",
                "--database-url",
                url,
            ]
        )
        == 0
    )
    staff = _user(url, "bank")
    assert staff is not None and staff.orgnr == "910000004"
    assert asyncio.run(verify_password(staff.password_hash, "the bank's own password"))


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--role", "participant"], "needs --orgnr"),
        (["--role", "participant", "--orgnr", "910000005"], "not a valid organisation number"),
        (["--role", "operator", "--orgnr", "910000004"], "leave out --orgnr"),
    ],
)
def test_add_user_refuses_bad_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], arguments, complaint
) -> None:
    monkeypatch.setenv("DSVE_CONSOLE_PASSWORD", "long enough password")
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    assert main(["console", "add-user", "--username", "u", *arguments, "--database-url", url]) == 2
    assert complaint in capsys.readouterr().err


def test_add_user_refuses_a_short_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DSVE_CONSOLE_PASSWORD", "short")
    url = f"sqlite+aiosqlite:///{tmp_path / 'broker.db'}"
    assert main(["console", "add-user", "--username", "u", "--role", "operator", "--database-url", url]) == 2
    assert "at least 12 characters" in capsys.readouterr().err
