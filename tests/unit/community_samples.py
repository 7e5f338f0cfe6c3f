"""Sample values of the community and event templates, built from the core's own values."""
from loyalty_core.communities import Community, Membership

YOGA = Community("yoga", "瑜伽社", "每周六早晨一起练习", 100, 1)
WINE = Community("wine", "品酒会", "", 101, 2)

COMMUNITY_SAMPLES: dict[str, dict] = {
    "communities.txt": {"communities": [YOGA, WINE], "mine": {"wine"}},
    "community_joined.txt": {"membership": Membership(YOGA, changed=True)},
    "community_left.txt": {"membership": Membership(YOGA, changed=True)},
    "my_communities.txt": {"communities": [YOGA]},
    "errors/unknown_community.txt": {},
    "errors/member_community_limit.txt": {},
    "errors/not_in_community.txt": {"community": "瑜伽社"},
    "errors/wechat_unavailable.txt": {},
    "errors/not_a_manager.txt": {},
}
