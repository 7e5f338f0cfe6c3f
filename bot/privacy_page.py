"""GET /privacy: the privacy notice the chat links to (what is kept, why, how to get a copy or have it erased)."""
from __future__ import annotations

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from loyalty_core.members import PRIVACY_NOTICE_VERSION

from .templating import TEMPLATE_DIR

ENVIRONMENT = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), undefined=StrictUndefined,
                          autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


def render_privacy(version: str = PRIVACY_NOTICE_VERSION) -> str:
    return ENVIRONMENT.get_template("privacy.html").render(version=version)


async def privacy_page(request: web.Request) -> web.Response:
    return web.Response(text=render_privacy(), content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "public, max-age=3600"})
