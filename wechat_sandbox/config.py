"""The sandbox's configuration: one frozen dataclass, read from the environment by `from_env`."""
from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_APPID = "wxd0000000000demo"
DEFAULT_APPSECRET = "demo-app-secret"
DEFAULT_TOKEN = "dev-token"
DEFAULT_CALLBACK_URL = "http://127.0.0.1:8080/wechat"

# Template messages (service notices) and subscribe messages the demo account has approved.
DEFAULT_TEMPLATES: Mapping[str, str] = {
    "TPL_POINTS_CHANGED": "积分变动提醒",
    "TPL_TIER_CHANGED": "会员等级变更通知",
    "TPL_COUPON_EXPIRING": "优惠券到期提醒",
    "TPL_EVENT_REMINDER": "活动开始提醒",
}
DEFAULT_SUBSCRIBE_TEMPLATES: Mapping[str, str] = {
    "SUB_EVENT_REMINDER": "活动开始提醒",
    "SUB_BIRTHDAY_GIFT": "生日礼遇提醒",
    "SUB_COUPON_EXPIRING": "优惠券到期提醒",
}
# The keywords of those templates, as their cards label them (a field sent without a label shows its key).
DEFAULT_KEYWORDS: Mapping[str, Mapping[str, str]] = {
    "TPL_POINTS_CHANGED": {"thing1": "变动原因", "number2": "变动积分", "number3": "积分余额", "time4": "变动时间"},
    "TPL_TIER_CHANGED": {"thing1": "当前等级", "thing2": "原等级", "time3": "变更时间"},
    "TPL_COUPON_EXPIRING": {"thing1": "优惠券", "time2": "到期时间"},
    "TPL_EVENT_REMINDER": {"thing1": "活动名称", "time2": "活动时间", "thing3": "活动地点"},
    "SUB_EVENT_REMINDER": {"thing1": "活动名称", "time2": "开始时间", "thing3": "活动地点"},
    "SUB_BIRTHDAY_GIFT": {"thing1": "礼遇内容", "time2": "领取期限"},
    "SUB_COUPON_EXPIRING": {"thing1": "优惠券", "time2": "到期时间"},
}
# Calls per endpoint per day (sandbox clock). Endpoints not listed are unlimited.
DEFAULT_DAILY_LIMITS: Mapping[str, int] = {
    "token": 2_000,
    "stable_token": 500_000,
    "message/custom/send": 500_000,
    "message/template/send": 100_000,
    "message/subscribe/bizsend": 100_000,
    "message/mass/sendall": 1_000,
    "message/mass/send": 1_000,
    "qrcode/create": 100_000,
    "media/upload": 100_000,
    "menu/create": 1_000,
}


@dataclass(frozen=True)
class SandboxConfig:
    appid: str = DEFAULT_APPID
    appsecret: str = DEFAULT_APPSECRET
    token: str = DEFAULT_TOKEN
    aes_key: str | None = None                 # set -> callbacks in safe mode (encrypt_type=aes)
    bot_callback_url: str | None = DEFAULT_CALLBACK_URL   # None -> callbacks are recorded, not sent
    host: str = "127.0.0.1"
    port: int = 8081
    original_id: str = "gh_5a0d6b0c4e21"        # the account's own id: ToUserName of every callback
    account_name: str = "星河汇购物中心"
    callback_timeout: float = 5.0              # WeChat waits 5 s for a reply, then retries
    callback_tries: int = 3
    job_delay: float = 1.0                     # mass / template job finish events follow after this
    quotas: bool = True                        # False: no customer-service windows, mass or daily limits
    daily_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_DAILY_LIMITS))
    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    subscribe_templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_SUBSCRIBE_TEMPLATES))
    keywords: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: dict(DEFAULT_KEYWORDS))
    history_limit: int = 20_000                # recorded API calls and callbacks kept for the control API
    seed: int | None = None                    # fault randomness; None -> unpredictable

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "SandboxConfig":
        env = os.environ if env is None else env
        get = lambda name: (env.get(name) or "").strip() or None  # noqa: E731
        aes_key = get("WECHAT_AES_KEY")
        if aes_key is not None and not is_aes_key(aes_key):
            raise ValueError("WECHAT_AES_KEY must be the 43-character EncodingAESKey (base64 of 32 bytes)")
        return cls(
            appid=get("WECHAT_APPID") or DEFAULT_APPID,
            appsecret=get("WECHAT_APPSECRET") or DEFAULT_APPSECRET,
            token=get("WECHAT_TOKEN") or DEFAULT_TOKEN,
            aes_key=aes_key,
            bot_callback_url=get("BOT_CALLBACK_URL") or DEFAULT_CALLBACK_URL,
            host=get("SANDBOX_HOST") or "127.0.0.1",
            port=int(get("SANDBOX_PORT") or 8081),
        )


def is_aes_key(value: str) -> bool:
    try:
        return len(value) == 43 and len(base64.b64decode(value + "=", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False
