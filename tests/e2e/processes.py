"""Start the product's real processes for end-to-end tests and stop them the way an operator would."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bot.embedded_redis import free_port
from tests import log_scan

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """A child process whose combined output is collected, so a test can wait for a line of it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path = ROOT):
        self.args = args
        self.lines: list[str] = []
        self.proc = subprocess.Popen([sys.executable, *args], env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        log_scan.CHILDREN.register(self)          # its output is scanned for personal data (tests/log_scan.py)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.args} exited ({self.proc.returncode}):\n{self.output[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} from {self.args} within {timeout} s:\n{self.output[-3000:]}")

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        self._reader.join(timeout)
        self.proc.stdout.close()
        return self.proc.returncode


def base_env(**values: str) -> dict[str, str]:
    """The test process's environment without anything that would point the child elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "SANDBOX_", "POS_", "ADMIN_",
                                                                    "API_KEY_", "PII_", "REDIS_", "SMS_", "DATA_DIR"))}
    return env | {"PYTHONUNBUFFERED": "1"} | values


def free_ports(count: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)



def private_port_range() -> tuple[int, int]:
    """Ports for the redis-servers a test starts of its own: 7200-7249 for the first test process, 7250-7299 for
    the second (pytest-xdist), so that two tests starting servers at the same moment never pick the same port."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    first = 7200 + 50 * (worker % 2)
    return first, first + 49
