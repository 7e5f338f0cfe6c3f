"""Sample values of the console's pages of communities, events, the catalogue and the feedback inbox (rendered by
tests/unit/test_templates.py with the console's own environment, StrictUndefined)."""
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace as NS

from loyalty_core.broadcasts import Audience, Draft, MassReport, Report
from loyalty_core.catalogue import CatalogueItem
from loyalty_core.clock import MALL_TZ
from loyalty_core.communities import Community, CommunityView
from loyalty_core.console import ConsoleUser, Session
from loyalty_core.coupon_rules import CouponTemplate
from loyalty_core.event_rules import MallEvent
from loyalty_core.mall_events import Feedback, SignUps
from loyalty_core.service_desk import Handled
from loyalty_core.surveys import StoreResults

AT = datetime(2026, 1, 15, 10, 0, tzinfo=MALL_TZ)
YOGA = Community("yoga", "瑜伽社", "每周六早晨一起练习", 101, 1)
VIEW = CommunityView(YOGA, 3, ("o_manager",))
REPORT = Report("b1a2b3c4d5e6", "瑜伽社", "本周六早上8点中庭集合", AT, True, 3, Audience(3, 2, 1), {"sent": 3},
                MassReport(1, 1, 1, 1, 0))
DRAFT = Draft("b1a2b3c4d5e6", YOGA, "本周六早上8点中庭集合", "tea-bogo", "奶茶买一送一", Audience(3, 2, 1), 4)
EVENT = MallEvent("wine-0120", "春季品酒会", AT.replace(hour=19), AT.replace(hour=21), "L1 中庭", 20,
                  AT.replace(hour=18), AT, community_id="yoga", min_tier="gold", notes="请携带会员码", number=1)
COUNTS = NS(confirmed=2, waitlist=1, checked_in=1)
TEMPLATE = CouponTemplate(id="tea-20", title="茶饮立减20", kind="cash_off", value=Decimal("20"), valid_days=14,
                          total_limit=100, categories=("tea",), member_day_only=True)
ITEM = CatalogueItem(id="tea-item", title="茶饮券", points=800, kind="coupon", template="tea-20", stock=50)
TIERS = (NS(code="member", name="普卡"), NS(code="gold", name="金卡"))
ITEM_ROW = NS(ref="suggestion:1-0", kind="suggestion", at=AT, member_id="100001", text="停车场的指引再清楚些",
              about="", score=None)
SURVEY_ROW = NS(ref="survey:S01:T-1", kind="survey", at=AT, member_id="100001", text="", about="S01", score=4)

CONSOLE_SAMPLES: dict[str, dict] = {
    "communities.html": {"error": "", "views": [VIEW], "linked": False, "managers": {"yoga": ["100001"]},
                         "form": {}},
    "community.html": {"error": "", "view": VIEW, "follower": NS(member_id="100001", openid="o_manager"),
                       "managers": ["100001"], "may_broadcast": True, "reports": [REPORT], "sent_today": 1,
                       "per_day": 3, "max_chars": 600, "kinds": ("member_code", "member_id"),
                       "kind_names": {"member_code": "会员码", "member_id": "会员号"}, "templates": [TEMPLATE],
                       "form": {}},
    "broadcast_draft.html": {"draft": DRAFT, "community": YOGA, "sent_today": 0, "per_day": 3,
                             "coupon_line": "社群专享券「奶茶买一送一」已放入您的券包", "minutes": 2},
    "broadcast.html": {"report": REPORT, "community": YOGA, "manager": "100001", "coupon_template": ""},
    "events.html": {"error": "", "upcoming": [(EVENT, COUNTS)], "past": [], "form": {}, "communities": [YOGA],
                    "tiers": TIERS},
    "event.html": {"error": "", "event": EVENT, "sign_ups": SignUps(["100001", "100002"], ["100003"], {"100001"}),
                   "counts": {"confirmed": 2, "waitlist": 1, "checked_in": 1,
                              "feedback": {"count": 1, "average": 5.0}},
                   "feedback": [("100001", Feedback(5, "酒很好", AT.isoformat()))],
                   "kinds": ("member_code", "member_id"), "kind_names": {"member_code": "会员码", "member_id": "会员号"},
                   "may_see_campaigns": True, "invitation_id": "event-wine-0120", "community": YOGA,
                   "invited": {"status": "sent", "planned": 3}},
    "catalogue.html": {"error": "", "items": [ITEM], "stock": {"tea-item": {"left": 48, "held": 1, "sold": 1}},
                       "templates": [TEMPLATE], "issued": {"tea-20": 2}, "from_file": set(), "form": {},
                       "editing": "", "item_kinds": ("coupon", "voucher"), "coupon_kinds": ("cash_off",),
                       "tiers": TIERS},
    "inbox.html": {"error": "", "items": [ITEM_ROW, SURVEY_ROW],
                   "handled": {"survey:S01:T-1": Handled("survey:S01:T-1", "sam@mall.test", AT.isoformat(), "已回访")},
                   "store_id": "S01", "results": StoreResults("S01", 1, 4), "only_open": False},
    "users.html": {"error": "", "users": [ConsoleUser("cara@mall.test", "community_manager", AT.isoformat(), "test",
                                                      member_id="100001")],
                   "roles": ["admin", "community_manager"], "form": {"email": "", "role": "marketer"},
                   "kinds": ("member_id",), "kind_names": {"member_id": "会员号"}},
}
SESSION = Session("boss@mall.test", "admin", "csrf-token", AT)
