"""Every Redis key format the product uses, in one place.

Cluster rule: every key of one member carries the hash tag ``{m:<member_id>}``, so a Lua script that
changes one member touches one slot. Cross-member structures (indexes, leaderboards, stock, streams)
have keys of their own and are changed by their own idempotent step, never inside a member's script.
Those written on every purchase, coupon or push, or holding an entry per member, are split by member into
partitions of their own slots; the others stay in one slot, and each says why (small, or rarely written).
"""
from __future__ import annotations

import zlib


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


def joined_on(label: str) -> str:                # set of member_id who joined on that day of the year
    return f"idx:joined:{label}"                 #   (label = "solar:MM-DD"): membership anniversaries


def member_fold(member_id: str) -> str:         # hash: into, started_at, points, coupons (JSON), done_at: a
    return f"{member_tag(member_id)}:fold"      #   follower folding into the imported member holding their phone


# The folds under way (a handful at any time: each is removed when done), for finishing one a crash cut short.
FOLDS_OPEN = "idx:folds:open"                   # zset follower member_id -> when their fold began (epoch ms)


def phone_challenge(member_id: str) -> str:     # hash: phone_enc, phone_hash, code_hash, tries, sent_at, expires_at
    return f"{member_tag(member_id)}:phone-challenge"


def phone_sms_tag(phone_hash: str) -> str:     # a number's SMS limits, whichever member asks (cross-member keys)
    return f"{{sms:{phone_hash}}}"


def phone_sms_last(phone_hash: str) -> str:     # string: when the last code went to the number (epoch ms)
    return f"{phone_sms_tag(phone_hash)}:last"


def phone_sms_day(phone_hash: str, day: str) -> str:  # string: codes sent to the number on that day (yyyymmdd,
    return f"{phone_sms_tag(phone_hash)}:day:{day}"   #   the mall's timezone)


# --- WeChat callback gateway ------------------------------------------------------------------
def callback_dedup(delivery_key: str) -> str:   # string JSON: {"s": "pending"|"done"|"deferred", "r": reply}
    return f"wx:dedup:{delivery_key}"


# --- till and admin API (/api/v1) ----------------------------------------------------------------
def api_signature(signature: str) -> str:      # string "<METHOD> <path?query>": the request a signature was first
    return f"api:sig:{signature}"              #   used for (SET NX GET, with a TTL past its timestamp's window)


# API keys (loyalty_core/access_keys.py): one slot, so that a key and the list of keys change in one script.
API_KEY_IDS = "api:{keys}:ids"                 # zset key_id -> created at (epoch ms)


def api_key(key_id: str) -> str:               # hash: scopes (space-separated), store_id, label, created_at,
    return f"api:{{keys}}:key:{key_id}"        #   secret_enc (sealed, loyalty_core.pii), revoked_at


# --- WeChat API client ------------------------------------------------------------------------
def access_token(appid: str) -> str:            # hash: token, expires_at
    return f"wx:token:{appid}"


def access_token_lock(appid: str) -> str:
    return f"wx:token-lock:{appid}"


def access_token_forced(appid: str) -> str:     # string: time of the last force_refresh (30 s spacing)
    return f"wx:token-forced:{appid}"


# --- domain events (transactional outbox) -----------------------------------------------------
# One slot each, though every state change writes them: the stream is appended to (one XADD an event, one to three
# a purchase) and capped, so it holds only the recent past, and every consumer group reads it in order; the dirty
# set holds only the members whose events are not relayed yet (a handful). A node takes such appends by the tens
# of thousands a second, more than a mall group's tills and chats make; split by member with a consumer group per
# partition if that changes.
OUTBOX_STREAM = "outbox:events"                 # stream the push side consumes; entries carry event_id
OUTBOX_DIRTY = "outbox:dirty"                   # zset member_id (or member_id|batch) -> time: unrelayed events


def member_outbox(member_id: str) -> str:       # hash event_id -> event JSON, written inside member scripts
    return f"{member_tag(member_id)}:outbox"


