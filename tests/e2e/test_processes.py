"""The real processes: `python -m wechat_sandbox` and `python -m bot serve` in safe mode, a till on the
command line. WeChat's side is driven through the sandbox's control API, as a member would act."""
from __future__ import annotations

import base64
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from loyalty_core.program import load_program
from tests.e2e.processes import ROOT, Process, base_env, free_ports
from tests.polling import until
from wechat_sandbox.testing import SandboxClient

pytestmark = pytest.mark.e2e

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = {"WECHAT_APPID": "wxe2e0000000000001", "WECHAT_APPSECRET": "e2e-secret", "WECHAT_TOKEN": "e2e-token",
           "WECHAT_AES_KEY": AES_KEY}
SECRETS = {"POS_API_SECRET": "e2e-pos-secret", "ADMIN_API_SECRET": "e2e-admin-secret",
           "PII_KEY": base64.b64encode(b"e" * 32).decode()}


def program_without_promotion_days(folder: Path) -> Path:
    """The default program without member days and double-points dates: the serve process keeps real time,
    so a purchase earns the same points on any day the suite runs."""
    text = (ROOT / "loyalty_core" / "program_default.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^member_day = \d+", "member_day = 0", text)
    text = re.sub(r"(?m)^double_points_dates = \[.*\]", "double_points_dates = []", text)
    text = re.sub(r"(?m)^double_points_weekdays = \[.*\]", "double_points_weekdays = []", text)
    path = folder / "program.toml"
    path.write_text(text, encoding="utf-8")
    promotions = load_program(path).promotions
    assert (promotions.member_day, promotions.double_points_dates, promotions.double_points_weekdays) == (
        0, frozenset(), frozenset())
    return path


@pytest.fixture
def running(redis_url, tmp_path):
    bot_port, sandbox_port = free_ports(2)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    sandbox = Process(["-m", "wechat_sandbox"], base_env(**ACCOUNT, SANDBOX_PORT=str(sandbox_port),
                                                          BOT_CALLBACK_URL=f"http://127.0.0.1:{bot_port}/wechat"))
    bot_env = base_env(**ACCOUNT, **SECRETS, REDIS_URL=redis_url, BOT_PORT=str(bot_port), WECHAT_API_BASE=sandbox_url,
                       SMS_PROVIDER="sandbox", PROGRAM_FILE=str(program_without_promotion_days(tmp_path)))
    bot = Process(["-m", "bot", "serve"], bot_env)
    try:
        sandbox.wait_for_line("WeChat sandbox on")
        bot.wait_for_line("bot listening")
        yield {"sandbox_url": sandbox_url, "bot_env": bot_env, "bot": bot, "sandbox": sandbox}
    finally:
        bot_code, sandbox_code = bot.stop(), sandbox.stop()
    assert (bot_code, sandbox_code) == (0, 0), bot.output[-2000:] + sandbox.output[-2000:]


async def test_encrypted_conversation_a_push_and_a_till_purchase(running):
    async with SandboxClient(running["sandbox_url"]) as wechat:
        member = await wechat.add_member(nickname="端到端")
        openid = member["openid"]
        welcome = await wechat.follow(openid)
        assert welcome["outcome"] == "replied" and "欢迎加入" in welcome["reply"]["text"]["content"]
        assert [t["status"] for t in welcome["tries"]] == [200]

        code_reply = (await wechat.text(openid, "会员码"))["reply"]["text"]["content"]
        code = re.search(r"\d{4} \d{4} \d{4} \d{4} \d{2}|\d{18}", code_reply).group(0).replace(" ", "")
        async def image_pushes():
            return [m for m in await wechat.delivered(openid, channel="custom") if m["message"]["msgtype"] == "image"]
        assert len(await until(image_pushes)) == 1       # the QR of the code, pushed as a customer-service message

        till = cli("till", "--code", code, "--amount", "520.00", env=running["bot_env"])
        assert till.returncode == 0, till.stdout + till.stderr
        assert '"points_earned": 520' in till.stdout

        points = (await wechat.text(openid, "积分"))["reply"]["text"]["content"]
        assert "520" in points


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=30)


