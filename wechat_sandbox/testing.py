"""SandboxClient: an async wrapper of the sandbox's control API, for tests, benchmarks and demos.

    async with SandboxClient("http://127.0.0.1:8081") as sandbox:
        alice = await sandbox.add_member(nickname="Alice", follow=True, notify=False)
        result = await sandbox.text(alice["openid"], "积分")
        print(result["reply"])
"""
from __future__ import annotations

from typing import Any

import aiohttp
import orjson


class SandboxError(RuntimeError):
    def __init__(self, status: int, message: str):
        self.status = status
        super().__init__(f"{status}: {message}")


class SandboxClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None):
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> "SandboxClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def request(self, method: str, path: str, body: Any = None, **params) -> Any:
        query = {k: str(v) for k, v in params.items() if v is not None}
        data = None if body is None else orjson.dumps(body)
        async with self.session.request(method, f"{self.base_url}{path}", params=query, data=data,
                                        headers={"Content-Type": "application/json"}) as response:
            raw = await response.read()
            if response.status >= 400:
                raise SandboxError(response.status, raw.decode(errors="replace"))
            return orjson.loads(raw) if raw else None

    # -- state and time ------------------------------------------------------------------------------
    async def state(self) -> dict:
        return await self.request("GET", "/sandbox/state")

    async def reset(self) -> None:
        await self.request("POST", "/sandbox/reset")

    async def advance(self, seconds: float) -> dict:
        return await self.request("POST", "/sandbox/clock", {"advance": seconds})

    async def clock(self) -> dict:
        return await self.request("GET", "/sandbox/clock")

    async def settings(self, **changes) -> dict:
        return await self.request("PUT", "/sandbox/settings", changes)

    async def settle(self) -> int:
        return (await self.request("POST", "/sandbox/settle"))["settled"]

    # -- faults ----------------------------------------------------------------------------------------
    async def fault(self, endpoint: str, **fault) -> dict:
        return await self.request("POST", "/sandbox/faults", {"endpoint": endpoint, **fault})

    async def clear_faults(self, endpoint: str | None = None) -> dict:
        return await self.request("DELETE", "/sandbox/faults", endpoint=endpoint)

    async def daily_limit(self, endpoint: str, limit: int | None) -> dict:
        return await self.request("PUT", "/sandbox/daily-limits", {"endpoint": endpoint, "limit": limit})

    # -- members and their actions ------------------------------------------------------------------------
    async def add_member(self, *, openid: str | None = None, nickname: str = "", phone: str = "",
                         follow: bool = False, notify: bool = True) -> dict:
        body = {"openid": openid, "nickname": nickname, "phone": phone, "follow": follow, "notify": notify}
        return await self.request("POST", "/sandbox/members", body)

    async def add_followers(self, count: int, prefix: str = "") -> list[str]:
        return (await self.request("POST", "/sandbox/members/bulk", {"count": count, "prefix": prefix}))["openids"]

    async def member(self, openid: str) -> dict:
        return await self.request("GET", f"/sandbox/members/{openid}")

    async def follow(self, openid: str, *, ticket: str = "", scene: str = "") -> dict:
        return await self._act(openid, "follow", ticket=ticket, scene=scene)

    async def unfollow(self, openid: str) -> dict:
        return await self._act(openid, "unfollow")

    async def text(self, openid: str, content: str) -> dict:
        return await self._act(openid, "text", content=content)

    async def click(self, openid: str, key: str) -> dict:
        return await self._act(openid, "click", key=key)

    async def view(self, openid: str, url: str) -> dict:
        return await self._act(openid, "view", url=url)

    async def scan(self, openid: str, *, ticket: str = "", scene: str = "") -> dict:
        return await self._act(openid, "scan", ticket=ticket, scene=scene)

    async def consent(self, openid: str, *template_ids: str, accept: bool = True) -> dict:
        return await self._act(openid, "consent", template_ids=list(template_ids), accept=accept)

    async def _act(self, openid: str, action: str, **body) -> dict:
        return await self.request("POST", f"/sandbox/members/{openid}/{action}", body)

    async def messages(self, openid: str, *, channel: str | None = None, after: int = 0) -> list[dict]:
        """The member's conversation (both directions), or only one channel's entries."""
        return await self.request("GET", f"/sandbox/members/{openid}/messages", channel=channel, after=after)

    async def delivered(self, openid: str, channel: str | None = None) -> list[dict]:
        """Messages that reached the member (passive, custom, template, subscribe, mass)."""
        entries = await self.messages(openid, channel=channel)
        return [e for e in entries if e["direction"] == "out"]

    # -- records -----------------------------------------------------------------------------------------
    async def all_messages(self, *, channel: str | None = None, after: int = 0, limit: int = 10_000) -> list[dict]:
        return await self.request("GET", "/sandbox/messages", channel=channel, after=after, limit=limit)

    async def calls(self, endpoint: str | None = None, *, after: int = 0, limit: int = 10_000) -> list[dict]:
        return await self.request("GET", "/sandbox/calls", endpoint=endpoint, after=after, limit=limit)

    async def stats(self) -> dict:
        return await self.request("GET", "/sandbox/stats")

    async def callbacks(self, *, event: str | None = None, msgtype: str | None = None) -> list[dict]:
        return await self.request("GET", "/sandbox/callbacks", event=event, msgtype=msgtype, limit=10_000)

    async def sms(self, phone: str | None = None) -> list[dict]:
        return await self.request("GET", "/sandbox/sms", phone=phone)

    async def send_sms(self, phone: str, text: str) -> dict:
        return await self.request("POST", "/sandbox/sms", {"phone": phone, "text": text})

    async def add_template(self, template_id: str, title: str, kind: str = "template",
                           keywords: dict[str, str] | None = None) -> dict:
        return await self.request("POST", "/sandbox/templates", {"template_id": template_id, "title": title,
                                                                 "kind": kind, "keywords": keywords or {}})

    async def qrcodes(self) -> list[dict]:
        return await self.request("GET", "/sandbox/qrcodes")

    async def menu(self) -> dict | None:
        return await self.request("GET", "/sandbox/menu")