# --- what the platform reports about delivery channels ------------------------------------------
def member_consents(member_id: str) -> str:     # hash template_id -> subscribe-message sends left (one per consent)
    return f"{member_tag(member_id)}:consents"


def push_job(msg_id: str) -> str:               # hash: event, status, total, filtered, sent, errors, reported_at
    return f"push:job:{msg_id}"


# --- pushes (see loyalty_core/push) ------------------------------------------------------------
def member_pushes(member_id: str) -> str:       # hash push_id -> record JSON {push, status, channel, until_ms,
    return f"{member_tag(member_id)}:pushes"    #   reason, attempt, retries, v, batch, flight_ms}


def member_push_dedup(member_id: str) -> str:   # zset dedup_key -> planned at (epoch ms): never the same twice
    return f"{member_tag(member_id)}:push-dedup"


def member_push_inbox(member_id: str) -> str:   # zset push_id -> urgency rank × 1e13 + not_after (epoch ms)
    return f"{member_tag(member_id)}:push-inbox"


def member_push_facts(member_id: str) -> str:   # hash: the customer-service window (w_action, w_opened, w_closes,
    return f"{member_tag(member_id)}:push-facts"  #   w_limit, w_used, w_key), mass_month, mass_count, unreachable


def member_push_caps(member_id: str) -> str:    # hash push_id -> yyyymmdd a marketing push was counted on (this week)
    return f"{member_tag(member_id)}:push-caps"


def member_push_done(member_id: str) -> str:    # zset push_id -> ended at (epoch ms): ended records are forgotten
    return f"{member_tag(member_id)}:push-done"


def member_deliveries(member_id: str) -> str:   # list of step JSON {at, push_id, topic, kind, status, channel,
    return f"{member_tag(member_id)}:deliveries"  #  reason, until}, newest first, bounded


def push_stream(partition: int) -> str:         # stream of queued pushes {m, p, a, c} of the members hashed to it;
    return f"push:{{{partition}}}"              #   each partition its own cluster slot


PUSH_SENDERS = "senders"                        # the consumer group of every push stream
# The due index: every push begun is watched (a watchdog in case its sender dies) and unwatched once it has an
# outcome, and every deferred push waits here, so a campaign to a million members writes it two million times
# within the hour. Split by member into PUSH_DUE_PARTITIONS slots, a number of its own (PUSH_PARTITIONS may grow,
# which would move a member's entries where no reader looks); readers take the earliest of every partition.
PUSH_DUE_PARTITIONS = 16


def push_due(partition: int) -> str:            # zset "member_id|push_id" -> when to look at the push again (ms)
    return f"push:{{due:{partition}}}"


# One slot: only pushes whose sender died mid-call are listed, a few hundred at most after a crash.
PUSH_IN_DOUBT = "push:in-doubt"                 # zset "member_id|push_id" -> when its outcome became unknown (ms)
# One slot: written by each process once a second (its counts buffered), and a few hundred fields at most.
PUSH_COUNTS = "push:counts"                     # hash "kind|topic family|channel|outcome" -> pushes
PUSH_MASS_SEQ = "push:mass:seq"                 # INCR -> the next mass batch number


def push_topic_counts(topic: str) -> str:       # hash "channel|outcome" -> pushes of that topic (a campaign's results)
    return f"push:topic:{topic}"


def push_mass_batch(batch_id: str) -> str:      # hash: topic, clientmsgid, content, members JSON, msg_id, report …
    return f"push:mass:batch:{batch_id}"


def push_mass_job(msg_id: str) -> str:          # string batch_id of the mass send the platform named msg_id
    return f"push:mass:job:{msg_id}"


def rate_bucket(name: str) -> str:              # hash: tokens, at (Redis server ms): one API endpoint's rate limit
    return f"ratelimit:{name}"


# --- points ledger, tiers (see loyalty_core/points.py) ----------------------------------------
def points_account(member_id: str) -> str:      # hash: balance, debt, ver, lot_seq, hist_seq, purchases,
    return f"{member_tag(member_id)}:points"    #   tier, tier_since, review_on, earned:<year>, rewarded:<tier>,
                                                #   earlier_* (purchases retention forgot), purchases_kept_from, …


