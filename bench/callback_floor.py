"""The floor for /wechat: a hand-rolled aiohttp endpoint doing the least a real reply needs —
wechatpy parse, one Redis HGET, one cached jinja2 render, a wechatpy reply. No checks, no dedup."""
from __future__ import annotations

import os
import sys

import redis.asyncio as aioredis
from aiohttp import web
from jinja2 import Template
from wechatpy import parse_message
from wechatpy.replies import TextReply

TEMPLATE = Template("您的积分余额：{{ balance }} 分")
REDIS = web.AppKey("redis", aioredis.Redis)


async def wechat(request: web.Request) -> web.Response:
    message = parse_message(await request.read())
    balance = await request.app[REDIS].hget("floor:member", "balance")
    reply = TextReply(message=message, content=TEMPLATE.render(balance=balance))
    return web.Response(text=reply.render(), content_type="application/xml")


async def redis_ctx(app: web.Application):
    app[REDIS] = aioredis.from_url(os.environ["REDIS_URL"], decode_responses=True)
    await app[REDIS].hset("floor:member", "balance", "1200")
    yield
    await app[REDIS].aclose()


def main() -> None:
    app = web.Application()
    app.cleanup_ctx.append(redis_ctx)
    app.router.add_post("/wechat", wechat)
    loop = None
    if "--uvloop" in sys.argv:
        import uvloop
        loop = uvloop.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
