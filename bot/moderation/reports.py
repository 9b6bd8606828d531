"""/report: members flag a message for the moderators; reports of the same message are merged."""

from __future__ import annotations

from bot.core.lengths import clip_reason
from bot.core.ports import Clock, ReportOutcome, UnitOfWorkFactory
from bot.domain import ChatRef, UserRef


class ReportService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def report(self, chat: ChatRef, message_id: str, target: UserRef | None, reporter: UserRef, reason: str) -> ReportOutcome:
        """Store the report; ``new`` is False when she had reported this message already."""
        reason = clip_reason(reason)
        async with self._uow() as uow:
            outcome = await uow.moderation.add_report(chat, message_id, target, reporter, reason, self._clock.now())
            await uow.commit()
        return outcome

    async def alerted(self, chat: ChatRef, message_id: str, alert_message_id: str) -> None:
        """Remember the moderators' alert, so further reports update it instead of adding another."""
        async with self._uow() as uow:
            await uow.moderation.set_report_alert(chat, message_id, alert_message_id)
            await uow.commit()