def points_lots(member_id: str) -> str:         # zset lot_id -> expires_at (epoch ms): live lots, FIFO by expiry
    return f"{member_tag(member_id)}:lots"


def points_lot_data(member_id: str) -> str:     # hash lot_id -> lot JSON (amount, remaining, earned_at, expires_at, …)
    return f"{member_tag(member_id)}:lot"


def points_history(member_id: str) -> str:      # list of entry JSON (kind, points, balance, debt, ref, at), newest first
    return f"{member_tag(member_id)}:history"


def points_ops(member_id: str) -> str:          # hash "spend:<id>" | "grant:<ref>" | "refund:<id>" | "review:<day>"
    return f"{member_tag(member_id)}:ledger-ops"  # -> answer JSON; kept for good (money is idempotent forever)


def member_purchases(member_id: str) -> str:    # hash txn_id -> purchase JSON (fingerprint, amount, points, refunds, answer)
    return f"{member_tag(member_id)}:purchases"


def spend_days(member_id: str) -> str:          # hash yyyymmdd -> spend that day in fen (purchases minus refunds),
    return f"{member_tag(member_id)}:spend-days"  # only days inside the tier window


def txn_index(txn_id: str) -> str:              # string "member_id|fingerprint", claimed with SET NX EX
    return f"idx:txn:{txn_id}"


def refund_index(refund_id: str) -> str:        # string "member_id|fingerprint", claimed with SET NX EX
    return f"idx:refund:{refund_id}"


# The ledger's cross-member indexes of one member share one slot, so one idempotent step after a member's
# script syncs them all; the versions hash keeps the member `ver` last written, so a stale writer loses.
# Every purchase, refund, points payment and expiry writes them (two or three commands, the sync script among
# them), so in one slot they would put the whole ledger's write rate on one node of a cluster, and a million
# members' entries (some 100 MB) in one slot that cannot be moved in parts. They are split by member into
# LEDGER_PARTITIONS partitions, each its own slot: 16 spread over the masters of any cluster up to 16 nodes,
# and cost the daily jobs 16 reads where they made one (each partition is walked on its own, earliest first).
# Fixed: a member's partition must not change while its entries are filed.
LEDGER_PARTITIONS = 16


def ledger_partition(member_id: str) -> int:
    return zlib.crc32(member_id.encode()) % LEDGER_PARTITIONS


def ledger_index_versions(partition: int) -> str:  # hash member_id -> ver
    return f"idx:{{ledger:{partition}}}:versions"


def points_expiry_index(partition: int) -> str:  # zset member_id -> earliest lot expiry (epoch ms)
    return f"idx:{{ledger:{partition}}}:points-expiry"


def points_warn_index(partition: int) -> str:  # zset member_id -> expiry of the earliest lot not yet warned about
    return f"idx:{{ledger:{partition}}}:points-warn"


def tier_review_index(partition: int) -> str:  # zset member_id -> next review day (yyyymmdd)
    return f"idx:{{ledger:{partition}}}:tier-review"


def points_leaderboard(year: int | str, partition: int) -> str:  # zset member_id -> points earned in that calendar
    return f"lb:{{ledger:{partition}}}:points:{year}"           #   year; the board is the partitions' merge


def member_code(code: str) -> str:              # string JSON {member_id, expires_at, used_by}; TTL collects garbage
    return f"mcode:{code}"


# --- coupons, catalogue, redemption -----------------------------------------------------------
# Definitions created through the admin API (the program file's own live in the Program).
COUPON_TEMPLATES = "def:coupon-templates"       # hash template_id -> template JSON
CATALOGUE_ITEMS = "def:catalogue-items"         # hash item_id -> item JSON


def member_coupons(member_id: str) -> str:      # hash code -> coupon JSON (template snapshot, status, validity, use)
    return f"{member_tag(member_id)}:coupons"


def member_coupon_counts(member_id: str) -> str:  # hash template_id -> coupons of it issued to the member
    return f"{member_tag(member_id)}:coupon-counts"


