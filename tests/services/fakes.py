"""In-memory implementations of the service ports (``bot/core/ports.py``).

They keep the semantics the services rely on, so the service tests exercise real behaviour:

* a unit of work stages its writes and applies them only on ``commit``; leaving it without
  committing (or a failed commit) discards them, so rollback is real;
* a transaction sees its own staged writes, and nothing of other open transactions;
* ``add_many`` refuses a second check-in for the same member and day, ``append_many`` a used
  idempotency key, as the database's unique constraints do;
* if another transaction committed a conflicting row in the meantime, ``commit`` raises
  ``StorageConflict`` (as a serialization failure would), so a retry sees the winner's row;
* every repository call yields to the event loop once, like real I/O, so concurrent
  transactions interleave.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date, datetime

from bot.core.errors import StorageConflict
from bot.core.ports import LedgerEntry, NewCheckin
from bot.domain import ActivityTally, CheckinRecord, MemberRef, MemberStanding, UserRef

ErrorFactory = Callable[[], BaseException]


async def _io() -> None:
    """One loop turn, as a database round trip would give."""
    await asyncio.sleep(0)


class InMemoryStore:
    """Committed state: check-ins per member, ledger entries and balances."""

    def __init__(self) -> None:
        self.checkins: dict[MemberRef, dict[date, NewCheckin]] = {}
        self.entries: dict[str, LedgerEntry] = {}  # by idempotency key, in commit order
        self.balances: dict[MemberRef, int] = {}
        self.streak_pauses: dict[UserRef, tuple[date, date]] = {}  # set directly by tests
        self.freezes: dict[MemberRef, int] = {}  # bought streak freezes, set directly by tests
        self.units: list[FakeUnitOfWork] = []  # every unit of work entered, in order
        self.commit_attempts = 0
        self.commits = 0
        self._commit_failures: deque[ErrorFactory] = deque()
        # Awaited (once, then cleared) at the start of the next ``add_many``: lets a test commit
        # a competing transaction between a reader's ``latest_many`` and its insert.
        self.before_next_add_many: Callable[[], Awaitable[object]] | None = None

    # -- the factory handed to services (a UnitOfWorkFactory) -------------------------------

    def uow_factory(self, *, read_only: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self, read_only=read_only)

    # -- fault injection ---------------------------------------------------------------------

    def fail_next_commits(self, count: int, error: ErrorFactory = StorageConflict) -> None:
        """The next ``count`` commits raise ``error()`` (StorageConflict by default) and apply nothing."""
        self._commit_failures.extend([error] * count)

    # -- inspection --------------------------------------------------------------------------

    @property
    def write_units(self) -> list[FakeUnitOfWork]:
        return [unit for unit in self.units if not unit.read_only]

    def checkin_days(self, member: MemberRef) -> list[date]:
        return sorted(self.checkins.get(member, {}))

    def stored_checkin(self, member: MemberRef, day: date) -> NewCheckin:
        return self.checkins[member][day]

    def ledger_of(self, member: MemberRef) -> list[LedgerEntry]:
        return [entry for entry in self.entries.values() if entry.member == member]

    def balance(self, member: MemberRef) -> int:
        return self.balances.get(member, 0)

    # -- used by FakeUnitOfWork --------------------------------------------------------------

    def _next_commit_failure(self) -> BaseException | None:
        return self._commit_failures.popleft()() if self._commit_failures else None

    def _apply(self, checkins: Sequence[NewCheckin], entries: Sequence[LedgerEntry]) -> None:
        for checkin in checkins:
            self.checkins.setdefault(checkin.member, {})[checkin.day] = checkin
        for entry in entries:
            self.entries[entry.idempotency_key] = entry
            self.balances[entry.member] = self.balances.get(entry.member, 0) + entry.delta
        self.commits += 1


class FakeUnitOfWork:
    """One transaction over an ``InMemoryStore``; it is its own async context manager."""

    def __init__(self, store: InMemoryStore, *, read_only: bool = False) -> None:
        self.store = store
        self.read_only = read_only
        self.members = FakeMemberRepository(self)
        self.checkins = FakeCheckinRepository(self)
        self.ledger = FakeLedgerRepository(self)
        self.profiles = FakeProfileRepository(store)
        self.entered = False
        self.committed = False
        self.closed = False
        self.staged_checkins: dict[tuple[MemberRef, date], NewCheckin] = {}
        self.staged_entries: dict[str, LedgerEntry] = {}

    async def __aenter__(self) -> FakeUnitOfWork:
        assert not self.entered, "a unit of work is entered once"
        self.entered = True
        self.store.units.append(self)
        await _io()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._discard()
        self.closed = True

    async def commit(self) -> None:
        self._assert_open()
        self.store.commit_attempts += 1
        await _io()
        failure = self.store._next_commit_failure()
        if failure is not None:
            self._discard()
            raise failure
        # Rows another transaction committed since ours staged them: the database would abort us.
        if any(day in self.store.checkins.get(member, {}) for member, day in self.staged_checkins) or any(
            key in self.store.entries for key in self.staged_entries
        ):
            self._discard()
            raise StorageConflict(reason="concurrent_commit")
        self.store._apply(list(self.staged_checkins.values()), list(self.staged_entries.values()))
        self.committed = True
        self._discard()

    # -- views of committed state plus this transaction's own writes ---------------------------

    def checkins_of(self, member: MemberRef) -> dict[date, NewCheckin]:
        days = dict(self.store.checkins.get(member, {}))
        days.update({day: checkin for (who, day), checkin in self.staged_checkins.items() if who == member})
        return days

    def key_used(self, key: str) -> bool:
        return key in self.store.entries or key in self.staged_entries

    def balance(self, member: MemberRef) -> int:
        staged = sum(entry.delta for entry in self.staged_entries.values() if entry.member == member)
        return self.store.balance(member) + staged

    def _assert_open(self) -> None:
        assert self.entered and not self.closed, "unit of work used outside its `async with`"
        assert not self.committed, "unit of work used after commit"

    def _assert_writable(self) -> None:
        self._assert_open()
        assert not self.read_only, "write in a read-only unit of work"

    def _discard(self) -> None:
        self.staged_checkins = {}
        self.staged_entries = {}


class FakeMemberRepository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def standing(self, member: MemberRef) -> MemberStanding | None:
        self._uow._assert_open()
        await _io()
        store = self._uow.store
        known = {m for m in [*store.checkins, *store.balances] if m.chat == member.chat}
        known |= {c.member for c in self._uow.staged_checkins.values() if c.member.chat == member.chat}
        known |= {e.member for e in self._uow.staged_entries.values() if e.member.chat == member.chat}
        if member not in known:
            return None
        balance = self._uow.balance(member)
        days = self._uow.checkins_of(member)
        last = max(days) if days else None
        return MemberStanding(
            balance=balance,
            rank=1 + sum(1 for other in known if self._uow.balance(other) > balance),
            members_ranked=len(known),
            streak=days[last].streak if last else 0,
            last_checkin=last,
            checkins=len(days),
            joined_at=None,
        )


class FakeCheckinRepository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.latest_calls: list[list[MemberRef]] = []
        self.add_calls: list[list[NewCheckin]] = []

    async def latest_many(self, members: Sequence[MemberRef]) -> dict[MemberRef, CheckinRecord]:
        self._uow._assert_open()
        self.latest_calls.append(list(members))
        await _io()
        latest: dict[MemberRef, CheckinRecord] = {}
        for member in members:
            days = self._uow.checkins_of(member)
            if days:
                last = max(days)
                latest[member] = CheckinRecord(last, days[last].streak, days[last].freeze_used_on)
        return latest

    async def add_many(self, checkins: Sequence[NewCheckin]) -> set[tuple[MemberRef, date]]:
        self._uow._assert_writable()
        self.add_calls.append(list(checkins))
        hook, self._uow.store.before_next_add_many = self._uow.store.before_next_add_many, None
        if hook is not None:
            await hook()
        await _io()
        stored: set[tuple[MemberRef, date]] = set()
        for checkin in checkins:
            if checkin.day in self._uow.checkins_of(checkin.member):
                continue  # one check-in per member and day (a unique constraint in the database)
            self._uow.staged_checkins[(checkin.member, checkin.day)] = checkin
            stored.add((checkin.member, checkin.day))
        return stored

    async def freezes(self, members: Sequence[MemberRef]) -> dict[MemberRef, int]:
        return {member: self._uow.store.freezes[member] for member in members if self._uow.store.freezes.get(member)}

    async def change_freezes(self, member: MemberRef, delta: int) -> bool:
        # Not transactional (bought freezes are exercised against real databases in tests/dispatcher).
        self._uow._assert_writable()
        have = self._uow.store.freezes.get(member, 0)
        if have + delta < 0:
            return False
        self._uow.store.freezes[member] = have + delta
        return True


class FakeLedgerRepository:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.append_calls: list[list[LedgerEntry]] = []

    async def append_many(self, entries: Sequence[LedgerEntry]) -> dict[str, int]:
        self._uow._assert_writable()
        self.append_calls.append(list(entries))
        await _io()
        paid: list[LedgerEntry] = []
        for entry in entries:
            if self._uow.key_used(entry.idempotency_key):
                continue  # the idempotency key is unique in the database
            self._uow.staged_entries[entry.idempotency_key] = entry
            paid.append(entry)
        # Like the SQL repository: each key paid now maps to its member's balance after the whole call.
        return {entry.idempotency_key: self._uow.balance(entry.member) for entry in paid}


class InMemoryActivityStore:
    """An ``ActivityStore`` that records what it was given and can be told to fail or to wait."""

    def __init__(self, recent: Sequence[tuple[str, int]] = ()) -> None:
        self.records: list[tuple[list[ActivityTally], list[tuple[str, int]]]] = []  # successful calls, copied
        self.attempts = 0
        self.processed: list[tuple[str, int]] = list(recent)
        self.since_asked: list[datetime] = []
        self.gate: asyncio.Event | None = None  # when set, ``record`` waits for it before answering
        self.entered_record = asyncio.Event()
        self._failures: deque[ErrorFactory] = deque()

    def fail_next(self, count: int = 1, error: ErrorFactory = lambda: RuntimeError("activity store down")) -> None:
        self._failures.extend([error] * count)

    async def record(self, tallies: Sequence[ActivityTally], processed_updates: Sequence[tuple[str, int]]) -> None:
        self.attempts += 1
        self.entered_record.set()
        if self.gate is not None:
            await self.gate.wait()
        else:
            await _io()
        if self._failures:
            raise self._failures.popleft()()
        self.records.append(([replace(tally) for tally in tallies], list(processed_updates)))
        self.processed.extend(processed_updates)

    async def recent_updates(self, since: datetime) -> list[tuple[str, int]]:
        self.since_asked.append(since)
        await _io()
        return list(self.processed)

    # -- inspection --------------------------------------------------------------------------

    @property
    def tallies(self) -> list[ActivityTally]:
        return [tally for tallies, _ in self.records for tally in tallies]

    def tallies_for(self, member: MemberRef, day: date) -> list[ActivityTally]:
        return [tally for tally in self.tallies if tally.member == member and tally.day == day]


async def loop_turns_until(condition, limit: int = 50) -> None:
    """Let the event loop run turn by turn (never sleeping) until ``condition()`` holds."""
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


class FakeProfileRepository:
    """Only what the check-in service reads: streak pauses."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store

    async def pauses(self, users: Sequence[UserRef]) -> dict[UserRef, tuple[date, date]]:
        await _io()
        return {user: self._store.streak_pauses[user] for user in users if user in self._store.streak_pauses}
