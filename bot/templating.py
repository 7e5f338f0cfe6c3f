"""Reply texts live in bot/templates as jinja2 files; StrictUndefined so a missing value is a bug, not a gap."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from loyalty_core.clock import MALL_TZ

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def money(value) -> str:
    """CNY amounts: 12300 -> '12,300'; 12300.5 -> '12,300.50'."""
    amount = Decimal(str(value))
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def date_zh(value) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def moment_zh(value) -> str:
    """A moment as members read it, in the mall's time: 2026年3月1日 19:00."""
    local = value.astimezone(MALL_TZ)
    return f"{date_zh(local)} {local:%H:%M}"


def make_environment(directory: Path = TEMPLATE_DIR) -> Environment:
    env = Environment(loader=FileSystemLoader(str(directory)), undefined=StrictUndefined, autoescape=False,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, auto_reload=False)
    env.filters["money"] = money
    env.filters["date_zh"] = date_zh
    env.filters["moment_zh"] = moment_zh
    return env


DEFAULT_PRIVACY_URL = "http://127.0.0.1:8080/privacy"


class Templates:
    def __init__(self, directory: Path = TEMPLATE_DIR, *, privacy_url: str = DEFAULT_PRIVACY_URL):
        self.directory = directory
        self.env = make_environment(directory)
        self.env.globals["privacy_url"] = privacy_url     # the privacy page, named by the chat's notices

    def render(self, name: str, **values) -> str:
        return self.env.get_template(name).render(**values).strip()

    def exists(self, name: str) -> bool:
        return (self.directory / name).is_file()

    def names(self) -> list[str]:
        return sorted(self.env.list_templates(extensions=["txt"]))
