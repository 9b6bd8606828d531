"""CheckinService against in-memory ports: group commit, idempotent payment, streaks, retries."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.errors import StorageConflict
from bot.domain import ChatRef, MemberRef, UserRef
from bot.engagement.checkin import CheckinRules, CheckinService, checkin_key, local_day
from tests.services.fakes import InMemoryStore, loop_turns_until

SHANGHAI = ZoneInfo("Asia/Shanghai")
CHAT = ChatRef("telegram", "-100")
NOON_UTC = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, 23 November
TODAY = date(2026, 11, 23)



def member(user: int | str, chat: ChatRef = CHAT) -> MemberRef:
    return MemberRef(chat, UserRef("telegram", str(user)))


ALICE = member(1)


class Recorder:
    """The ``on_checked_in`` hook, remembering its calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[MemberRef, date, datetime]] = []

    def __call__(self, who: MemberRef, day: date, at: datetime) -> None:
        self.calls.append((who, day, at))


def make_service(
    store: InMemoryStore,
    rules: CheckinRules | None = None,
    timezone_of=lambda who: SHANGHAI,
    on_checked_in=None,
    day_starts_at: time = time(0),
) -> CheckinService:
    kwargs = {} if on_checked_in is None else {"on_checked_in": on_checked_in}

    def day_of(who: MemberRef, at: datetime) -> date:
        return local_day(at, timezone_of(who), day_starts_at)

    return CheckinService(store.uow_factory, rules or CheckinRules(base_points=10), day_of, **kwargs)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


async def test_first_check_in_stores_it_and_pays_the_base_points(store: InMemoryStore) -> None:
    hook = Recorder()
    service = make_service(store, on_checked_in=hook)

    result = await service.check_in(ALICE, NOON_UTC)

    assert (result.new, result.day, result.streak, result.awarded, result.bonus, result.balance) == (
        True,
        TODAY,
        1,
        10,
        0,
        10,
    )
    assert store.checkin_days(ALICE) == [TODAY]
    [entry] = store.ledger_of(ALICE)
    assert (entry.delta, entry.reason, entry.reference, entry.at) == (10, "checkin", "2026-11-23", NOON_UTC)
    assert entry.idempotency_key == checkin_key(ALICE, TODAY)
    assert store.balance(ALICE) == 10
    assert hook.calls == [(ALICE, TODAY, NOON_UTC)]


async def test_fifty_concurrent_checkins_by_one_member_store_one(store: InMemoryStore) -> None:
    hook = Recorder()
    service = make_service(store, on_checked_in=hook)

    results = await asyncio.gather(*(service.check_in(ALICE, NOON_UTC + timedelta(seconds=i)) for i in range(50)))

    assert sum(result.new for result in results) == 1
    assert all(result.day == TODAY and result.streak == 1 for result in results)
    assert [result.awarded for result in results if not result.new] == [0] * 49
    assert store.checkin_days(ALICE) == [TODAY]
    assert len(store.ledger_of(ALICE)) == 1
    assert store.balance(ALICE) == 10
    assert len(hook.calls) == 1


async def test_checkins_arriving_together_share_one_transaction(store: InMemoryStore) -> None:
    service = make_service(store)
    members = [member(i) for i in range(20)]

    results = await asyncio.gather(*(service.check_in(who, NOON_UTC) for who in members))

    assert all(result.new and result.balance == 10 for result in results)
    assert len(store.write_units) == 1  # 20 requests, one transaction
    assert store.commits == 1
    assert all(store.checkin_days(who) == [TODAY] and store.balance(who) == 10 for who in members)


async def test_requests_arriving_while_a_batch_commits_form_the_next_batch(store: InMemoryStore) -> None:
    service = make_service(store)
    first = asyncio.gather(*(service.check_in(member(i), NOON_UTC) for i in range(5)))
    await loop_turns_until(lambda: store.units)  # the first batch is now inside its transaction
    assert len(store.units) == 1 and not store.units[0].closed
    second = asyncio.gather(*(service.check_in(member(i), NOON_UTC) for i in range(5, 10)))

    results = [*await first, *await second]

    assert all(result.new for result in results)
    assert len(store.write_units) == 2
    assert all(store.balance(member(i)) == 10 for i in range(10))


