from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bot.domain import CheckinRecord
from bot.engagement.checkin import CheckinRules, current_streak, local_day, next_record, points_for

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_first_checkin_starts_a_streak_of_one():
    assert next_record(None, date(2026, 11, 23)).streak == 1


def test_checkin_the_day_after_extends_the_streak():
    assert next_record(CheckinRecord(date(2026, 11, 22), 4), date(2026, 11, 23)).streak == 5


def test_a_missed_day_restarts_the_streak():
    assert next_record(CheckinRecord(date(2026, 11, 21), 4), date(2026, 11, 23)).streak == 1


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
    assert current_streak(CheckinRecord(date(2026, 11, 23), 3), today) == 3
    assert current_streak(CheckinRecord(date(2026, 11, 22), 3), today) == 3
    assert current_streak(CheckinRecord(date(2026, 11, 21), 3), today) == 0
    assert current_streak(None, today) == 0


def test_one_missed_day_is_forgiven_when_a_freeze_is_available():
    record = next_record(CheckinRecord(date(2026, 11, 21), 4), date(2026, 11, 23), every_days=7)
    assert record == CheckinRecord(date(2026, 11, 23), 5, freeze_used_on=date(2026, 11, 22))


def test_a_second_missed_day_within_the_freeze_period_breaks_the_streak():
    last = CheckinRecord(date(2026, 11, 26), 8, freeze_used_on=date(2026, 11, 22))
    assert next_record(last, date(2026, 11, 28), every_days=7) == CheckinRecord(
        date(2026, 11, 28), 1, freeze_used_on=date(2026, 11, 22)
    )
    # Once the period has passed, a freeze is available again.
    later = CheckinRecord(date(2026, 11, 29), 11, freeze_used_on=date(2026, 11, 22))
    assert next_record(later, date(2026, 12, 1), every_days=7).streak == 12


def test_two_missed_days_are_never_forgiven():
    assert next_record(CheckinRecord(date(2026, 11, 20), 4), date(2026, 11, 23), every_days=7).streak == 1


def test_freezes_can_be_turned_off():
    assert next_record(CheckinRecord(date(2026, 11, 21), 4), date(2026, 11, 23), every_days=0).streak == 1


def test_consecutive_days_carry_the_last_freeze_forward():
    last = CheckinRecord(date(2026, 11, 22), 5, freeze_used_on=date(2026, 11, 20))
    assert next_record(last, date(2026, 11, 23), every_days=7).freeze_used_on == date(2026, 11, 20)


def test_a_streak_that_a_freeze_can_still_save_counts_as_alive():
    last = CheckinRecord(date(2026, 11, 21), 6)
    assert current_streak(last, date(2026, 11, 23), every_days=7) == 6
    assert current_streak(last, date(2026, 11, 23), every_days=0) == 0
    assert current_streak(last, date(2026, 11, 24), every_days=7) == 0


def test_days_missed_inside_a_pause_keep_the_streak():
    from bot.engagement.checkin import covered_by_pause

    last = CheckinRecord(date(2026, 11, 10), 12)
    pause = (date(2026, 11, 11), date(2026, 11, 20))
    assert next_record(last, date(2026, 11, 21), pause=pause).streak == 13
    assert covered_by_pause(last.day, date(2026, 11, 21), pause)
    # A day missed after the pause ended breaks it (no freeze here).
    assert next_record(last, date(2026, 11, 23), pause=pause).streak == 1
    assert current_streak(last, date(2026, 11, 15), pause=pause) == 12
