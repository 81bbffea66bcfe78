"""What the console's handlers share: the store, its options, the cookie signers and the templates.

Built once by ``setup_console`` and kept on the console's sub-application under ``broker.app_keys.CONSOLE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import jinja2
from aiohttp import web
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.config import Settings
from broker.console.options import ConsoleOptions


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user of one request. ``scope`` is None for an operator, else the only orgnr they see."""

    username: str
    role: str
    orgnr: str | None
    csrf_token: str
    session_hash: str

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    @property
    def scope(self) -> str | None:
        return None if self.is_operator else self.orgnr


@dataclass(frozen=True, slots=True)
class ConsoleContext:
    settings: Settings
    options: ConsoleOptions
    engine: AsyncEngine
    sessions: URLSafeTimedSerializer  # signs the session id in the cookie
    sign_in_tokens: URLSafeTimedSerializer  # signs the CSRF token of the sign-in form (before any session)
    templates: jinja2.Environment
    clock: Callable[[], datetime]  # the broker's clock (``Services.clock``)


VIEWER = web.RequestKey("console_viewer", Viewer)
