"""Members in Redis: a profile hash per member, an openid index and a keyed-hash phone index."""
from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime
from typing import AsyncIterator

from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from ..members import FollowResult, Member, PhoneRules, VerifiedCode
from .batching import pipelined
from .outbox import Outbox
from .scripts import Scripts

FIRST_MEMBER_NUMBER = 100_000
OP_TTL_SECONDS = 7 * 86400
NUMBER_LIMITS_TTL_SECONDS = 2 * 86400     # a number's last-code time and daily count outlive their day
OPENID_CACHE_SECONDS = 60                 # how long another process may still map an erased member's openid


class RedisMemberStore:
    def __init__(self, redis: Redis, scripts: Scripts, outbox: Outbox, cache_size: int = 100_000):
        self._redis = redis
        self._scripts = scripts
        self._outbox = outbox
        # openid -> member_id changes when a follower with no phone bound folds into an imported member
        # (loyalty_core/member_fold.py) and when the member is erased (the openid then names nobody, and a later
        # follow makes a new member). So a process keeps it for members with a phone bound only, and for a minute:
        # the erasing process forgets it at once, the others within OPENID_CACHE_SECONDS (monotonic time: a
        # cache's age, not the program's clock).
        self._openid_cache: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._cache_size = cache_size

    async def member_id_for_openid(self, openid: str) -> str | None:
        cached = self._openid_cache.get(openid)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        member_id = await self._scripts.batcher.call("GET", keys.openid_index(openid))
        if member_id is not None and await self._settled(member_id):
            self._remember(openid, member_id)
        return member_id

    async def _settled(self, member_id: str) -> bool:
        """A member whose openid stays theirs for good: a phone bound, and not folded into another member."""
        phone_hash, merged_into = await self._scripts.batcher.call(
            "HMGET", keys.member_profile(member_id), "phone_hash", "merged_into")
        return bool(phone_hash) and not merged_into

    def _remember(self, openid: str, member_id: str) -> None:
        self._openid_cache[openid] = (member_id, time.monotonic() + OPENID_CACHE_SECONDS)
        self._openid_cache.move_to_end(openid)
        if len(self._openid_cache) > self._cache_size:
            self._openid_cache.popitem(last=False)

    def forget(self, openid: str) -> None:
        self._openid_cache.pop(openid, None)

    async def member_id_for_phone(self, phone_hash: str) -> str | None:
        return await self._redis.get(keys.phone_index(phone_hash))

    async def get(self, member_id: str) -> Member | None:
        return _member(member_id, await self._scripts.batcher.call("HGETALL", keys.member_profile(member_id)))

    async def nicknames_many(self, member_ids: list[str]) -> list[str | None]:
        raws = await pipelined(self._redis, [("HMGET", keys.member_profile(m), "nickname", "joined_at", "imported_at")
                                             for m in member_ids])
        return [nickname or "" if joined or imported else None for nickname, joined, imported in raws]

    async def phone_enc(self, member_id: str) -> str | None:
        return await self._redis.hget(keys.member_profile(member_id), "phone_enc")

    async def phone_claims(self, member_id: str) -> tuple[str | None, str | None]:
        """The phone hash bound in the profile, and that of a verified code whose binding is under way."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(keys.member_profile(member_id), "phone_hash")
            pipe.hmget(keys.phone_challenge(member_id), "phone_hash", "verified")
            bound, (pending, verified) = await pipe.execute()
        return bound or None, pending if verified == "1" else None

    async def follow(self, openid: str, now: datetime, op_key: str, via: str) -> FollowResult:
        member_id = await self._member_id_or_claim(openid)
        result = await self._follow(member_id, openid, now, op_key, via)
        if not result["ok"]:      # erased since this process cached the openid: the openid names nobody now
            self.forget(openid)
            member_id = await self._member_id_or_claim(openid)
            result = await self._follow(member_id, openid, now, op_key, via)
        return FollowResult(member_id=member_id, is_new=result["is_new"], restored=result["restored"])

    async def _follow(self, member_id: str, openid: str, now: datetime, op_key: str, via: str) -> dict:
        await self._outbox.mark(member_id, now)
        result = await self._scripts.run(
            "member_follow",
            [keys.member_profile(member_id), keys.member_op(member_id, op_key), keys.member_outbox(member_id)],
            [member_id, openid, now.isoformat(), f"{op_key}", OP_TTL_SECONDS, via],
        )
        await self._outbox.relay(member_id)
        return result

    async def _member_id_or_claim(self, openid: str) -> str:
        existing = await self.member_id_for_openid(openid)
        if existing is not None:
            return existing
        candidate = str(FIRST_MEMBER_NUMBER + await self._redis.incr(keys.MEMBER_SEQ))
        if await self._redis.set(keys.openid_index(openid), candidate, nx=True):
            member_id = candidate
        else:  # another process claimed this openid first; its number wins
            member_id = await self._redis.get(keys.openid_index(openid))
        return member_id

    async def unfollow(self, member_id: str, now: datetime, op_key: str) -> bool:
        await self._outbox.mark(member_id, now)
        result = await self._scripts.run(
            "member_unfollow",
            [keys.member_profile(member_id), keys.member_op(member_id, op_key), keys.member_outbox(member_id)],
            [member_id, now.isoformat(), op_key, OP_TTL_SECONDS],
        )
        await self._outbox.relay(member_id)
        return bool(result.get("changed"))

    async def following(self, batch: int = 1000) -> AsyncIterator[str]:
        """Every member who follows the account, by member number (numbers are handed out in order)."""
        last = int(await self._redis.get(keys.MEMBER_SEQ) or 0)
        for start in range(1, last + 1, batch):
            numbers = [str(FIRST_MEMBER_NUMBER + n) for n in range(start, min(start + batch, last + 1))]
            async with self._redis.pipeline(transaction=False) as pipe:
                for member_id in numbers:
                    pipe.hget(keys.member_profile(member_id), "status")
                statuses = await pipe.execute()
            for member_id, status in zip(numbers, statuses):
                if status == "subscribed":
                    yield member_id

    async def file_join_day(self, member_id: str, label: str) -> None:
        await self._redis.sadd(keys.joined_on(label), member_id)

    async def members_joined_on(self, label: str) -> list[str]:
        return [member async for member in self._redis.sscan_iter(keys.joined_on(label), count=500)]

    async def count_sms_to_number(self, phone_hash: str, now: datetime, day: str, rules: PhoneRules) -> None:
        await self._scripts.run_or_refuse(
            "phone_sms_quota", [keys.phone_sms_last(phone_hash), keys.phone_sms_day(phone_hash, day)],
            [epoch_ms(now), int(rules.number_cooldown.total_seconds() * 1000), rules.number_daily_codes,
             NUMBER_LIMITS_TTL_SECONDS])

    async def start_phone_challenge(self, member_id: str, phone_enc: str, phone_hash: str, code_hash: str,
                                    now: datetime, rules: PhoneRules) -> None:
        await self._scripts.run_or_refuse(
            "phone_challenge", [keys.phone_challenge(member_id)],
            [phone_enc, phone_hash, code_hash, epoch_ms(now),
             int(rules.code_validity.total_seconds() * 1000), int(rules.code_cooldown.total_seconds() * 1000)],
        )

    async def check_phone_code(self, member_id: str, code_hash: str, now: datetime, rules: PhoneRules) -> VerifiedCode:
        checked = await self._scripts.run_or_refuse(
            "phone_verify", [keys.phone_challenge(member_id)], [code_hash, epoch_ms(now), rules.max_tries])
        return VerifiedCode(phone_hash=checked["phone_hash"], phone_enc=checked["phone_enc"])

    async def cancel_phone_challenge(self, member_id: str) -> None:
        await self._redis.delete(keys.phone_challenge(member_id))

    async def claim_phone(self, member_id: str, phone_hash: str) -> str:
        """Point the phone index at this member unless another member holds it; returns the holder."""
        if await self._redis.set(keys.phone_index(phone_hash), member_id, nx=True):
            return member_id
        return await self._redis.get(keys.phone_index(phone_hash))

    async def bind_phone(self, member_id: str, phone_hash: str, phone_enc: str, now: datetime) -> str:
        await self._outbox.mark(member_id, now)
        result = await self._scripts.run_or_refuse(
            "phone_bind",
            [keys.member_profile(member_id), keys.phone_challenge(member_id), keys.member_outbox(member_id)],
            [member_id, phone_hash, phone_enc, now.isoformat(),
             f"phone_bound:{member_id}:{phone_hash[:16]}:{epoch_ms(now)}"],   # a number bound again is a new event
        )
        await self._outbox.relay(member_id)
        return result["previous_hash"]

    async def note_privacy(self, member_id: str, step: str, version: str, now: datetime) -> dict:
        return await self._scripts.run_or_refuse("privacy_note", [keys.member_profile(member_id)],
                                                 [step, version, now.isoformat()])

    async def release_phone(self, member_id: str, phone_hash: str) -> None:
        await self._scripts.run("index_release", [keys.phone_index(phone_hash)], [member_id])


def _member(member_id: str, raw: dict) -> Member | None:
    if not raw:
        return None
    return Member(
        member_id=member_id, openid=raw.get("openid", ""), subscribed=raw.get("status") == "subscribed",
        joined_at=datetime.fromisoformat(raw.get("joined_at") or raw["imported_at"]), nickname=raw.get("nickname", ""),
        phone_hash=raw.get("phone_hash") or None, status=raw.get("status", ""), merged_into=raw.get("merged_into", ""),
        erased=raw.get("status") == "erased",
    )
