"""Read side of a member's figures in a chat (/points, /me)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from bot.core.ports import Clock, UnitOfWorkFactory
from bot.domain import CheckinRecord, MemberRef, MemberStanding
from bot.engagement.checkin import current_streak


class MemberService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        day_of: Callable[[MemberRef, datetime], date],
        freeze_every_days: int = 0,
    ) -> None:
        self._freeze_every_days = freeze_every_days
        self._uow_factory = uow_factory
        self._clock = clock
        self._day_of = day_of

    async def standing(self, member: MemberRef) -> MemberStanding | None:
        """The member's figures with the streak as it stands today; None if she has no record here."""
        async with self._uow_factory(read_only=True) as uow:
            standing = await uow.members.standing(member)
            pause = (await uow.profiles.pauses([member.user])).get(member.user) if standing else None
        if standing is None:
            return None
        today = self._day_of(member, self._clock.now())
        last = (
            CheckinRecord(standing.last_checkin, standing.streak, standing.freeze_used_on)
            if standing.last_checkin
            else None
        )
        return replace(standing, streak=current_streak(last, today, self._freeze_every_days, pause))
