"""Two `python -m bot scheduler` processes on one Redis: one leads; killed, the other takes over within the
lease; `scheduler run` by hand, twice, does the day once; `scheduler list` shows it."""
from __future__ import annotations

import base64
import signal
import subprocess
import sys

import pytest

from tests.e2e.processes import ROOT, Process, base_env

pytestmark = pytest.mark.e2e
LEASE_SECONDS = 2


@pytest.fixture
def env(redis_url, redis):
    return base_env(REDIS_URL=redis_url, POS_API_SECRET="e2e-pos", PII_KEY=base64.b64encode(b"s" * 32).decode(),
                    WECHAT_TOKEN="e2e", WECHAT_APPID="wxe2e", WECHAT_APPSECRET="e2e",
                    SCHEDULER_LEASE_SECONDS=str(LEASE_SECONDS))


def command(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "scheduler", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_the_leader_killed_the_other_scheduler_takes_over(env):
    first = Process(["-m", "bot", "scheduler"], env)
    first.wait_for_line("leads (fencing token 1)")
    second = Process(["-m", "bot", "scheduler"], env)
    try:
        second.wait_for_line("started with 11 jobs")
        assert "leads" not in second.output
        first.proc.send_signal(signal.SIGKILL)
        second.wait_for_line("leads (fencing token 2)", timeout=LEASE_SECONDS * 5)
        listing = command(env, "list")
        assert listing.returncode == 0 and "leader: " in listing.stdout and "points-expiry" in listing.stdout
    finally:
        first.stop()
        assert second.stop() == 0


def test_a_job_run_by_hand_twice_for_one_day_does_it_once(env):
    once = command(env, "run", "coupon-expiry", "--date", "2026-06-03")
    twice = command(env, "run", "coupon-expiry", "--date", "2026-06-03")
    assert (once.returncode, twice.returncode) == (0, 0), once.stderr + twice.stderr
    assert once.stdout.strip() == "coupon-expiry 2026-06-03: done: 0 coupons expired, 0 members reminded of coupons expiring on 2026-06-06"
    assert twice.stdout.strip() == "coupon-expiry 2026-06-03: already done: 0 coupons expired, 0 members reminded of coupons expiring on 2026-06-06"
    listing = command(env, "list").stdout
    assert "2026-06-03 done: 0 coupons expired, 0 members" in listing
