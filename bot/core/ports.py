"""Ports: what the core needs from storage, time and chats. ``models/`` and the platforms implement them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.domain import ActivityTally, ChatRef, CheckinRecord, MemberRef, MemberStanding, Profile, UserInfo, UserRef


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


@dataclass(frozen=True, slots=True)
class PointsMoved:
    """A ledger entry as committed, handed to in-memory boards and achievements after the commit."""

    member: MemberRef
    delta: int
    reason: str
    day: date  # the chat's local day
    at: datetime
    earned: bool  # counts towards tiers and boards (spending and refunds do not)


class MemberRepository(Protocol):
    async def standing(self, member: MemberRef) -> MemberStanding | None: ...

    async def users(self, users: Sequence[UserRef]) -> dict[UserRef, UserInfo]:
        """Name, language and username as last seen, for the users we know."""
        ...

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

    async def freezes(self, members: Sequence[MemberRef]) -> dict[MemberRef, int]:
        """Bought streak freezes each member still has (members with none are absent)."""
        ...

    async def change_freezes(self, member: MemberRef, delta: int) -> bool:
        """Add (or use, when negative) bought freezes; False if she has fewer than would be used."""
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


@dataclass(frozen=True, slots=True)
class DailyPoints:
    member: MemberRef
    day: date
    earned: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TierState:
    tier: str | None  # None: the lowest tier
    warned_on: date | None = None


@dataclass(frozen=True, slots=True)
class SeasonInfo:
    name: str
    started_at: datetime
    # The community day it began. A season starts at an instant (started_at), not at a day boundary:
    # earlier days, and the points of this day earned before started_at, belong to the season before.
    first_day: date


class StandingsRepository(Protocol):
    """Earned points per day, tiers and seasons."""

    async def daily_since(self, since: date, members: Sequence[MemberRef] | None = None) -> list[DailyPoints]:
        """Earned points per member and day from ``since`` on (all members when ``members`` is None)."""
        ...

    async def totals_since(self, since: date, before: date | None = None) -> list[DailyPoints]:
        """Per member: earned points from ``since`` (up to ``before``), dated by the latest day (for "all" boards)."""
        ...

    async def departed(self) -> list[MemberRef]:
        """Members who left (or were removed from) their chat."""
        ...

    async def tiers(self, members: Sequence[MemberRef]) -> dict[MemberRef, TierState]: ...

    async def holding(self, tiers: Sequence[str]) -> list[tuple[MemberRef, str, UserInfo]]:
        """Present members whose stored tier is one of ``tiers`` (member, tier, user), by group."""
        ...

    async def tiered_or_earning(self, since: date) -> list[MemberRef]:
        """Members who hold a tier above the lowest, were warned, or earned points since ``since``."""
        ...

    async def set_tier(self, member: MemberRef, old: TierState, new: TierState) -> bool:
        """Move from ``old`` to ``new`` if ``old`` is still current (False when another process got there first)."""
        ...

    async def reason_counts(self, members: Sequence[MemberRef], reasons: Sequence[str]) -> dict[MemberRef, dict[str, int]]:
        """How many ledger entries each member received, per reason."""
        ...

    async def month_leaders(self, first_day: date, last_day: date) -> dict[ChatRef, tuple[MemberRef | None, MemberRef | None]]:
        """Per chat, present members only: (most points earned, most messages) over those days."""
        ...

    async def current_season(self) -> SeasonInfo | None: ...

    async def earned_before(self, day: date, at: datetime) -> dict[MemberRef, int]:
        """Per member: points earned on her group's local ``day`` before the instant ``at`` (from the ledger)."""
        ...

    async def start_season(self, name: str, at: datetime, first_day: date) -> int:
        """Close the current season at ``at``, archiving each group's standings (everything earned in it
        until now, today's points included), and start ``name`` from ``at`` (``first_day`` is today's
        community day); returns how many standings were archived."""
        ...


@dataclass(frozen=True, slots=True)
class BadgeGrant:
    member: MemberRef
    badge: str
    period: str = ""  # "2026-11" for monthly honours
    granted_by: UserRef | None = None


