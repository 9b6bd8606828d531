"""Leaderboards kept in memory: rolling week and month, and the season ("all"), per group and community-wide.

Every committed points movement updates sorted boards, so /top reads the first ten entries
instead of summing a window of the ledger. The boards are built from the daily aggregates at
start-up (before updates flow, so nothing can slip between the read and the build); a new season
rebuilds only the season boards, from the days kept in memory; days leave the rolling windows as
the chat's day turns. Departed members keep their points but are hidden from the sorted order, so
they are back, with their points, when they return.

One process's view: with several bot processes, each sees the others' awards after a restart.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sortedcontainers import SortedList

from bot.core.announcements import display_name
from bot.core.ports import Clock, PointsMoved, SeasonInfo, UnitOfWorkFactory
from bot.domain import ChatRef, MemberRef, UserInfo, UserRef

logger = logging.getLogger(__name__)


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    SEASON = "all"


WINDOW_DAYS = {Period.WEEK: 7, Period.MONTH: 30}
KEPT_DAYS = max(WINDOW_DAYS.values())


def _accumulate(totals: dict[int, list[float]], key: int, points: int, at: float) -> None:
    """Add to {key: [points, reached at]}, keeping the latest time, for Board.build."""
    entry = totals.get(key)
    if entry is None:
        totals[key] = [points, at]
    else:
        entry[0] += points
        entry[1] = max(entry[1], at)


class Board:
    """Keys ordered by points (highest first), ties to whoever reached her total first.

    Hidden keys (members who left) keep their points but stay out of the order, so reading the
    top and a rank never has to skip anyone.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[int, float]] = {}
        self._order: SortedList = SortedList()
        self._hidden: set[int] = set()

    def __len__(self) -> int:
        return len(self._order)

    def add(self, key: int, delta: int, at: float) -> None:
        visible = key not in self._hidden
        old = self._entries.get(key)
        if old is not None and visible:
            self._order.remove((-old[0], old[1], key))
        points = (old[0] if old else 0) + delta
        # A rise moves her "reached at" to now; a deduction or an expired day does not.
        reached = at if delta > 0 or old is None else old[1]
        if points > 0:
            self._entries[key] = (points, reached)
            if visible:
                self._order.add((-points, reached, key))
        else:
            self._entries.pop(key, None)

    @classmethod
    def build(cls, totals: dict[int, list[float]], hidden: set[int]) -> Board:
        """A board from {key: [points, reached at]} in one sort (loading adds hundreds of thousands)."""
        board = cls()
        board._entries = {key: (int(points), reached) for key, (points, reached) in totals.items() if points > 0}
        board._hidden = {key for key in hidden if key in board._entries}
        board._order = SortedList(
            (-points, reached, key) for key, (points, reached) in board._entries.items() if key not in board._hidden
        )
        return board

    def reached(self, key: int) -> float:
        entry = self._entries.get(key)
        return entry[1] if entry else 0.0

    def hide(self, key: int) -> None:
        if key in self._hidden:
            return
        self._hidden.add(key)
        entry = self._entries.get(key)
        if entry is not None:
            self._order.remove((-entry[0], entry[1], key))

    def show(self, key: int) -> None:
        if key not in self._hidden:
            return
        self._hidden.discard(key)
        entry = self._entries.get(key)
        if entry is not None:
            self._order.add((-entry[0], entry[1], key))

    def top(self, size: int) -> list[tuple[int, int]]:
        """The first ``size`` (key, points), best first."""
        return [(key, -negative_points) for negative_points, _, key in self._order.islice(0, size)]

    def position(self, key: int) -> tuple[int, int] | None:
        """(index in the order, points) of a visible ``key`` with points."""
        entry = self._entries.get(key)
        if entry is None or key in self._hidden:
            return None
        return self._order.index((-entry[0], entry[1], key)), entry[0]