async def test_each_member_gets_her_own_result_from_a_shared_batch(store: InMemoryStore) -> None:
    service = make_service(store, CheckinRules(base_points=10, streak_bonus={2: 5}))
    yesterday_noon = NOON_UTC - timedelta(days=1)
    await service.check_in(member("veteran"), yesterday_noon)  # streak 2 today, bonus 5

    fresh, veteran = await asyncio.gather(
        service.check_in(member("fresh"), NOON_UTC), service.check_in(member("veteran"), NOON_UTC)
    )

    assert (fresh.streak, fresh.awarded, fresh.bonus, fresh.balance) == (1, 10, 0, 10)
    assert (veteran.streak, veteran.awarded, veteran.bonus, veteran.balance) == (2, 15, 5, 25)


async def test_a_member_checked_in_today_is_answered_without_the_database(store: InMemoryStore) -> None:
    hook = Recorder()
    service = make_service(store, on_checked_in=hook)
    await service.check_in(ALICE, NOON_UTC)
    units_before = len(store.units)

    again = await service.check_in(ALICE, NOON_UTC + timedelta(hours=3))

    assert (again.new, again.day, again.streak, again.awarded, again.balance) == (False, TODAY, 1, 0, None)
    assert len(store.units) == units_before  # not even a read
    assert len(store.ledger_of(ALICE)) == 1
    assert len(hook.calls) == 1


async def test_a_member_unknown_to_this_instance_is_looked_up_and_not_paid_twice(store: InMemoryStore) -> None:
    # Another instance (or this one before a restart) checked her in today.
    await make_service(store).check_in(ALICE, NOON_UTC)
    hook = Recorder()
    restarted = make_service(store, on_checked_in=hook)

    result = await restarted.check_in(ALICE, NOON_UTC + timedelta(hours=1))

    assert (result.new, result.day, result.streak, result.awarded) == (False, TODAY, 1, 0)
    assert len(store.ledger_of(ALICE)) == 1 and store.balance(ALICE) == 10
    assert hook.calls == []
    # ...and now she is known: the next request does not reach the database.
    units_before = len(store.units)
    assert not (await restarted.check_in(ALICE, NOON_UTC + timedelta(hours=2))).new
    assert len(store.units) == units_before


async def test_two_instances_racing_for_one_member_pay_once(store: InMemoryStore) -> None:
    one, other = make_service(store), make_service(store)

    results = await asyncio.gather(one.check_in(ALICE, NOON_UTC), other.check_in(ALICE, NOON_UTC))

    assert sorted(result.new for result in results) == [False, True]
    assert store.commit_attempts == 3  # both staged it; the loser's commit conflicted and its retry found the row
    assert store.checkin_days(ALICE) == [TODAY]
    assert len(store.ledger_of(ALICE)) == 1 and store.balance(ALICE) == 10


async def test_losing_the_insert_race_to_another_instance_answers_already_and_pays_nothing(
    store: InMemoryStore,
) -> None:
    winner = make_service(store)
    hook = Recorder()
    loser = make_service(store, on_checked_in=hook)
    won: list[object] = []

    async def winner_commits_first() -> None:
        won.append(await winner.check_in(ALICE, NOON_UTC))

    store.before_next_add_many = winner_commits_first  # after the loser read "no check-in yet"

    lost = await loser.check_in(ALICE, NOON_UTC + timedelta(minutes=1))

    assert [result.new for result in won] == [True]
    assert (lost.new, lost.day, lost.streak, lost.awarded, lost.balance) == (False, TODAY, 1, 0, None)
    assert len(store.ledger_of(ALICE)) == 1 and store.balance(ALICE) == 10
    assert hook.calls == []
    units_before = len(store.units)
    assert not (await loser.check_in(ALICE, NOON_UTC + timedelta(hours=1))).new  # now known to the loser
    assert len(store.units) == units_before


