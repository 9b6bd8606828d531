from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.domain import CheckinRecord
from bot.services.checkin import CheckinRules, current_streak, local_day, points_for, streak_after

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_first_checkin_starts_a_streak_of_one():
    assert streak_after(None, date(2026, 11, 23)) == 1


def test_checkin_the_day_after_extends_the_streak():
    assert streak_after(CheckinRecord(date(2026, 11, 22), 4), date(2026, 11, 23)) == 5


def test_a_missed_day_restarts_the_streak():
    assert streak_after(CheckinRecord(date(2026, 11, 21), 4), date(2026, 11, 23)) == 1


def test_local_day_follows_the_community_timezone_not_utc():
    # 17:00 UTC on the 22nd is 01:00 on the 23rd in Shanghai.
    assert local_day(datetime(2026, 11, 22, 17, 0, tzinfo=UTC), SHANGHAI) == date(2026, 11, 23)
    assert local_day(datetime(2026, 11, 22, 15, 59, tzinfo=UTC), SHANGHAI) == date(2026, 11, 22)


def test_streak_bonus_is_paid_on_the_day_the_streak_reaches_it():
    rules = CheckinRules(base_points=10, streak_bonus={3: 2, 7: 5})
    assert points_for(2, rules) == (10, 0)
    assert points_for(3, rules) == (10, 2)
    assert points_for(4, rules) == (10, 0)
    assert points_for(7, rules) == (10, 5)


def test_current_streak_is_zero_once_a_day_is_missed():
    today = date(2026, 11, 23)
    assert current_streak(date(2026, 11, 23), 3, today) == 3
    assert current_streak(date(2026, 11, 22), 3, today) == 3
    assert current_streak(date(2026, 11, 21), 3, today) == 0
    assert current_streak(None, 0, today) == 0