def member_coupon_ops(member_id: str) -> str:   # hash "issue:<issue_key>" -> code; kept for good
    return f"{member_tag(member_id)}:coupon-ops"


def coupon_index(code: str) -> str:             # string member_id, claimed with SET NX (also catches collisions)
    return f"idx:coupon:{code}"


# The expiry index holds every issued coupon until it is used or expires: a campaign to a million members adds a
# million entries (some 100 MB) at once, too much for one slot that cannot be moved in parts, and every issue,
# use and expiry writes it. Split by member into COUPON_EXPIRY_PARTITIONS slots; the jobs walk each in turn.
COUPON_EXPIRY_PARTITIONS = 16


def coupon_expiry_index(partition: int) -> str:  # zset "<member_id>:<code>" -> expires_at (epoch ms), issued ones
    return f"idx:{{coupons:{partition}}}:expiry"


def coupon_expiry_partition(member_id: str) -> int:
    return zlib.crc32(member_id.encode()) % COUPON_EXPIRY_PARTITIONS


def coupon_template_issued(template_id: str) -> str:  # hash: "count" -> issued in total, "k:<issue_key>" -> 1
    return f"{{ctpl:{template_id}}}:issued"     #   (only for templates with a total limit)


def item_tag(item_id: str) -> str:
    return f"{{item:{item_id}}}"


def item_stock(item_id: str) -> str:            # hash: left (set on first use; absent = unlimited), held, sold
    return f"{item_tag(item_id)}:stock"


def item_reservations(item_id: str) -> str:     # hash reservation_id -> JSON {member_id, points, state, at};
    return f"{item_tag(item_id)}:reservations"  #   settled ones are forgotten after a while (redemption.py)


def item_open_reservations(item_id: str) -> str:  # zset reservation_id -> reserved at (epoch ms): not yet settled
    return f"{item_tag(item_id)}:open"


def item_settled_reservations(item_id: str) -> str:  # zset reservation_id -> settled at (epoch ms)
    return f"{item_tag(item_id)}:settled"


def item_member_counts(item_id: str) -> str:    # hash member_id -> redemptions reserved or confirmed
    return f"{item_tag(item_id)}:per-member"


def member_redemptions(member_id: str) -> str:  # hash redemption_id -> outcome JSON (what the member received)
    return f"{member_tag(member_id)}:redemptions"


def member_redeem_list(member_id: str) -> str:  # string JSON: the numbered catalogue last shown, and its page
    return f"{member_tag(member_id)}:redeem-list"


# --- pending choices (确认 / 取消; see loyalty_core/pending.py) -------------------------------------------
def member_pending_choice(member_id: str) -> str:  # string JSON {kind, choice_id, payload, status, expires_at}
    return f"{member_tag(member_id)}:pending-choice"


# --- birthday, referrals -----------------------------------------------------------------------
def member_birthday(member_id: str) -> str:     # hash: enc (sealed birthday), label (keyed hash of its index label),
    return f"{member_tag(member_id)}:birthday"  #   set_at, changes, claimed:<cycle> -> gift JSON, op:<request_id>


def member_birthday_audit(member_id: str) -> str:  # list of JSON {action, at, by, reason, request_id}, newest first
    return f"{member_tag(member_id)}:birthday-audit"  # (dates only sealed: enc, previous_enc)


def birthday_index(label_hash: str) -> str:     # set of member_id whose birthday is kept on that month-day
    return f"idx:birthday:{label_hash}"         #   (label_hash = keyed hash of "solar:05-20", "lunar:L04-26", …)


def gift_voucher(code: str) -> str:             # string JSON {member_id, title, source, valid_until}, SET NX
    return f"idx:voucher:{code}"


def member_referee(member_id: str) -> str:      # hash: referrer, attributed_at, status (attributed | pending |
    return f"{member_tag(member_id)}:referee"   #   released | cancelled), txn, due_ms, reason, refunded:<txn>, …