async def test_streak_grows_on_consecutive_days_and_bonus_is_paid(store: InMemoryStore) -> None:
    service = make_service(store, CheckinRules(base_points=10, streak_bonus={3: 5}))
    days = [NOON_UTC + timedelta(days=n) for n in range(4)]

    results = [await service.check_in(ALICE, at) for at in days]

    assert [r.streak for r in results] == [1, 2, 3, 4]
    assert [r.bonus for r in results] == [0, 0, 5, 0]
    assert [r.awarded for r in results] == [10, 10, 15, 10]
    assert [r.balance for r in results] == [10, 20, 35, 45]
    assert [e.delta for e in store.ledger_of(ALICE)] == [10, 10, 15, 10]
    assert [store.stored_checkin(ALICE, r.day).streak for r in results] == [1, 2, 3, 4]


async def test_a_missed_day_restarts_the_streak(store: InMemoryStore) -> None:
    service = make_service(store, CheckinRules(base_points=10, streak_bonus={2: 5}))
    await service.check_in(ALICE, NOON_UTC)
    await service.check_in(ALICE, NOON_UTC + timedelta(days=1))

    after_gap = await service.check_in(ALICE, NOON_UTC + timedelta(days=3))

    assert (after_gap.new, after_gap.streak, after_gap.bonus, after_gap.awarded) == (True, 1, 0, 10)
    assert store.stored_checkin(ALICE, after_gap.day).streak == 1


async def test_a_streak_known_only_to_the_database_is_continued(store: InMemoryStore) -> None:
    await make_service(store).check_in(ALICE, NOON_UTC - timedelta(days=1))

    result = await make_service(store).check_in(ALICE, NOON_UTC)

    assert (result.new, result.streak) == (True, 2)


async def test_a_conflict_is_retried_and_pays_once(store: InMemoryStore) -> None:
    hook = Recorder()
    service = make_service(store, on_checked_in=hook)
    store.fail_next_commits(2)

    result = await service.check_in(ALICE, NOON_UTC)

    assert (result.new, result.balance) == (True, 10)
    assert store.commit_attempts == 3
    assert len(store.write_units) == 3  # the whole transaction ran again each time
    assert len(store.ledger_of(ALICE)) == 1 and store.balance(ALICE) == 10
    assert store.checkin_days(ALICE) == [TODAY]
    assert len(hook.calls) == 1


async def test_conflicts_beyond_the_retry_budget_fail_and_store_nothing(store: InMemoryStore) -> None:
    service = make_service(store)
    store.fail_next_commits(5)

    with pytest.raises(StorageConflict):
        await service.check_in(ALICE, NOON_UTC)

    assert store.commit_attempts == 5
    assert store.checkin_days(ALICE) == [] and store.ledger_of(ALICE) == []
    assert (await service.check_in(ALICE, NOON_UTC)).new  # nothing was remembered as done


async def test_a_failing_batch_fails_every_waiter_and_stores_nothing(store: InMemoryStore) -> None:
    hook = Recorder()
    service = make_service(store, on_checked_in=hook)
    members = [member(i) for i in range(5)]
    store.fail_next_commits(1, error=lambda: RuntimeError("disk full"))

    async with asyncio.timeout(2):  # a guard: a waiter left without an answer would hang here
        outcomes = await asyncio.gather(*(service.check_in(who, NOON_UTC) for who in members), return_exceptions=True)

    assert all(isinstance(outcome, RuntimeError) and str(outcome) == "disk full" for outcome in outcomes)
    assert store.commit_attempts == 1  # not a conflict: not retried
    assert store.commits == 0 and store.checkins == {} and store.entries == {} and store.balances == {}
    assert hook.calls == []
    # Nothing was acknowledged, so nothing is answered from memory: the next attempt checks in.
    retried = await asyncio.gather(*(service.check_in(who, NOON_UTC) for who in members))
    assert all(result.new and result.balance == 10 for result in retried)


