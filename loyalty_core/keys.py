"""Every Redis key format the product uses, in one place.

Cluster rule: every key of one member carries the hash tag ``{m:<member_id>}``, so a Lua script that
changes one member touches one slot. Cross-member structures (indexes, leaderboards, stock, streams)
have keys of their own and are changed by their own idempotent step, never inside a member's script.
"""
from __future__ import annotations


def member_tag(member_id: str) -> str:
    return f"{{m:{member_id}}}"


# --- identity -------------------------------------------------------------------------------
MEMBER_SEQ = "seq:member"                       # INCR -> the next member number


def member_profile(member_id: str) -> str:      # hash: openid, status, joined_at, nickname, phone_*, …
    return f"{member_tag(member_id)}:profile"


def member_op(member_id: str, op_key: str) -> str:  # string: result JSON of an operation already applied
    return f"{member_tag(member_id)}:op:{op_key}"


def openid_index(openid: str) -> str:           # string: member_id
    return f"idx:openid:{openid}"


def phone_index(phone_hash: str) -> str:        # string: member_id (phone_hash is a keyed HMAC)
    return f"idx:phone:{phone_hash}"


def phone_challenge(member_id: str) -> str:     # hash: phone_enc, phone_hash, code_hash, tries, sent_at, expires_at
    return f"{member_tag(member_id)}:phone-challenge"


# --- WeChat callback gateway ------------------------------------------------------------------
def callback_dedup(delivery_key: str) -> str:   # string JSON: {"s": "pending"|"done"|"deferred", "r": reply}
    return f"wx:dedup:{delivery_key}"


# --- WeChat API client ------------------------------------------------------------------------
def access_token(appid: str) -> str:            # hash: token, expires_at
    return f"wx:token:{appid}"


def access_token_lock(appid: str) -> str:
    return f"wx:token-lock:{appid}"


def access_token_forced(appid: str) -> str:     # string: time of the last force_refresh (30 s spacing)
    return f"wx:token-forced:{appid}"


# --- domain events (transactional outbox) -----------------------------------------------------
OUTBOX_STREAM = "outbox:events"                 # stream the push side consumes; entries carry event_id
OUTBOX_DIRTY = "outbox:dirty"                   # zset member_id -> time: members with unrelayed events


def member_outbox(member_id: str) -> str:       # hash event_id -> event JSON, written inside member scripts
    return f"{member_tag(member_id)}:outbox"


# --- points ledger, tiers (see loyalty_core/points.py) ----------------------------------------
# --- coupons, catalogue, redemption -----------------------------------------------------------
# --- birthday, referrals -----------------------------------------------------------------------
