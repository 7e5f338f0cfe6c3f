"""The platform's rules, as pure functions: customer-service quotas, mass-send quotas, menu shapes."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ApiError

# What a member's action allows (rules since June 2023): action -> (window seconds, messages).
# A VIEW (link) menu tap opens nothing. Quotas do not add up: the latest action replaces the window.
CUSTOMER_SERVICE_QUOTAS = {
    "message": (48 * 3600, 5),
    "click": (60, 3),
    "follow": (60, 3),
    "scan": (60, 3),
}
MASS_PER_MEMBER_PER_MONTH = 4
MASS_CALLS_PER_MINUTE = 60
MASS_OPENIDS_MIN, MASS_OPENIDS_MAX = 2, 10_000
CLIENTMSGID_MAX_BYTES = 64
CLIENTMSGID_MEMORY_SECONDS = 24 * 3600


@dataclass
class Window:
    """The customer-service quota the member's latest action opened."""
    action: str
    opened_at: float
    seconds: int
    limit: int
    used: int = 0

    @classmethod
    def opened_by(cls, action: str, now: float) -> "Window":
        seconds, limit = CUSTOMER_SERVICE_QUOTAS[action]
        return cls(action, now, seconds, limit)

    def closes_at(self) -> float:
        return self.opened_at + self.seconds

    def refusal(self, now: float) -> int:
        """0 if one more message may go out now, else the errcode the platform answers."""
        if now > self.closes_at():
            return 45015
        if self.used >= self.limit:
            return 45047
        return 0


# -- menus ---------------------------------------------------------------------------------------
MENU_TYPES = {"click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
              "pic_weixin", "location_select", "media_id", "article_id", "article_view_limited", "miniprogram"}
KEYED_TYPES = MENU_TYPES - {"view", "media_id", "article_id", "article_view_limited", "miniprogram"}
TOP_NAME_BYTES, SUB_NAME_BYTES, KEY_BYTES, URL_BYTES = 16, 60, 128, 1024


def validate_menu(menu: dict) -> list[dict]:
    """The buttons of a menu/create body, checked as the platform does (≤ 3 × ≤ 5)."""
    buttons = menu.get("button") if isinstance(menu, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise ApiError(40016)
    for button in buttons:
        if not isinstance(button, dict):
            raise ApiError(40017)
        _check_name(button, TOP_NAME_BYTES, 40018)
        subs = button.get("sub_button")
        if subs:
            if not isinstance(subs, list) or len(subs) > 5:
                raise ApiError(40023)
            for sub in subs:
                if not isinstance(sub, dict):
                    raise ApiError(40024)
                _check_name(sub, SUB_NAME_BYTES, 40025)
                _check_action(sub, type_code=40024, key_code=40026, url_code=40027)
        else:
            _check_action(button, type_code=40017, key_code=40019, url_code=40020)
    return buttons


def _check_name(button: dict, limit: int, code: int) -> None:
    name = button.get("name")
    if not isinstance(name, str) or not name or len(name.encode()) > limit:
        raise ApiError(code)


def _check_action(button: dict, *, type_code: int, key_code: int, url_code: int) -> None:
    kind = button.get("type")
    if kind not in MENU_TYPES:
        raise ApiError(type_code)
    if kind in KEYED_TYPES:
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode()) > KEY_BYTES:
            raise ApiError(key_code)
    if kind in ("view", "miniprogram"):
        url = button.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url.encode()) > URL_BYTES:
            raise ApiError(url_code)


def menu_as_returned(buttons: list[dict]) -> dict:
    """menu/get's shape: every top button carries a `sub_button` list."""
    shown = [{**button, "sub_button": list(button.get("sub_button") or [])} for button in buttons]
    return {"menu": {"button": shown}}
