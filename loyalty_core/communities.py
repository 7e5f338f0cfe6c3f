"""Communities: interest groups (yoga club, wine circle, …) that members join in chat and managers broadcast to.

A community is a WeChat user tag (WECHAT.md section 5) mirrored in Redis: the tag is what the platform
knows (a mass send may target it), the mirror is what the bot reads (who is in, who manages it). The
platform's limits are ours too: at most 100 tags per account, at most 20 per member (batch tagging takes 50
openids a call, which the WeChat client handles).

Order of a change, so that a failure leaves nothing half done that a retry cannot finish:
- create: the tag first (a tag of that name already there is taken over, so a retry after a crash finds
  it), then the definition, once, by its id;
- join: the member's limit is checked, then the tag is set (setting it twice is harmless), then the
  member's set of communities changes (one script, which checks the limit again), then the community's set
  of members (its own slot, idempotent);
- leave: the tag is removed first, then the two sets.
"""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Protocol

from . import errors

COMMUNITIES_PER_ACCOUNT = 100      # WeChat: tags per official account
COMMUNITIES_PER_MEMBER = 20        # WeChat: tags per user
NAME_MAX_CHARS = 30                # WeChat: a tag's name
DESCRIPTION_MAX_CHARS = 200
_ID = re.compile(r"[A-Za-z0-9_.-]{1,48}")


@dataclass(frozen=True)
class Community:
    community_id: str
    name: str
    description: str
    tag_id: int
    number: int                    # 1, 2, …: what a member types after 加入

    def to_dict(self) -> dict:
        return {"community_id": self.community_id, "name": self.name, "description": self.description,
                "tag_id": self.tag_id, "number": self.number}


@dataclass(frozen=True)
class CommunityView:
    community: Community
    members: int
    managers: tuple[str, ...]      # openids

    def to_dict(self) -> dict:
        return self.community.to_dict() | {"members": self.members, "managers": list(self.managers)}


@dataclass(frozen=True)
class Membership:
    community: Community
    changed: bool                  # False: the member was in (join) or out (leave) already


def check_definition(community_id: str, name: str, description: str) -> tuple[str, str, str]:
    """The definition as stored: an ASCII id, a name WeChat accepts as a tag's, a short description."""
    if not isinstance(community_id, str) or not _ID.fullmatch(community_id):
        raise errors.InvalidRequest("community_id must be 1 to 48 of A-Z a-z 0-9 _ . -")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX_CHARS:
        raise errors.InvalidRequest(f"name must be non-empty text of at most {NAME_MAX_CHARS} characters")
    if name.strip().isdecimal():
        raise errors.InvalidRequest("name must not be a number (members join by number or by name)")
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX_CHARS:
        raise errors.InvalidRequest(f"description must be text of at most {DESCRIPTION_MAX_CHARS} characters")
    return community_id, " ".join(name.split()), description.strip()


def pick(communities: list[Community], words: str) -> Community:
    """The community a member means by `加入 2` or `加入 瑜伽社`: its number or its exact name."""
    words = words.strip().removeprefix("第").removesuffix("个").strip()
    for community in communities:
        if (words.isdecimal() and int(words) == community.number) or words.casefold() == community.name.casefold():
            return community
    raise errors.UnknownCommunity()


class Tags(Protocol):
    """WeChat's user tags (raises WeChatUnavailable, CommunityLimit or MemberCommunityLimit on a refusal)."""
    async def create(self, name: str) -> int:
        """The id of a new tag of that name, or of the tag that has the name already."""
    async def tag(self, tag_id: int, openid: str) -> None: ...
    async def untag(self, tag_id: int, openid: str) -> None: ...


class CommunityStore(Protocol):
    async def save(self, community_id: str, name: str, description: str, tag_id: int,
                   limit: int) -> Community:
        """Once per id (the same definition again returns it); CommunityConflict, CommunityLimit."""
    async def get(self, community_id: str) -> Community | None: ...
    async def all(self) -> list[Community]: ...
    async def count(self) -> int: ...
    async def add_manager(self, community_id: str, openid: str) -> None: ...
    async def managers(self, community_id: str) -> tuple[str, ...]: ...
    async def is_manager(self, community_id: str, openid: str) -> bool: ...
    async def member_count(self, community_id: str) -> int: ...
    async def communities_of(self, member_id: str) -> set[str]: ...
    async def join(self, member_id: str, community_id: str, limit: int) -> bool:
        """True if the member joined now; MemberCommunityLimit."""
    async def leave(self, member_id: str, community_id: str) -> bool: ...
    async def is_in(self, member_id: str, community_id: str) -> bool: ...
    async def members(self, community_id: str, cursor: int, count: int) -> tuple[int, list[str]]:
        """A page of the community's member ids (SSCAN: cursor 0 starts, a returned 0 ends)."""


