"""The in-memory ports behave like the database where the service tests rely on it."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.core.errors import StorageConflict
from bot.core.ports import LedgerEntry, NewCheckin
from bot.domain import ChatRef, MemberRef, UserRef
from tests.services.fakes import InMemoryStore

ALICE = MemberRef(ChatRef("telegram", "-100"), UserRef("telegram", "1"))
DAY = date(2026, 11, 23)
AT = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


async def stage(uow, key: str = "k") -> None:
    assert await uow.checkins.add_many([NewCheckin(ALICE, DAY, 1, AT)]) == {(ALICE, DAY)}
    assert await uow.ledger.append_many([LedgerEntry(ALICE, 10, "test", key)]) == {key: 10}


async def test_writes_are_applied_on_commit_and_discarded_without_it() -> None:
    store = InMemoryStore()
    async with store.uow_factory() as uow:
        await stage(uow)
        assert (await uow.checkins.latest_many([ALICE]))[ALICE].day == DAY  # sees its own writes
    assert store.checkins == {} and store.entries == {} and store.balance(ALICE) == 0

    async with store.uow_factory() as uow:
        await stage(uow)
        await uow.commit()
    assert store.checkin_days(ALICE) == [DAY] and list(store.entries) == ["k"] and store.balance(ALICE) == 10


async def test_a_second_check_in_for_the_day_and_a_used_key_are_refused() -> None:
    store = InMemoryStore()
    async with store.uow_factory() as uow:
        await stage(uow)
        await uow.commit()

    async with store.uow_factory() as uow:
        assert await uow.checkins.add_many([NewCheckin(ALICE, DAY, 5, AT)]) == set()
        assert await uow.ledger.append_many([LedgerEntry(ALICE, 3, "test", "k")]) == {}
        await uow.commit()
    assert store.stored_checkin(ALICE, DAY).streak == 1 and store.balance(ALICE) == 10


async def test_injected_commit_failures_apply_nothing() -> None:
    store = InMemoryStore()
    store.fail_next_commits(1)

    async with store.uow_factory() as uow:
        await stage(uow)
        with pytest.raises(StorageConflict):
            await uow.commit()

    assert store.checkins == {} and store.entries == {} and store.commits == 0 and store.commit_attempts == 1


async def test_a_commit_racing_a_committed_twin_conflicts() -> None:
    store = InMemoryStore()
    async with store.uow_factory() as first, store.uow_factory() as second:
        await stage(first)
        await stage(second)
        await first.commit()
        with pytest.raises(StorageConflict):
            await second.commit()

    assert store.balance(ALICE) == 10 and len(store.entries) == 1


async def test_a_read_only_unit_of_work_refuses_writes() -> None:
    store = InMemoryStore()
    async with store.uow_factory(read_only=True) as uow:
        with pytest.raises(AssertionError):
            await uow.checkins.add_many([NewCheckin(ALICE, DAY, 1, AT)])
