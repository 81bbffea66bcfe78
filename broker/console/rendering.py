"""HTML rendering for the console: one Jinja2 environment (autoescaped), pages, redirects and error pages.

Handlers return responses rather than raising aiohttp's HTTP errors: the broker's API middleware turns a
raised error into problem+json, which is right for the API and wrong for a page someone reads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jinja2
from aiohttp import web

from broker.console.context import VIEWER
from broker.console.request_context import console_of

HTML = "text/html"


def make_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("broker.console", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_time
    env.filters["bytes"] = format_size
    return env


def format_time(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_size(value: int) -> str:
    if value < 1024:
        return f"{value} B"
    if value < 1024 * 1024:
        return f"{value / 1024:.1f} KiB"
    return f"{value / (1024 * 1024):.1f} MiB"


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """The page ``template`` with the signed-in user (if any) and the current path available to it."""
    ctx = console_of(request)
    page = ctx.templates.get_template(template)
    text = page.render(viewer=request.get(VIEWER), path=request.path, **context)
    return web.Response(status=status, text=text, content_type=HTML, charset="utf-8")


def error_page(request: web.Request, status: int, title: str, detail: str = "") -> web.Response:
    return render(request, "error.html", status=status, title=title, detail=detail)


def not_found(request: web.Request) -> web.Response:
    """The same answer for "does not exist" and "not yours", as the API gives."""
    return error_page(request, 404, "Not found", "There is nothing here that you may see.")


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST the browser follows with a GET, so a reload never re-submits the form."""
    return web.Response(status=303, headers={"Location": location})
