"""Sample values of the birthday and referral templates, built from the core's own values."""
from datetime import date, datetime, timedelta
from decimal import Decimal

from loyalty_core.birthday import BirthdayProposal, BirthdayStatus, GiftClaim
from loyalty_core.birthday_calendar import Birthday, Occurrence, birthday_words, kept_words
from loyalty_core.clock import MALL_TZ
from loyalty_core.pending import PendingChoice
from loyalty_core.perk_rules import Gift, ReferralRules, ReferrerLevel
from loyalty_core.referral import Attribution, BoardRow, ReferralBoard, ReferralStats

LUNAR_LEAP = Birthday("lunar", 2020, 4, 26, leap=True)
STATUS = BirthdayStatus(LUNAR_LEAP, birthday_words(LUNAR_LEAP), kept_words(LUNAR_LEAP),
                        Occurrence(2026, date(2026, 6, 10), date(2026, 6, 1), date(2026, 6, 30)), in_window=True)
OFFERED = datetime(2026, 6, 3, 10, 0, tzinfo=MALL_TZ)
CHOICE = PendingChoice("birthday", "birthday-0123456789abcdef0123", "设置生日", OFFERED, OFFERED + timedelta(minutes=10),
                       {"sealed": "v1.…"})
PROPOSAL = BirthdayProposal(LUNAR_LEAP, birthday_words(LUNAR_LEAP), kept_words(LUNAR_LEAP), CHOICE)
VOUCHER_CLAIM = GiftClaim(Gift("voucher", "生日蛋糕兑换券"), 2026, OFFERED, replayed=False,
                          voucher_code="K7QH3-WXN9P", valid_until=date(2026, 7, 3))
SILVER = ReferrerLevel("silver", "银牌推荐官", 5, Decimal("1.5"))
GOLD = ReferrerLevel("gold", "金牌推荐官", 20, Decimal(2))
STATS = ReferralStats(joined=7, rewarded=5, pending=1, month_counted=2, rank=3, level=SILVER, next_level=GOLD,
                      to_next_level=15, monthly_cap=20)
BOARD = ReferralBoard("202606", (BoardRow(1, "王**", 6), BoardRow(2, "会员 10**23", 4, is_me=True)), 2, 4)

PERK_SAMPLES: dict[str, dict] = {
    "birthday.txt": {"status": STATUS, "calendar": "lunar"},
    "birthday_confirm.txt": {"proposal": PROPOSAL, "choice": CHOICE},
    "birthday_saved.txt": {"status": STATUS},
    "birthday_gift.txt": {"claim": VOUCHER_CLAIM},
    "errors/invalid_birthday.txt": {"reason": "no_leap_month", "lunar": True, "year": 1990, "leap_month": "闰五月"},
    "errors/birthday_already_set.txt": {},
    "errors/no_birthday.txt": {},
    "errors/not_in_birthday_window.txt": {"opens_on": date(2026, 6, 1), "closes_on": date(2026, 6, 30)},
    "errors/no_birthday_gift.txt": {},
    "referral.txt": {"stats": STATS, "rules": ReferralRules(referee_coupon="welcome-30")},
    "referral_board.txt": {"board": BOARD},
    "referral_arrival.txt": {"attribution": Attribution(True, "", "100023", "王**")},
}
