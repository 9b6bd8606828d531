from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.i18n import Translator
from handlers.filters import GROUP_TYPES


def make_router() -> Router:
    router = Router(name="start")

    @router.message(CommandStart())
    async def cmd_start(message: Message, bot: Bot, t: Translator, community_name: str) -> None:
        me = await bot.me()
        key = "start.group" if message.chat.type in GROUP_TYPES else "start.private"
        await message.answer(t(key, community=community_name, bot=f"@{me.username}"))

    @router.message(Command("help"))
    async def cmd_help(message: Message, t: Translator, operators: frozenset[int]) -> None:
        lines = [t("help.header"), t("help.member")]
        if message.from_user is not None and message.from_user.id in operators:
            lines.append(t("help.operator"))
        await message.answer("\n".join(lines))

    return router
