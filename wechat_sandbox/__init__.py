"""A local stand-in for the WeChat official-account platform: its API, callbacks and a chat page.

The bot reaches it only through `WECHAT_API_BASE`, exactly as it reaches api.weixin.qq.com.
Nothing here is imported by the bot.
"""
