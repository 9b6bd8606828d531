"""/report [reason], as a reply: alert the moderators (one alert per message, updated as reports add up)."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.core.announcements import Announcer
from bot.core.lengths import clip_reason
from bot.domain import ChatRef, MemberRef
from bot.i18n import Translator
from bot.moderation.reports import ReportService
from bot.platforms.telegram import refs
from handlers.faq import message_link
from handlers.filters import IN_GROUP

logger = logging.getLogger(__name__)


def make_router() -> Router:
    router = Router(name="reports")

    @router.message(Command("report"), IN_GROUP)
    async def cmd_report(
        message: Message, command: CommandObject, bot: Bot, member: MemberRef, reports: ReportService,
        announcer: Announcer, admin_chat_id: int | None, t: Translator,
    ) -> None:  # fmt: skip
        reported = message.reply_to_message
        if reported is None:
            await message.reply(t("report.usage"))
            return
        author = reported.from_user
        reason = clip_reason(command.args or "")  # what is stored, and quoted to the moderators
        outcome = await reports.report(
            member.chat, str(reported.message_id), refs.user_ref(author) if author else None, member.user, reason
        )
        if not outcome.new:
            await message.reply(t("report.already"))
            return
        if admin_chat_id is not None:
            admin = announcer.for_chat(ChatRef(refs.PLATFORM, str(admin_chat_id)))
            text = admin(
                "report.alert",
                group=message.chat.title or str(message.chat.id),
                name=author.full_name if author else "-",
                count=outcome.reports,
                reason=reason or admin("moderation.no_reason"),
                link=message_link(message, reported.message_id),
            )
            await _alert(bot, admin_chat_id, text, outcome.alert_message_id, reports, member.chat, str(reported.message_id))
        await message.reply(t("report.thanks"))

    return router


async def _alert(
    bot: Bot, admin_chat_id: int, text: str, alert_message_id: str | None, reports: ReportService, chat: ChatRef, message_id: str
) -> None:
    """Update the alert for this message, or post it (again, if the old one was deleted)."""
    if alert_message_id is not None:
        try:
            await bot.edit_message_text(text, chat_id=admin_chat_id, message_id=int(alert_message_id))
            return
        except TelegramAPIError as exc:
            logger.info("could not update report alert %s: %s", alert_message_id, exc)
    try:
        sent = await bot.send_message(admin_chat_id, text)
    except TelegramAPIError as exc:
        logger.warning("could not alert the admin chat %s about a report: %s", admin_chat_id, exc)
        return
    await reports.alerted(chat, message_id, str(sent.message_id))
