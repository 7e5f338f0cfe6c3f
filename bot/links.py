"""GET /r/<token>: a campaign's tracked link. The click is counted for the member's arm (once per member) and the
member is sent on to the campaign's URL; an unknown token is a 404 page. Only URLs a campaign text named are
ever redirected to (the token is the key of what was stored when the text was rendered)."""
from __future__ import annotations

from aiohttp import web

from .app_keys import SERVICES


async def follow_link(request: web.Request) -> web.Response:
    url = await request.app[SERVICES].campaign_results.follow(request.match_info["token"])
    if url is None:
        return web.Response(status=404, text="链接已失效 (this link is not valid)")
    raise web.HTTPFound(url)
