"""A sender's mass group holds each outbox entry once, an entry being its partition's."""
from datetime import datetime, timedelta

from bot.scheduler.mass_sends import Group
from loyalty_core.clock import MALL_TZ
from loyalty_core.push.model import Content, Push, PushRecord
from loyalty_core.redis_store.push_queue import Entry

SPRING = {"msgtype": "text", "text": {"content": "春季会员日"}}


def record(member_id: str) -> PushRecord:
    push = Push("", member_id, "marketing", "broadcast:b1", datetime(2026, 3, 1, tzinfo=MALL_TZ) + timedelta(days=1),
                Content.text("春季会员日", mass=SPRING))
    return PushRecord(push, "queued", "mass", attempt=1)


def test_entries_of_two_partitions_with_the_same_id_are_two_members():
    group = Group("broadcast:b1", SPRING)
    group.add(Entry(0, "1796263261123-0", "100001", "p1", 1, "mass"), record("100001"))
    group.add(Entry(3, "1796263261123-0", "100002", "p2", 1, "mass"), record("100002"))
    group.add(Entry(3, "1796263261123-0", "100002", "p2", 1, "mass"), record("100002"))   # reclaimed: again
    assert [r.member_id for _, r in group.members] == ["100001", "100002"]
