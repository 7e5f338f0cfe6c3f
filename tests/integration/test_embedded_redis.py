"""The embedded redis-server the CLI starts when REDIS_URL is unset keeps its data between runs."""
import redis

from bot.embedded_redis import EmbeddedRedis, find_redis_server


def test_a_second_start_finds_the_data_still_there(tmp_path):
    with EmbeddedRedis(tmp_path / "redis") as first, redis.Redis.from_url(first.url) as client:
        client.set("greeting", "你好")
    aof = tmp_path / "redis"
    assert (aof / "appendonlydir").is_dir() or (aof / "appendonly.aof").is_file()   # Redis 7 / Redis 6 layout
    with EmbeddedRedis(tmp_path / "redis") as second, redis.Redis.from_url(second.url) as client:
        assert client.get("greeting") == "你好".encode()


def test_the_server_stops_on_exit(tmp_path):
    with EmbeddedRedis(tmp_path / "redis", appendonly=False) as server:
        client = redis.Redis.from_url(server.url, socket_connect_timeout=0.2)
        assert client.ping()
    try:
        client.ping()
        stopped = False
    except redis.ConnectionError:
        stopped = True
    finally:
        client.close()
    assert stopped


def test_redis_server_is_found():
    assert find_redis_server().endswith("redis-server")


def test_hiredis_packing_matches_redis_py():
    from redis.asyncio.connection import Connection

    from loyalty_core.redis_store.connection import HiredisPackingConnection
    commands = [("SET", "k", "积分"), ("EVALSHA", "a" * 40, 2, "{m:1}:p", "{m:1}:q", 17, 1.5, b"raw"),
                ("CONFIG GET", "maxmemory"), ("HSET", "h", "f", -3)]
    for args in commands:
        assert b"".join(HiredisPackingConnection().pack_command(*args)) == \
            b"".join(Connection().pack_command(*args))
