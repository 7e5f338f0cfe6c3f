"""Communities' WeChat tags through the project's WeChat client: its refusals as the domain's errors."""
from __future__ import annotations

import logging

from loyalty_core import errors

from .wechat_api import WeChatApi, WeChatApiError

log = logging.getLogger("bot.community_tags")
TAG_NAME_TAKEN, TOO_MANY_TAGS, MEMBER_HAS_TOO_MANY_TAGS = 45157, 45056, 45059


class WeChatTags:
    def __init__(self, api: WeChatApi | None):
        self._api = api

    async def create(self, name: str) -> int:
        try:
            return (await self._client().create_tag(name)).id
        except WeChatApiError as error:
            if error.errcode == TAG_NAME_TAKEN:       # made by an earlier try that crashed before it was recorded
                for tag in await self._call(self._client().get_tags()):
                    if tag.name == name:
                        return tag.id
            raise self._refusal("create a tag", error) from None

    async def tag(self, tag_id: int, openid: str) -> None:
        await self._call(self._client().tag_members(tag_id, [openid]), "tag a member")

    async def untag(self, tag_id: int, openid: str) -> None:
        await self._call(self._client().untag_members(tag_id, [openid]), "untag a member")

    def _client(self) -> WeChatApi:
        if self._api is None:
            raise errors.WeChatUnavailable()
        return self._api

    async def _call(self, call, what: str = "read the tags"):
        try:
            return await call
        except WeChatApiError as error:
            raise self._refusal(what, error) from None

    @staticmethod
    def _refusal(what: str, error: WeChatApiError) -> errors.DomainError:
        if error.errcode == TOO_MANY_TAGS:
            return errors.CommunityLimit()
        if error.errcode == MEMBER_HAS_TOO_MANY_TAGS:
            return errors.MemberCommunityLimit()
        log.warning("WeChat refused to %s: errcode %s", what, error.errcode)
        return errors.WeChatUnavailable()