async def test_check_in_uses_the_event_time_in_the_members_timezone(store: InMemoryStore) -> None:
    zones = {member("east"): SHANGHAI, member("west"): ZoneInfo("UTC")}
    service = make_service(store, timezone_of=lambda who: zones[who])
    late_evening_utc = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # 07:30 on the 23rd in Shanghai

    east, west = await asyncio.gather(
        service.check_in(member("east"), late_evening_utc), service.check_in(member("west"), late_evening_utc)
    )

    assert east.day == date(2026, 11, 23) and west.day == date(2026, 11, 22)
    assert store.checkin_days(member("east")) == [date(2026, 11, 23)]
    assert store.checkin_days(member("west")) == [date(2026, 11, 22)]
    assert store.stored_checkin(member("east"), east.day).at == late_evening_utc
    [entry] = store.ledger_of(member("east"))
    assert entry.idempotency_key == checkin_key(member("east"), date(2026, 11, 23))


async def test_a_redelivered_update_lands_on_its_own_day_not_today(store: InMemoryStore) -> None:
    service = make_service(store)
    yesterday = NOON_UTC - timedelta(days=1)
    await service.check_in(ALICE, yesterday)
    await service.check_in(ALICE, NOON_UTC)

    redelivered = await make_service(store).check_in(ALICE, yesterday)

    assert (redelivered.new, redelivered.day) == (False, TODAY - timedelta(days=1))
    assert len(store.ledger_of(ALICE)) == 2 and store.balance(ALICE) == 20


async def test_zero_points_check_in_is_stored_without_a_ledger_entry(store: InMemoryStore) -> None:
    service = make_service(store, CheckinRules(base_points=0))

    result = await service.check_in(ALICE, NOON_UTC)

    assert (result.new, result.awarded, result.balance) == (True, 0, None)
    assert store.checkin_days(ALICE) == [TODAY]
    assert store.entries == {}


async def test_check_ins_for_two_days_in_one_batch_each_report_their_own_streak(store: InMemoryStore) -> None:
    service = make_service(store, CheckinRules(base_points=10, streak_bonus={2: 5}))
    just_before_midnight = datetime(2026, 11, 22, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
    just_after_midnight = datetime(2026, 11, 22, 16, 0, 1, tzinfo=UTC)  # 00:00:01 the next day

    first, second = await asyncio.gather(
        service.check_in(ALICE, just_before_midnight), service.check_in(ALICE, just_after_midnight)
    )

    # Storage and ledger are right either way: streaks 1 and 2, payments 10 and 15.
    assert [store.stored_checkin(ALICE, day).streak for day in store.checkin_days(ALICE)] == [1, 2]
    assert [entry.delta for entry in store.ledger_of(ALICE)] == [10, 15]
    # What each member is told should match what was stored and paid for that day.
    assert (first.day, first.streak, first.awarded, first.bonus) == (date(2026, 11, 22), 1, 10, 0)
    assert (second.day, second.streak, second.awarded, second.bonus) == (date(2026, 11, 23), 2, 15, 5)
    # The later day is the one remembered: a third request that day is answered from memory.
    units_before = len(store.units)
    again = await service.check_in(ALICE, just_after_midnight + timedelta(hours=1))
    assert (again.new, again.day, again.streak) == (False, date(2026, 11, 23), 2)
    assert len(store.units) == units_before


async def test_a_feed_at_two_in_the_morning_still_counts_for_yesterday(store: InMemoryStore) -> None:
    service = make_service(store, day_starts_at=time(4, 0))
    evening = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    night = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 02:00 on the 24th in Shanghai
    morning = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 04:30 on the 24th in Shanghai

    first = await service.check_in(member("night-feeder"), evening)
    again = await service.check_in(member("night-feeder"), night)
    next_day = await service.check_in(member("night-feeder"), morning)

    assert (first.new, first.day) == (True, date(2026, 11, 23))
    assert (again.new, again.day) == (False, date(2026, 11, 23))
    assert (next_day.new, next_day.day, next_day.streak) == (True, date(2026, 11, 24), 2)
