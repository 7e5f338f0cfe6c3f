"""The scheduler's calendar: which days a daily job owes, and when it runs next (mall time)."""
from datetime import date, datetime, time, timezone

from hypothesis import given
from hypothesis import strategies as st

from loyalty_core.clock import MALL_TZ
from loyalty_core.schedule import days_owed, next_run

NINE = time(9, 0)


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour, minute), MALL_TZ)


def test_a_job_that_never_ran_owes_today_once_its_time_has_come():
    assert days_owed(None, at("2026-03-10", 8, 59), NINE, 7) == []
    assert days_owed(None, at("2026-03-10", 9, 0), NINE, 7) == [date(2026, 3, 10)]


def test_a_job_owes_the_days_after_the_last_one_done():
    assert days_owed(date(2026, 3, 10), at("2026-03-10", 12), NINE, 7) == []
    assert days_owed(date(2026, 3, 10), at("2026-03-11", 8), NINE, 7) == []
    assert days_owed(date(2026, 3, 9), at("2026-03-11", 8), NINE, 7) == [date(2026, 3, 10)]
    assert days_owed(date(2026, 3, 7), at("2026-03-11", 10), NINE, 7) == [
        date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)]


def test_catching_up_goes_back_a_bounded_number_of_days():
    owed = days_owed(date(2026, 1, 1), at("2026-03-11", 10), NINE, 7)
    assert owed == [date(2026, 3, n) for n in range(5, 12)]


def test_the_mall_day_counts_not_the_servers():
    utc_afternoon = datetime(2026, 3, 10, 16, 30, tzinfo=timezone.utc)          # 00:30 on the 11th in the mall
    assert days_owed(None, utc_afternoon, time(0, 10), 7) == [date(2026, 3, 11)]
    assert next_run(time(0, 10), utc_afternoon) == at("2026-03-12", 0, 10)


def test_the_next_run_is_today_before_the_time_and_tomorrow_after_it():
    assert next_run(NINE, at("2026-03-10", 8, 59)) == at("2026-03-10", 9)
    assert next_run(NINE, at("2026-03-10", 9)) == at("2026-03-11", 9)
    assert next_run(NINE, at("2026-12-31", 23, 59)) == at("2027-01-01", 9)


@given(last=st.dates(date(2025, 1, 1), date(2027, 12, 31)), now=st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1)),
       bound=st.integers(1, 30))
def test_owed_days_are_after_the_last_done_in_order_bounded_and_never_in_the_future(last, now, bound):
    now = now.replace(tzinfo=MALL_TZ)
    owed = days_owed(last, now, NINE, bound)
    assert owed == sorted(set(owed)) and len(owed) <= bound
    assert all(day > last and day <= now.date() for day in owed)
    if owed:
        assert (owed[-1] < now.date()) == (now.time() < NINE)
