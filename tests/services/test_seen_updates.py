"""SeenUpdates: which update ids were handled, so a redelivered update has no second effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.members.updates import REMEMBER_FOR, SeenUpdates
from bot.testing.clock import ManualClock
from tests.services.fakes import InMemoryActivityStore

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
BOT = "7001"


def test_an_id_is_new_once() -> None:
    seen = SeenUpdates()

    assert seen.add("telegram", 1, BOT) is True
    assert seen.add("telegram", 1, BOT) is False
    assert ("telegram", BOT, 1) in seen
    assert ("telegram", BOT, 2) not in seen


def test_the_same_id_on_another_platform_is_another_update() -> None:
    seen = SeenUpdates()
    seen.add("telegram", 1, BOT)

    assert ("wecom", BOT, 1) not in seen
    assert seen.add("wecom", 1, BOT) is True


def test_the_same_id_for_another_bot_is_another_update() -> None:
    # A new token on the same database: the new bot's update ids start their own sequence.
    seen = SeenUpdates()
    seen.add("telegram", 500, "7001")

    assert seen.add("telegram", 500, "8002") is True
    assert seen.add("telegram", 500, "7001") is False


def test_an_id_handled_more_than_two_days_ago_is_a_new_update() -> None:
    # After a quiet week Telegram may pick the next update id at random, even one used before.
    clock = ManualClock(NOW)
    seen = SeenUpdates(now=clock.now)
    seen.add("telegram", 42, BOT)

    clock.advance(REMEMBER_FOR - timedelta(minutes=1))
    assert seen.add("telegram", 42, BOT) is False  # a redelivery within Telegram's window
    clock.advance(timedelta(days=1))
    assert ("telegram", BOT, 42) not in seen
    assert seen.add("telegram", 42, BOT) is True
    assert seen.add("telegram", 42, BOT) is False


def test_expired_ids_are_dropped_from_memory() -> None:
    clock = ManualClock(NOW)
    seen = SeenUpdates(now=clock.now)
    for update_id in range(100):
        seen.add("telegram", update_id, BOT)
    clock.advance(REMEMBER_FOR + timedelta(seconds=1))

    seen.add("telegram", 1000, BOT)

    assert len(seen._seen) == 1


def test_beyond_capacity_the_oldest_ids_are_forgotten_first() -> None:
    seen = SeenUpdates(capacity=3)
    for update_id in range(1, 6):
        seen.add("telegram", update_id, BOT)

    assert [update_id for update_id in range(1, 6) if ("telegram", BOT, update_id) in seen] == [3, 4, 5]
    assert seen.add("telegram", 1, BOT) is True  # evicted, so a (very late) redelivery counts as new


def test_a_repeated_add_does_not_refresh_or_duplicate_an_id() -> None:
    seen = SeenUpdates(capacity=2)
    seen.add("telegram", 1, BOT)
    seen.add("telegram", 1, BOT)  # refused: must not take a second slot
    seen.add("telegram", 2, BOT)

    assert ("telegram", BOT, 1) in seen and ("telegram", BOT, 2) in seen


def test_a_forgotten_id_can_be_handled_again() -> None:
    seen = SeenUpdates()
    seen.add("telegram", 1, BOT)

    seen.forget("telegram", 1, BOT)

    assert ("telegram", BOT, 1) not in seen
    assert seen.add("telegram", 1, BOT) is True
    assert seen.add("telegram", 1, BOT) is False


def test_forget_forgets_the_id_only_for_its_bot() -> None:
    seen = SeenUpdates()
    seen.add("telegram", 1, "7001")
    seen.add("telegram", 1, "8002")

    seen.forget("telegram", 1, "7001")

    assert ("telegram", "7001", 1) not in seen and ("telegram", "8002", 1) in seen


def test_forgetting_an_unknown_id_is_harmless() -> None:
    seen = SeenUpdates()
    seen.add("telegram", 1, BOT)

    seen.forget("telegram", 99, BOT)

    assert ("telegram", BOT, 1) in seen


def test_an_id_handled_again_after_forget_is_kept_as_long_as_ids_added_after_it() -> None:
    seen = SeenUpdates(capacity=2)
    seen.add("telegram", 1, BOT)
    seen.forget("telegram", 1, BOT)  # its handler failed
    seen.add("telegram", 1, BOT)  # the redelivery is handled
    seen.add("telegram", 2, BOT)

    # Two ids, capacity two: both must still be remembered.
    assert ("telegram", BOT, 2) in seen
    assert ("telegram", BOT, 1) in seen


def test_failures_count_only_when_they_count_and_reset_when_settled() -> None:
    seen = SeenUpdates()

    assert seen.failed("telegram", 1, BOT).attempts == 1
    assert seen.failed("telegram", 1, BOT, counts=False).attempts == 1  # an outage: not the update's fault
    assert seen.failed("telegram", 1, BOT).attempts == 2
    seen.settled("telegram", 1, BOT)
    assert seen.failed("telegram", 1, BOT).attempts == 1


def test_failures_know_how_long_the_update_has_been_failing_outages_included() -> None:
    clock = ManualClock(NOW)
    seen = SeenUpdates(now=clock.now)

    assert seen.failed("telegram", 1, BOT, counts=False).failing_for == timedelta(0)
    clock.advance(timedelta(hours=5))
    failures = seen.failed("telegram", 1, BOT, counts=False)

    assert failures.attempts == 0 and failures.first_at == NOW and failures.failing_for == timedelta(hours=5)
    seen.settled("telegram", 1, BOT)
    assert seen.failed("telegram", 1, BOT).failing_for == timedelta(0)


async def test_load_remembers_recent_ids_from_the_store_until_their_window_ends() -> None:
    clock = ManualClock(NOW)
    handled = NOW - timedelta(hours=47)
    store = InMemoryActivityStore(recent=[("telegram", BOT, 10, handled), ("telegram", BOT, 11, handled)])
    seen = SeenUpdates(now=clock.now)

    await seen.load(store, NOW)

    assert store.since_asked == [NOW - REMEMBER_FOR]
    assert ("telegram", BOT, 10) in seen and ("telegram", BOT, 11) in seen
    assert seen.add("telegram", 10, BOT) is False
    clock.advance(timedelta(hours=2))  # 49 hours after they were handled
    assert seen.add("telegram", 11, BOT) is True