def member_referrer(member_id: str) -> str:     # hash: joined, rewarded, pending, reserved:<yyyymm>,
    return f"{member_tag(member_id)}:referrer"  #   rewarded:<yyyymm>, reserve:<referee>, credit:<referee>


def member_referees(member_id: str) -> str:     # hash referee_id -> JSON {status, at, reason}
    return f"{member_tag(member_id)}:referees"


def member_referral_rejections(member_id: str) -> str:  # list of JSON {referee, reason, at}, newest first, capped
    return f"{member_tag(member_id)}:referral-rejections"


def member_referral_qr(member_id: str) -> str:  # hash: ticket, url, expires_ms, media_id, media_expires_ms
    return f"{member_tag(member_id)}:referral-qr"


# One slot: written once per referred member's first purchase (and release), a small share of the members.
REFERRAL_DUE_INDEX = "idx:{referral}:due"       # zset referee member_id -> reward release time (epoch ms)


def referral_leaderboard(month: str) -> str:    # zset referrer member_id -> rewarded referrals released that month
    return f"lb:{{referral}}:{month}"           #   (month = yyyymm)


def referral_phone(phone_hash: str) -> str:     # string referee member_id: the phone already made a rewarded referee
    return f"idx:referral-phone:{phone_hash}"


# --- stream consumers (consumer groups on the outbox stream) ----------------------------------------------
def stream_attempts(stream: str, group: str) -> str:  # hash entry id -> failed deliveries
    return f"consumer:{{{group}}}:{stream}:attempts"


def stream_dead_letters(stream: str, group: str) -> str:  # stream of entries given up on, with the error kind
    return f"consumer:{{{group}}}:{stream}:dead"


def stream_done(group: str, event_id: str) -> str:  # string, with a TTL: the group has handled this event
    return f"consumer:{{{group}}}:done:{event_id}"


# --- the scheduler (loyalty_core/schedule.py): one slot, so a run's claim checks the lease atomically ----------
SCHEDULER_LEASE = "{sched}:lease"               # hash: holder, token, expires_ms, fence (the last token handed out)


def scheduler_run(job: str, day: str) -> str:  # hash: status, holder, token, started_ms, expires_ms, at, summary
    return f"{{sched}}:run:{job}:{day}"         #   (day = yyyymmdd; kept a year)


def scheduler_last(job: str) -> str:           # hash: done_day (the latest day done), day, status, summary, at, holder
    return f"{{sched}}:last:{job}"


# --- communities (WeChat tags mirrored) and the member facts campaigns segment by ------------------------
def member_communities(member_id: str) -> str:  # set of community_id the member belongs to
    return f"{member_tag(member_id)}:communities"


def community_members(community_id: str) -> str:  # set of member_id: a community's audience (its own slot)
    return f"{{cm:{community_id}}}:members"


def member_facts(member_id: str) -> str:        # hash: the member's segmentation facts (12-month spend, last
    return f"{member_tag(member_id)}:facts"     #   purchase, preferred category, lifecycle stage, …)


# --- the till: points as payment, walk-in sales and the member share, the service desk ----------------------
def payment_index(redemption_id: str) -> str:   # string "member_id|fingerprint" of a points payment, SET NX EX
    return f"idx:payment:{redemption_id}"


def walk_in_tag(token: str) -> str:             # token: a digest of the walk-in sale's txn_id (its join QR's scene)
    return f"{{walkin:{token}}}"


def walk_in_sale(token: str) -> str:            # hash: txn_id, fingerprint, amount_fen, amount, occurred_at, category,
    return f"{walk_in_tag(token)}:sale"         #   store_id, booked_ms, join_until_ms, member_id, joined_at,
    #                                             credited, qr_ticket, qr_url, qr_expires_ms


def sales_day(day: str) -> str:                 # hash "<store>|member|count", "<store>|member|fen", "…|walk_in|…",
    return f"{{sales:{day}}}:counts"            #   "<store>|joined|count": the day's sales (day = yyyymmdd)


def sales_day_counted(day: str) -> str:         # set of "<kind>:<txn_id>" already counted that day
    return f"{{sales:{day}}}:counted"