async def test_a_store_key_made_on_the_command_line_signs_for_its_till_until_revoked(running):
    async with SandboxClient(running["sandbox_url"]) as wechat:
        openid = (await wechat.add_member(nickname="键"))["openid"]
        await wechat.follow(openid)
    env = running["bot_env"]
    made = cli("keys", "add", "--scope", "till", "--store", "S01", "--label", "S01 till 3", env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    key_id = re.search(r"^(k[0-9a-f]{12})  scopes=till  store=S01", made.stdout, re.M).group(1)
    secret = re.search(r"^secret: (\S+)$", made.stdout, re.M).group(1)
    listed = cli("keys", "list", env=env)
    assert key_id in listed.stdout and "active" in listed.stdout and secret not in listed.stdout
    as_key = env | {"API_KEY_ID": key_id, "API_KEY_SECRET": secret}
    booked = cli("till", "--openid", openid, "--amount", "88", env=as_key)
    assert booked.returncode == 0 and '"points_earned": 88' in booked.stdout, booked.stdout + booked.stderr
    elsewhere = cli("till", "--openid", openid, "--amount", "88", "--store", "S02", env=as_key)
    assert elsewhere.returncode == 1 and '"forbidden"' in elsewhere.stdout
    member_id = re.search(r'"member_id": "(\d+)"', booked.stdout).group(1)
    staff = ["staff", "birthday", member_id, "1990-05-20", "--reason", "证件核对", "--staff", "S007"]
    assert '"forbidden"' in cli(*staff, env=as_key).stdout            # a till key does not reach /admin
    assert cli(*staff, env=env).returncode == 0                        # ADMIN_API_SECRET does
    assert cli("keys", "revoke", key_id, env=env).returncode == 0
    revoked = cli("till", "--openid", openid, "--amount", "88", env=as_key)
    assert revoked.returncode == 1 and "X-Key-Id names no active key" in revoked.stdout


def test_serve_refuses_to_start_with_a_bad_setting(redis_url):
    bad = Process(["-m", "bot", "serve"], base_env(**ACCOUNT | {"WECHAT_AES_KEY": "too-short"}, **SECRETS,
                                                    REDIS_URL=redis_url))
    code = bad.proc.wait(30)
    bad.stop()
    assert code != 0 and "WECHAT_AES_KEY must be 43 characters" in bad.output


def test_serve_refuses_plaintext_callbacks_unless_allowed_and_says_why(redis_url):
    plaintext = {name: value for name, value in ACCOUNT.items() if name != "WECHAT_AES_KEY"}
    refused = Process(["-m", "bot", "serve"], base_env(**plaintext, **SECRETS, REDIS_URL=redis_url))
    code = refused.proc.wait(30)
    refused.stop()
    [why] = [line for line in refused.lines if "WECHAT_AES_KEY is unset" in line]
    assert code != 0 and "timestamp and nonce only" in why and "WECHAT_ALLOW_PLAINTEXT=1" in why
    [port] = free_ports(1)
    allowed = Process(["-m", "bot", "serve"], base_env(**plaintext, **SECRETS, REDIS_URL=redis_url,
                                                       BOT_PORT=str(port), WECHAT_ALLOW_PLAINTEXT="1"))
    allowed.wait_for_line("bot listening")
    assert allowed.stop(signal.SIGINT) == 0


def test_sigint_stops_serve_cleanly(redis_url):
    [port] = free_ports(1)
    serve = Process(["-m", "bot", "serve"], base_env(**ACCOUNT, **SECRETS, REDIS_URL=redis_url, BOT_PORT=str(port)))
    serve.wait_for_line("bot listening")
    assert serve.stop(signal.SIGINT) == 0
