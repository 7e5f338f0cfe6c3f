"""Reply texts live in bot/templates as jinja2 files; StrictUndefined so a missing value is a bug, not a gap."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def money(value) -> str:
    """CNY amounts: 12300 -> '12,300'; 12300.5 -> '12,300.50'."""
    amount = Decimal(str(value))
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def date_zh(value) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


def make_environment(directory: Path = TEMPLATE_DIR) -> Environment:
    env = Environment(loader=FileSystemLoader(str(directory)), undefined=StrictUndefined, autoescape=False,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False, auto_reload=False)
    env.filters["money"] = money
    env.filters["date_zh"] = date_zh
    return env


class Templates:
    def __init__(self, directory: Path = TEMPLATE_DIR):
        self.directory = directory
        self.env = make_environment(directory)

    def render(self, name: str, **values) -> str:
        return self.env.get_template(name).render(**values).strip()

    def exists(self, name: str) -> bool:
        return (self.directory / name).is_file()

    def names(self) -> list[str]:
        return sorted(self.env.list_templates(extensions=["txt"]))
