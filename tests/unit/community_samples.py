"""Sample values of the community and event templates, built from the core's own values."""
from datetime import datetime

from loyalty_core.broadcasts import Audience, Confirmed, Draft, MassReport, Report
from loyalty_core.clock import MALL_TZ
from loyalty_core.communities import Community, CommunityView, Membership
from loyalty_core.event_rules import MallEvent
from loyalty_core.mall_events import Cancelled, Listing, Place
from loyalty_core.service_desk import ServiceRules, staffing
from loyalty_core.surveys import Answered

YOGA = Community("yoga", "瑜伽社", "每周六早晨一起练习", 100, 1)
WINE = Community("wine", "品酒会", "", 101, 2)

TASTING = MallEvent("tasting", "春季品酒会", datetime(2026, 3, 1, 19, 0, tzinfo=MALL_TZ),
                    datetime(2026, 3, 1, 21, 0, tzinfo=MALL_TZ), "三楼中庭", 50,
                    datetime(2026, 3, 1, 12, 0, tzinfo=MALL_TZ), datetime(2026, 2, 1, 10, 0, tzinfo=MALL_TZ),
                    notes="请着正装", number=3)

COMMUNITY_SAMPLES: dict[str, dict] = {
    "communities.txt": {"communities": [YOGA, WINE], "mine": {"wine"}},
    "community_joined.txt": {"membership": Membership(YOGA, changed=True)},
    "community_left.txt": {"membership": Membership(YOGA, changed=True)},
    "my_communities.txt": {"communities": [YOGA], "managed": [CommunityView(WINE, 412, ("o1",))]},
    "errors/unknown_community.txt": {},
    "errors/member_community_limit.txt": {},
    "errors/not_in_community.txt": {"community": "瑜伽社"},
    "errors/wechat_unavailable.txt": {},
    "errors/not_a_manager.txt": {"community": "瑜伽社"},
    "broadcast_how.txt": {},
    "broadcast_preview.txt": {"draft": Draft("b1", YOGA, "周六早上 8 点中庭集合", "yoga-20", "瑜伽课立减 20 元",
                                             Audience(412, 180, 232, 15, 0, 0), 4)},
    "broadcast_confirmed.txt": {"confirmed": Confirmed("b1", "瑜伽社", 412, first=True)},
    "broadcast_history.txt": {"reports": [
        Report("b2", "瑜伽社", "本周六早上 8 点在中庭集合，一起做晨练，结束后有早餐", datetime(2026, 3, 1, 9, 5, tzinfo=MALL_TZ),
               False, 412, None, {"sent": 37}, MassReport()),
        Report("b1", "品酒会", "周五品酒会", datetime(2026, 2, 27, 18, 30, tzinfo=MALL_TZ), True, 412,
               Audience(412, 180, 232, 0, 0, 0), {"sent": 410, "queued": 412}, MassReport(1, 232, 230, 229, 1))]},
    "errors/broadcast_limit.txt": {"limit": 3},
    "errors/empty_broadcast.txt": {},
    "errors/broadcast_too_long.txt": {"limit": 600},
    "staff_away.txt": {"staffing": staffing(datetime(2026, 3, 1, 22, 0, tzinfo=MALL_TZ), ServiceRules())},
    "staff_how.txt": {"staffing": staffing(datetime(2026, 3, 1, 10, 0, tzinfo=MALL_TZ), ServiceRules())},
    "suggest_how.txt": {},
    "suggestion_thanks.txt": {},
    "errors/empty_suggestion.txt": {},
    "events.txt": {"listings": [Listing(TASTING, 12, 0), Listing(TASTING, 0, 4)]},
    "event_place.txt": {"place": Place(TASTING, "confirmed")},
    "event_cancelled.txt": {"cancelled": Cancelled(TASTING, "confirmed", "100002")},
    "my_events.txt": {"places": [Place(TASTING, "confirmed"), Place(TASTING, "waitlisted", 2)]},
    "survey_thanks.txt": {"answered": Answered("purchase", "S01", 4, commented=True)},
    "errors/unknown_event.txt": {},
    "errors/signup_closed.txt": {},
    "errors/signup_not_open.txt": {"opens_at": datetime(2026, 2, 3, 10, 0, tzinfo=MALL_TZ)},
    "errors/event_not_for_member.txt": {"reason": "tier"},
    "errors/not_signed_up.txt": {},
    "errors/event_started.txt": {},
    "errors/no_feedback_due.txt": {},
}
