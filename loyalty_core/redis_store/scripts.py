"""Runs the Lua scripts in loyalty_core/lua by SHA (loaded on first use) and decodes their JSON results."""
from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Awaitable, Sequence

import orjson
from redis.asyncio import Redis
from redis.crc import key_slot
from redis.exceptions import NoScriptError

from .. import errors
from . import replicated
from .batching import Batcher, pipelined

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"


class ScriptFailed(RuntimeError):
    """A script returned something other than its JSON object: a bug, not bad input."""


@cache
def script_source(name: str, check_slots: bool = False) -> str:
    """_prelude.lua, then the helper files the script names on `--! uses <helper>` lines, then the script;
    with `check_slots`, _slot_check.lua first (every key a command names must share the first key's slot)."""
    body = (LUA_DIR / f"{name}.lua").read_text()
    helpers = [line.split()[2] for line in body.splitlines() if line.startswith("--! uses ")]
    parts = [(LUA_DIR / "_prelude.lua").read_text(), *((LUA_DIR / f"{h}.lua").read_text() for h in helpers), body]
    if check_slots:
        parts.insert(0, (LUA_DIR / "_slot_check.lua").read_text())
    return "\n".join(parts)


@cache
def script_sha(name: str, check_slots: bool = False) -> str:
    return hashlib.sha1(script_source(name, check_slots).encode()).hexdigest()


class CrossSlotScript(AssertionError):
    """A script was given keys of more than one Redis Cluster slot."""


class Scripts:
    # Tests turn this on: every script call then proves its keys share one cluster slot, those it is given
    # here and, in Redis, those it builds at run time (_slot_check.lua).
    check_slots = False

    def __init__(self, redis: Redis, batcher: Batcher | None = None):
        self._redis = redis
        self.batcher = batcher or Batcher(redis)

    def call(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> Awaitable[dict]:
        """Queue the script in this event-loop turn (so it shares a pipeline with what else is queued);
        await the result later."""
        if self.check_slots and len({key_slot(k.encode()) for k in keys}) > 1:
            raise CrossSlotScript(f"script {name} touches keys in several cluster slots: {list(keys)}")
        command = ("EVALSHA", script_sha(name, self.check_slots), len(keys), *keys, *_args(args))
        return self._result(name, command, self.batcher.call(*command))

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> dict:
        return await self.call(name, keys, args)

    async def run_many(self, name: str, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]) -> list[dict]:
        """The script once per (keys, args), all in one pipeline (each call in its own slot: a batch of
        members' steps); the results in order. A server that does not know the script yet gets it loaded and
        only the calls it refused are sent again."""
        return [decode(name, answer) for answer in await self._many(name, calls)]

    async def _many(self, name: str, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]) -> list:
        sha = script_sha(name)
        commands = []
        for keys, args in calls:
            if self.check_slots and len({key_slot(k.encode()) for k in keys}) > 1:
                raise CrossSlotScript(f"script {name} touches keys in several cluster slots: {list(keys)}")
            commands.append(("EVALSHA", sha, len(keys), *keys, *_args(args)))
        raw = await pipelined(self._redis, commands, errors_in_place=True)
        unknown = [i for i, answer in enumerate(raw) if isinstance(answer, NoScriptError)]
        if unknown:
            await self._redis.script_load(script_source(name))
            for i, answer in zip(unknown, await pipelined(self._redis, [commands[i] for i in unknown],
                                                                errors_in_place=True)):
                raw[i] = answer
        for answer in raw:
            if isinstance(answer, Exception):
                raise answer
        return raw

    async def run_replicated(self, name: str, keys: Sequence[str], args: Sequence[Any], replicas: int) -> dict:
        """The script on its own (not batched), answered once `replicas` replicas have its writes
        (replicated.py); raises NotReplicated if they do not confirm in time."""
        if self.check_slots and len({key_slot(k.encode()) for k in keys}) > 1:
            raise CrossSlotScript(f"script {name} touches keys in several cluster slots: {list(keys)}")
        command = ("EVALSHA", script_sha(name, self.check_slots), len(keys), *keys, *_args(args))
        try:
            raw = await replicated.write_then_wait(self._redis, keys[0], command, replicas)
        except NoScriptError:
            await self._redis.script_load(script_source(name, self.check_slots))
            raw = await replicated.write_then_wait(self._redis, keys[0], command, replicas)
        return decode(name, raw)

    async def run_or_refuse(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> dict:
        """Run the script; a refusal (ok=false) raises the domain error of its code."""
        result = await self.call(name, keys, args)
        if not result["ok"]:
            raise refusal(result)
        return result

    async def _result(self, name: str, command: tuple, queued: Awaitable) -> dict:
        try:
            raw = await queued
        except NoScriptError:  # first use on this server (or after SCRIPT FLUSH / a restart)
            await self._redis.script_load(script_source(name, self.check_slots))
            raw = await self.batcher.call(*command)
        return decode(name, raw)


def refusal(result: dict) -> Exception:
    """The domain error of a script's refusal, with the refusal's details as its params."""
    return errors.from_code(result["error"], **{k: v for k, v in result.items() if k not in ("ok", "error")})


def decode(name: str, raw: Any) -> dict:
    try:
        result = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError) as exc:
        raise ScriptFailed(f"script {name} returned {raw!r}") from exc
    if not isinstance(result, dict) or "ok" not in result:
        raise ScriptFailed(f"script {name} returned {result!r}")
    return result


_AS_IS = {str, bytes, int, float}     # what Redis takes as it is (a bool is an int, but must be sent as 0 or 1)


def _args(values: Sequence[Any]) -> list:
    """The arguments as Redis takes them; those that are already (nearly all) go without a call each."""
    return [value if type(value) in _AS_IS else _arg(value) for value in values]


def _arg(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value
