from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.domain import MemberRef
from bot.engagement.checkin import CheckinService
from bot.i18n import Translator
from bot.platforms.telegram.sender import confirm
from handlers.filters import IN_GROUP, IN_PRIVATE


def make_router() -> Router:
    router = Router(name="checkin")

    @router.message(Command("checkin"), IN_GROUP)
    async def cmd_checkin(message: Message, member: MemberRef, checkins: CheckinService, t: Translator) -> None:
        result = await checkins.check_in(member, at=message.date)
        if not result.new:
            text = t("checkin.already", streak=result.streak)
        elif result.freezes_used:
            text = t("checkin.done_freezes", points=result.awarded, streak=result.streak, freezes=result.freezes_used)
        elif result.forgiven:
            text = t("checkin.done_forgiven", points=result.awarded, streak=result.streak)
        elif result.bonus:
            text = t("checkin.done_bonus", points=result.awarded, bonus=result.bonus, streak=result.streak)
        else:
            text = t("checkin.done", points=result.awarded, streak=result.streak)
        await confirm(message.reply(text), "check-in", message.chat.id)  # stored: never an apology for it

    @router.message(Command("checkin"), IN_PRIVATE)
    async def cmd_checkin_private(message: Message, t: Translator) -> None:
        await message.answer(t("checkin.group_only"))

    return router


def make_as_chat_router() -> Router:
    """/checkin sent on behalf of a chat (a channel, an anonymous administrator): there is no member to
    credit, so she is told how to check in instead of silence (she asked for something)."""
    router = Router(name="checkin_as_chat")

    @router.message(Command("checkin"), IN_GROUP)
    async def cmd_checkin_as_chat(message: Message, t: Translator) -> None:
        sender = message.sender_chat.title if message.sender_chat is not None else None
        await message.reply(t("checkin.as_chat", chat=sender or message.chat.title or ""))

    return router
