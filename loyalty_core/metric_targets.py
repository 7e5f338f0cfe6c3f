"""The `[targets]` section: where the programme means its headline metrics to be (the planning documents'
mid-term figures by default). The dashboard shows each metric against its target; rates are 0 to 1, LTV CNY,
the member-day uplifts a fraction of extra sales (or sign-ups) on member days."""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Annotated

from .program_fields import Money, Number, rules

Rate = Annotated[Decimal, Number(0, 1, places=4)]


@rules
class MetricTargets:
    active_rate: Rate = Decimal("0.45")
    repurchase_rate: Rate = Decimal("0.40")
    ltv: Money = Decimal(100)
    push_conversion: Rate = Decimal("0.25")
    registration_rate: Rate = Decimal("0.60")
    member_day_uplift: Rate = Decimal("0.18")
    member_day_sign_up_uplift: Rate = Decimal("0.12")
    coupon_use_rate: Annotated[Decimal | None, Number(0, 1, places=4, optional=True)] = None  # none in the documents

    def to_dict(self) -> dict:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