class Openids(Protocol):
    async def get(self, member_id: str): ...                       # -> Member (its openid)
    async def member_id_for_openid(self, openid: str) -> str | None: ...


class CommunityService:
    def __init__(self, store: CommunityStore, tags: Tags, members: Openids):
        self._store = store
        self._tags = tags
        self._members = members

    # -- staff ---------------------------------------------------------------------------------------------
    async def create(self, community_id: str, name: str, description: str) -> Community:
        community_id, name, description = check_definition(community_id, name, description)
        existing = await self._store.get(community_id)
        if existing is not None:
            if existing.name != name:
                raise errors.CommunityConflict()
            return existing
        if await self._store.count() >= COMMUNITIES_PER_ACCOUNT:
            raise errors.CommunityLimit()
        if any(c.name.casefold() == name.casefold() for c in await self._store.all()):
            raise errors.CommunityConflict()
        tag_id = await self._tags.create(name)
        return await self._store.save(community_id, name, description, tag_id, COMMUNITIES_PER_ACCOUNT)

    async def add_manager(self, community_id: str, openid: str) -> CommunityView:
        community = await self.community(community_id)
        if await self._members.member_id_for_openid(openid) is None:
            raise errors.UnknownMember()
        await self._store.add_manager(community.community_id, openid)
        return await self.view(community_id)

    async def view(self, community_id: str) -> CommunityView:
        community = await self.community(community_id)
        return CommunityView(community, await self._store.member_count(community_id),
                             await self._store.managers(community_id))

    async def community(self, community_id: str) -> Community:
        if not isinstance(community_id, str) or not _ID.fullmatch(community_id):
            raise errors.UnknownCommunity()
        community = await self._store.get(community_id)
        if community is None:
            raise errors.UnknownCommunity()
        return community

    # -- members ---------------------------------------------------------------------------------------------
    async def listing(self) -> list[Community]:
        return sorted(await self._store.all(), key=lambda c: c.number)

    async def find(self, words: str) -> Community:
        return pick(await self.listing(), words)

    async def join(self, member_id: str, words: str) -> Membership:
        community = await self.find(words)
        if await self._store.is_in(member_id, community.community_id):
            await self._store.join(member_id, community.community_id, COMMUNITIES_PER_MEMBER)   # repairs a cut join
            return Membership(community, changed=False)
        if len(await self._store.communities_of(member_id)) >= COMMUNITIES_PER_MEMBER:
            raise errors.MemberCommunityLimit()
        await self._tags.tag(community.tag_id, (await self._members.get(member_id)).openid)
        joined = await self._store.join(member_id, community.community_id, COMMUNITIES_PER_MEMBER)
        return Membership(community, changed=joined)

    async def leave(self, member_id: str, words: str) -> Membership:
        community = await self.find(words)
        if not await self._store.is_in(member_id, community.community_id):
            await self._store.leave(member_id, community.community_id)      # repairs a cut leave
            raise errors.NotInCommunity(community=community.name)
        await self._tags.untag(community.tag_id, (await self._members.get(member_id)).openid)
        return Membership(community, changed=await self._store.leave(member_id, community.community_id))

    async def of_member(self, member_id: str) -> list[Community]:
        mine = await self._store.communities_of(member_id)
        return [community for community in await self.listing() if community.community_id in mine]

    async def managed_by(self, openid: str) -> list[CommunityView]:
        """The communities the follower manages (at most 100 an account: each asked in turn), with their counts."""
        return [await self.view(community.community_id) for community in await self.listing()
                if await self._store.is_manager(community.community_id, openid)]

    async def is_in(self, member_id: str, community_id: str) -> bool:
        return await self._store.is_in(member_id, community_id)

    async def is_manager(self, community_id: str, openid: str) -> bool:
        return await self._store.is_manager(community_id, openid)

    async def members(self, community_id: str, page: int = 500):
        """Every member id of the community once, a page at a time (an async iterator; a scan may return a
        member twice while Redis resizes the set). The member's own set decides: one whose leave a crash cut
        short, between the two sets, is not in."""
        cursor, seen = None, set()
        while cursor != 0:
            cursor, found = await self._store.members(community_id, cursor or 0, page)
            fresh = [member_id for member_id in dict.fromkeys(found) if member_id not in seen]
            seen.update(fresh)
            for member_id, member in zip(fresh, await asyncio.gather(
                    *(self._store.is_in(member_id, community_id) for member_id in fresh))):
                if member:
                    yield member_id
