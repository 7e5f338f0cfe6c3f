"""Loads the Lua scripts in loyalty_core/lua once per client and runs them with JSON results."""
from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Sequence

import orjson
from redis.asyncio import Redis

LUA_DIR = Path(__file__).resolve().parent.parent / "lua"


class ScriptFailed(RuntimeError):
    """A script returned something other than its JSON object: a bug, not bad input."""


@cache
def script_source(name: str) -> str:
    prelude = (LUA_DIR / "_prelude.lua").read_text()
    return prelude + "\n" + (LUA_DIR / f"{name}.lua").read_text()


class Scripts:
    def __init__(self, redis: Redis):
        self._redis = redis
        self._registered: dict[str, Any] = {}

    async def run(self, name: str, keys: Sequence[str], args: Sequence[Any] = ()) -> dict:
        script = self._registered.get(name)
        if script is None:
            script = self._registered[name] = self._redis.register_script(script_source(name))
        raw = await script(keys=list(keys), args=[_arg(a) for a in args])
        try:
            result = orjson.loads(raw)
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise ScriptFailed(f"script {name} returned {raw!r}") from exc
        if not isinstance(result, dict) or "ok" not in result:
            raise ScriptFailed(f"script {name} returned {result!r}")
        return result


def _arg(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return orjson.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value
