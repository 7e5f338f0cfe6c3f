"""Chat features, one module each; included into the root router in this order."""
from __future__ import annotations

from ..router import Router
from . import (birthday, broadcasts, communities, confirm, events, help, membership, phone, platform_events, points,
               redeem, referral, service, wallet)

FEATURES = (membership, phone, points, platform_events, redeem, wallet, birthday, referral, communities, events,
            broadcasts, service, confirm, help)


def build_router() -> Router:
    root = Router("root")
    for feature in FEATURES:
        root.include(feature.router)
    return root
