"""The tests' slot check reaches the keys a script builds at run time, not only those it is given."""
from __future__ import annotations

import pytest
from redis.exceptions import ResponseError

from loyalty_core.redis_store.scripts import LUA_DIR

CHECKED = (LUA_DIR / "_slot_check.lua").read_text() + "\n"


async def test_a_key_built_at_run_time_in_another_slot_is_refused(redis):
    body = "return redis.call('SET', ARGV[1], 1)"
    with pytest.raises(ResponseError, match="another cluster slot: other:key"):
        await redis.eval(CHECKED + body, 1, "{m:1}:profile", "other:key")
    assert await redis.exists("other:key") == 0


async def test_keys_built_at_run_time_in_the_same_slot_and_keyless_commands_pass(redis):
    body = ("redis.call('SET', KEYS[1] .. ':built', 1); redis.call('TIME');"
            " redis.call('ZINTERSTORE', '{m:1}:out', 2, '{m:1}:a', KEYS[1]); return redis.call('GET', KEYS[1] .. ':built')")
    assert await redis.eval(CHECKED + body, 1, "{m:1}:profile") == "1"


async def test_every_key_of_a_multi_key_command_is_checked(redis):
    body = "return redis.call('DEL', KEYS[1], ARGV[1])"
    with pytest.raises(ResponseError, match="another cluster slot"):
        await redis.eval(CHECKED + body, 1, "{m:1}:profile", "{m:2}:profile")