# --- communities: their definitions and managers ----------------------------------------------------------
COMMUNITIES = "{communities}:all"               # hash community_id -> JSON {name, description, tag_id, number}
COMMUNITY_NAMES = "{communities}:names"         # hash name -> community_id
COMMUNITY_SEQ = "{communities}:seq"             # INCR -> the next community's number (what members type)


def community_managers(community_id: str) -> str:  # set of openid allowed to broadcast to the community
    return f"{{cm:{community_id}}}:managers"


def community_broadcasts(community_id: str) -> str:  # zset broadcast_id -> confirmed at (ms): the latest (capped)
    return f"{{cm:{community_id}}}:broadcasts"


# --- member events: definitions and the index in one slot, each event's places in its own -----------------
EVENTS = "{events}:all"                         # hash event_id -> JSON definition (loyalty_core/event_rules.py)
EVENT_NUMBERS = "{events}:numbers"              # hash number -> event_id (what members type after 报名)
EVENT_SEQ = "{events}:seq"                      # INCR -> the next event's number
EVENTS_BY_START = "{events}:by-start"           # zset event_id -> starts_at (epoch ms): listings, reminders


def event_tag(event_id: str) -> str:
    return f"{{ev:{event_id}}}"


def event_seats(event_id: str) -> str:          # zset member_id -> arrival number: confirmed places
    return f"{event_tag(event_id)}:seats"


def event_waitlist(event_id: str) -> str:       # zset member_id -> arrival number: the waitlist, in arrival order
    return f"{event_tag(event_id)}:waitlist"


def event_arrivals(event_id: str) -> str:       # INCR -> the next sign-up's arrival number
    return f"{event_tag(event_id)}:arrivals"


def event_promoted(event_id: str) -> str:       # set of member_id moved from the waitlist to a place (to tell)
    return f"{event_tag(event_id)}:promoted"


def event_checked_in(event_id: str) -> str:     # set of member_id who came
    return f"{event_tag(event_id)}:checked-in"


def event_feedback(event_id: str) -> str:       # hash member_id -> JSON {score, comment, at}; and _count, _sum
    return f"{event_tag(event_id)}:feedback"


def member_events(member_id: str) -> str:       # set of event_id the member signed up for (a place or waitlisted)
    return f"{member_tag(member_id)}:events"


# --- manager broadcasts -------------------------------------------------------------------------------------
BROADCAST_AUDIT = "{broadcasts}:audit"          # stream: previewed, confirmed, cancelled, sent (capped)


def member_broadcasts(member_id: str, day: str) -> str:  # set of broadcast_id the manager sent that day (yyyymmdd)
    return f"{member_tag(member_id)}:broadcasts:{day}"


def member_broadcast_log(member_id: str) -> str:  # zset broadcast_id -> confirmed at (ms): the manager's latest
    return f"{member_tag(member_id)}:broadcast_log"


def broadcast(broadcast_id: str) -> str:        # hash: community_id, manager_id, text, coupon_template, status,
    return f"{{bc:{broadcast_id}}}:info"        #   confirmed_at, the planned audience (planned_*), sent_at


def broadcast_reports(broadcast_id: str) -> str:  # hash msg_id -> JSON of the platform's MASSSENDJOBFINISH counts
    return f"{{bc:{broadcast_id}}}:reports"


# --- the service desk: members' suggestions for staff ------------------------------------------------------
SUGGESTIONS = "{service}:suggestions"           # stream: member_id, text, at (capped)
FEEDBACK_HANDLED = "{service}:handled"          # hash ref -> JSON {by, at, reason}: feedback staff marked handled
                                                #   (one slot: written by hand, a mark per item staff handle)


def suggestion_op(op_key: str) -> str:          # string, with a TTL: the message's suggestion was kept
    return f"{{service}}:suggestion-op:{op_key}"


