"""ActivityBuffer: write-behind counting that never drops a tally or a processed update id."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import StorageConflict, StorageRejected
from bot.domain import ChatInfo, ChatRef, MemberRef, UserInfo, UserRef
from bot.engagement.checkin import local_day
from bot.members.activity import ActivityBuffer
from tests.services.fakes import InMemoryActivityStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHAT = ChatRef("telegram", "-100")
ALICE = MemberRef(CHAT, UserRef("telegram", "1"))
BOB = MemberRef(CHAT, UserRef("telegram", "2"))
ALICE_INFO = UserInfo("Alice")
BOB_INFO = UserInfo("Bob")
GROUP = ChatInfo("Parents")
# 23:59 and 00:01 in Shanghai: the same UTC day, two local days.
LATE_22ND = datetime(2026, 11, 22, 15, 59, tzinfo=UTC)
EARLY_23RD = datetime(2026, 11, 22, 16, 1, tzinfo=UTC)
NOON_23RD = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
DAY_22, DAY_23 = date(2026, 11, 22), date(2026, 11, 23)


def shanghai_day(chat: ChatRef, at: datetime) -> date:
    return local_day(at, SHANGHAI)


@pytest.fixture
def store() -> InMemoryActivityStore:
    return InMemoryActivityStore()


@pytest.fixture
def buffer(store: InMemoryActivityStore) -> ActivityBuffer:
    return ActivityBuffer(store, shanghai_day)


async def loop_turns_until(condition, limit: int = 200) -> None:
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_counts_merge_per_member_and_local_day(buffer: ActivityBuffer, store: InMemoryActivityStore) -> None:
    buffer.seen(ALICE, ALICE_INFO, GROUP, EARLY_23RD, messages=1)
    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD, messages=2, media=1, links=3)
    buffer.checked_in(ALICE, DAY_23, NOON_23RD)
    buffer.seen(ALICE, ALICE_INFO, GROUP, LATE_22ND, messages=4)  # the previous local day
    buffer.seen(BOB, BOB_INFO, GROUP, NOON_23RD, messages=1)
    assert buffer.pending == 3

    await buffer.flush()

    [(tallies, processed)] = store.records
    assert len(tallies) == 3 and processed == []
    [alice_23] = store.tallies_for(ALICE, DAY_23)
    assert (alice_23.messages, alice_23.media, alice_23.links, alice_23.checkins) == (3, 1, 3, 1)
    assert alice_23.last_seen_at == NOON_23RD
    assert (alice_23.user, alice_23.chat) == (ALICE_INFO, GROUP)
    [alice_22] = store.tallies_for(ALICE, DAY_22)
    assert (alice_22.messages, alice_22.checkins) == (4, 0)
    [bob_23] = store.tallies_for(BOB, DAY_23)
    assert (bob_23.messages, bob_23.user) == (1, BOB_INFO)
    assert buffer.pending == 0


async def test_last_seen_is_the_latest_event_even_when_events_arrive_out_of_order(
    buffer: ActivityBuffer, store: InMemoryActivityStore
) -> None:
    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD, messages=1)
    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD - timedelta(hours=2), messages=1)

    await buffer.flush()

    [tally] = store.tallies_for(ALICE, DAY_23)
    assert (tally.messages, tally.last_seen_at) == (2, NOON_23RD)


async def test_a_check_in_alone_carries_no_platform_info(buffer: ActivityBuffer, store: InMemoryActivityStore) -> None:
    buffer.checked_in(ALICE, DAY_23, NOON_23RD)

    await buffer.flush()

    [tally] = store.tallies_for(ALICE, DAY_23)
    assert (tally.user, tally.chat, tally.checkins, tally.messages) == (None, None, 1, 0)


async def test_leaving_is_recorded_and_a_later_post_means_the_member_is_back(
    buffer: ActivityBuffer, store: InMemoryActivityStore
) -> None:
    left_at = NOON_23RD - timedelta(hours=1)
    buffer.membership(ALICE, ALICE_INFO, GROUP, left_at, left=True)
    buffer.membership(BOB, BOB_INFO, GROUP, left_at, left=True)
    buffer.seen(BOB, BOB_INFO, GROUP, NOON_23RD, messages=1)

    await buffer.flush()

    assert store.tallies_for(ALICE, DAY_23)[0].left_at == left_at
    assert store.tallies_for(BOB, DAY_23)[0].left_at is None


async def test_a_failing_flush_keeps_everything_and_a_later_flush_writes_the_sum_once(
    buffer: ActivityBuffer, store: InMemoryActivityStore
) -> None:
    buffer.seen(ALICE, ALICE_INFO, GROUP, EARLY_23RD, messages=2, media=1)
    buffer.checked_in(ALICE, DAY_23, EARLY_23RD)
    store.fail_next()

    with pytest.raises(RuntimeError):
        await buffer.flush()
    assert store.records == [] and buffer.pending == 1

    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD, messages=3)
    await buffer.flush()
    await buffer.flush()  # nothing left: no second write

    assert store.attempts == 2
    [(tallies, _)] = store.records
    [tally] = tallies
    assert (tally.member, tally.day) == (ALICE, DAY_23)
    assert (tally.messages, tally.media, tally.checkins, tally.last_seen_at) == (5, 1, 1, NOON_23RD)


async def test_events_arriving_during_a_failing_flush_are_merged_with_what_it_kept(
    buffer: ActivityBuffer, store: InMemoryActivityStore
) -> None:
    renamed = UserInfo("Alice B.")
    left_at = EARLY_23RD
    buffer.membership(ALICE, ALICE_INFO, GROUP, left_at, left=True)
    buffer.seen(ALICE, ALICE_INFO, GROUP, left_at, messages=1)
    buffer.membership(ALICE, ALICE_INFO, GROUP, left_at, left=True)
    store.gate = asyncio.Event()
    store.fail_next()
    flushing = asyncio.create_task(buffer.flush())
    await loop_turns_until(store.entered_record.is_set)

    buffer.seen(ALICE, renamed, GROUP, NOON_23RD, messages=2)  # she is back, under a new name
    store.gate.set()
    with pytest.raises(RuntimeError):
        await flushing
    store.gate = None
    await buffer.flush()

    [(tallies, _)] = store.records
    [tally] = tallies
    assert tally.messages == 3
    assert tally.user == renamed  # the newer info wins
    assert tally.last_seen_at == NOON_23RD
    assert tally.left_at is None  # the latest event was a post


async def test_processed_update_ids_survive_a_failed_flush_in_order(
    buffer: ActivityBuffer, store: InMemoryActivityStore
) -> None:
    buffer.processed("telegram", 1)
    buffer.processed("telegram", 2)
    store.gate = asyncio.Event()
    store.fail_next()
    flushing = asyncio.create_task(buffer.flush())
    await loop_turns_until(store.entered_record.is_set)
    buffer.processed("telegram", 3)  # handled while the failing flush was in flight
    store.gate.set()
    with pytest.raises(RuntimeError):
        await flushing
    assert buffer.pending == 3

    store.gate = None
    buffer.processed("telegram", 4)
    await buffer.flush()

    assert [processed for _, processed in store.records] == [[("telegram", "", n) for n in (1, 2, 3, 4)]]
    assert buffer.pending == 0


async def test_an_empty_buffer_does_not_reach_the_store(buffer: ActivityBuffer, store: InMemoryActivityStore) -> None:
    await buffer.flush()

    assert store.attempts == 0


async def test_flushes_do_not_overlap(buffer: ActivityBuffer, store: InMemoryActivityStore) -> None:
    buffer.seen(ALICE, ALICE_INFO, GROUP, EARLY_23RD, messages=1)
    store.gate = asyncio.Event()
    first = asyncio.create_task(buffer.flush())
    await loop_turns_until(store.entered_record.is_set)
    buffer.seen(BOB, BOB_INFO, GROUP, NOON_23RD, messages=1)
    second = asyncio.create_task(buffer.flush())
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.attempts == 1  # the second flush waits for the first

    store.gate.set()
    await asyncio.gather(first, second)

    assert [[tally.member for tally in tallies] for tallies, _ in store.records] == [[ALICE], [BOB]]


async def test_run_stops_when_its_event_is_set_and_flushes(
    buffer: ActivityBuffer, store: InMemoryActivityStore
) -> None:
    stop = asyncio.Event()
    runner = asyncio.create_task(buffer.run(3600, stop))  # the interval never elapses in this test
    await asyncio.sleep(0)
    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD, messages=1)
    buffer.processed("telegram", 7)
    assert store.attempts == 0

    stop.set()
    await asyncio.wait_for(runner, timeout=2)  # a guard: a runner that ignored `stop` would hang here

    [(tallies, processed)] = store.records
    assert [tally.member for tally in tallies] == [ALICE] and processed == [("telegram", "", 7)]
    assert buffer.pending == 0


async def test_run_flushes_every_interval_and_survives_failures(
    buffer: ActivityBuffer, store: InMemoryActivityStore, caplog: pytest.LogCaptureFixture
) -> None:
    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD, messages=1)
    store.fail_next(1, error=lambda: StorageConflict(reason="deadlock"))
    store.fail_next(1)
    stop = asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="bot.members.activity"):
        runner = asyncio.create_task(buffer.run(0, stop))  # interval 0: flush on every turn of its loop
        await loop_turns_until(lambda: store.records)
        stop.set()
        await asyncio.wait_for(runner, timeout=2)

    assert store.attempts >= 3 and not runner.cancelled() and runner.exception() is None
    [(tallies, _)] = store.records
    assert tallies[0].messages == 1
    assert [record.levelno for record in caplog.records] == [logging.WARNING, logging.ERROR]


def test_a_leave_handled_after_a_newer_message_does_not_mark_the_member_gone():
    from datetime import UTC, date, datetime

    from bot.domain import ChatInfo, ChatRef, MemberRef, UserInfo, UserRef
    from bot.members.activity import ActivityBuffer

    buffer = ActivityBuffer(store=None, day_of=lambda chat, at: date(2026, 11, 23))  # type: ignore[arg-type]
    member = MemberRef(ChatRef("telegram", "-1"), UserRef("telegram", "1"))
    buffer.seen(member, UserInfo("A"), ChatInfo("G"), datetime(2026, 11, 23, 4, 0, tzinfo=UTC), messages=1)
    buffer.membership(member, UserInfo("A"), ChatInfo("G"), datetime(2026, 11, 23, 3, 55, tzinfo=UTC), left=True)
    [tally] = buffer._tallies.values()
    assert tally.left_at is None
    buffer.membership(member, UserInfo("A"), ChatInfo("G"), datetime(2026, 11, 23, 4, 5, tzinfo=UTC), left=True)
    assert tally.left_at == datetime(2026, 11, 23, 4, 5, tzinfo=UTC)


class PickyStore(InMemoryActivityStore):
    """Refuses any batch holding a tally of ``refused`` (as a database refuses a value too long for its column)."""

    def __init__(self, refused: MemberRef) -> None:
        super().__init__()
        self.refused = refused

    async def record(self, tallies, processed_updates) -> None:  # type: ignore[no-untyped-def]
        if any(tally.member == self.refused for tally in tallies):
            self.attempts += 1
            raise StorageRejected("value too long for type character varying(16)")
        await super().record(tallies, processed_updates)


async def test_a_row_the_database_refuses_does_not_hold_back_the_rest_of_the_batch(caplog) -> None:
    store = PickyStore(refused=BOB)
    buffer = ActivityBuffer(store, shanghai_day)
    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD, messages=2)
    buffer.seen(BOB, BOB_INFO, GROUP, NOON_23RD, messages=1)
    buffer.processed("telegram", 7, "7001")

    with caplog.at_level(logging.ERROR, logger="bot.members.activity"):
        await buffer.flush()

    assert [(tally.member, tally.messages) for tally in store.tallies] == [(ALICE, 2)]
    assert store.processed == [("telegram", "7001", 7)]
    assert buffer.pending == 0  # Bob's refused day is dropped, not retried every second
    assert "activity of user 2 in chat -100" in caplog.text and "refused" in caplog.text


async def test_an_outage_while_landing_rows_one_by_one_keeps_the_rest_for_the_next_flush() -> None:
    store = PickyStore(refused=ALICE)
    buffer = ActivityBuffer(store, shanghai_day)
    buffer.seen(ALICE, ALICE_INFO, GROUP, NOON_23RD, messages=1)
    buffer.seen(BOB, BOB_INFO, GROUP, NOON_23RD, messages=1)
    buffer.processed("telegram", 7, "7001")
    store.fail_next(error=lambda: ConnectionError("database went away"))  # Bob's row, on its own

    with pytest.raises(ConnectionError):
        await buffer.flush()
    assert buffer.pending == 2  # Bob's day and the update id; Alice's refused day is gone

    await buffer.flush()
    assert [tally.member for tally in store.tallies] == [BOB]
    assert store.processed == [("telegram", "7001", 7)]
