"""The ledger service: validation, idempotency, and balances that always equal the sum of entries."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import InvalidLedgerEntry
from bot.core.ports import LedgerEntry
from bot.domain import ChatRef, MemberRef, UserRef
from bot.points import ledger
from tests.services.fakes import InMemoryStore

CHAT = ChatRef("telegram", "-100")
ALICE = MemberRef(CHAT, UserRef("telegram", "1"))
BOB = MemberRef(CHAT, UserRef("telegram", "2"))


def entry(key: str, delta: int = 10, who: MemberRef = ALICE) -> LedgerEntry:
    return LedgerEntry(member=who, delta=delta, reason="test", idempotency_key=key)


async def post_many(store: InMemoryStore, entries: list[LedgerEntry]) -> dict[str, int]:
    async with store.uow_factory() as uow:
        balances = await ledger.post_many(uow, entries)
        await uow.commit()
    return balances


async def post(store: InMemoryStore, one: LedgerEntry) -> int | None:
    async with store.uow_factory() as uow:
        balance = await ledger.post(uow, one)
        await uow.commit()
    return balance


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (entry("k", delta=0), "zero_delta"),
        (entry("", delta=5), "missing_key"),
    ],
)
async def test_an_invalid_entry_is_refused_and_nothing_is_written(bad: LedgerEntry, reason: str) -> None:
    store = InMemoryStore()

    with pytest.raises(InvalidLedgerEntry) as raised:
        await post_many(store, [entry("good"), bad])

    assert raised.value.params["reason"] == reason
    assert raised.value.code == "ledger.invalid"
    assert store.entries == {} and store.balances == {}
    assert all(not unit.ledger.append_calls for unit in store.units)  # refused before reaching storage


async def test_a_zero_delta_names_its_key() -> None:
    with pytest.raises(InvalidLedgerEntry) as raised:
        ledger.validate(entry("bonus:7", delta=0))

    assert raised.value.params == {"reason": "zero_delta", "key": "bonus:7"}


async def test_a_duplicate_key_within_one_batch_is_refused_and_nothing_is_written() -> None:
    store = InMemoryStore()

    with pytest.raises(InvalidLedgerEntry) as raised:
        await post_many(store, [entry("same", 10), entry("other", 3), entry("same", 10, who=BOB)])

    assert raised.value.params["reason"] == "duplicate_key_in_batch"
    assert store.entries == {} and store.balances == {}


async def test_the_same_key_twice_pays_once() -> None:
    store = InMemoryStore()

    first = await post(store, entry("checkin:1", 10))
    second = await post(store, entry("checkin:1", 10))

    assert first == 10
    assert second is None  # already paid
    assert list(store.entries) == ["checkin:1"]
    assert store.balance(ALICE) == 10


async def test_post_many_reports_balances_only_for_keys_paid_now() -> None:
    store = InMemoryStore()
    await post(store, entry("old", 7))

    balances = await post_many(store, [entry("old", 7), entry("new", 5), entry("bob", 2, who=BOB)])

    assert balances == {"new": 12, "bob": 2}
    assert store.balance(ALICE) == 12 and store.balance(BOB) == 2


async def test_negative_entries_are_allowed_and_move_the_balance_down() -> None:
    store = InMemoryStore()

    await post(store, entry("earn", 10))
    assert await post(store, entry("spend", -4)) == 6


async def test_an_empty_batch_does_not_reach_storage() -> None:
    store = InMemoryStore()

    assert await post_many(store, []) == {}

    assert all(not unit.ledger.append_calls for unit in store.units)


async def test_entries_are_lost_with_a_transaction_that_does_not_commit() -> None:
    store = InMemoryStore()

    async with store.uow_factory() as uow:
        assert await ledger.post(uow, entry("k", 10)) == 10  # rolled back on leaving

    assert store.entries == {} and store.balance(ALICE) == 0
    assert await post(store, entry("k", 10)) == 10  # so the key is still free


MEMBERS = [MemberRef(CHAT, UserRef("telegram", str(n))) for n in range(3)]
entries_strategy = st.lists(
    st.tuples(
        st.sampled_from(MEMBERS),
        st.integers(min_value=-50, max_value=50).filter(bool),
        st.sampled_from([f"key-{n}" for n in range(8)]),  # few keys, so many repeat
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(raw=entries_strategy, batch_size=st.integers(min_value=1, max_value=5))
def test_balance_is_always_the_sum_of_stored_entries(raw: list[tuple[MemberRef, int, str]], batch_size: int) -> None:
    asyncio.run(_post_and_check(raw, batch_size))


async def _post_and_check(raw: list[tuple[MemberRef, int, str]], batch_size: int) -> None:
    store = InMemoryStore()
    expected_balance: dict[MemberRef, int] = defaultdict(int)
    first_use: dict[str, LedgerEntry] = {}
    entries = [LedgerEntry(member=who, delta=delta, reason="test", idempotency_key=key) for who, delta, key in raw]

    index = 0
    while index < len(entries):
        # One batch: consecutive entries with distinct keys (a repeat inside a batch is refused by design).
        batch: list[LedgerEntry] = []
        while (
            index < len(entries)
            and len(batch) < batch_size
            and entries[index].idempotency_key not in {e.idempotency_key for e in batch}
        ):
            batch.append(entries[index])
            index += 1
        paid_now = [e for e in batch if e.idempotency_key not in first_use]
        for e in paid_now:
            first_use[e.idempotency_key] = e
            expected_balance[e.member] += e.delta

        balances = await post_many(store, batch)

        assert balances == {e.idempotency_key: expected_balance[e.member] for e in paid_now}

    # Every key is stored once, with the entry that first used it...
    assert store.entries == first_use
    # ...and each balance is exactly the sum of that member's stored deltas.
    sums: dict[MemberRef, int] = defaultdict(int)
    for stored in store.entries.values():
        sums[stored.member] += stored.delta
    assert {m: store.balance(m) for m in MEMBERS} == {m: sums[m] for m in MEMBERS}
    assert {m: sums[m] for m in MEMBERS} == {m: expected_balance[m] for m in MEMBERS}
