"""Manual points changes by moderators: awards and deductions, each recording who and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.errors import DomainError
from bot.core.lengths import fit
from bot.core.ports import Clock, LedgerEntry, UnitOfWorkFactory
from bot.domain import MemberRef, UserRef
from bot.points import ledger

MAX_MANUAL_POINTS = 10_000
NOTE_MAX = 200  # the ledger keeps a note of at most 200 characters


def clip_note(note: str) -> str:
    """A moderator's note on an award, short enough for the ledger and for the confirmation."""
    return fit(note.strip(), NOTE_MAX)


class CannotAwardSelf(DomainError):
    code = "award.self"


class InvalidAmount(DomainError):
    code = "award.amount"


class NotEnoughPoints(DomainError):
    code = "award.not_enough"


class UnknownMember(DomainError):
    code = "award.unknown_member"


@dataclass(frozen=True, slots=True)
class AwardResult:
    delta: int
    balance: int
    repeated: bool = False  # the same command arrived again and changed nothing


class AwardService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        featured_points: int = 20,
        event_points: int = 10,
        clock: Clock | None = None,
    ) -> None:
        self._clock = clock
        self._uow_factory = uow_factory
        self._featured_points = featured_points
        self.event_points = event_points

    async def attend(self, actor: UserRef, members: Sequence[MemberRef], event: str) -> list[MemberRef]:
        """Record that ``members`` took part in ``event`` (a name the moderator chooses, e.g. "2026-11-live").

        Each member is paid once per event, however often it is recorded; returns those paid now.
        """
        event = event.strip().lower()[:48]
        if not self.event_points or not event:
            return []
        entries = {
            member: LedgerEntry(
                member=member,
                delta=self.event_points,
                reason="event",
                reference=event,
                idempotency_key=f"event:{member.chat.platform}:{member.chat.external_id}:{event}:{member.user.external_id}",
                actor=actor,
                at=self._now(),
            )
            for member in members
            if member.user != actor
        }
        async with self._uow_factory() as uow:
            paid = await ledger.post_many(uow, list(entries.values()))
            await uow.commit()
        return [member for member, entry in entries.items() if entry.idempotency_key in paid]

    async def feature(self, actor: UserRef, author: MemberRef, post_key: str) -> AwardResult:
        """Mark a post as featured (精华) and award its author; a post pays once, whoever features it again."""
        if actor == author.user:
            raise CannotAwardSelf()
        async with self._uow_factory() as uow:
            entry = LedgerEntry(
                member=author,
                delta=self._featured_points,
                reason="featured",
                reference=post_key,
                idempotency_key=f"featured:{post_key}",
                actor=actor,
                at=self._now(),
            )
            balance = await ledger.post(uow, entry) if self._featured_points else None
            await uow.commit()
        if balance is None:
            return AwardResult(delta=0, balance=await self._balance(author), repeated=True)
        return AwardResult(delta=self._featured_points, balance=balance)

    def _now(self) -> datetime | None:
        return self._clock.now() if self._clock else None

    async def _balance(self, member: MemberRef) -> int:
        async with self._uow_factory(read_only=True) as uow:
            standing = await uow.members.standing(member)
        return standing.balance if standing else 0

    async def find_member(self, chat_member: MemberRef, username: str) -> MemberRef:
        """The member called @``username`` in the chat of ``chat_member``."""
        async with self._uow_factory(read_only=True) as uow:
            found = await uow.members.find_by_username(chat_member.chat, username.lstrip("@"))
        if found is None:
            raise UnknownMember(username=username.lstrip("@"))
        return found

    async def change(
        self, actor: UserRef, target: MemberRef, delta: int, note: str, *, request_key: str
    ) -> AwardResult:
        """Add (or, when negative, deduct) ``delta`` points; ``request_key`` makes a repeated command count once."""
        if actor == target.user:
            raise CannotAwardSelf()
        if delta == 0 or abs(delta) > MAX_MANUAL_POINTS:
            raise InvalidAmount(limit=MAX_MANUAL_POINTS)
        async with self._uow_factory() as uow:
            if delta < 0:
                standing = await uow.members.standing(target)
                balance = standing.balance if standing else 0
                if balance + delta < 0:
                    raise NotEnoughPoints(balance=balance)
            entry = LedgerEntry(
                member=target,
                delta=delta,
                reason="manual",
                idempotency_key=f"manual:{request_key}",
                actor=actor,
                note=clip_note(note) or None,
                at=self._now(),
            )
            balance_after = await ledger.post(uow, entry)
            await uow.commit()
        if balance_after is None:
            return AwardResult(delta=delta, balance=await self._balance(target), repeated=True)
        return AwardResult(delta=delta, balance=balance_after)