@dataclass(frozen=True, slots=True)
class Standing:
    rank: int
    member: MemberRef | UserRef
    points: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class TopList:
    period: Period
    community: bool
    entries: list[Standing]
    me: Standing | None  # the caller, when she is on the board
    season: str | None = None


class _Scope:
    """One group's boards, or the community's (keyed by user instead of member)."""

    def __init__(self) -> None:
        self.boards = {period: Board() for period in Period}


class Leaderboard:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        day_of: Callable[[ChatRef, datetime], date],
        *,
        size: int = 10,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._day_of = day_of
        self.size = size
        self._reset()
        self.season: SeasonInfo | None = None

    def _reset(self) -> None:
        self._keys: dict[MemberRef | UserRef, int] = {}
        self._refs: list[MemberRef | UserRef] = []
        self._groups: dict[ChatRef, _Scope] = defaultdict(_Scope)
        self._community = _Scope()
        # Per chat: {day: {member key: points}} for the days still inside a rolling window.
        # Points only: a day leaving a window is a deduction, which never moves "reached at".
        self._days: dict[ChatRef, dict[date, dict[int, int]]] = defaultdict(dict)
        self._today: dict[ChatRef, date] = {}
        self._departed: set[int] = set()  # member keys
        self._present_chats: dict[int, set[ChatRef]] = defaultdict(set)  # user key -> chats she is in

    # -- loading -------------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild every board from the daily aggregates (start-up, and after a season starts)."""
        now = self._clock.now()
        async with self._uow_factory(read_only=True) as uow:
            season = await uow.standings.current_season()
            # A day more than the longest window: chats in other timezones may be a day behind.
            recent = await uow.standings.daily_since(now.date() - timedelta(days=KEPT_DAYS + 1))
            totals = await uow.standings.totals_since(self._season_first_day(season))
            # Its first day counts from the moment it started: what was earned earlier that day is the old season's.
            carried = await uow.standings.earned_before(season.first_day, season.started_at) if season else {}
            departed = await uow.standings.departed()
        self._reset()
        self.season = season
        # Sum everything into plain dicts first, then sort each board once.
        group_totals: dict[tuple[ChatRef, Period], dict[int, list[float]]] = defaultdict(dict)
        community_totals: dict[Period, dict[int, list[float]]] = defaultdict(dict)

        keys_by_object: dict[int, tuple[int, int]] = {}  # storage shares one ref per member: skip re-hashing it

        def count(member: MemberRef, period: Period, points: int, at: float) -> None:
            keys = keys_by_object.get(id(member))
            if keys is None:
                keys = keys_by_object[id(member)] = (self._key(member), self._key(member.user))
            _accumulate(group_totals[(member.chat, period)], keys[0], points, at)
            _accumulate(community_totals[period], keys[1], points, at)

        todays: dict[ChatRef, date] = {}
        for row in recent:
            today = todays.get(row.member.chat) or todays.setdefault(row.member.chat, self._advance(row.member.chat))
            if row.day <= today - timedelta(days=KEPT_DAYS):
                continue
            self._days[row.member.chat].setdefault(row.day, {})[self._key(row.member)] = row.earned
            for period, days in WINDOW_DAYS.items():
                if row.day > today - timedelta(days=days):
                    count(row.member, period, row.earned, row.updated_at.timestamp())
        for row in totals:
            if points := row.earned - carried.get(row.member, 0):
                count(row.member, Period.SEASON, points, row.updated_at.timestamp())
        departed_keys = {self._key(member) for member in departed}
        self._departed = departed_keys
        for (chat, period), chat_totals in group_totals.items():
            for key in chat_totals:
                if key not in departed_keys:
                    self._present_chats[self._key(self._refs[key].user)].add(chat)  # type: ignore[union-attr]
        absent_users = {
            self._key(member.user) for member in departed if not self._present_chats.get(self._key(member.user))
        }
        for (chat, period), chat_totals in group_totals.items():
            self._groups[chat].boards[period] = Board.build(chat_totals, departed_keys)
        for period, user_totals in community_totals.items():
            self._community.boards[period] = Board.build(user_totals, absent_users)
        for member in departed:  # boards with no points yet still hide her later points
            for board in self._groups[member.chat].boards.values():
                board.hide(self._keys[member])
        logger.info("leaderboards loaded: %d daily rows, %d season totals", len(recent), len(totals))

    async def refresh_season(self) -> bool:
        """Reload if an operator started a season (the CLI runs in another process); True if it did."""
        async with self._uow_factory(read_only=True) as uow:
            season = await uow.standings.current_season()
            if season == self.season:
                return False
            # Fixed once the season started (earlier movements), so reading it first lets nothing slip.
            carried = await uow.standings.earned_before(season.first_day, season.started_at) if season else {}
        recent_enough = season is not None and all(
            season.first_day > today - timedelta(days=KEPT_DAYS) for today in self._today.values()
        )
        if not recent_enough:
            await self.load()
            return True
        assert season is not None
        # The new season's days are still in memory: rebuild only the season boards, without a
        # database read or an await, so no movement can slip between the read and the swap.
        self.season = season
        carried_keys = {self._keys[member]: points for member, points in carried.items() if member in self._keys}
        group_totals: dict[ChatRef, dict[int, list[float]]] = defaultdict(dict)
        community_totals: dict[int, list[float]] = {}
        for chat, days in self._days.items():
            week = self._groups[chat].boards[Period.WEEK]
            for day, points_by_key in days.items():
                if day < season.first_day:
                    continue
                for key, points in points_by_key.items():
                    if day == season.first_day:
                        points -= carried_keys.get(key, 0)
                    if not points:
                        continue
                    reached = week.reached(key)  # her latest rise, which is in the new season
                    _accumulate(group_totals[chat], key, points, reached)
                    _accumulate(community_totals, self._key(self._user_of(key)), points, reached)
        for chat, scope in self._groups.items():
            scope.boards[Period.SEASON] = Board.build(group_totals.get(chat, {}), self._departed)
        absent = {key for key in community_totals if not self._present_chats.get(key)}
        self._community.boards[Period.SEASON] = Board.build(community_totals, absent)
        logger.info("season %s started: season boards rebuilt from %d members' recent days", season.name, len(community_totals))
        return True

    def _season_first_day(self, season: SeasonInfo | None) -> date:
        return season.first_day if season else date.min

    # -- updates -------------------------------------------------------------------------------

    def on_points(self, moved: Sequence[PointsMoved]) -> None:
        """Storage observer: apply committed movements that count as earned."""
        for item in moved:
            if not item.earned or (self.season and item.day < self.season.first_day):
                continue
            today = self._advance(item.member.chat)
            at = item.at.timestamp()
            key = self._key(item.member)
            if item.day > today - timedelta(days=KEPT_DAYS):
                day = self._days[item.member.chat].setdefault(item.day, {})
                day[key] = day.get(key, 0) + item.delta
            for period, days in WINDOW_DAYS.items():
                if item.day > today - timedelta(days=days):
                    self._add(item.member, period, item.delta, at)
            if not (self.season and item.day == self.season.first_day and item.at < self.season.started_at):
                self._add(item.member, Period.SEASON, item.delta, at)  # else earned before the season started

    def presence(self, member: MemberRef, present: bool) -> None:
        """Activity observer: members who leave drop off the boards, and come back with their points."""
        if present:
            self.present(member)
        else:
            self.departed(member)

    def departed(self, member: MemberRef) -> None:
        key, user_key = self._key(member), self._key(member.user)
        self._departed.add(key)
        for board in self._groups[member.chat].boards.values():
            board.hide(key)
        chats = self._present_chats[user_key]
        chats.discard(member.chat)
        if not chats:  # gone from every group she earned in: off the community boards too
            for board in self._community.boards.values():
                board.hide(user_key)

    def present(self, member: MemberRef) -> None:
        """She is (back) in the chat. Called for every message, so the common case is two lookups."""
        key = self._keys.get(member)
        if key is None:
            return  # no points here, nothing to show
        if key in self._departed:
            self._departed.discard(key)
            for board in self._groups[member.chat].boards.values():
                board.show(key)
        user_key = self._keys[member.user]
        chats = self._present_chats[user_key]
        if member.chat not in chats:
            chats.add(member.chat)
            for board in self._community.boards.values():
                board.show(user_key)

    def _add(self, member: MemberRef, period: Period, delta: int, at: float) -> None:
        member_key, user_key = self._key(member), self._key(member.user)
        if member_key not in self._departed:
            self._present_chats[user_key].add(member.chat)
        self._groups[member.chat].boards[period].add(member_key, delta, at)
        self._community.boards[period].add(user_key, delta, at)

    def _advance(self, chat: ChatRef) -> date:
        """The chat's today; days that left a window come off its boards."""
        today = self._day_of(chat, self._clock.now())
        previous = self._today.get(chat)
        if previous is None or today <= previous:
            self._today.setdefault(chat, today)
            return self._today[chat]
        self._today[chat] = today
        days = self._days[chat]
        for period, window in WINDOW_DAYS.items():
            for day in sorted(days):
                if previous - timedelta(days=window) < day <= today - timedelta(days=window):
                    for key, points in days[day].items():
                        member = self._refs[key]
                        assert isinstance(member, MemberRef)
                        self._groups[chat].boards[period].add(key, -points, 0.0)
                        self._community.boards[period].add(self._key(member.user), -points, 0.0)
        for day in [day for day in days if day <= today - timedelta(days=KEPT_DAYS)]:
            del days[day]
        return today

    def turn_days(self) -> None:
        """Take expired days off every board now (scheduled as the day turns), so no member's /top waits for it."""
        for chat in list(self._today):
            self._advance(chat)

    def _key(self, ref: MemberRef | UserRef) -> int:
        key = self._keys.get(ref)
        if key is None:
            key = self._keys[ref] = len(self._refs)
            self._refs.append(ref)
        return key

    # -- reading -------------------------------------------------------------------------------

    async def top(self, member: MemberRef, period: Period, *, community: bool = False) -> TopList:
        """The first ``size`` present members (and the caller's own place), with their names."""
        for chat in [member.chat] if not community else list(self._today):
            self._advance(chat)
        board = (self._community if community else self._groups[member.chat]).boards[period]
        entries = [(rank, key, points) for rank, (key, points) in enumerate(board.top(self.size), start=1)]
        me_key = self._keys.get(member.user if community else member)
        position = board.position(me_key) if me_key is not None else None
        me = (position[0] + 1, me_key, position[1]) if position is not None else None
        names = await self._names([self._user_of(key) for _, key, _ in entries + ([me] if me else [])])
        return TopList(
            period,
            community,
            [self._standing(entry, names) for entry in entries],
            self._standing(me, names) if me else None,
            self.season.name if self.season else None,
        )

    async def chat_top(self, chat: ChatRef, period: Period) -> TopList:
        """A group's leaders for a scheduled post (nobody asked, so no caller's own place)."""
        return await self.top(MemberRef(chat, UserRef(chat.platform, "")), period)

    def _user_of(self, key: int) -> UserRef:
        ref = self._refs[key]
        return ref.user if isinstance(ref, MemberRef) else ref

    def _standing(self, entry: tuple[int, int, int], names: dict[UserRef, UserInfo]) -> Standing:
        rank, key, points = entry
        return Standing(rank, self._refs[key], points, display_name(names.get(self._user_of(key))))

    async def _names(self, users: list[UserRef]) -> dict[UserRef, UserInfo]:
        if not users:
            return {}
        async with self._uow_factory(read_only=True) as uow:
            return await uow.members.users(users)
