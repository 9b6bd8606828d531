"""Daily check-in: one per member per local day, with a consecutive-day streak.

Check-ins are group-committed: concurrent requests share one transaction, and each member
learns her result only after it is committed. Members already known to have checked in
today are answered from memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.errors import StorageConflict
from bot.core.ports import LedgerEntry, NewCheckin, UnitOfWork, UnitOfWorkFactory
from bot.domain import CheckinRecord, MemberRef, UserRef
from bot.points import ledger
from bot.points.points_desk import PointsDesk


class FreezesChanged(StorageConflict):
    """Her bought freezes changed under us; the batch runs again."""


@dataclass(frozen=True, slots=True)
class CheckinRules:
    base_points: int = 10
    streak_bonus: Mapping[int, int] = field(default_factory=dict)
    # One missed day is forgiven automatically once per this many days; 0 turns forgiveness off.
    freeze_every_days: int = 0


@dataclass(frozen=True, slots=True)
class CheckinResult:
    new: bool
    day: date
    streak: int
    awarded: int = 0
    bonus: int = 0
    balance: int | None = None
    forgiven: bool = False  # a missed day was bridged to keep the streak
    freezes_used: int = 0  # bought freezes spent on it


@dataclass(frozen=True, slots=True)
class CheckinRequest:
    member: MemberRef
    day: date
    at: datetime


def local_day(at: datetime, timezone: ZoneInfo, starts_at: time = time(0)) -> date:
    """The community day ``at`` belongs to: a 02:00 feed still counts for yesterday when days start at 04:00."""
    local = at.astimezone(timezone)
    return (local - timedelta(hours=starts_at.hour, minutes=starts_at.minute)).date()


def forgiveness_due(last: CheckinRecord, today: date, every_days: int) -> bool:
    """Is the automatic forgiveness of a missed day available? At most once in any ``every_days`` days."""
    return every_days > 0 and (last.freeze_used_on is None or (today - last.freeze_used_on).days > every_days)


def freeze_available(last: CheckinRecord, today: date, every_days: int) -> bool:
    """May the one day missed before ``today`` be forgiven automatically?"""
    return last.day == today - timedelta(days=2) and forgiveness_due(last, today, every_days)


def covered_by_pause(last_day: date, today: date, pause: tuple[date, date] | None) -> bool:
    """Were all the days missed between ``last_day`` and ``today`` inside the member's pause?"""
    if pause is None or today - last_day <= timedelta(days=1):
        return False
    first_missed, last_missed = last_day + timedelta(days=1), today - timedelta(days=1)
    return pause[0] <= first_missed and last_missed <= pause[1]


def next_record(
    last: CheckinRecord | None, today: date, every_days: int = 0, pause: tuple[date, date] | None = None
) -> CheckinRecord:
    """The record a check-in ``today`` creates: the streak grows after yesterday, after days inside a
    pause, or after a single missed day when a freeze is available; otherwise it starts again at one."""
    if last is None:
        return CheckinRecord(today, 1)
    if last.day == today - timedelta(days=1) or covered_by_pause(last.day, today, pause):
        return CheckinRecord(today, last.streak + 1, last.freeze_used_on)
    if freeze_available(last, today, every_days):
        return CheckinRecord(today, last.streak + 1, today - timedelta(days=1))
    return CheckinRecord(today, 1, last.freeze_used_on)


def freezes_needed(last: CheckinRecord, today: date, every_days: int) -> tuple[int, date | None]:
    """Bought freezes that would bridge the days missed since ``last`` (one fewer while the automatic
    forgiveness is available), and the forgiven day the new record carries."""
    missed = (today - last.day).days - 1
    if forgiveness_due(last, today, every_days):
        return missed - 1, today - timedelta(days=1)
    return missed, last.freeze_used_on


def current_streak(
    last: CheckinRecord | None, today: date, every_days: int = 0, pause: tuple[date, date] | None = None
) -> int:
    """The streak as it stands today: alive after a check-in today or yesterday, across a pause, or
    after a single missed day that a freeze can still bridge."""
    if last is None:
        return 0
    if (
        last.day >= today - timedelta(days=1)
        or covered_by_pause(last.day, today, pause)
        or freeze_available(last, today, every_days)
    ):
        return last.streak
    return 0


def points_for(streak: int, rules: CheckinRules) -> tuple[int, int]:
    """(base, bonus): the bonus is paid on the day the streak reaches a configured length."""
    return rules.base_points, rules.streak_bonus.get(streak, 0)


def checkin_key(member: MemberRef, day: date) -> str:
    return f"checkin:{member.chat.platform}:{member.chat.external_id}:{member.user.external_id}:{day.isoformat()}"


