"""What the scheduler runs; when (mall time, daily) is the program file's `[schedule]`. Each job is one async
function of a JobContext that returns a one-line summary; its effects are idempotent by natural keys (a lot,
a coupon, a review day, a birthday cycle, a notice's dedup key), so that a run taken over from a leader that
died repeats nothing."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Awaitable, Callable

from loyalty_core.program import Program

from ..metrics import set_headline_gauges
from .runner import Job, JobContext


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """"1 member", "2 members": a summary line reads as a sentence."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


async def points_expiry(ctx: JobContext) -> str:
    expired = await ctx.services.points.expire_due(ctx.now)
    return f"{counted(expired, 'point')} expired"


async def expiry_warnings(ctx: JobContext) -> str:
    rules = ctx.services.program.points
    warned = await ctx.services.points.warn_expiring(ctx.now)
    reminded = await ctx.services.points.remind_expiring(ctx.now)
    return (f"{counted(warned, 'member')} warned of points expiring within {rules.expiry_warning_days} days, "
            f"{reminded} reminded of points expiring within {rules.expiry_reminder_days}")


async def coupon_expiry(ctx: JobContext) -> str:
    coupons = ctx.services.coupons
    expired = await coupons.expire_due(ctx.now)
    days = ctx.services.program.coupons.expiry_reminder_days
    if not days:
        return f"{counted(expired, 'coupon')} expired"
    last_day = ctx.day + timedelta(days=days)
    expiring = await coupons.last_day_on(last_day)
    for member_id, held in expiring.items():
        await ctx.services.notices.notify(member_id, "coupon_expiring", {
            "title": held[0].template.title, "expires_on": last_day, "count": len(held)}, last_day.isoformat())
    return (f"{counted(expired, 'coupon')} expired, {counted(len(expiring), 'member')} reminded of coupons "
            f"expiring on {last_day.isoformat()}")


async def tier_review(ctx: JobContext) -> str:
    results = await ctx.services.tiers.review_due(ctx.now)
    kept = sum(result.kept for result in results if result.due)
    return f"{counted(len(results), 'member')} reviewed: {kept} kept their tier, {len(results) - kept} moved down"


async def referral_release(ctx: JobContext) -> str:
    releases = Counter(release.status for release in await ctx.services.referrals.release_due(ctx.now))
    return "referral rewards: " + (", ".join(f"{n} {status}" for status, n in sorted(releases.items())) or "none due")


async def birthday_greetings(ctx: JobContext) -> str:
    """The day's birthdays: the tier's gift (unless claimed already this year) and the greeting that says so."""
    members = await ctx.services.birthdays.members_with_birthday_on(ctx.day)
    given = before = 0
    for member_id in members:
        gift = await ctx.services.birthdays.gift_of_the_day(member_id)
        given += gift is not None and not gift.replayed
        before += gift is not None and gift.replayed
        await ctx.services.notices.notify(member_id, "birthday_greeting", {
            "gift": gift.gift.title if gift else "", "gift_kind": gift.gift.kind if gift else ""}, str(ctx.day.year))
    return f"{counted(len(members), 'birthday')}: {counted(given, 'gift')} given, {before} claimed before"


async def anniversaries(ctx: JobContext) -> str:
    if not ctx.services.program.care.anniversaries:
        return "membership anniversaries are off"
    found = await ctx.services.members.anniversaries_on(ctx.day)
    for member_id, years in found:
        await ctx.services.notices.notify(member_id, "anniversary", {"years": years}, str(ctx.day.year))
    return f"{counted(len(found), 'membership anniversary', 'membership anniversaries')}"


async def holidays(ctx: JobContext) -> str:
    """The care calendar's holidays of the day, greeted to every member who follows the account."""
    names = [holiday.name for holiday in ctx.services.program.care.holidays_on(ctx.day)]
    if not names:
        return "no holiday"
    greeted = 0
    async for member_id in ctx.services.members.following():
        for name in names:
            await ctx.services.notices.notify(member_id, "holiday", {"holiday": name}, f"{name}:{ctx.day.year}")
        greeted += 1
    return f"{'、'.join(names)}: {counted(greeted, 'member')} greeted"


