"""A segment in the console's words: the label of each condition, the names of the codes it lists (tiers,
stages, spend levels, communities, categories, coupon templates), and a stored segment read back as those
labels and names, for the campaign editor and a campaign's page alike."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from loyalty_core.segment_rules import LAPSING, SPEND_LEVELS, STAGES

STAGE_NAMES = {"potential": "潜在 potential", "new": "新客 new", "active": "活跃 active", "dormant": "沉睡 dormant",
               "churned": "流失 churned", LAPSING: "将流失 about to lapse"}
LEVEL_NAMES = {"high": "高 high", "mid": "中 mid", "low": "低 low"}
LABELS = {
    "tiers": "等级 Tiers",
    "lifecycle": "生命周期 Lifecycle",
    "spend_level": "消费水平 Spend level",
    "communities": "社群 Communities (any of)",
    "preferred_category": "偏好品类 Preferred category",
    "spend_12m_min": "12个月消费 ≥ Spend (CNY)",
    "spend_12m_max": "12个月消费 ≤ Spend (CNY)",
    "purchases_12m_min": "12个月消费次数 ≥ Purchases",
    "balance_min": "积分 ≥ Balance (points)",
    "balance_max": "积分 ≤ Balance (points)",
    "days_since_purchase_min": "距上次消费 ≥ 天 Days since purchase",
    "days_since_purchase_max": "距上次消费 ≤ 天 Days since purchase",
    "joined_within_days": "入会 ≤ 天 Joined within days",
    "birthday_month": "生日月 Birthday month",
    "holds_coupon_template": "持有券 Holds coupon",
    "lacks_coupon_template": "未持有券 Lacks coupon",
    "takes_statement": "接收月度账单 Takes the statement",
}
EVERY_MEMBER = "全部会员 every member"


@dataclass(frozen=True)
class SegmentVocabulary:
    """What the codes of a segment are called in this program."""
    tiers: Mapping[str, str]
    communities: Mapping[str, str]
    categories: Mapping[str, str]
    coupon_templates: Mapping[str, str]

    @property
    def stages(self) -> Mapping[str, str]:
        return {stage: STAGE_NAMES[stage] for stage in (*STAGES, LAPSING)}

    @property
    def spend_levels(self) -> Mapping[str, str]:
        return {level: LEVEL_NAMES[level] for level in SPEND_LEVELS}

    def names_for(self, condition: str) -> Mapping[str, str]:
        return {"tiers": self.tiers, "lifecycle": self.stages, "spend_level": self.spend_levels,
                "communities": self.communities, "preferred_category": self.categories,
                "holds_coupon_template": self.coupon_templates,
                "lacks_coupon_template": self.coupon_templates}.get(condition, {})

    def described(self, segment: Mapping) -> list[tuple[str, str]]:
        """(label, value) of each condition of a stored segment (`Segment.to_dict`), in the editor's order."""
        terms = []
        for condition, label in LABELS.items():
            if condition in segment:
                terms.append((label, self._value(condition, segment[condition])))
        return terms or [("人群 Segment", EVERY_MEMBER)]

    def _value(self, condition: str, value) -> str:
        names = self.names_for(condition)
        if isinstance(value, bool):
            return "是 yes" if value else "否 no"
        if isinstance(value, list):
            return "、".join(names.get(item, item) for item in value)
        return names.get(value, str(value)) if isinstance(value, str) else str(value)


async def vocabulary_of(services) -> SegmentVocabulary:
    program = services.program
    return SegmentVocabulary(
        tiers={tier.code: tier.name for tier in program.tiers},
        communities={c.community_id: c.name for c in await services.communities.listing()},
        categories=dict(program.coupons.category_names),
        coupon_templates={template.id: template.title for template in program.coupons.templates})
