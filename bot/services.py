"""Wires the core services to Redis, the clock and the outside world. One instance per process."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from redis.asyncio import Redis

from loyalty_core import keys
from loyalty_core.access_keys import AccessKeys
from loyalty_core.birthday import BirthdaySeal, BirthdayService, StoredBirthdayWindows
from loyalty_core.broadcasts import BroadcastService
from loyalty_core.channels import ChannelFacts
from loyalty_core.clock import Clock
from loyalty_core.builtin_campaigns import BuiltinCampaigns
from loyalty_core.campaign_results import CampaignResults
from loyalty_core.campaigns import CampaignService, Campaigns, SendShares
from loyalty_core.communities import CommunityService
from loyalty_core.console import ConsoleAccounts
from loyalty_core.counter import Counter
from loyalty_core.coupons import CouponService
from loyalty_core.desk import VoucherDesk
from loyalty_core.lifecycle import LifecycleCare, MemberFactsService
from loyalty_core.mall_events import EventService
from loyalty_core.member_day import MemberDayLottery
from loyalty_core.metrics import HeadlineMetrics
from loyalty_core.member_code import MemberCodeService
from loyalty_core.member_fold import MemberFolds
from loyalty_core.member_import import MemberImport
from loyalty_core.member_import_jobs import ImportJobs
from loyalty_core.members import MemberResolver, MemberService, SmsSender
from loyalty_core.pending import PendingChoices
from loyalty_core.personal_data import PersonalData
from loyalty_core.pii import Pii
from loyalty_core.points import BirthdayWindows, PointsService
from loyalty_core.program import Program, load_program
from loyalty_core.points_payment import PointsPayments
from loyalty_core.points_reversal import SpendReversals
from loyalty_core.push.planner import PushPolicy
from loyalty_core.push.service import PushService
from loyalty_core.redemption import RedemptionService
from loyalty_core.statement import MonthlyStatements
from loyalty_core.redis_store.access_keys import RedisAccessKeyStore
from loyalty_core.redis_store.batching import Batcher
from loyalty_core.redis_store.birthday import RedisBirthdayStore
from loyalty_core.redis_store.broadcasts import RedisBroadcastStore
from loyalty_core.redis_store.catalogue import RedisCatalogueStore
from loyalty_core.redis_store.channels import RedisChannelStore
from loyalty_core.redis_store.campaigns import RedisCampaignStore
from loyalty_core.redis_store.communities import RedisCommunityStore
from loyalty_core.redis_store.console import RedisConsoleStore
from loyalty_core.redis_store.coupons import RedisCouponStore
from loyalty_core.redis_store.desk import RedisGiftVouchers
from loyalty_core.redis_store.ledger import RedisLedgerStore
from loyalty_core.redis_store.mall_events import RedisEventStore
from loyalty_core.redis_store.mass_batches import RedisMassBatches
from loyalty_core.redis_store.member_facts import RedisFactsStore
from loyalty_core.redis_store.metrics import RedisMetricsStore
from loyalty_core.redis_store.member_day import RedisLotteryStore
from loyalty_core.redis_store.member_fold import RedisFoldStore
from loyalty_core.redis_store.member_import import RedisImportJobs, RedisImportStore
from loyalty_core.redis_store.members import RedisMemberStore
from loyalty_core.redis_store.outbox import Outbox
from loyalty_core.redis_store.pending import RedisPendingStore
from loyalty_core.redis_store.personal_data import RedisPersonalDataStore
from loyalty_core.redis_store.push import RedisPushStore
from loyalty_core.redis_store.push_queue import RedisPushQueue
from loyalty_core.redis_store.referral import RedisReferralStore
from loyalty_core.redis_store.scripts import Scripts
from loyalty_core.redis_store.spend_reversal import RedisSpendReversalStore
from loyalty_core.redis_store.retention import RedisRetentionStore
from loyalty_core.redis_store.till_payments import RedisPaymentStore
from loyalty_core.redis_store.walk_in import RedisSalesCounter, RedisWalkInStore
from loyalty_core.redis_store.statement import RedisBuiltinRegistry, RedisStatementPreferences
from loyalty_core.redis_store.suggestions import RedisSuggestionStore
from loyalty_core.redis_store.surveys import RedisSurveyStore
from loyalty_core.referral import ReferralService
from loyalty_core.segments import Segments
from loyalty_core.service_desk import ServiceDesk
from loyalty_core.retention import Retention
from loyalty_core.surveys import SurveyService
from loyalty_core.tiers import TierService
from loyalty_core.till import TillService
from loyalty_core.walk_in import WalkIns
from loyalty_core.welcome import WelcomeService

from .campaign_texts import CampaignTexts
from .community_tags import WeChatTags
from .passwords import Argon2Passwords
from .notices import Notices
from .join_qr import JoinQrCodes
from .referral_qr import ReferralQrCodes


@dataclass
class Services:
    clock: Clock
    redis: Redis
    batcher: Batcher
    scripts: Scripts
    outbox: Outbox
    pii: Pii
    members: MemberService
    channels: ChannelFacts
    program: Program
    points: PointsService
    tiers: TierService
    member_codes: MemberCodeService
    resolver: MemberResolver
    till: TillService
    payments: PointsPayments
    walk_ins: WalkIns
    walk_in_store: RedisWalkInStore
    join_qr: JoinQrCodes
    counter: Counter
    desk: VoucherDesk
    pending: PendingChoices
    coupons: CouponService
    redemption: RedemptionService
    birthdays: BirthdayService
    referrals: ReferralService
    referral_qr: ReferralQrCodes
    welcome: WelcomeService
    access_keys: AccessKeys
    pushes: PushService
    push_queue: RedisPushQueue
    notices: Notices
    communities: CommunityService
    events: EventService
    broadcasts: BroadcastService
    service_desk: ServiceDesk
    surveys: SurveyService
    facts: MemberFactsService
    lifecycle: LifecycleCare
    segments: Segments
    campaigns: CampaignService
    campaign_results: CampaignResults
    metrics: HeadlineMetrics
    console: ConsoleAccounts
    lottery: MemberDayLottery
    statements: MonthlyStatements
    builtin_campaigns: BuiltinCampaigns
    retention: Retention
    personal_data: PersonalData
    folds: MemberFolds
    member_import: MemberImport
    import_jobs: ImportJobs
    wechat: object | None = None   # bot.wechat_api.WeChatApi when the API is reachable


# An import run by a web process checks and seals a batch between two awaits: 200 rows hold its event loop for tens
# of milliseconds at a time, not the few hundred a command-line batch of 1,000 takes, so callbacks keep their budget.
WEB_IMPORT_BATCH_ROWS = 200


class NoBirthdaysYet:
    """A BirthdayWindows in which no member has a window (for tests of the ledger alone)."""

    async def contains(self, member_id: str, day: date) -> bool:
        return False


def build_services(redis: Redis, clock: Clock, pii_key: bytes, sms: SmsSender, wechat=None, *,
                   program: Program | None = None, birthdays: BirthdayWindows | None = None,
                   push_policy: PushPolicy | None = None, push_partitions: int = 8,
                   public_base_url: str = "http://127.0.0.1:8080",
                   campaign_shares: SendShares | None = None) -> Services:
    batcher = Batcher(redis)
    scripts = Scripts(redis, batcher)
    outbox = Outbox(redis, scripts)
    pii = Pii(pii_key)
    member_store = RedisMemberStore(redis, scripts, outbox)
    program = program or load_program()
    ledger = RedisLedgerStore(redis, outbox, batcher, index_ttl=till_index_ttl(program))
    birthday_store, seal = RedisBirthdayStore(redis, scripts, outbox, batcher), BirthdaySeal(pii)
    birthday_windows = StoredBirthdayWindows(birthday_store, seal, program)
    points = PointsService(ledger, program, clock, birthdays or birthday_windows)
    folds = MemberFolds(RedisFoldStore(redis, scripts, outbox), points, clock)
    members = MemberService(member_store, pii, sms, clock, folds=folds)
    member_codes = MemberCodeService(ledger, program.member_code, clock)
    tiers = TierService(ledger, program, clock)
    rewards = reward_services(redis, batcher, scripts, outbox, points, tiers, program, clock)
    pushes, push_queue = push_services(redis, scripts, clock, push_policy or PushPolicy.from_program(program.push),
                                       push_partitions)
    notices = Notices(program, pushes, members, clock)
    perks = perk_services(redis, scripts, outbox, birthday_store, seal, members, points, tiers, rewards["coupons"],
                          rewards["pending"], notices, program, clock, wechat)
    resolver = MemberResolver(members, member_codes)
    at_the_till = till_services(redis, batcher, scripts, outbox, ledger, points, resolver, members, tiers,
                                birthday_windows, rewards["coupons"], program, clock, wechat)
    broadcast_store = RedisBroadcastStore(redis, scripts, outbox)
    channels = ChannelFacts(RedisChannelStore(redis, scripts), RedisMassBatches(redis), broadcast_store)
    access_keys = AccessKeys(RedisAccessKeyStore(redis, scripts), pii, clock)
    segmentation = segment_services(redis, scripts, program, clock, perks["birthdays"], rewards["coupons"], notices)
    parts = Campaigns(
        store=RedisCampaignStore(redis, scripts), audience=segmentation["segments"], facts=segmentation["facts"],
        members=members, coupons=rewards["coupons"], pushes=pushes, topic_counts=push_queue.topic_counts,
        renderer=CampaignTexts(), program=program, clock=clock, link_base=f"{public_base_url}/r/",
        link_key=pii.derived_key("campaign-links"),
        statements=MonthlyStatements(RedisStatementPreferences(redis), points, tiers, clock), shares=campaign_shares)
    campaigns = CampaignService(parts)
    gatherings = community_services(redis, scripts, broadcast_store, wechat, members, tiers, points, member_codes,
                                    pushes, push_queue.topic_counts, notices, rewards, campaigns, program, clock)
    member_day = {"lottery": MemberDayLottery(RedisLotteryStore(redis, scripts), rewards["coupons"], program, clock,
                                              secrets.randbelow),
                  "statements": parts.statements,
                  "builtin_campaigns": BuiltinCampaigns(campaigns, RedisBuiltinRegistry(redis), program, clock)}
    console = console_accounts(redis, scripts, clock)
    member_import = MemberImport(RedisImportStore(redis, scripts), pii, clock)
    return Services(clock=clock, redis=redis, batcher=batcher, scripts=scripts, outbox=outbox, pii=pii,
                    members=members, channels=channels, program=program, points=points, tiers=tiers,
                    member_codes=member_codes, resolver=resolver, access_keys=access_keys, pushes=pushes,
                    push_queue=push_queue, notices=notices, wechat=wechat, **at_the_till, **rewards, **perks,
                    **gatherings, **segmentation, **member_day, campaigns=campaigns,
                    campaign_results=CampaignResults(parts, campaigns),
                    console=console, folds=folds, member_import=member_import,
                    import_jobs=ImportJobs(MemberImport(RedisImportStore(redis, scripts), pii, clock,
                                                        batch_rows=WEB_IMPORT_BATCH_ROWS),
                                           RedisImportJobs(redis), console, clock),
                    retention=Retention(RedisRetentionStore(redis, scripts), program, clock,
                                        retained_streams(push_partitions)),
                    personal_data=PersonalData(RedisPersonalDataStore(redis, scripts), pii, clock, member_store,
                                               seal.open, segmentation["facts"]))


def console_accounts(redis: Redis, scripts: Scripts, clock: Clock) -> ConsoleAccounts:
    """The operator console's users, sessions and audit log (also what `python -m bot console` runs on)."""
    return ConsoleAccounts(RedisConsoleStore(redis, scripts), Argon2Passwords(), clock)


