"""Platform-neutral references and records shared by services, adapters and storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A group chat on some platform ("telegram", later "wecom")."""

    platform: str
    external_id: str


@dataclass(frozen=True, slots=True)
class UserRef:
    platform: str
    external_id: str


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A user inside one chat: points, streaks and ranks are per chat."""

    chat: ChatRef
    user: UserRef


@dataclass(frozen=True, slots=True)
class UserInfo:
    """What the platform tells us about a user; refreshed when it changes."""

    display_name: str
    language: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True)
class ChatInfo:
    title: str
    kind: str = "group"


@dataclass(slots=True)
class ActivityTally:
    """A member's activity on one local day, accumulated in memory until the next flush."""

    member: MemberRef
    day: date
    user: UserInfo | None  # None: counted by a service that had no fresh platform info
    chat: ChatInfo | None
    last_seen_at: datetime
    left_at: datetime | None = None  # set when the latest event was leaving the chat
    messages: int = 0
    media: int = 0
    links: int = 0
    checkins: int = 0


@dataclass(frozen=True, slots=True)
class CheckinRecord:
    day: date
    streak: int
    freeze_used_on: date | None = None  # the last missed day forgiven in this streak's history


@dataclass(frozen=True, slots=True)
class MemberStanding:
    """A member's figures in one chat, for /points and /me."""

    balance: int
    rank: int
    members_ranked: int
    streak: int
    last_checkin: date | None
    checkins: int
    joined_at: datetime | None
    freeze_used_on: date | None = None
    freezes: int = 0  # bought streak freezes not used yet


@dataclass(frozen=True, slots=True)
class Profile:
    """What a member chose to tell in her profile; at most one date about her child."""

    trying_to_conceive: bool = False
    due_date: date | None = None
    birth_date: date | None = None
    language: str | None = None
    streak_paused: tuple[date, date] | None = None  # first and last day of a streak pause
    milestones: bool = False  # a group greeting on her baby's 100th day and birthdays


@dataclass(frozen=True, slots=True)
class StreakPause:
    first_day: date
    last_day: date
