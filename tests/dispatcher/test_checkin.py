"""/checkin, /points and /me fed through the real Dispatcher (network replaced by the fake)."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models.tables import Checkin, LedgerEntry, Membership
from tests.dispatcher.conftest import ALICE, BOB, GROUP, OTHER_GROUP


async def count(harness, statement):
    async with harness.app.storage.engine.connect() as connection:
        return (await connection.execute(statement)).scalar()


async def test_first_checkin_awards_points_and_replies_in_the_members_language(harness):
    await harness.say(GROUP, ALICE, "/checkin")
    assert harness.replies(GROUP) == ["打卡成功！+10 积分，已连续打卡 1 天。"]
    reply = harness.fake.sent_messages(GROUP)[0]
    assert reply["reply_to_message"]["from"]["id"] == ALICE
    assert await count(harness, select(Membership.balance)) == 10


async def test_second_checkin_the_same_day_is_refused_kindly_with_the_streak(harness, clock):
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(hours=5))
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == "You've already checked in today (1-day streak). See you tomorrow!"
    assert await count(harness, select(func.count()).select_from(Checkin)) == 1
    assert await count(harness, select(func.sum(LedgerEntry.delta))) == 10


async def test_consecutive_days_build_a_streak_and_pay_the_bonus(harness, clock):
    for _ in range(3):
        await harness.say(GROUP, BOB, "/checkin")
        clock.advance(timedelta(days=1))
    assert harness.replies(GROUP)[-1] == (
        "Checked in! +12 points (including a 2-point bonus for a 3-day streak). Keep it up!"
    )
    assert await count(harness, select(Membership.balance)) == 32


async def test_two_missed_days_restart_the_streak(harness, clock):
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(days=3))
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == "Checked in! +10 points, 1-day streak."


async def test_one_missed_day_is_forgiven_once_a_week(harness, clock):
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(days=2))  # missed one day
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == (
        "Checked in! +10 points. Yesterday's missed day was forgiven automatically, so your streak is 2 days."
    )
    clock.advance(timedelta(days=2))  # another missed day within the week: not forgiven
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == "Checked in! +10 points, 1-day streak."


async def test_the_community_day_starts_at_four_in_the_morning_local_time(harness, clock):
    clock.set(clock.now().replace(hour=19, minute=50))  # 03:50 in Shanghai: still yesterday's community day
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(minutes=20))  # 04:10 in Shanghai, still the same UTC day
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == "Checked in! +10 points, 2-day streak."


async def test_a_check_in_before_and_after_midnight_is_the_same_day(harness, clock):
    clock.set(clock.now().replace(hour=15, minute=50))  # 23:50 in Shanghai
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(minutes=20))  # 00:10: a night feed, not a new day
    await harness.say(GROUP, BOB, "/checkin")
    assert harness.replies(GROUP)[-1] == "You've already checked in today (1-day streak). See you tomorrow!"


async def test_the_same_update_delivered_twice_is_handled_once(harness):
    update = harness.fake.user_message(GROUP, ALICE, "/checkin")
    await harness.feed(update)
    await harness.feed(update)
    assert len(harness.replies(GROUP)) == 1
    assert await count(harness, select(func.count()).select_from(LedgerEntry)) == 1


async def test_points_are_per_group(harness):
    await harness.say(GROUP, BOB, "/checkin")
    await harness.say(OTHER_GROUP, BOB, "/points")
    assert harness.replies(OTHER_GROUP) == ["Bob, you have no points in this group yet. Send /checkin to start!"]


async def test_points_show_balance_and_rank_in_the_group(harness, clock):
    await harness.say(GROUP, ALICE, "/checkin")
    clock.advance(timedelta(days=1))
    await harness.say(GROUP, ALICE, "/checkin")
    await harness.say(GROUP, BOB, "/checkin")
    await harness.say(GROUP, BOB, "/points")
    await harness.say(GROUP, ALICE, "/points")
    assert harness.replies(GROUP)[-2:] == [
        "Bob, you have 10 points in this group, rank 2 of 2.",
        "Alice，你在本群有 20 积分，排名第 1 / 2。",
    ]


async def test_me_shows_points_tier_streak_and_joined_date(harness, clock):
    await harness.say(GROUP, BOB, "hello everyone")
    await harness.app.buffer.flush()
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(days=1))
    await harness.say(GROUP, BOB, "/checkin")
    await harness.say(GROUP, BOB, "/me")
    assert harness.replies(GROUP)[-1] == (
        "Bob's profile\nPoints: 20 (rank 1 in this group)\nCheck-in streak: 2 days (2 in total)\nJoined: 2026-11-23\n"
        "Tier: New mum (20 points earned in the last 90 days)\n80 more points to Active mum"
    )


async def test_me_before_any_record_invites_a_first_checkin(harness):
    await harness.say(GROUP, BOB, "/me")
    assert harness.replies(GROUP) == ["Bob, I have no record of you in this group yet. Try /checkin first!"]


async def test_the_streak_in_me_survives_a_day_a_freeze_can_bridge_but_not_two(harness, clock):
    await harness.say(GROUP, BOB, "/checkin")
    clock.advance(timedelta(days=2))
    await harness.say(GROUP, BOB, "/me")
    assert "Check-in streak: 1 days (1 in total)" in harness.replies(GROUP)[-1]
    clock.advance(timedelta(days=1))
    await harness.say(GROUP, BOB, "/me")
    assert "Check-in streak: 0 days (1 in total)" in harness.replies(GROUP)[-1]


async def test_checkin_in_a_private_chat_points_to_the_group(harness):
    await harness.say(BOB, BOB, "/checkin")
    assert harness.replies(BOB) == ["Check-ins happen in the parents' group: send /checkin there."]
    assert await count(harness, select(func.count()).select_from(Checkin)) == 0


async def test_command_addressed_to_this_bot_by_username_works(harness):
    await harness.say(GROUP, BOB, "/checkin@cradle_test_bot")
    assert harness.replies(GROUP) == ["Checked in! +10 points, 1-day streak."]


async def test_command_addressed_to_another_bot_is_ignored(harness):
    await harness.say(GROUP, BOB, "/checkin@some_other_bot")
    assert harness.replies(GROUP) == []


async def test_help_shows_operator_lines_only_to_operators(harness):
    await harness.say(GROUP, BOB, "/help")
    assert "Operators" not in harness.replies(GROUP)[-1] and "/checkin" in harness.replies(GROUP)[-1]
    harness.fake.add_user(999, "Olga", language_code="en")
    await harness.say(GROUP, 999, "/help")
    assert "Operators" in harness.replies(GROUP)[-1]


async def test_start_greets_in_group_and_private(harness):
    await harness.say(GROUP, ALICE, "/start")
    await harness.say(BOB, BOB, "/start")
    assert "@cradle_test_bot" in harness.replies(GROUP)[0] and "Test Mamas" in harness.replies(GROUP)[0]
    assert harness.replies(BOB)[0].startswith("Hi! I'm the helper of Test Mamas.")


async def test_an_unexpected_error_never_leaks_a_traceback_and_is_apologised_for_when_given_up(harness, monkeypatch):
    # The whole policy (redelivery first, apology only when given up) is in tests/dispatcher/test_errors.py.
    from bot.members.updates import MAX_ATTEMPTS

    async def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(harness.app.checkins, "check_in", broken)
    update = harness.fake.user_message(GROUP, BOB, "/checkin")
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            await harness.feed(update)
    await harness.feed(update)
    assert harness.replies(GROUP) == ["Sorry, something went wrong just now. Please try again in a moment."]