def till_services(redis: Redis, batcher: Batcher, scripts: Scripts, outbox: Outbox, ledger: RedisLedgerStore,
                  points: PointsService, resolver: MemberResolver, members: MemberService, tiers: TierService,
                  birthday_windows: StoredBirthdayWindows, coupons: CouponService, program: Program, clock: Clock,
                  wechat) -> dict:
    """The tills and the service desk: purchases and walk-in sales, points as payment, the member at the counter,
    the gift vouchers, the walk-ins' join codes."""
    walk_in_store = RedisWalkInStore(redis, scripts)
    sales = RedisSalesCounter(redis, scripts, counted_for=program.till.max_backdate + till_index_ttl(program))
    walk_ins = WalkIns(walk_in_store, sales, ledger, points, program.till.walk_in_join,
                       clock)
    payment_store = RedisPaymentStore(redis, outbox, batcher, index_ttl=till_index_ttl(program))
    return {"till": TillService(points, resolver, ledger, program, clock, walk_ins),
            "payments": PointsPayments(payment_store, payment_store, resolver, program, clock),
            "walk_ins": walk_ins, "walk_in_store": walk_in_store,
            "join_qr": JoinQrCodes(walk_ins, walk_in_store, wechat, clock),
            "counter": Counter(resolver, members, tiers, birthday_windows, clock),
            "desk": VoucherDesk(RedisGiftVouchers(scripts), coupons, clock)}


