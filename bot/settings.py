"""One frozen Settings object, read from the environment and validated at start."""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEMO_TOKEN = "dev-token"
DEMO_APPID = "wxd0000000000demo"
DEMO_APPSECRET = "demo-app-secret"
DEMO_POS_SECRET = "demo-pos-secret"
DEMO_ADMIN_SECRET = "demo-admin-secret"
# A fixed key for local demos only; `serve` refuses to start with it unless in demo mode.
DEMO_PII_KEY = base64.b64encode(b"demo-pii-key-not-for-production!").decode()


class SettingsError(ValueError):
    """Raised with one line per bad environment value."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid settings:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Settings:
    wechat_token: str = DEMO_TOKEN
    wechat_appid: str = DEMO_APPID
    wechat_appsecret: str = DEMO_APPSECRET
    wechat_aes_key: str | None = None
    wechat_api_base: str = DEFAULT_API_BASE
    redis_url: str | None = None
    pos_api_secret: str | None = None
    admin_api_secret: str | None = None
    allow_plaintext: bool = False
    pii_key: str = DEMO_PII_KEY
    program_file: Path | None = None
    bot_port: int = 8080
    sandbox_port: int = 8081
    sms_provider: str = "log"
    data_dir: Path = Path("var")
    scheduler_lease_seconds: int = 30
    demo: bool = False
    push_partitions: int = 8              # outbox streams push:{0..P-1}; may grow, never shrink
    push_sender_concurrency: int = 500    # API calls one sender process has in flight
    push_call_timeout: float = 30.0       # seconds; a send with no answer by then is in doubt
    public_base_url: str = "http://127.0.0.1:8080"   # where members reach the bot (campaigns' tracked links)
    campaign_processes: int = 1           # processes the scheduler splits a campaign's send between

    @property
    def safe_mode(self) -> bool:
        return self.wechat_aes_key is not None

    @property
    def scheduler_lease(self) -> timedelta:
        return timedelta(seconds=self.scheduler_lease_seconds)

    @property
    def pii_key_bytes(self) -> bytes:
        return base64.b64decode(self.pii_key)

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, demo: bool = False, web: bool = True,
                 pii: bool = True) -> "Settings":
        """`web`: the settings of a process that takes callbacks and API requests (serve, demo); the others
        (scheduler, sender) need neither the callback token nor the API secrets. `pii`: the process reads
        personal data (not the sender, whose pushes carry their texts)."""
        env = os.environ if env is None else env
        problems: list[str] = []
        get = lambda name: (env.get(name) or "").strip() or None  # noqa: E731

        aes_key = get("WECHAT_AES_KEY")
        if aes_key is not None and not _is_aes_key(aes_key):
            problems.append("WECHAT_AES_KEY must be 43 characters of base64 (the EncodingAESKey), "
                            f"got {len(aes_key)} characters")
        allow_plaintext = get("WECHAT_ALLOW_PLAINTEXT")
        if allow_plaintext not in (None, "1"):
            problems.append("WECHAT_ALLOW_PLAINTEXT must be 1 or unset")
        elif aes_key is None and allow_plaintext is None and web and not demo:
            problems.append("WECHAT_AES_KEY is unset, and plaintext callbacks are signed over timestamp and nonce "
                            "only (anyone who sees one callback URL can post any message for 5 minutes): set "
                            "WECHAT_AES_KEY for safe mode, or WECHAT_ALLOW_PLAINTEXT=1 to accept that")
        api_base = get("WECHAT_API_BASE") or DEFAULT_API_BASE
        if not api_base.startswith(("http://", "https://")):
            problems.append("WECHAT_API_BASE must be an http(s) URL")
        redis_url = get("REDIS_URL")
        if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://", "redis+cluster://")):
            problems.append("REDIS_URL must start with redis://, rediss://, unix:// or redis+cluster:// (a cluster's "
                            "seed node)")
        elif redis_url is not None and redis_url.startswith("redis+cluster://") and \
                urlsplit(redis_url).path not in ("", "/", "/0"):
            problems.append("REDIS_URL: a Redis Cluster has database 0 only (redis+cluster://host:port)")
        if redis_url is None and not web and not demo:
            problems.append("REDIS_URL is required: the scheduler and the sender share Redis with the serve processes")
        pos_secret, admin_secret = get("POS_API_SECRET"), get("ADMIN_API_SECRET")
        if pos_secret is None and web and not demo:
            problems.append("POS_API_SECRET is required (the HMAC secret the tills sign with)")
        if admin_secret is None and web and not demo:
            problems.append("ADMIN_API_SECRET is required (the HMAC secret of /api/v1/admin, which the tills' "
                            "secret does not open)")
        elif admin_secret is not None and admin_secret == pos_secret:
            problems.append("ADMIN_API_SECRET must differ from POS_API_SECRET, or every till could administer "
                            "the program")
        pii_key = get("PII_KEY")
        if pii_key is None and pii and not demo:
            problems.append("PII_KEY is required: base64 of 32 random bytes "
                            "(encrypts phones and birthdays at rest)")
        elif pii_key is not None and not _is_32_bytes_base64(pii_key):
            problems.append("PII_KEY must be base64 of exactly 32 bytes")
        elif pii_key == DEMO_PII_KEY and not demo:
            problems.append("PII_KEY is the demo key, which is public: make one of 32 random bytes")
        program_file = get("PROGRAM_FILE")
        if program_file is not None and not Path(program_file).is_file():
            problems.append(f"PROGRAM_FILE {program_file!r} is not a readable file")
        sms = get("SMS_PROVIDER") or ("sandbox" if demo else "log")
        if sms not in ("log", "sandbox"):
            problems.append("SMS_PROVIDER must be 'log' or 'sandbox'")
        ports = {name: _port(get(name), default, name, problems)
                 for name, default in (("BOT_PORT", 8080), ("SANDBOX_PORT", 8081))}
        lease = get("SCHEDULER_LEASE_SECONDS") or "30"
        if not (lease.isascii() and lease.isdigit()) or not 2 <= int(lease) <= 600:
            problems.append(f"SCHEDULER_LEASE_SECONDS must be a whole number of seconds from 2 to 600, got {lease!r}")
            lease = "30"
        token = get("WECHAT_TOKEN") or (DEMO_TOKEN if demo or not web else None)
        if token is None:
            problems.append("WECHAT_TOKEN is required (the callback token set in the WeChat admin)")
        appid = get("WECHAT_APPID") or (DEMO_APPID if demo else None)
        secret = get("WECHAT_APPSECRET") or (DEMO_APPSECRET if demo else None)
        if appid is None or secret is None:
            problems.append("WECHAT_APPID and WECHAT_APPSECRET are required")
        push = {"push_partitions": _whole(get("PUSH_PARTITIONS"), 8, "PUSH_PARTITIONS", 1024, problems),
                "push_sender_concurrency": _whole(get("PUSH_SENDER_CONCURRENCY"), 500, "PUSH_SENDER_CONCURRENCY",
                                                  10_000, problems),
                "push_call_timeout": _seconds(get("PUSH_CALL_TIMEOUT"), 30.0, "PUSH_CALL_TIMEOUT", problems),
                "campaign_processes": _whole(get("CAMPAIGN_PROCESSES"), 1, "CAMPAIGN_PROCESSES", 16, problems)}
        public_base_url = (get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{ports['BOT_PORT']}").rstrip("/")
        if not public_base_url.startswith(("http://", "https://")):
            problems.append("PUBLIC_BASE_URL must be an http(s) URL")
        if problems:
            raise SettingsError(problems)
        return cls(
            wechat_token=token, wechat_appid=appid, wechat_appsecret=secret,
            wechat_aes_key=aes_key, wechat_api_base=api_base.rstrip("/"),
            redis_url=redis_url, pos_api_secret=pos_secret or (DEMO_POS_SECRET if demo else None),
            admin_api_secret=admin_secret or (DEMO_ADMIN_SECRET if demo else None),
            allow_plaintext=allow_plaintext == "1",
            pii_key=pii_key or DEMO_PII_KEY,
            program_file=Path(program_file) if program_file else None,
            bot_port=ports["BOT_PORT"], sandbox_port=ports["SANDBOX_PORT"],
            sms_provider=sms, data_dir=Path(get("DATA_DIR") or "var"), scheduler_lease_seconds=int(lease), demo=demo,
            public_base_url=public_base_url, **push)



def command_settings(command: str, *, demo: bool = False, web: bool = True) -> Settings:
    """The settings of a command run by hand on the bot's Redis (`python -m bot <command>`), or its exit with the
    reason."""
    try:
        settings = Settings.from_env(demo=demo, web=web)
    except SettingsError as error:
        raise SystemExit(f"python -m bot {command}: {error}") from None
    if not settings.redis_url:
        raise SystemExit(f"python -m bot {command}: REDIS_URL is required (the Redis the bot uses; `python -m bot demo` "
                         "prints the URL of its embedded one)")
    return settings

def _is_aes_key(value: str) -> bool:
    if len(value) != 43:
        return False
    try:
        return len(base64.b64decode(value + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _is_32_bytes_base64(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def _whole(raw: str | None, default: int, name: str, highest: int, problems: list[str]) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= highest:
        problems.append(f"{name} must be a whole number from 1 to {highest}, got {raw!r}")
        return default
    return int(raw)


def _seconds(raw: str | None, default: float, name: str, problems: list[str]) -> float:
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0.1 <= seconds <= 600:     # also refuses nan and inf
        problems.append(f"{name} must be a number of seconds from 0.1 to 600, got {raw!r}")
        return default
    return seconds


def _port(raw: str | None, default: int, name: str, problems: list[str]) -> int:
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 65536:
        problems.append(f"{name} must be a port number between 1 and 65535, got {raw!r}")
        return default
    return int(raw)