class BadgeRepository(Protocol):
    async def held(self, members: Sequence[MemberRef]) -> dict[MemberRef, list[tuple[str, str]]]:
        """(badge, period) pairs each member holds, oldest first."""
        ...

    async def grant_many(self, grants: Sequence[BadgeGrant], at: datetime) -> list[BadgeGrant]:
        """Store the grants not held yet; returns those stored now."""
        ...

    async def revoke(self, member: MemberRef, badge: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    member: MemberRef
    item: str
    cost: int
    status: str  # pending, fulfilled, cancelled
    created_at: datetime
    member_name: str = ""
    member_language: str | None = None  # her platform language, for notices about the order


class ShopRepository(Protocol):
    async def take_stock(self, item: str, stock: int | None) -> bool:
        """Count one more of ``item`` as taken unless all ``stock`` are (None: unlimited). Atomic."""
        ...

    async def release_stock(self, item: str) -> None: ...

    async def sold(self, items: Sequence[str]) -> dict[str, int]:
        """How many of each item are taken (items never sold are absent)."""
        ...

    async def orders_of(self, member: MemberRef, item: str) -> int:
        """Orders (not cancelled) the member holds for ``item``."""
        ...

    async def add_order(self, member: MemberRef, item: str, cost: int, key: str, status: str, at: datetime) -> int | None:
        """The new order's id, or None if ``key`` was used before."""
        ...

    async def order_by_key(self, key: str) -> Order | None: ...

    async def get(self, order_id: int) -> Order | None: ...

    async def list(self, status: str | None = None, limit: int = 100) -> list[Order]: ...

    async def set_status(self, order_id: int, old: str, new: str, by: str | None, at: datetime) -> bool:
        """Move an order from ``old`` to ``new``; False if it was not in ``old`` any more."""
        ...


FireKey = tuple[str, ChatRef, datetime]  # (entry id, chat, scheduled time): a scheduled post happens once


@dataclass(frozen=True, slots=True)
class FireClaim:
    entry_id: str
    chat: ChatRef
    scheduled_at: datetime
    status: str  # claimed (about to post), missed (past the grace period), quiet (skipped in quiet hours)


# A fire's status after a send that failed for a passing reason: claimed again by a later tick within
# grace, and recorded as missed once no tick can plan it any more. The others: claimed, sent, failed
# (for good), missed, quiet.
RETRY = "retry"


class FireClaimLike(Protocol):
    """Anything naming a fire and the status to record it with (a FireClaim, a scheduled Post)."""

    @property
    def entry_id(self) -> str: ...

    @property
    def chat(self) -> ChatRef: ...

    @property
    def scheduled_at(self) -> datetime: ...

    @property
    def status(self) -> str: ...


@dataclass(frozen=True, slots=True)
class PollRecord:
    id: int
    chat: ChatRef
    entry_id: str
    external_id: str  # the platform's poll id
    message_id: str
    kind: str  # quiz or poll
    question: str
    options: tuple[str, ...]
    correct: int | None  # 0-based, quizzes only
    closes_at: datetime
    closed_at: datetime | None = None


class ScheduleRepository(Protocol):
    async def groups(self) -> list[ChatRef]:
        """Group chats the bot is (as far as we know) still in."""
        ...

    async def set_active(self, chat: ChatRef, active: bool) -> None:
        """Whether the bot is in the group (scheduled posts go only to active groups)."""
        ...

    async def fired_since(self, since: datetime) -> set[FireKey]:
        """Fires recorded since then, except those waiting to be tried again (status retry)."""
        ...

    async def claim(self, claims: Sequence[FireClaimLike], at: datetime) -> dict[FireKey, int]:
        """Record the fires not recorded yet, or recorded with status retry (database-enforced: one
        instance wins each); returns {key: fire id} for those this call recorded."""
        ...

    async def finish(self, outcomes: Sequence[tuple[int, str, str | None]], at: datetime) -> None:
        """(fire id, status, message id) for posts that went out (sent), could not for good (failed),
        or could not for a passing reason (retry: claimed again by a later tick within grace)."""
        ...

    async def expire_retries(self, before: datetime, at: datetime) -> int:
        """Record fires still waiting to be tried again (status retry) scheduled before ``before`` as
        missed; returns how many."""
        ...

    async def paused(self) -> set[str]: ...

    async def set_paused(self, entry_id: str, paused: bool, by: str, at: datetime) -> bool:
        """False if it already was (or was not)."""
        ...

    async def used_items(self, chats: Sequence[ChatRef], bank: str) -> dict[ChatRef, set[str]]:
        """Bank items each chat has had in the current round."""
        ...

    async def use_items(self, bank: str, uses: Sequence[tuple[ChatRef, str, bool]], at: datetime) -> None:
        """(chat, item, new round): mark items used; a new round first forgets the chat's earlier rounds."""
        ...

    async def add_poll(self, fire_id: int | None, poll: PollRecord, at: datetime) -> int: ...

    async def poll(self, external_id: str) -> PollRecord | None: ...

    async def add_vote(self, poll_id: int, user: UserRef, options: Sequence[int], at: datetime) -> bool:
        """Store a member's vote; False if she had voted in this poll before (the first one counts)."""
        ...

    async def votes(self, poll_id: int) -> list[tuple[int, ...]]: ...

    async def due_polls(self, now: datetime) -> list[PollRecord]: ...

    async def close_poll(self, poll_id: int, at: datetime) -> bool:
        """Mark it closed; False if another instance did already."""
        ...

    async def checkin_counts(self, chat: ChatRef, first_day: date, last_day: date) -> dict[MemberRef, int]:
        """Check-ins per present member of ``chat`` over those days."""
        ...

    async def profiles(self, chat: ChatRef) -> list[tuple[MemberRef, Profile, UserInfo]]:
        """Present members of ``chat`` who have a profile."""
        ...


@dataclass(frozen=True, slots=True)
class Gap:
    """A question the FAQ had no confident answer for."""

    chat: ChatRef | None
    language: str
    text: str
    best_topic: str | None
    score: float
    at: datetime


class FaqRepository(Protocol):
    async def add_unanswered(self, gaps: Sequence[Gap], *, forget_before: datetime) -> None:
        """Keep questions without a confident answer; ones older than ``forget_before`` are deleted."""
        ...

    async def unanswered(self, since: datetime, limit: int) -> list[tuple[datetime, str, str | None, float]]:
        """(when, text, best topic, score), newest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction. Leaving it without ``commit`` rolls back."""

    members: MemberRepository
    checkins: CheckinRepository
    ledger: LedgerRepository
    content: ContentRepository
    privacy: PrivacyRepository
    profiles: ProfileRepository
    standings: StandingsRepository
    badges: BadgeRepository
    shop: ShopRepository
    schedule: ScheduleRepository
    faq: FaqRepository
    moderation: ModerationRepository

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

    async def record(self, tallies: Sequence[ActivityTally], processed_updates: Sequence[tuple[str, str, int]]) -> None:
        """Add the tallies to the daily aggregates and remember the (platform, bot, update id)s, in one transaction.

        Raises ``StorageRejected`` when the storage refuses the data itself (not when it is unavailable).
        """
        ...

    async def recent_updates(self, since: datetime) -> list[tuple[str, str, int, datetime]]:
        """(platform, bot, update id, processed at) processed since ``since``; older ones are forgotten."""
        ...


@dataclass(frozen=True, slots=True)
class ChatPreferences:
    """Per-chat overrides of the community defaults (None = use the default)."""

    timezone: str | None = None
    language: str | None = None


class ChatPreferencesStore(Protocol):
    async def load_all(self) -> dict[ChatRef, ChatPreferences]: ...


@dataclass(frozen=True, slots=True)
class PollRequest:
    question: str
    options: tuple[str, ...]
    correct: int | None = None  # a quiz's right option (0-based); None for a poll
    explanation: str = ""
    open_seconds: int | None = None  # the platform closes it itself after this long


@dataclass(frozen=True, slots=True)
class SentPoll:
    message_id: str
    poll_id: str


class DeliveryDeferred(Exception):
    """The platform could not take a post now for a reason that passes (the network, a server error, a
    rate limit outlasting the sender's patience); unlike a refusal (None), it is worth trying again."""


class Notifier(Protocol):
    """Sends on behalf of services (scheduler, achievements); each platform implements it."""

    async def post(self, chat: ChatRef, text: str, *, reply_to: str | None = None) -> str | None:
        """Post in a group; the message id, or None if the platform refused (for good: 403, 400).

        Raises DeliveryDeferred when it failed for a passing reason."""
        ...

    async def post_poll(self, chat: ChatRef, poll: PollRequest) -> SentPoll | None:
        """Like ``post``: None for a refusal, DeliveryDeferred for a passing failure."""
        ...

    async def stop_poll(self, chat: ChatRef, message_id: str) -> bool:
        """Close a poll; False if it could not (already closed, deleted)."""
        ...

    async def to_chat(self, chat: ChatRef, text: str) -> bool:
        """Post in a group; False if the platform refused or could not take it now."""
        ...

    async def to_user(self, user: UserRef, text: str) -> bool:
        """Write to a member privately; False if she has not started the bot or blocked it."""
        ...


# ---------------------------------------------------------------- moderation

# What a platform answered to a moderation step: done, or why not.
#   no_rights: the bot is not an administrator with the right it needs; target_admin: she is an administrator;
#   not_found: the message or member is gone; failed: anything else (logged).
Outcome = str
DONE = "done"


class GroupControl(Protocol):
    """Moderation steps in a group; each platform implements it. Never raises for expected refusals."""

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None, *, text_only: bool = False) -> Outcome:
        """Mute (``text_only``: may send text but no media or links) until ``until`` (None: until lifted)."""
        ...

    async def release(self, chat: ChatRef, user: UserRef) -> Outcome:
        """Give back the group's normal permissions."""
        ...

    async def remove(self, chat: ChatRef, user: UserRef) -> Outcome:
        """Remove from the group; she may come back with an invitation."""
        ...

    async def ban(self, chat: ChatRef, user: UserRef) -> Outcome: ...

    async def unban(self, chat: ChatRef, user: UserRef) -> Outcome: ...

    async def delete(self, chat: ChatRef, message_id: str) -> Outcome: ...

    async def is_admin(self, chat: ChatRef, user: UserRef) -> bool: ...