def community_services(redis: Redis, scripts: Scripts, broadcast_store: RedisBroadcastStore, wechat,
                       members: MemberService, tiers: TierService, points: PointsService,
                       member_codes: MemberCodeService, pushes: PushService, topic_counts, notices: Notices,
                       rewards: dict, campaigns: CampaignService, program: Program, clock: Clock) -> dict:
    """Communities (WeChat tags), their managers' broadcasts, the member events, the service desk and the
    satisfaction surveys."""
    communities = CommunityService(RedisCommunityStore(redis, scripts), WeChatTags(wechat), members)
    events = EventService(RedisEventStore(redis, scripts), communities, tiers, points, notices, campaigns, notices,
                          member_codes, program.events, tuple(tier.code for tier in program.tiers), clock)
    broadcasts = BroadcastService(broadcast_store, communities, pushes, rewards["coupons"], rewards["pending"],
                                  topic_counts, program.broadcasts, clock)
    return {"communities": communities, "events": events, "broadcasts": broadcasts,
            "service_desk": ServiceDesk(RedisSuggestionStore(redis, scripts), program.service, clock),
            "surveys": SurveyService(RedisSurveyStore(redis, scripts), events, notices, program.survey, clock)}


def segment_services(redis: Redis, scripts: Scripts, program: Program, clock: Clock, birthdays: BirthdayService,
                     coupons: CouponService, notices: Notices) -> dict:
    """The member facts, the lifecycle's care and the segments campaigns are sent to."""
    store = RedisFactsStore(redis, scripts)
    return {"facts": MemberFactsService(store, program, clock, birthdays),
            "lifecycle": LifecycleCare(store, program, coupons, notices),
            "segments": Segments(store, program, program.segments, coupons),
            "metrics": HeadlineMetrics(RedisMetricsStore(redis, store, scripts), program)}


