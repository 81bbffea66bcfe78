"""A console request's context and viewer, read from the application and the request."""

from __future__ import annotations

from aiohttp import web

from broker.app_keys import CONSOLE
from broker.console.context import VIEWER, ConsoleContext, Viewer


def console_of(request: web.Request) -> ConsoleContext:
    return request.config_dict[CONSOLE]


def viewer_of(request: web.Request) -> Viewer:
    """The signed-in user; the middleware lets no request reach a page handler without one."""
    return request[VIEWER]