class ModerationLog(Protocol):
    """The moderation log chat: one message per action, with an undo button when it can be undone."""

    async def publish(self, text: str, *, undo: tuple[str, int] | None) -> str | None:
        """Post ``text``; ``undo`` is (button label, action id). Returns the message id."""
        ...

    async def amend(self, message_id: str, text: str) -> None:
        """Replace a published entry's text and drop its button (after an undo)."""
        ...


@dataclass(frozen=True, slots=True)
class NewAction:
    chat: ChatRef
    target: UserRef
    target_name: str
    actor: UserRef | None  # None: the bot on its own
    kind: str
    reason: str
    at: datetime
    filter: str | None = None
    source_message_id: str | None = None
    until: datetime | None = None
    outcome: Outcome = DONE
    # The message (or edit) this answers, e.g. "123" or "123@1764000000": with the chat and the kind it is
    # unique, so the same update handled twice (redelivered, or by two processes) stores and acts once.
    source_key: str | None = None


@dataclass(frozen=True, slots=True)
class ActionRecord:
    id: int
    chat: ChatRef
    target: UserRef
    target_name: str
    actor: UserRef | None
    kind: str
    reason: str
    at: datetime
    filter: str | None
    source_message_id: str | None
    until: datetime | None
    outcome: Outcome
    undone_at: datetime | None
    undone_by: UserRef | None
    log_message_id: str | None


