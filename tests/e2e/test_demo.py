"""`python -m bot demo` as a newcomer uses it: the chat page in real headless Chromium, a till on the
command line, Ctrl-C, and a second start that finds the data still there (embedded Redis, AOF)."""
from __future__ import annotations

import re
import signal
import subprocess
import sys

import aiohttp
import pytest

from tests.browser import chromium_page
from tests.e2e.processes import ROOT, Process, base_env, free_ports
from wechat_sandbox.testing import SandboxClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
READY = "Ctrl-C stops everything"


def start_demo(data_dir, bot_port: int, sandbox_port: int) -> Process:
    demo = Process(["-m", "bot", "demo"], base_env(DATA_DIR=str(data_dir), BOT_PORT=str(bot_port),
                                                   SANDBOX_PORT=str(sandbox_port)))
    demo.wait_for_line(READY, timeout=60)
    return demo


async def points_of(sandbox_url: str, openid: str) -> str:
    async with SandboxClient(sandbox_url) as wechat:
        reply = (await wechat.text(openid, "积分"))["reply"]["text"]["content"]
    return re.search(r"可用积分：(\d+)", reply).group(1)


async def chat_in_the_browser(sandbox_url: str, screenshot) -> None:
    async with chromium_page(1100, 860) as (page, errors):
        await page.goto(f"{sandbox_url}/")
        await page.click("#new-persona summary")
        await page.fill("input[name=nickname]", "小张")
        await page.click("#persona-form button")
        await page.wait_for_selector(".msg.out >> text=欢迎加入会员中心")
        await page.click("#to-keyboard")
        await page.fill("#text-input", "积分")
        await page.click("#send-button")
        await page.wait_for_selector(".msg.out >> text=您的可用积分")
        await page.click("#to-menu")
        await page.click("#menu-buttons >> text=会员中心")
        await page.click("#submenu >> text=会员等级")
        await page.wait_for_selector(".msg.out >> text=您的会员等级")
        await page.screenshot(path=str(screenshot))
    assert errors == []


async def console_login(bot_url: str, output: str) -> None:
    """The demo's console admin logs in with the password the demo printed."""
    password = re.findall(r"admin@demo / (\S+)", output)[-1]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        form = await (await browser.get(f"{bot_url}/console/login")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        answer = await browser.post(f"{bot_url}/console/login",
                                    data={"email": "admin@demo", "password": password, "csrf": csrf})
        assert answer.status == 200 and answer.url.path == "/console/dashboard"


async def test_a_newcomer_chats_in_the_demo_and_the_data_survives_a_restart(tmp_path, output_dir):
    bot_port, sandbox_port = free_ports(2)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    demo = start_demo(tmp_path / "var", bot_port, sandbox_port)
    try:
        await chat_in_the_browser(sandbox_url, output_dir / "demo-chat.png")
        till = subprocess.run([sys.executable, "-m", "bot", "till", "--openid", "o_demo_li", "--amount", "199"],
                              env=base_env(BOT_PORT=str(bot_port)), cwd=ROOT, capture_output=True, text=True,
                              timeout=30)
        assert till.returncode == 0, till.stdout + till.stderr
        before = await points_of(sandbox_url, "o_demo_li")
        await console_login(f"http://127.0.0.1:{bot_port}", demo.output)
    finally:
        code = demo.stop(signal.SIGINT)
    assert code == 0 and "demo stopped" in demo.output

    again = start_demo(tmp_path / "var", bot_port, sandbox_port)
    try:
        assert await points_of(sandbox_url, "o_demo_li") == before      # kept by Redis, not seeded twice
        await console_login(f"http://127.0.0.1:{bot_port}", again.output)   # a new password each start
    finally:
        assert again.stop(signal.SIGINT) == 0
    assert (output_dir / "demo-chat.png").stat().st_size > 10_000
