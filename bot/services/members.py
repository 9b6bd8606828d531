"""Read side of a member's figures in a chat (/points, /me)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from zoneinfo import ZoneInfo

from bot.domain import MemberRef, MemberStanding
from bot.services.checkin import current_streak, local_day
from bot.services.ports import Clock, UnitOfWorkFactory


class MemberService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, timezone_of: Callable[[MemberRef], ZoneInfo]) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._timezone_of = timezone_of

    async def standing(self, member: MemberRef) -> MemberStanding | None:
        """The member's figures with the streak as it stands today; None if she has no record here."""
        async with self._uow_factory(read_only=True) as uow:
            standing = await uow.members.standing(member)
        if standing is None:
            return None
        today = local_day(self._clock.now(), self._timezone_of(member))
        return replace(standing, streak=current_streak(standing.last_checkin, standing.streak, today))