@dataclass(frozen=True, slots=True)
class JoinRecord:
    chat: ChatRef
    user: UserRef
    name: str
    joined_at: datetime
    status: str  # verifying, passed, failed, none
    join_message_id: str | None = None
    welcome_message_id: str | None = None
    question: int | None = None
    answer: int | None = None
    attempts: int = 0
    deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    new: bool  # False: this member had reported this message already
    reports: int  # how many members have reported it
    alert_message_id: str | None  # the moderators' alert, once sent


@dataclass(frozen=True, slots=True)
class InactiveMember:
    member: MemberRef
    info: UserInfo
    last_seen: datetime | None  # her last message or check-in, or her join when she never spoke
    last_checkin: date | None
    noticed_at: datetime | None  # when the clean-up warned her


class ModerationRepository(Protocol):
    async def add(self, action: NewAction) -> int | None:
        """The new action's id; None when an action of that kind already answers ``action.source_key`` here."""
        ...

    async def by_source(self, chat: ChatRef, source_key: str, kind: str) -> ActionRecord | None: ...

    async def set_outcome(self, action_id: int, outcome: Outcome) -> None: ...

    async def remove(self, action_id: int) -> None:
        """Delete a claimed action whose platform step never happened (so a redelivery can claim it)."""
        ...

    async def get(self, action_id: int) -> ActionRecord | None: ...

    async def active_warnings(self, chat: ChatRef, target: UserRef, now: datetime) -> list[ActionRecord]:
        """Warnings not undone and not expired, oldest first."""
        ...

    async def mark_undone(self, action_id: int, by: UserRef | None, at: datetime) -> bool:
        """False when it was undone already (another moderator was quicker)."""
        ...

    async def set_log_message(self, action_id: int, message_id: str) -> None: ...

    async def save_join(self, join: JoinRecord) -> None:
        """Insert or replace her join record for that chat."""
        ...

    async def join(self, chat: ChatRef, user: UserRef) -> JoinRecord | None: ...

    async def settle_join(self, chat: ChatRef, user: UserRef, status: str) -> bool:
        """verifying -> ``status``; False when it was settled already."""
        ...

    async def add_attempt(self, chat: ChatRef, user: UserRef) -> int:
        """Count a wrong captcha answer; the attempts so far."""
        ...

    async def due_captchas(self, now: datetime) -> list[JoinRecord]: ...

    async def joins_since(self, since: datetime) -> list[JoinRecord]: ...

    async def add_report(
        self, chat: ChatRef, message_id: str, target: UserRef | None, reporter: UserRef, reason: str, at: datetime
    ) -> ReportOutcome: ...

    async def set_report_alert(self, chat: ChatRef, message_id: str, alert_message_id: str) -> None: ...

    async def inactive(
        self, chat: ChatRef | None, idle_since: datetime, checkin_since: date
    ) -> list[InactiveMember]:
        """Members still in the group, not seen since ``idle_since`` and with no check-in since ``checkin_since``."""
        ...

    async def notice(self, members: Sequence[MemberRef], at: datetime) -> None: ...

    async def mark_removed(self, member: MemberRef, at: datetime) -> None: ...