# --- satisfaction surveys after purchases ------------------------------------------------------------------
# One slot, while surveys are off by default; with `[survey] after_purchase` on, every purchase files the member
# here, and these two keys hold an entry per recent buyer: then they call for the ledger indexes' split by member.
SURVEYS_DUE = "{survey}:due"                    # zset member_id -> when their survey is due (epoch ms)
SURVEYS_FILED = "{survey}:filed"                # hash member_id -> JSON {txn_id, store_id}: the latest purchase


def member_survey(member_id: str) -> str:       # hash: txn_id, store_id, asked_at: the question open to the member
    return f"{member_tag(member_id)}:survey"


def store_survey(store_id: str) -> str:         # hash txn_id -> JSON {member_id, score, comment, at}; _count, _sum
    return f"{{sv:{store_id}}}:answers"


# --- segments (loyalty_core/segment_rules.py): the indexes the member facts keep, a slot per bucket ------------
# Each index is split into SEGMENT_BUCKETS buckets by member (segment_bucket), so that a segment is evaluated a
# bucket at a time: no one step of Redis works through every member at once. Each bucket is a slot of its own
# ({seg:<bucket>}): a member's facts are filed on every purchase, and a million members are filed in some twenty
# sets and zsets each (about a gigabyte), more than one slot of a cluster should hold; a bucket's filing and a
# segment's evaluation in that bucket each stay one script in one slot.
SEGMENT_BUCKETS = 64
SEGMENT_SPEND_CUTOFFS = "seg:{seg}:cutoffs"     # hash high, mid -> fen: the spend levels' percentiles last measured
                                                # (two fields written once a day: one slot is plenty)


def segment_bucket(member_id: str) -> int:
    return zlib.crc32(member_id.encode()) % SEGMENT_BUCKETS


def segment_tag(bucket: int) -> str:
    return f"{{seg:{bucket}}}"


def segment_versions(bucket: int) -> str:       # hash member_id -> snapshot (µs) of the facts last indexed
    return f"seg:{segment_tag(bucket)}:versions"


def segment_state(bucket: int) -> str:          # hash member_id -> the sets it is filed in ("tier:gold:17 …")
    return f"seg:{segment_tag(bucket)}:state"


def segment_due(bucket: int) -> str:            # zset member_id -> day (ordinal) the facts change with no event
    return f"seg:{segment_tag(bucket)}:due"


def segment_care_due(bucket: int) -> str:       # hash member_id -> "<stage>:<since ordinal>": care not yet given
    return f"seg:{segment_tag(bucket)}:care-due"


def segment_totals(bucket: int) -> str:         # hash spend -> the bucket's members' 12-month spend in fen, summed
    return f"seg:{segment_tag(bucket)}:totals"


def segment_all(bucket: int) -> str:            # set of member_id: the bucket's members with facts
    return f"seg:{segment_tag(bucket)}:all"


def segment_set_prefix(bucket: int) -> str:     # + "<index>:<value>:<bucket>", the names a member's state lists
    return f"seg:{segment_tag(bucket)}:s:"


def segment_set(index: str, value: str, bucket: int) -> str:  # set of member_id, e.g. index "tier", value "gold"
    return f"{segment_set_prefix(bucket)}{index}:{value}:{bucket}"


def segment_scores(index: str, bucket: int) -> str:  # zset member_id -> score (spend fen, balance, purchases,
    return f"seg:{segment_tag(bucket)}:z:{index}"   #   last purchase / join day ordinal)


def segment_scratch(token: str, bucket: int) -> str:  # zset or set with a TTL: a segment being evaluated, its parts
    return f"seg:{segment_tag(bucket)}:tmp:{token}"


# --- campaigns (loyalty_core/campaigns.py): the definitions and the schedule in one slot (a campaign is created
# and scheduled in one script); each campaign's members and counts in a slot of its own ------------------------
CAMPAIGN_IDS = "cp:{campaigns}:ids"            # zset campaign_id -> created at (epoch ms)
CAMPAIGN_SCHEDULE = "cp:{campaigns}:due"       # zset campaign_id -> when it is due to be sent (epoch ms)


