"""Shared test fixtures: a real Redis (flushed per test), a manual clock, and a loopback-only network."""
from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, settings

from bot.embedded_redis import EmbeddedRedis, is_reachable
from loyalty_core.clock import ManualClock
from loyalty_core.redis_store.connection import connect
from loyalty_core.redis_store.scripts import Scripts

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
settings.load_profile("default")
Scripts.check_slots = True  # every Lua script run by any test must stay within one Redis Cluster slot


# -- network guard: tests may reach this machine only -------------------------------------------
def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self, address):
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may only reach 127.0.0.1, not {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may only reach 127.0.0.1, not {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


# -- Redis -------------------------------------------------------------------------------------
def chosen_redis_url() -> str:
    """The one place that picks the suite's Redis: REDIS_URL, else the local default; under pytest-xdist
    (workers gw0, gw1…) the URL's number plus the worker's, since every test flushes its database. A Redis
    Cluster (`redis+cluster://`) has only database 0: each worker takes a cluster of its own, the one of its number
    in REDIS_CLUSTER_URLS (`python -m tests.redis_cluster --clusters 2` starts them and sets it)."""
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    offset = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    parts = urlsplit(url)
    if "cluster" in parts.scheme:
        clusters = os.environ.get("REDIS_CLUSTER_URLS", url).split()
        if offset >= len(clusters):
            pytest.exit(f"a Redis Cluster has one database: {len(clusters)} cluster(s) in REDIS_CLUSTER_URLS for "
                        f"test process {offset + 1}", returncode=3)
        return clusters[offset]
    if offset == 0:
        return url
    return urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/') or 0) + offset}"))


@pytest.fixture(scope="session")
def redis_url():
    url = chosen_redis_url()
    if is_reachable(url):
        os.environ["REDIS_URL"] = url
        yield url
        return
    if os.environ.get("REDIS_URL"):
        pytest.exit(f"REDIS_URL={url} is not reachable", returncode=3)
    with tempfile.TemporaryDirectory(prefix="test-redis-") as data_dir:
        with EmbeddedRedis(Path(data_dir), appendonly=False) as server:
            os.environ["REDIS_URL"] = server.url
            yield server.url


@pytest.fixture
async def redis(redis_url):
    client = connect(redis_url)
    await client.flushdb(asynchronous=True)   # freed in the background (on a cluster, on every master)
    yield client
    await client.aclose()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def output_dir(request) -> Path:
    """A folder under test-output/ for screenshots and other artefacts of one test."""
    path = Path("test-output") / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path
from tests import log_scan  # noqa: E402
from tests.fixtures_bot import *  # noqa: E402,F401,F403
from tests.fixtures_push import *  # noqa: F401,F403
from tests.fixtures_sandbox import *  # noqa: F401,F403


def pytest_configure(config):
    config.addinivalue_line("markers", "build: builds the package (a few seconds, offline; make test-fast runs it)")
    log_scan.install()


# -- no personal data in logs: every record of every test, and the child processes' output -------------------
@pytest.fixture(autouse=True)
def no_personal_data_in_logs():
    """Fails the test whose logs (or whose child processes' output) show a phone, a birthday or an openid. What
    was logged between tests (a module fixture's teardown) is found by the next test's look, or at the end."""
    yield
    found = log_scan.leaks()
    if found:
        pytest.fail("personal data in the logs:\n" + "\n".join(found[:30]), pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    found = log_scan.leaks()
    if found:
        print("\npersonal data in the logs after the last test:\n" + "\n".join(found[:30]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
