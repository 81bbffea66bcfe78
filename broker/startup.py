"""Start-up failures that say what to do: the setting at fault and the command or change that fixes it.

A newcomer's ``dsve serve`` on a fresh data directory died with ``[Errno 2] No such file or directory:
'…/pki/ca.pem'``. Each thing the broker needs at start (the schemas, the trust store, the token key, the
console's secret, the database, RabbitMQ, the participants file) is loaded inside ``needed(...)``, which
turns the failure into a :class:`StartupError` naming the variable and the remedy; ``dsve serve`` prints
it without a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class StartupError(Exception):
    """The broker cannot start: what failed, the setting at fault and how to fix it."""

    def __init__(self, problem: str, setting: str, remedy: str) -> None:
        super().__init__(f"{problem}\n  setting: {setting}\n  to fix:  {remedy}")
        self.problem, self.setting, self.remedy = problem, setting, remedy


@contextlib.contextmanager
def needed(what: str, setting: str, remedy: str) -> Iterator[None]:
    """Run a start-up step; a failure of the outside world or of a setting becomes a StartupError."""
    try:
        yield
    except StartupError:
        raise
    except (OSError, ValueError, ArgumentError, TimeoutError) as exc:
        raise StartupError(f"{what}: {_reason(exc)}", setting, remedy) from exc
    except Exception as exc:  # drivers raise their own kinds for an unreachable server (asyncpg, aiormq)
        if not _is_outage(exc):
            raise
        raise StartupError(f"{what}: {_reason(exc)}", setting, remedy) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def _is_outage(exc: BaseException) -> bool:
    """A connection-level failure of a server (not a bug): judged by the exception's module and chain."""
    seen: BaseException | None = exc
    while seen is not None:
        module = type(seen).__module__
        if isinstance(seen, OSError | TimeoutError) or module.startswith(("asyncpg", "aiormq", "aio_pika", "pamqp")):
            return True
        if module.startswith("sqlalchemy") and type(seen).__name__ in {"OperationalError", "InterfaceError"}:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def safe_url(url: str) -> str:
    """A database or AMQP URL without its password, fit for a message."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1] if "@" in url else url
