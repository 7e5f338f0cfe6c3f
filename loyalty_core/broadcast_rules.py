"""The program file's `[broadcasts]` section: the limits of managers' broadcasts (loyalty_core/broadcasts.py)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from .program_fields import Duration, Text, Whole, rules


@rules
class BroadcastRules:
    per_manager_per_day: Annotated[int, Whole(1, 50)] = 3
    valid: Annotated[timedelta, Duration("hours", 1, 168)] = Field(timedelta(hours=72), alias="valid_hours")
    max_chars: Annotated[int, Whole(10, 1000)] = 600
    coupon_line: Text = "社群专享券「{title}」已放入您的券包，发送「我的券」查看。"     # {title}: the coupon's
