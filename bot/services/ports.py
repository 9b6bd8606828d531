"""Ports: what the core needs from storage, time and chats. ``models/`` and the platforms implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.domain import ActivityTally, ChatRef, CheckinRecord, MemberRef, MemberStanding, Profile, UserRef


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware UTC datetime."""
        ...


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One append-only points movement. ``idempotency_key`` makes a retried event pay once."""

    member: MemberRef
    delta: int
    reason: str
    idempotency_key: str
    reference: str | None = None
    at: datetime | None = None
    actor: UserRef | None = None  # who made a manual change
    note: str | None = None  # and why


class MemberRepository(Protocol):
    async def standing(self, member: MemberRef) -> MemberStanding | None: ...

    async def find_by_username(self, chat: ChatRef, username: str) -> MemberRef | None:
        """A member of ``chat`` by her platform username (case-insensitive), if we have seen it."""
        ...


@dataclass(frozen=True, slots=True)
class NewCheckin:
    member: MemberRef
    day: date
    streak: int
    at: datetime
    freeze_used_on: date | None = None


class CheckinRepository(Protocol):
    async def latest_many(self, members: Sequence[MemberRef]) -> dict[MemberRef, CheckinRecord]:
        """Each member's most recent check-in (members with none are absent)."""
        ...

    async def add_many(self, checkins: Sequence[NewCheckin]) -> set[tuple[MemberRef, date]]:
        """Insert check-ins; returns those stored now. A day that already has one is skipped (database-enforced)."""
        ...


class LedgerRepository(Protocol):
    async def append_many(self, entries: Sequence[LedgerEntry]) -> dict[str, int]:
        """Insert entries whose key is new and move balances with them, in the caller's transaction.

        Returns {idempotency key: member's balance afterwards} for the entries inserted now.
        """
        ...

    async def earned(self, reason: str, members: Sequence[tuple[MemberRef, str]]) -> list[tuple[MemberRef, str]]:
        """One (member, reference) per ``reason`` entry the members earned with those references (days)."""
        ...

    async def given(self, reason: str, givers: Sequence[tuple[MemberRef, str]]) -> list[tuple[MemberRef, MemberRef]]:
        """(giver, receiver) for each ``reason`` entry a giver made in her chat with the given reference (day)."""
        ...


class ContentRepository(Protocol):
    async def seen_since(
        self, items: Sequence[tuple[ChatRef, str]], since: datetime
    ) -> dict[tuple[ChatRef, str], datetime]:
        """When each (chat, fingerprint) was last posted, for those posted since ``since``."""
        ...

    async def remember(self, items: Sequence[tuple[ChatRef, str, datetime]]) -> None:
        """Record that the content was posted at that time (keeping the latest time)."""
        ...


class PrivacyRepository(Protocol):
    async def export(self, user: UserRef) -> dict[str, Any] | None: ...

    async def forget(self, user: UserRef, replacement_id: str) -> bool:
        """Give the account ``replacement_id``, clear personal fields and notes about her; False if unknown."""
        ...


class ProfileRepository(Protocol):
    async def get(self, user: UserRef) -> Profile | None: ...

    async def save(self, user: UserRef, profile: Profile, at: datetime) -> None: ...

    async def delete(self, user: UserRef) -> bool: ...

    async def languages(self) -> dict[UserRef, str]: ...

    async def pauses(self, users: Sequence[UserRef]) -> dict[UserRef, tuple[date, date]]:
        """Each user's streak pause (first and last day), for those who have one."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving it without ``commit`` rolls back."""

    members: MemberRepository
    checkins: CheckinRepository
    ledger: LedgerRepository
    content: ContentRepository
    privacy: PrivacyRepository
    profiles: ProfileRepository

    async def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, read_only: bool = False) -> UnitOfWorkContext:
        """A read-only unit of work may run beside writers (and must not write)."""
        ...


class UnitOfWorkContext(Protocol):
    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...


class ActivityStore(Protocol):
    """Where the write-behind buffer lands: members seen, activity counts and processed update ids."""

    async def record(self, tallies: Sequence[ActivityTally], processed_updates: Sequence[tuple[str, int]]) -> None:
        """Add the tallies to the daily aggregates and remember the update ids, in one transaction."""
        ...

    async def recent_updates(self, since: datetime) -> list[tuple[str, int]]:
        """Update ids processed since ``since``; older ones are forgotten."""
        ...


@dataclass(frozen=True, slots=True)
class ChatPreferences:
    """Per-chat overrides of the community defaults (None = use the default)."""

    timezone: str | None = None
    language: str | None = None


class ChatPreferencesStore(Protocol):
    async def load_all(self) -> dict[ChatRef, ChatPreferences]: ...