def retained_streams(push_partitions: int) -> list[str]:
    """The streams whose read and acknowledged entries the retention job trims."""
    return [keys.OUTBOX_STREAM, *(keys.push_stream(p) for p in range(push_partitions))]


def till_index_ttl(program: Program):
    """A walk-in sale's txn_id must outlive the days its receipt may still join its customer."""
    return max(program.retention.till_retry, program.till.walk_in_join)


def push_services(redis: Redis, scripts: Scripts, clock: Clock, policy: PushPolicy,
                  partitions: int) -> tuple[PushService, RedisPushQueue]:
    """The push service and its queue: what `serve` plans with and what the sender process runs on alone."""
    queue = RedisPushQueue(redis, scripts, partitions)
    return PushService(RedisPushStore(redis, scripts), queue, clock, policy), queue


def reward_services(redis: Redis, batcher: Batcher, scripts: Scripts, outbox: Outbox, points: PointsService,
                    tiers: TierService, program: Program, clock: Clock) -> dict:
    """Pending choices (确认/取消), coupons and the rewards catalogue with its redemption saga."""
    reversal_store = RedisSpendReversalStore(redis, outbox, batcher)
    pending = PendingChoices(RedisPendingStore(redis, scripts), clock)
    coupons = CouponService(RedisCouponStore(redis, scripts, outbox), program, clock, tiers)
    redemption = RedemptionService(RedisCatalogueStore(redis, scripts, outbox), points,
                                   SpendReversals(reversal_store, program, clock), coupons, tiers, pending, program,
                                   clock)
    return {"pending": pending, "coupons": coupons, "redemption": redemption}


def perk_services(redis: Redis, scripts: Scripts, outbox: Outbox, birthday_store: RedisBirthdayStore,
                  seal: BirthdaySeal, members: MemberService, points: PointsService, tiers: TierService, coupons,
                  pending: PendingChoices, notices: Notices, program: Program, clock: Clock, wechat) -> dict:
    """Birthday privileges, referrals and the referral QR codes, the welcome gift."""
    return {"birthdays": BirthdayService(birthday_store, seal, program, clock, tiers, points, pending, coupons),
            "referrals": ReferralService(RedisReferralStore(redis, scripts, outbox), members, points, program, clock,
                                         coupons, notices),
            "referral_qr": ReferralQrCodes(redis, wechat, clock, program.referral.qr_days),
            "welcome": WelcomeService(coupons, points, program.welcome, clock)}
