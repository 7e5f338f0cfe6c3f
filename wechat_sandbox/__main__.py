"""python -m wechat_sandbox: the WeChat stand-in on SANDBOX_PORT (default 8081), configured from the environment."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from .app import create_sandbox_app
from .config import SandboxConfig


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = SandboxConfig.from_env()
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    mode = "safe mode (AES)" if config.aes_key else "plaintext"
    logging.getLogger("wechat_sandbox").info(
        "WeChat sandbox on http://%s:%s/ (chat page), callbacks to %s in %s",
        config.host, config.port, config.bot_callback_url, mode)
    # No access log: request lines carry access tokens in their query strings.
    web.run_app(create_sandbox_app(config), host=config.host, port=config.port, access_log=None,
                print=None, loop=asyncio.new_event_loop() if loop_factory is None else loop_factory())


if __name__ == "__main__":
    main()
