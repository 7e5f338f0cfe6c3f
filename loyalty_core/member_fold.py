"""A follower folding into the imported member who holds the phone they bind.

The CRM, the tills and the member's past purchases know the imported member's number, so that number survives:
when follower F binds a phone held by imported member H whom no follower has claimed (H has no openid), F and H
become one member, H. The steps, driven by F's fold record and each safe to run again (a crash anywhere is
finished by `resume_open`, or by the same binding again):

1. begin: F's fold record names H (F must have no phone bound: a follower with one never folds, which is what
   lets a process keep the openid -> member map of members with a phone);
2. claim: H is claimed for F (no second follower folds into H);
3. identity: H takes F's openid, status, follow times and nickname;
4. the openid index entry moves from F to H;
5. points: F's balance, noted once in the record, is spent on F (`fold-<H>`) and granted to H (`fold-<F>`), each
   once by its reference, so money is never doubled;
6. coupons: F's coupons still to use move into H's wallet (F's welcome gift becomes H's: no second one);
7. finish: F is marked merged into H; F resolves to H wherever a member id is looked up.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from . import errors
from .clock import Clock

log = logging.getLogger("loyalty_core.member_fold")

POINTS_SOURCE = "fold"
RESUME_AFTER = timedelta(minutes=1)   # a fold this old and still open was cut short (a live one takes ms)


@dataclass(frozen=True)
class FoldRecord:
    follower_id: str
    into: str
    points: int | None       # noted at the points step (None before it)
    done: bool


class FoldStore(Protocol):
    async def foldable(self, member_id: str, follower_id: str) -> bool: ...
    async def record(self, follower_id: str) -> FoldRecord | None: ...
    async def begin(self, follower_id: str, member_id: str, now: datetime) -> None: ...
    async def claim(self, member_id: str, follower_id: str) -> None: ...
    async def abandon(self, follower_id: str) -> None:
        """Drop a fold whose member could not be claimed (nothing else was done)."""
    async def take_identity(self, member_id: str, follower_id: str, now: datetime) -> str: ...
    async def repoint_openid(self, openid: str, follower_id: str, member_id: str) -> None: ...
    async def note_points(self, follower_id: str, points: int) -> int: ...
    async def move_coupons(self, follower_id: str, member_id: str) -> int: ...
    async def finish(self, follower_id: str, member_id: str, now: datetime) -> None: ...
    async def open_folds(self, started_before: datetime, limit: int = 100) -> list[str]: ...


class Points(Protocol):
    async def summary(self, member_id: str, now: datetime) -> Any: ...
    async def spend(self, member_id: str, points: int, redemption_id: str) -> Any: ...
    async def grant(self, member_id: str, points: int, source: str, ref: str) -> Any: ...


class MemberFolds:
    def __init__(self, store: FoldStore, points: Points, clock: Clock):
        self._store = store
        self._points = points
        self._clock = clock

    async def foldable(self, member_id: str, follower_id: str) -> bool:
        return await self._store.foldable(member_id, follower_id)

    async def fold(self, follower_id: str, member_id: str) -> None:
        """Every step, from the first not done. Raises PhoneTaken when H cannot take this follower."""
        now = self._clock.now()
        await self._store.begin(follower_id, member_id, now)
        try:
            await self._store.claim(member_id, follower_id)
        except errors.PhoneTaken:
            await self._store.abandon(follower_id)
            raise
        await self.finish_claimed(follower_id, member_id)

    async def finish_claimed(self, follower_id: str, member_id: str) -> None:
        now = self._clock.now()
        openid = await self._store.take_identity(member_id, follower_id, now)
        await self._store.repoint_openid(openid, follower_id, member_id)
        await self.move_points(follower_id, member_id)
        await self._store.move_coupons(follower_id, member_id)
        await self._store.finish(follower_id, member_id, now)

    async def move_points(self, follower_id: str, member_id: str) -> None:
        record = await self._store.record(follower_id)
        points = record.points if record and record.points is not None else None
        if points is None:
            balance = (await self._points.summary(follower_id, self._clock.now())).balance
            points = await self._store.note_points(follower_id, max(balance, 0))
        if points <= 0:
            return
        await self._points.spend(follower_id, points, f"fold-{member_id}")
        await self._points.grant(member_id, points, POINTS_SOURCE, f"fold-{follower_id}")

    async def resume_open(self) -> int:
        """Finish the folds a crash cut short (housekeeping); returns how many were finished."""
        finished = 0
        for follower_id in await self._store.open_folds(self._clock.now() - RESUME_AFTER):
            record = await self._store.record(follower_id)
            if record is None:
                continue
            try:
                await self.fold(follower_id, record.into)
                finished += 1
            except errors.DomainError as refused:
                log.warning("fold of member %s into %s not finished: %s", follower_id, record.into, refused.code)
        return finished
