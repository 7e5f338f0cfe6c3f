"""A local stand-in for the WeChat official-account platform: its API, callbacks and a chat page.

The bot reaches it only through `WECHAT_API_BASE`, exactly as it reaches api.weixin.qq.com; nothing
here is imported by the bot.

    python -m wechat_sandbox          # http://127.0.0.1:8081/ is the chat page

Environment: SANDBOX_PORT (8081), SANDBOX_HOST (127.0.0.1), WECHAT_APPID, WECHAT_APPSECRET, WECHAT_TOKEN,
WECHAT_AES_KEY (set: callbacks in safe mode), BOT_CALLBACK_URL (http://127.0.0.1:8080/wechat).
In tests: `wechat_sandbox.app.create_sandbox_app(SandboxConfig(...))`, driven by
`wechat_sandbox.testing.SandboxClient`; the control API is described in `wechat_sandbox.control`.
"""