async def event_reminders(ctx: JobContext) -> str:
    """The reminders due before events, the feedback requests after them, the promotions not yet told. The
    scheduler also runs it every `events.every_minutes` (a reminder 2 hours ahead cannot wait for a daily run);
    each message goes once by its dedup key, however often it runs."""
    told = await ctx.services.events.send_due()
    return (f"event reminders: {told['reminders']} planned, feedback requests: {told['feedback']}, "
            f"promotions: {told['promotions']}")


async def purchase_surveys(ctx: JobContext) -> str:
    if not ctx.services.program.survey.after_purchase:
        return "surveys after purchases are off"
    return f"{counted(await ctx.services.surveys.ask_due(), 'satisfaction survey')} asked"


async def lifecycle(ctx: JobContext) -> str:
    """Members whose facts change today with no event (a stage boundary), then the care each transition brings."""
    refreshed = await ctx.services.facts.refresh_due()
    refreshed += await ctx.services.facts.measure_spend_levels()     # spend levels by percentile, when so
    care = await ctx.services.lifecycle.give_due()
    return (f"facts refreshed for {counted(refreshed, 'member')}, care given for {counted(care.given, 'transition')} "
            f"({care.failed} failed)")


async def metrics(ctx: JobContext) -> str:
    headline = await ctx.services.metrics.keep_today(ctx.day)
    set_headline_gauges(headline)
    return (f"{counted(headline.members, 'member')}: active {headline.active_rate:.1%}, "
            f"repurchase {headline.repurchase_rate:.1%}, LTV {headline.ltv}, "
            f"registration {headline.registration_rate:.1%}")


async def campaigns(ctx: JobContext) -> str:
    await ctx.services.builtin_campaigns.ensure()      # the member-day announcement and the monthly statement
    sent = await ctx.services.campaigns.send_due()
    return f"{counted(sent, 'campaign')} sent"


async def retention(ctx: JobContext) -> str:
    trimmed = await ctx.services.retention.trim_streams()
    return f"{counted(trimmed, 'stream entry', 'stream entries')} every consumer had acknowledged trimmed"


JOBS: tuple[tuple[str, Callable[[JobContext], Awaitable[str]], str], ...] = (
    ("points-expiry", points_expiry, "expire the points lots past their date"),
    ("coupon-expiry", coupon_expiry, "mark the coupons past their validity expired"),
    ("birthday-greetings", birthday_greetings,
     "greet the members whose birthday (solar or lunar) is today, with the tier's gift"),
    ("holidays", holidays, "greet the members on the care calendar's holidays"),
    ("tier-review", tier_review, "review the tiers whose anniversary is today"),
    ("expiry-warnings", expiry_warnings, "warn of points about to expire"),
    ("anniversaries", anniversaries, "greet the members who joined on this day in an earlier year"),
    ("referral-release", referral_release, "pay the referral rewards whose refund window is over"),
    ("event-reminders", event_reminders,
     "remind members of events 24 h and 2 h ahead, ask those who came for feedback, tell promotions"),
    ("purchase-surveys", purchase_surveys, "ask the satisfaction surveys due some days after a purchase"),
    ("lifecycle", lifecycle, "move members through the lifecycle stages; wake-up and win-back care, once each"),
    ("campaigns", campaigns, "send the campaigns whose time has come"),
    ("metrics", metrics, "keep the day's headline metrics (active rate, repurchase, LTV, registration, conversion)"),
    ("retention", retention, "trim the streams of the entries every consumer group has read and acknowledged"),
)
FREQUENT = ("event-reminders",)     # also run every `events.every_minutes` by the leader, outside the day's claim


def job_table(program: Program) -> dict[str, Job]:
    """The jobs at the times of the program's timetable."""
    return {name: Job(name, program.schedule.at(name), body, about) for name, body, about in JOBS}
