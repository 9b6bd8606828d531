"""The schedule as the core sees it: groups, entries and their content, checked and immutable.

``bot/schedule_file.py`` builds it from the operator's TOML; a reload swaps the whole object.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.content.timing import QuietHours, Rule
from bot.domain import ChatRef
from bot.members.chats import ChatDirectory

Localised = Mapping[str, str]  # language -> text


class Kind(StrEnum):
    TOPIC = "topic"
    TIP = "tip"
    QUIZ = "quiz"
    POLL = "poll"
    ANNOUNCEMENT = "announcement"
    DRAW = "draw"
    LEADERBOARD = "leaderboard"
    MILESTONES = "milestones"


@dataclass(frozen=True, slots=True)
class TextItem:
    id: str
    text: Localised
    stages: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class QuizItem:
    id: str
    question: Localised
    options: Mapping[str, tuple[str, ...]]
    correct: int  # 0-based
    explanation: Localised
    stages: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PollItem:
    id: str
    question: Localised
    options: Mapping[str, tuple[str, ...]]
    stages: frozenset[str] = frozenset()


Item = TextItem | QuizItem | PollItem


@dataclass(frozen=True, slots=True)
class Bank:
    """Content to rotate through: each group sees every item once before any repeats."""

    name: str
    items: tuple[Item, ...]

    def choose(self, chat: ChatRef, used: set[str], stages: frozenset[str] = frozenset()) -> tuple[Item, bool]:
        """The next item for ``chat`` and whether it starts a new round (all were used)."""
        pool = [item for item in self.items if not stages or not item.stages or item.stages & stages]
        # A fixed shuffle per group: groups do not all get the same tip on the same day.
        random.Random(f"{self.name}:{chat.platform}:{chat.external_id}").shuffle(pool)
        fresh = [item for item in pool if item.id not in used]
        return (fresh[0], False) if fresh else (pool[0], True)


@dataclass(frozen=True, slots=True)
class Group:
    chat: ChatRef
    tags: frozenset[str] = frozenset()
    timezone: str | None = None
    quiet: QuietHours | None = None
    quiet_set: bool = False  # quiet hours given for this group ("" = none), rather than the default


@dataclass(frozen=True, slots=True)
class Targets:
    everyone: bool = False
    chats: frozenset[ChatRef] = frozenset()
    tags: frozenset[str] = frozenset()

    def include(self, group: Group) -> bool:
        return self.everyone or group.chat in self.chats or bool(self.tags & group.tags)


@dataclass(frozen=True, slots=True)
class DrawRule:
    min_checkins: int
    period_days: int
    winners: int
    prize: Localised


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    kind: Kind
    rule: Rule
    when: str  # as the operator wrote it, for previews
    targets: Targets
    text: Localised | None = None  # inline content
    quiz: QuizItem | None = None
    poll: PollItem | None = None
    bank: Bank | None = None
    stages: frozenset[str] = frozenset()
    defer_in_quiet_hours: bool = True
    skip_dates: frozenset[date] = frozenset()
    close_after: timedelta = timedelta(hours=12)
    draw: DrawRule | None = None
    period: str = "week"  # leaderboard
    private_tips: bool = False  # milestones: also each opted-in member's stage tip, privately


@dataclass(frozen=True, slots=True)
class Schedule:
    entries: tuple[Entry, ...] = ()
    groups: Mapping[ChatRef, Group] = field(default_factory=dict)
    default_quiet: QuietHours | None = None
    grace: timedelta = timedelta(minutes=15)
    skip_dates: frozenset[date] = frozenset()
    tips: Bank | None = None  # milestones' private stage tips
    sources: tuple[str, ...] = ()  # the files it was read from (the schedule and its own banks), for reloading

    def skips(self, entry: Entry, moment: datetime, zone: ZoneInfo) -> bool:
        """The local date of ``moment`` is a skip date, for the whole schedule or for this entry."""
        day = moment.astimezone(zone).date()
        return day in self.skip_dates or day in entry.skip_dates

    def apply_timezones(self, chats: ChatDirectory) -> None:
        """Groups given their own timezone here use it (for their check-in day too)."""
        for group in self.groups.values():
            if group.timezone:
                chats.set_timezone(group.chat, group.timezone)

    def entry(self, entry_id: str) -> Entry | None:
        return next((entry for entry in self.entries if entry.id == entry_id), None)

    def group(self, chat: ChatRef) -> Group:
        return self.groups.get(chat) or Group(chat)

    def quiet(self, group: Group) -> QuietHours | None:
        return group.quiet if group.quiet_set else self.default_quiet

    def targets(self, entry: Entry, chats: Sequence[ChatRef]) -> list[Group]:
        """The groups among ``chats`` (the bot's active groups) the entry posts to."""
        return [group for chat in chats if entry.targets.include(group := self.group(chat))]


@dataclass(frozen=True, slots=True)
class Post:
    """One scheduled post: an entry in a group at a time (the exactly-once key), and when it may go out."""

    entry: Entry
    chat: ChatRef
    scheduled_at: datetime  # nominal (UTC)
    release_at: datetime  # after quiet hours (UTC)
    zone: ZoneInfo
    status: str = "claimed"  # recorded as about to be sent

    @property
    def entry_id(self) -> str:
        return self.entry.id

    @property
    def key(self) -> tuple[str, ChatRef, datetime]:
        return self.entry.id, self.chat, self.scheduled_at
