"""The SQL adapters behind the core's ports, on SQLite and PostgreSQL."""

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core.errors import InvalidLedgerEntry
from bot.core.ports import LedgerEntry
from bot.domain import ActivityTally, ChatInfo, ChatRef, MemberRef, UserInfo, UserRef
from bot.points import ledger
from models.activity import SqlActivityStore
from models.engine import make_engine
from models.storage import SqlStorage
from models.tables import DailyActivity, LedgerEntry as LedgerRow, Membership, ProcessedUpdate, UserAccount

CHAT = ChatRef("telegram", "-100")
ALICE = MemberRef(CHAT, UserRef("telegram", "1"))
BOB = MemberRef(CHAT, UserRef("telegram", "2"))
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
async def storage(database_url):
    storage = SqlStorage(make_engine(database_url))
    yield storage
    await storage.dispose()


async def scalar(storage, statement):
    async with storage.engine.connect() as connection:
        return (await connection.execute(statement)).scalar()


async def test_a_ledger_key_pays_once_and_the_balance_follows_the_ledger(storage):
    entry = LedgerEntry(member=ALICE, delta=10, reason="checkin", idempotency_key="k1", at=AT)
    async with storage.unit_of_work() as uow:
        assert await ledger.post(uow, entry) == 10
        assert await ledger.post(uow, entry) is None
        assert await ledger.post(uow, LedgerEntry(ALICE, -3, "manual", "k2", at=AT)) == 7
        await uow.commit()
    assert await scalar(storage, select(func.sum(LedgerRow.delta))) == 7
    assert await scalar(storage, select(Membership.balance)) == 7


async def test_a_transaction_left_without_commit_changes_nothing(storage):
    async with storage.unit_of_work() as uow:
        await ledger.post(uow, LedgerEntry(ALICE, 10, "checkin", "k1", at=AT))
    assert await scalar(storage, select(func.count()).select_from(LedgerRow)) == 0
    assert storage.ids.members == {}  # ids of rolled-back rows are not cached
    async with storage.unit_of_work() as uow:
        assert await ledger.post(uow, LedgerEntry(ALICE, 10, "checkin", "k1", at=AT)) == 10
        await uow.commit()


async def test_zero_or_keyless_entries_are_refused(storage):
    async with storage.unit_of_work() as uow:
        with pytest.raises(InvalidLedgerEntry):
            await ledger.post(uow, LedgerEntry(ALICE, 0, "x", "k", at=AT))
        with pytest.raises(InvalidLedgerEntry):
            await ledger.post(uow, LedgerEntry(ALICE, 5, "x", "", at=AT))


async def test_concurrent_posts_with_one_key_pay_once(storage):
    async def pay() -> int | None:
        async with storage.unit_of_work() as uow:
            result = await ledger.post(uow, LedgerEntry(ALICE, 10, "checkin", "same", at=AT))
            await uow.commit()
            return result

    async with storage.unit_of_work() as uow:  # create the member first, as a real update would
        await ledger.post(uow, LedgerEntry(ALICE, 1, "seed", "seed", at=AT))
        await uow.commit()
    results = await asyncio.gather(*(pay() for _ in range(20)))
    assert sorted(r for r in results if r is not None) == [11]
    assert await scalar(storage, select(Membership.balance)) == 11


async def test_activity_tallies_add_up_across_flushes(storage):
    store = SqlActivityStore(storage)
    day = date(2026, 11, 23)

    def tally(member, messages, **counts):
        return ActivityTally(member, day, UserInfo("Alice"), ChatInfo("Group"), AT, messages=messages, **counts)

    await store.record([tally(ALICE, 3, media=1, links=2), tally(BOB, 1)], [("telegram", "7", 1), ("telegram", "7", 2)])
    await store.record([tally(ALICE, 2, checkins=1)], [("telegram", "7", 2), ("telegram", "7", 3)])
    async with storage.engine.connect() as connection:
        rows = (await connection.execute(select(DailyActivity).order_by(DailyActivity.membership_id))).all()
    assert [(r.messages, r.media, r.links, r.checkins) for r in rows] == [(5, 1, 2, 1), (1, 0, 0, 0)]
    recent = await store.recent_updates(since=AT - timedelta(days=400))
    assert [(platform, bot, update_id) for platform, bot, update_id, _ in recent] == [
        ("telegram", "7", 1), ("telegram", "7", 2), ("telegram", "7", 3)
    ]


async def test_blank_info_never_overwrites_a_stored_name(storage):
    store = SqlActivityStore(storage)
    day = date(2026, 11, 23)
    await store.record([ActivityTally(ALICE, day, UserInfo("Alice", "en"), ChatInfo("Group"), AT, messages=1)], [])
    storage.ids.users.clear()  # as after a restart
    await store.record([ActivityTally(ALICE, day, None, None, AT, checkins=1)], [])
    assert await scalar(storage, select(UserAccount.display_name)) == "Alice"


async def test_old_processed_updates_are_forgotten(storage):
    store = SqlActivityStore(storage, now=lambda: AT)
    await store.record([], [("telegram", "7001", 7)])
    assert await store.recent_updates(since=AT - timedelta(hours=1)) == [("telegram", "7001", 7, AT)]
    assert await store.recent_updates(since=AT + timedelta(hours=1)) == []


async def test_processed_updates_are_kept_per_bot(storage):
    store = SqlActivityStore(storage, now=lambda: AT)
    await store.record([], [("telegram", "7001", 7), ("telegram", "8002", 7), ("telegram", "8002", 8)])
    recent = await store.recent_updates(since=AT - timedelta(hours=1))
    assert [(bot, update_id) for _, bot, update_id, _ in recent] == [("7001", 7), ("8002", 7), ("8002", 8)]


async def test_recording_prunes_processed_updates_older_than_the_redelivery_window(storage):
    now = {"at": AT}
    store = SqlActivityStore(storage, now=lambda: now["at"])
    await store.record([], [("telegram", "7001", 1)])
    now["at"] = AT + timedelta(days=3)
    await store.record([], [("telegram", "7001", 2)])
    assert await scalar(storage, select(func.count()).select_from(ProcessedUpdate)) == 1


async def test_names_and_language_codes_longer_than_their_columns_are_cut_not_refused(storage):
    # On PostgreSQL a 17-character language code (the column holds 16) failed every flush.
    store = SqlActivityStore(storage)
    day = date(2026, 11, 23)
    user = UserInfo("A" * 300, "x" * 17, username="u" * 70)
    await store.record([ActivityTally(ALICE, day, user, ChatInfo("T" * 300, "supergroup-of-the-future"), AT, messages=1)], [])
    async with storage.engine.connect() as connection:
        row = (await connection.execute(select(UserAccount.display_name, UserAccount.language, UserAccount.username))).one()
    assert (len(row.display_name), row.language, len(row.username)) == (256, "x" * 16, 64)
