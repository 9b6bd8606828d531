from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.content.timing import BadRule, QuietHours, cron_rule, daily_rule, monthly_rule, release_time, weekly_rule

SHANGHAI, LONDON = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_daily_time_is_the_local_minute_in_each_timezone():
    rule = daily_rule("08:30")
    day = (utc(2026, 11, 23, 0, 0), utc(2026, 11, 24, 0, 0))
    assert rule.times(SHANGHAI, *day) == [utc(2026, 11, 23, 0, 30)]
    assert rule.times(LONDON, *day) == [utc(2026, 11, 23, 8, 30)]


def test_a_daily_time_keeps_its_local_minute_across_summer_time():
    rule = daily_rule("08:30")
    times = rule.times(LONDON, utc(2027, 3, 26, 12), utc(2027, 3, 29, 12))
    assert times == [utc(2027, 3, 27, 8, 30), utc(2027, 3, 28, 7, 30), utc(2027, 3, 29, 7, 30)]


def test_a_wall_time_that_happens_twice_in_autumn_fires_once():
    rule = daily_rule("01:30")  # 31 October 2027: 01:30 BST, then 01:30 GMT
    assert rule.times(LONDON, utc(2027, 10, 30, 12), utc(2027, 10, 31, 12)) == [utc(2027, 10, 31, 0, 30)]


def test_a_wall_time_skipped_in_spring_fires_once_an_hour_later_on_the_clock():
    rule = daily_rule("01:30")  # 28 March 2027: clocks go from 01:00 to 02:00
    [moment] = rule.times(LONDON, utc(2027, 3, 27, 12), utc(2027, 3, 28, 12))
    assert moment == utc(2027, 3, 28, 1, 30)
    assert moment.astimezone(LONDON).hour == 2


def test_weekly_and_monthly_times():
    assert weekly_rule("wed 20:00").times(SHANGHAI, utc(2026, 11, 23), utc(2026, 11, 30)) == [utc(2026, 11, 25, 12)]
    assert monthly_rule("1 10:00").times(SHANGHAI, utc(2026, 11, 23), utc(2027, 1, 5)) == [
        utc(2026, 12, 1, 2),
        utc(2027, 1, 1, 2),
    ]


def test_the_second_sunday_of_may_by_cron():
    assert cron_rule("0 9 * 5 0#2").next_times(SHANGHAI, utc(2027, 1, 1), 1) == [utc(2027, 5, 9, 1)]


@pytest.mark.parametrize(
    ("build", "text", "message"),
    [
        (cron_rule, "61 8 * * *", "invalid cron expression"),
        (cron_rule, "30 8 * *", "invalid cron expression"),
        (daily_rule, "8h30", "invalid time"),
        (weekly_rule, "someday 20:00", "unknown weekday"),
        (monthly_rule, "31 10:00", "must be 1-28"),
    ],
)
def test_unreadable_times_are_refused_with_the_reason(build, text, message):
    with pytest.raises(BadRule, match=message):
        build(text)


def test_quiet_hours_across_midnight():
    quiet = QuietHours.parse("22:00-07:00")
    assert quiet is not None
    assert quiet.contains(time(23, 0)) and quiet.contains(time(6, 59)) and not quiet.contains(time(7, 0))
    assert QuietHours.parse("") is None


def test_a_post_in_quiet_hours_waits_for_their_end_or_is_skipped():
    quiet = QuietHours.parse("22:00-07:00")
    late = utc(2026, 11, 23, 15, 0)  # 23:00 in Shanghai
    assert release_time(late, SHANGHAI, quiet, defer=True) == utc(2026, 11, 23, 23, 0)  # 07:00 next morning
    assert release_time(late, SHANGHAI, quiet, defer=False) is None
    morning = utc(2026, 11, 23, 0, 30)
    assert release_time(morning, SHANGHAI, quiet, defer=False) == morning
