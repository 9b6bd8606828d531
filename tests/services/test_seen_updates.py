"""SeenUpdates: which update ids were handled, so a redelivered update has no second effect."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.updates import REMEMBER_FOR, SeenUpdates
from tests.services.fakes import InMemoryActivityStore


def test_an_id_is_new_once() -> None:
    seen = SeenUpdates()

    assert seen.add("telegram", 1) is True
    assert seen.add("telegram", 1) is False
    assert ("telegram", 1) in seen
    assert ("telegram", 2) not in seen


def test_the_same_id_on_another_platform_is_another_update() -> None:
    seen = SeenUpdates()
    seen.add("telegram", 1)

    assert ("wecom", 1) not in seen
    assert seen.add("wecom", 1) is True


def test_beyond_capacity_the_oldest_ids_are_forgotten_first() -> None:
    seen = SeenUpdates(capacity=3)
    for update_id in range(1, 6):
        seen.add("telegram", update_id)

    assert [update_id for update_id in range(1, 6) if ("telegram", update_id) in seen] == [3, 4, 5]
    assert seen.add("telegram", 1) is True  # evicted, so a (very late) redelivery counts as new


def test_a_repeated_add_does_not_refresh_or_duplicate_an_id() -> None:
    seen = SeenUpdates(capacity=2)
    seen.add("telegram", 1)
    seen.add("telegram", 1)  # refused: must not take a second slot
    seen.add("telegram", 2)

    assert ("telegram", 1) in seen and ("telegram", 2) in seen


def test_a_forgotten_id_can_be_handled_again() -> None:
    seen = SeenUpdates()
    seen.add("telegram", 1)

    seen.forget("telegram", 1)

    assert ("telegram", 1) not in seen
    assert seen.add("telegram", 1) is True
    assert seen.add("telegram", 1) is False


def test_forgetting_an_unknown_id_is_harmless() -> None:
    seen = SeenUpdates()
    seen.add("telegram", 1)

    seen.forget("telegram", 99)

    assert ("telegram", 1) in seen


def test_an_id_handled_again_after_forget_is_kept_as_long_as_ids_added_after_it() -> None:
    seen = SeenUpdates(capacity=2)
    seen.add("telegram", 1)
    seen.forget("telegram", 1)  # its handler failed
    seen.add("telegram", 1)  # the redelivery is handled
    seen.add("telegram", 2)

    # Two ids, capacity two: both must still be remembered.
    assert ("telegram", 2) in seen
    assert ("telegram", 1) in seen


async def test_load_remembers_recent_ids_from_the_store() -> None:
    store = InMemoryActivityStore(recent=[("telegram", 10), ("telegram", 11)])
    seen = SeenUpdates()
    now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)

    await seen.load(store, now)

    assert store.since_asked == [now - REMEMBER_FOR]
    assert ("telegram", 10) in seen and ("telegram", 11) in seen
    assert seen.add("telegram", 10) is False
