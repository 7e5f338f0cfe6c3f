"""A campaign's results: per variant and for the holdout, members, sends, deliveries, clicks on tracked links,
coupons issued and redeemed, purchasers and spend within the conversion days, conversion, uplift over the
holdout with a two-proportion z-test, and a verdict. Measured by a consumer of the outbox stream (group
RESULTS_GROUP): a purchase counts for each campaign its member was assigned to within the campaign's conversion
days (holdout members too), once per member as a purchaser and once per txn_id as spend; a coupon a campaign
issued counts when it is used at the till. A refund within the conversion days takes its amount off the spend of
each campaign that counted the purchase (the purchaser stays a purchaser)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .campaign_rules import HOLDOUT, Arm, two_proportion_z_test, verdict
from .campaigns import Campaigns, CampaignService, outcome_count, push_counts
from .clock import epoch_ms

RESULTS_GROUP = "campaign-results"


class CampaignResults:
    def __init__(self, parts: Campaigns, campaigns: CampaignService):
        self._p = parts
        self._campaigns = campaigns

    async def results(self, campaign_id: str) -> dict:
        _, definition = await self._campaigns.stored(campaign_id)
        counts = await self._p.store.counts(campaign_id)
        arms = [Arm(name, counts.get((name, "members"), 0), counts.get((name, "purchasers"), 0))
                for name in definition.arms]
        holdout = arms[-1]
        shown = []
        for arm in arms:
            pushes = await push_counts(self._p, definition, arm.name) if arm.name != HOLDOUT else {}
            row = {"arm": arm.name, "members": arm.members, "sent": outcome_count(pushes, "queued"),
                   "delivered": outcome_count(pushes, "sent"), "clicked": counts.get((arm.name, "clicked"), 0),
                   "coupons_issued": counts.get((arm.name, "coupons"), 0),
                   "coupons_redeemed": counts.get((arm.name, "redeemed"), 0), "purchasers": arm.converted,
                   "spend": f"{counts.get((arm.name, 'spend'), 0) / 100:.2f}", "conversion": round(arm.rate, 4)}
            if arm.name != HOLDOUT:
                row |= _against(arm, holdout)
            shown.append(row)
        return {"campaign_id": campaign_id, "conversion_days": definition.conversion_days, "arms": shown,
                "verdict": verdict(arms)}

    async def follow(self, token: str) -> str | None:
        """Where a tracked link leads, its click counted once per member (None: no such link)."""
        link = await self._p.store.link(token) if token.isascii() and token.isalnum() and len(token) < 64 else None
        if link is None:
            return None
        await self._p.store.mark(link["campaign_id"], f"click:{link['member_id']}", {f"{link['arm']}|clicked": 1})
        return link["url"]

    def handlers(self) -> dict:
        return {"points_earned": self.on_purchase, "purchase_refunded": self.on_refund,
                "coupon_used": self.on_coupon_used}

    async def on_purchase(self, event: dict) -> None:
        """A purchase counts for each campaign the member was assigned to within its conversion days."""
        member_id, data = event["member_id"], event["data"]
        at_ms = epoch_ms(datetime.fromisoformat(event["occurred_at"]))
        fen = int(Decimal(data["amount"]) * 100) if data.get("amount") else 0
        for campaign_id, joined in (await self._p.store.joined(member_id)).items():
            if joined["at_ms"] <= at_ms <= joined["at_ms"] + joined["days"] * 86_400_000:
                arm = joined["arm"]
                await self._p.store.mark(campaign_id, f"buyer:{member_id}", {f"{arm}|purchasers": 1})
                await self._p.store.mark(campaign_id, f"buy:{data['txn_id']}", {f"{arm}|spend": fen})

    async def on_refund(self, event: dict) -> None:
        member_id, data = event["member_id"], event["data"]
        at_ms = epoch_ms(datetime.fromisoformat(event["occurred_at"]))
        fen = int(Decimal(data["amount"]) * 100) if data.get("amount") else 0
        for campaign_id, joined in (await self._p.store.joined(member_id)).items():
            if fen and joined["at_ms"] <= at_ms <= joined["at_ms"] + joined["days"] * 86_400_000:
                await self._p.store.unmark_spend(campaign_id, data["txn_id"], data["refund_id"],
                                                 f"{joined['arm']}|spend", fen)

    async def on_coupon_used(self, event: dict) -> None:
        source = event["data"].get("source") or ""
        if not source.startswith("campaign:"):
            return
        campaign_id = source.split(":", 1)[1]
        joined = (await self._p.store.joined(event["member_id"])).get(campaign_id)
        if joined:
            await self._p.store.mark(campaign_id, f"redeemed:{event['event_id']}", {f"{joined['arm']}|redeemed": 1})


def _against(arm: Arm, holdout: Arm) -> dict:
    """A variant's uplift over the holdout and its z-test; None for each while the holdout has no members (a
    campaign without one, or none assigned yet): there is nothing to measure the uplift against."""
    if holdout.members == 0:
        return {"uplift": None, "z": None, "p_value": None}
    test = two_proportion_z_test(arm.converted, arm.members, holdout.converted, holdout.members)
    return {"uplift": round(arm.rate - holdout.rate, 4), "z": round(test.z, 3), "p_value": round(test.p_value, 4)}
