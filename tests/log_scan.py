"""Personal data never in logs: every log record of the test process and every line the product's child
processes write are scanned for phone numbers, birthdays and openids; a test that produced one fails with the
offending lines (tests/conftest.py wires it in for every test, tests/e2e/processes.py registers the children).

What counts, by shape: an 11-digit mainland mobile number (also written 138 0013 8000), a date of birth (a date
before 2013: the suite's clocks run in 2024 and later, so an earlier date in a log is someone's birthday), and an
openid (the platform's 28 characters starting with "o", or the suite's own `o_name` openids). The demo's
ready-made members are fictional and the demo prints their openids for the till commands: they are allowed."""
from __future__ import annotations

import logging
import re
import threading

from bot.demo import PERSONAS

PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4})(?![0-9A-Za-z])")
BIRTHDAY = re.compile(r"(?<!\d)(?:19\d\d|200\d|201[0-2])(?:-\d\d-\d\d|年\d{1,2}月\d{1,2}日)(?!\d)")
OPENID = re.compile(r"(?<![0-9A-Za-z_-])(?:o_[A-Za-z0-9_]{2,}|o[A-Za-z0-9_-]{27})(?![0-9A-Za-z_-])")
KINDS = (("phone", PHONE), ("birthday", BIRTHDAY), ("openid", OPENID))
FICTIONAL_OPENIDS = frozenset(persona.openid for persona in PERSONAS)

# Loggers that are not the product's: the test server's access log (`serve` runs without one, bot/process.py)
# and the WeChat sandbox, which plays the platform and knows every openid.
NOT_THE_PRODUCT = ("aiohttp.access", "wechat_sandbox")


def personal_data_in(line: str) -> list[str]:
    """The kinds of personal data the line shows (phone, birthday, openid), none when it is clean."""
    return [kind for kind, pattern in KINDS if pattern.search(line)
            and any(found not in FICTIONAL_OPENIDS for found in pattern.findall(line))]


class LeakCatcher(logging.Handler):
    """Keeps every record of the product's loggers that shows personal data, until taken."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self._found: list[str] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(NOT_THE_PRODUCT):
            return
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is logging's problem, not a leak
            return
        if record.exc_info and not record.exc_text:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        for line in text.splitlines():
            kinds = personal_data_in(line)
            if kinds:
                with self._lock:
                    self._found.append(f"[{'/'.join(kinds)}] {record.name}: {line}")

    def take(self) -> list[str]:
        with self._lock:
            found, self._found = self._found, []
        return found


class ChildOutputs:
    """The product's child processes (tests/e2e/processes.Process), each scanned from where the last look ended."""

    def __init__(self):
        self._children: list[tuple[object, list[int]]] = []
        self._lock = threading.Lock()

    def register(self, process) -> None:
        if any("wechat_sandbox" in str(arg) for arg in process.args):
            return                                   # the platform's stand-in, not the product
        with self._lock:
            self._children.append((process, [0]))

    def take(self) -> list[str]:
        found = []
        with self._lock:
            children = list(self._children)
        for process, seen in children:
            lines = list(process.lines)
            for line in lines[seen[0]:]:
                kinds = personal_data_in(line)
                if kinds and not _not_the_product(line):
                    found.append(f"[{'/'.join(kinds)}] {' '.join(map(str, process.args[:3]))}: {line}")
            seen[0] = len(lines)
        with self._lock:
            self._children = [(p, s) for p, s in self._children if p.proc.poll() is None or s[0] < len(p.lines)]
        return found


def _not_the_product(line: str) -> bool:
    return any(f" {name}" in line for name in NOT_THE_PRODUCT)


CATCHER = LeakCatcher()
CHILDREN = ChildOutputs()


def install() -> None:
    """The catcher on the root logger, which lets the product's INFO records through (as `python -m bot` does)."""
    root = logging.getLogger()
    if CATCHER not in root.handlers:
        root.addHandler(CATCHER)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def leaks() -> list[str]:
    return CATCHER.take() + CHILDREN.take()
