"""What the scheduler runs, and when (mall time, daily). Each job is one async function of a JobContext that
returns a one-line summary; its effects are idempotent by natural keys (a lot, a coupon, a review day, a
birthday cycle), so that a run taken over from a leader that died repeats nothing."""
from __future__ import annotations

from collections import Counter
from datetime import time

from .runner import Job, JobContext


async def points_expiry(ctx: JobContext) -> str:
    expired = await ctx.services.points.expire_due(ctx.now)
    return f"{expired} points expired"


async def expiry_warnings(ctx: JobContext) -> str:
    warned = await ctx.services.points.warn_expiring(ctx.now)
    return f"{warned} members warned of points expiring within {ctx.services.program.points.expiry_warning_days} days"


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


JOBS = (
    Job("points-expiry", time(0, 10), points_expiry, "expire the points lots past their date"),
    Job("coupon-expiry", time(0, 20), coupon_expiry, "mark the coupons past their validity expired"),
    Job("birthday-greetings", time(9, 0), birthday_greetings,
        "greet the members whose birthday (solar or lunar) is today, with the tier's gift"),
    Job("tier-review", time(9, 30), tier_review, "review the tiers whose anniversary is today"),
    Job("expiry-warnings", time(10, 0), expiry_warnings, "warn of points about to expire"),
    Job("referral-release", time(10, 30), referral_release, "pay the referral rewards whose refund window is over"),
)


def job_table(jobs: tuple[Job, ...] = JOBS) -> dict[str, Job]:
    table: dict[str, Job] = {}
    for job in jobs:
        if job.name in table:
            raise ValueError(f"job {job.name!r} defined twice")
        table[job.name] = job
    return table