class CheckinService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        rules: CheckinRules,
        day_of: Callable[[MemberRef, datetime], date],
        on_checked_in: Callable[[MemberRef, date, datetime], None] = lambda member, day, at: None,
        desk: PointsDesk | None = None,
    ) -> None:
        self._rules = rules
        self._day_of = day_of
        self._on_checked_in = on_checked_in
        # The latest check-in we know of per member. Rows are never deleted, so "checked in
        # today" read from here is always true; anything else is decided by the database.
        self._known: dict[MemberRef, CheckinRecord] = {}
        self._desk = desk or PointsDesk(uow_factory)
        self._desk.register(CheckinRequest, self._step)

    async def check_in(self, member: MemberRef, at: datetime) -> CheckinResult:
        """Check in at ``at`` (the event's own time, so a redelivered update lands on the same day)."""
        today = self._day_of(member, at)
        known = self._known.get(member)
        if known is not None and known.day >= today:
            return CheckinResult(new=False, day=today, streak=known.streak)
        result: CheckinResult = await self._desk.submit(CheckinRequest(member, today, at))
        # Committed by now: safe to remember, and to count.
        known = self._known.get(member)
        if result.day == today and (known is None or known.day <= today):
            self._known[member] = CheckinRecord(today, result.streak)
        if result.new:
            self._on_checked_in(member, today, at)
        return result

    def forget_user(self, user: UserRef) -> None:
        self._known = {member: record for member, record in self._known.items() if member.user != user}

    async def _step(self, uow: UnitOfWork, requests: Sequence[CheckinRequest]) -> list[CheckinResult]:
        """Decide and write a batch of check-ins inside the desk's transaction."""
        latest = await uow.checkins.latest_many([request.member for request in requests])
        latest_before = dict(latest)
        pauses = await uow.profiles.pauses([request.member.user for request in requests])
        planned: list[tuple[CheckinRequest, CheckinRecord, bool]] = []
        for request in requests:
            last = latest.get(request.member)
            if last is None or last.day < request.day:
                pause = pauses.get(request.member.user)
                record = next_record(last, request.day, self._rules.freeze_every_days, pause)
                forgiven = last is not None and record.freeze_used_on != last.freeze_used_on
                planned.append((request, record, forgiven))
                latest[request.member] = record  # a twin in this batch is refused
        bridged = await self._bridge_with_bought_freezes(uow, planned, latest_before)
        planned = [
            (request, *bridged[request.member][:2]) if request.member in bridged else (request, record, forgiven)
            for request, record, forgiven in planned
        ]
        for member, (record, _, _) in bridged.items():
            latest[member] = record
        planned_records = {(request.member, request.day): (record, forgiven) for request, record, forgiven in planned}
        inserted = await uow.checkins.add_many(
            [
                NewCheckin(request.member, request.day, record.streak, request.at, record.freeze_used_on)
                for request, record, _ in planned
            ]
        )
        entries = []
        for request, record, _ in planned:
            base, bonus = points_for(record.streak, self._rules)
            if (request.member, request.day) in inserted and base + bonus:
                entries.append(
                    LedgerEntry(
                        member=request.member,
                        delta=base + bonus,
                        reason="checkin",
                        reference=request.day.isoformat(),
                        idempotency_key=checkin_key(request.member, request.day),
                        at=request.at,
                    )
                )
        balances = await ledger.post_many(uow, entries)
        used: dict[MemberRef, int] = {}
        for member, _ in inserted:
            if member in bridged:
                # After the insert: a check-in that lost a race spends nothing.
                if not await uow.checkins.change_freezes(member, -bridged[member][2]):
                    raise FreezesChanged()
                used[member] = bridged[member][2]
        return [self._result(request, planned_records, latest, inserted, balances, used) for request in requests]

    async def _bridge_with_bought_freezes(
        self,
        uow: UnitOfWork,
        planned: Sequence[tuple[CheckinRequest, CheckinRecord, bool]],
        latest_before: Mapping[MemberRef, CheckinRecord],
    ) -> dict[MemberRef, tuple[CheckinRecord, bool, int]]:
        """Streaks about to break that the member's bought freezes can carry: {member: (record, True, freezes)}."""
        broken = {
            request.member: (request, latest_before[request.member])
            for request, record, _ in planned
            if record.streak == 1 and request.member in latest_before
        }
        if not broken:
            return {}
        bought = await uow.checkins.freezes(list(broken))
        bridged = {}
        for member, (request, last) in broken.items():
            needed, forgiven_on = freezes_needed(last, request.day, self._rules.freeze_every_days)
            if 0 < needed <= bought.get(member, 0):
                bridged[member] = (CheckinRecord(request.day, last.streak + 1, forgiven_on), True, needed)
        return bridged

    def _result(
        self,
        request: CheckinRequest,
        planned_records: Mapping[tuple[MemberRef, date], tuple[CheckinRecord, bool]],
        latest: dict[MemberRef, CheckinRecord],
        inserted: set[tuple[MemberRef, date]],
        balances: Mapping[str, int],
        used: Mapping[MemberRef, int],
    ) -> CheckinResult:
        planned = planned_records.get((request.member, request.day))
        record, forgiven = planned if planned is not None else (latest[request.member], False)
        if (request.member, request.day) not in inserted:
            # Already checked in (possibly by a concurrent instance that won the database race).
            return CheckinResult(new=False, day=request.day, streak=record.streak)
        inserted.discard((request.member, request.day))  # a twin request later in the batch is "already"
        base, bonus = points_for(record.streak, self._rules)
        key = checkin_key(request.member, request.day)
        return CheckinResult(
            new=True,
            day=request.day,
            streak=record.streak,
            awarded=base + bonus,
            bonus=bonus,
            balance=balances.get(key),
            forgiven=forgiven,
            freezes_used=used.get(request.member, 0),
        )