def campaign(campaign_id: str) -> str:          # hash: body (JSON), fingerprint, answer, status, version, created_ms
    return f"cp:{{campaigns}}:def:{campaign_id}"


def campaign_tag(campaign_id: str) -> str:
    return f"{{cp:{campaign_id}}}"


def campaign_assignments(campaign_id: str) -> str:  # hash member_id -> "<arm>|<run>": the variant or holdout
    return f"{campaign_tag(campaign_id)}:assigned"


def campaign_counts(campaign_id: str) -> str:   # hash "<arm>|<measure>" -> n (members, coupons, clicked, …)
    return f"{campaign_tag(campaign_id)}:counts"


def campaign_marks(campaign_id: str) -> str:    # hash "<measure>:<member or txn>" -> 1: each counted once
    return f"{campaign_tag(campaign_id)}:marks"


def member_campaigns(member_id: str) -> str:    # hash campaign_id -> JSON {arm, at_ms, days}: where purchases count
    return f"{member_tag(member_id)}:campaigns"


def tracked_link(token: str) -> str:            # string JSON {campaign_id, member_id, arm, url}
    return f"link:{token}"


# --- headline metrics (loyalty_core/metrics.py) ---------------------------------------------------------------
# One slot: written once a day.
METRICS_DAILY = "metrics:daily"                 # hash yyyy-mm-dd -> the day's headline figures (JSON), 400 days


# --- the operator console (loyalty_core/console.py): users, sessions and the audit log in one slot, so that a
# change to a user and its audit entry are one script ----------------------------------------------------------
CONSOLE_USERS = "cs:{console}:users"            # zset email -> created at (epoch ms)
CONSOLE_AUDIT = "cs:{console}:audit"            # stream: at, who, action, target, reason, detail (capped)


# Member imports started from the console (one slot: a few a day, each a small hash and its report).
IMPORT_JOBS = "imp:{imports}:jobs"              # zset job_id -> started at (epoch ms), the latest kept


def import_job(job_id: str) -> str:             # hash: status, source, file, by, started_at, finished_at, rows,
    return f"imp:{{imports}}:job:{job_id}"      #   summary JSON, error


def import_report(job_id: str) -> str:          # string: the rejected rows as CSV (row, reason, column; no values)
    return f"imp:{{imports}}:report:{job_id}"


def console_user(email: str) -> str:            # hash: role, password_hash, created_at, disabled_at, created_by
    return f"cs:{{console}}:user:{email}"


def console_session(session_hash: str) -> str:  # hash with a TTL: email, role, csrf, created_at (the id is hashed)
    return f"cs:{{console}}:session:{session_hash}"


def console_op(op_key: str) -> str:             # string: an audited change already applied (its answer)
    return f"cs:{{console}}:op:{op_key}"


def console_login_failures(email_hash: str) -> str:  # string with a TTL: failed logins of an address (SHA-256)
    return f"cs:{{console}}:login-failures:{email_hash}"


# --- the member day (loyalty_core/member_day.py): the lottery of one member day in that day's slot ------------
def member_day_draws(day) -> str:               # hash member_id -> prize index drawn that day (-1 = 谢谢参与)
    return f"md:{{md:{day.isoformat()}}}:draws"


def member_day_stock(day) -> str:               # hash prize index -> prizes won that day (the prize's stock used)
    return f"md:{{md:{day.isoformat()}}}:stock"


# --- the monthly statement (loyalty_core/statement.py) -------------------------------------------------------
STATEMENT_OFF_INDEX = "statement_off"           # segment index "statement_off:1": members who sent 退订 (a set per
                                                # bucket, segment_set), read by the segment key `takes_statement`
BUILTIN_CAMPAIGNS = "cp:{campaigns}:builtin"    # hash name -> campaign_id of the built-in campaign in force
METRICS_TOTALS = "metrics:{totals}:daily"       # hash "<yyyy-mm-dd>|<measure>" -> n: spend (fen), coupons issued, used


def metrics_marks(day: str) -> str:             # hash event_id -> 1: the events counted, per day of arrival (expire)
    return f"metrics:{{totals}}:marks:{day}"
