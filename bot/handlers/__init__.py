"""Chat features, one module each; included into the root router in this order."""
from __future__ import annotations

from ..router import Router
from . import (birthday, broadcasts, communities, confirm, events, help, member_day, membership, phone, platform_events,
               points, privacy, redeem, referral, service, wallet,
               walk_in)

FEATURES = (membership, phone, privacy, points, platform_events, redeem, wallet, birthday, referral, walk_in, communities,
            events, broadcasts, service, member_day, confirm, help)


def build_router() -> Router:
    root = Router("root")
    for feature in FEATURES:
        root.include(feature.router)
    return root
