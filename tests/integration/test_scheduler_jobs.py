"""The scheduler's own jobs on a real Redis, run as `python -m bot scheduler run JOB --date D` runs them."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.scheduler.jobs import job_table
from bot.scheduler.process import schedule_for
from bot.scheduler.runner import JobRunner
from bot.services import build_services
from bot.sms import LogSmsSender
from loyalty_core.birthday_calendar import LUNAR, SOLAR
from loyalty_core.clock import MALL_TZ
from loyalty_core.points import Purchase

KEY = b"k" * 32
JUNE_3 = datetime(2026, 6, 3, 9, 0, tzinfo=MALL_TZ)


@pytest.fixture
def services(redis, clock):
    clock.set(JUNE_3)
    return build_services(redis, clock, KEY, LogSmsSender())


@pytest.fixture
def runner(services):
    return JobRunner(schedule_for(services), job_table(services.program), services, "by-hand")


async def member(services, openid: str, birthday: str | None = None, calendar: str = SOLAR, spend: str = "") -> str:
    member_id = (await services.members.follow(openid, f"follow:{openid}")).member_id
    if birthday:
        proposal = await services.birthdays.propose(member_id, birthday, calendar)
        await services.birthdays.confirm(member_id, proposal.sealed, f"op-{member_id}")
    if spend:
        await services.points.purchase(member_id, Purchase(f"T-{openid}", Decimal(spend), services.clock.now()),
                                       f"fp-{openid}")
    return member_id


async def test_birthday_greetings_give_the_days_gifts_once_however_often_they_run(services, runner):
    solar = await member(services, "o_solar", "1990-06-03")
    lunar = await member(services, "o_lunar", "1988-04-18", LUNAR)          # 2026-06-03 is the 18th of the 4th month
    claimed = await member(services, "o_claimed", "1991-06-03")
    await services.birthdays.claim_gift(claimed)                             # claimed earlier in the month
    other = await member(services, "o_other", "1990-06-04")
    first = await runner.run_day("birthday-greetings", date(2026, 6, 3))
    again = await runner.run_day("birthday-greetings", date(2026, 6, 3))
    assert first.summary == "3 birthdays: 2 gifts given, 1 claimed before"
    assert (again.ran, again.status) == (False, "done")
    for member_id, points in ((solar, 200), (lunar, 200), (claimed, 200), (other, 0)):
        assert (await services.points.summary(member_id, services.clock.now())).balance == points


async def test_points_expiry_and_warnings_visit_only_the_members_due(services, runner, clock):
    due = await member(services, "o_due", spend="100")
    clock.advance(days=200)
    fresh = await member(services, "o_fresh", spend="100")
    clock.set(JUNE_3 + timedelta(days=366 - 20))
    warned = await runner.run_day("expiry-warnings", clock.now().date())
    assert warned.summary == ("1 member warned of points expiring within 30 days, "
                              "0 reminded of points expiring within 7")
    clock.set(JUNE_3 + timedelta(days=366 - 5))
    reminded = await runner.run_day("expiry-warnings", clock.now().date())
    again = await runner.run_day("expiry-warnings", clock.now().date())
    assert reminded.summary.endswith("1 reminded of points expiring within 7") and not again.ran
    soon = [e for e in await services.outbox.read(100) if e["type"] == "points_expiring_soon"]
    assert [(e["data"]["days"], e["data"]["last_reminder"], e["data"]["points"]) for e in soon] == [
        (30, False, 100), (7, True, 100)]
    clock.set(JUNE_3 + timedelta(days=366))
    expired = await runner.run_day("points-expiry", clock.now().date())
    assert expired.summary == "100 points expired"
    assert (await services.points.summary(due, clock.now())).balance == 0
    assert (await services.points.summary(fresh, clock.now())).balance == 100


async def test_tier_reviews_run_on_the_anniversary(services, runner, clock):
    await member(services, "o_gold", spend="60000")
    clock.advance(days=365)
    review = await runner.run_day("tier-review", clock.now().date())
    assert review.summary == "1 member reviewed: 0 kept their tier, 1 moved down"


async def topics(services, member_id: str) -> list[str]:
    return sorted({step.topic for step in await services.pushes.deliveries(member_id)})


async def test_holidays_greet_every_follower_once_and_anniversaries_the_members_of_that_day(services, runner, clock):
    ann = await member(services, "o_ann")
    ben = await member(services, "o_ben")
    await services.members.unfollow("o_ben", "evt:left")
    clock.set(datetime(2026, 9, 25, 9, 30, tzinfo=MALL_TZ))                 # 中秋节
    first = await runner.run_day("holidays", clock.now().date())
    again = await runner.run_day("holidays", clock.now().date())
    assert first.summary == "中秋节: 1 member greeted" and not again.ran
    assert await topics(services, ann) == ["holiday"] and await topics(services, ben) == []
    assert (await runner.run_day("holidays", date(2026, 9, 26))).summary == "no holiday"
    clock.set(datetime(2027, 6, 3, 10, 0, tzinfo=MALL_TZ))
    assert (await runner.run_day("anniversaries", clock.now().date())).summary == "1 membership anniversary"
    assert await topics(services, ann) == ["anniversary", "holiday"]
