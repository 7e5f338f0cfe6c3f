"""The console's users, sessions and audit log in Redis, all in one slot (loyalty_core/keys.py)."""
from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from .. import keys
from ..clock import epoch_ms
from ..console import AuditEntry, ConsoleUser, Session
from .scripts import Scripts

AUDIT_CAP = 100_000                 # the audit stream keeps about this many entries
PAGE = 500


class RedisConsoleStore:
    def __init__(self, redis: Redis, scripts: Scripts):
        self._redis = redis
        self._scripts = scripts

    async def add_user(self, user: ConsoleUser, password_hash: str, audit: AuditEntry) -> bool:
        added = await self._scripts.run(
            "console_user_add", [keys.console_user(user.email), keys.CONSOLE_USERS, keys.CONSOLE_AUDIT],
            [user.email, epoch_ms(datetime.fromisoformat(user.created_at)), user.role, password_hash,
             user.created_at, user.created_by, AUDIT_CAP, *_pairs(audit.to_dict())])
        return added["ok"]

    async def user(self, email: str) -> tuple[ConsoleUser, str] | None:
        fields = await self._redis.hgetall(keys.console_user(email))
        return (_user(email, fields), fields["password_hash"]) if fields else None

    async def users(self) -> list[ConsoleUser]:
        found: list[ConsoleUser] = []
        for start in range(0, await self._redis.zcard(keys.CONSOLE_USERS), PAGE):
            emails = await self._redis.zrange(keys.CONSOLE_USERS, start, start + PAGE - 1)
            async with self._redis.pipeline(transaction=False) as pipe:
                for email in emails:
                    pipe.hgetall(keys.console_user(email))
                records = await pipe.execute()
            found += [_user(email, fields) for email, fields in zip(emails, records) if fields]
        return found

    async def update_user(self, email: str, changes: dict[str, str], audit: AuditEntry) -> bool:
        updated = await self._scripts.run(
            "console_user_update", [keys.console_user(email), keys.CONSOLE_AUDIT],
            [AUDIT_CAP, len(changes), *_pairs(changes), *_pairs(audit.to_dict())])
        return updated["ok"]

    async def open_session(self, session_hash: str, session: Session, ttl: int) -> None:
        await self._scripts.run("console_session_open", [keys.console_session(session_hash)],
                                [ttl, *_pairs({"email": session.email, "role": session.role, "csrf": session.csrf,
                                               "created_at": session.created_at.isoformat()})])

    async def session(self, session_hash: str, ttl: int) -> Session | None:
        key = keys.console_session(session_hash)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(key)
            pipe.expire(key, ttl, xx=True)
            fields, _ = await pipe.execute()
        if not fields:
            return None
        return Session(email=fields["email"], role=fields["role"], csrf=fields["csrf"],
                       created_at=datetime.fromisoformat(fields["created_at"]))

    async def close_session(self, session_hash: str) -> None:
        await self._redis.delete(keys.console_session(session_hash))

    async def login_failures(self, email_hash: str) -> int:
        return int(await self._redis.get(keys.console_login_failures(email_hash)) or 0)

    async def login_failed(self, email_hash: str, window: int) -> int:
        counted = await self._scripts.run("console_login_failed", [keys.console_login_failures(email_hash)], [window])
        return counted["failures"]

    async def login_succeeded(self, email_hash: str) -> None:
        await self._redis.delete(keys.console_login_failures(email_hash))

    async def audit(self, entry: AuditEntry) -> None:
        await self._redis.xadd(keys.CONSOLE_AUDIT, entry.to_dict(), maxlen=AUDIT_CAP, approximate=True)

    async def audit_log(self, count: int) -> list[AuditEntry]:
        entries = await self._redis.xrevrange(keys.CONSOLE_AUDIT, count=count)
        return [AuditEntry(**{name: fields.get(name, "") for name in AuditEntry.__dataclass_fields__})
                for _, fields in entries]


def _pairs(fields: dict) -> list[str]:
    return [str(part) for item in fields.items() for part in item]


def _user(email: str, fields: dict) -> ConsoleUser:
    return ConsoleUser(email=email, role=fields["role"], created_at=fields["created_at"],
                       created_by=fields.get("created_by", ""), disabled_at=fields.get("disabled_at", ""),
                       member_id=fields.get("member_id", ""))
