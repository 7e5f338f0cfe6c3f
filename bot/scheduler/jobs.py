"""What the scheduler runs; when (mall time, daily) is the program file's `[schedule]`. Each job is one async
function of a JobContext that returns a one-line summary; its effects are idempotent by natural keys (a lot,
a coupon, a review day, a birthday cycle, a notice's dedup key), so that a run taken over from a leader that
died repeats nothing."""
from __future__ import annotations

from collections import Counter
from typing import Awaitable, Callable

from loyalty_core.program import Program

from .runner import Job, JobContext


async def points_expiry(ctx: JobContext) -> str:
    expired = await ctx.services.points.expire_due(ctx.now)
    return f"{expired} points expired"


async def expiry_warnings(ctx: JobContext) -> str:
    rules = ctx.services.program.points
    warned = await ctx.services.points.warn_expiring(ctx.now)
    reminded = await ctx.services.points.remind_expiring(ctx.now)
    return (f"{warned} members warned of points expiring within {rules.expiry_warning_days} days, "
            f"{reminded} reminded of points expiring within {rules.expiry_reminder_days}")


async def coupon_expiry(ctx: JobContext) -> str:
    expired = await ctx.services.coupons.expire_due(ctx.now)
    return f"{expired} coupons expired"


async def tier_review(ctx: JobContext) -> str:
    results = await ctx.services.tiers.review_due(ctx.now)
    kept = sum(result.kept for result in results if result.due)
    return f"{len(results)} members reviewed: {kept} kept their tier, {len(results) - kept} moved down"


async def referral_release(ctx: JobContext) -> str:
    releases = Counter(release.status for release in await ctx.services.referrals.release_due(ctx.now))
    return "referral rewards: " + (", ".join(f"{n} {status}" for status, n in sorted(releases.items())) or "none due")


async def birthday_greetings(ctx: JobContext) -> str:
    members = await ctx.services.birthdays.members_with_birthday_on(ctx.day)
    gifts = [await ctx.services.birthdays.gift_of_the_day(member_id) for member_id in members]
    given = sum(1 for gift in gifts if gift is not None and not gift.replayed)
    return f"{len(members)} birthdays: {given} gifts given, {sum(g is not None and g.replayed for g in gifts)} claimed before"


JOBS: tuple[tuple[str, Callable[[JobContext], Awaitable[str]], str], ...] = (
    ("points-expiry", points_expiry, "expire the points lots past their date"),
    ("coupon-expiry", coupon_expiry, "mark the coupons past their validity expired"),
    ("birthday-greetings", birthday_greetings,
     "greet the members whose birthday (solar or lunar) is today, with the tier's gift"),
    ("tier-review", tier_review, "review the tiers whose anniversary is today"),
    ("expiry-warnings", expiry_warnings, "warn of points about to expire"),
    ("referral-release", referral_release, "pay the referral rewards whose refund window is over"),
)


def job_table(program: Program) -> dict[str, Job]:
    """The jobs at the times of the program's timetable."""
    return {name: Job(name, program.schedule.at(name), body, about) for name, body, about in JOBS}
