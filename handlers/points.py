from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.domain import MemberRef
from bot.i18n import Translator
from bot.services.chats import ChatDirectory
from bot.services.members import MemberService
from handlers.filters import IN_GROUP, IN_PRIVATE


def make_router() -> Router:
    router = Router(name="points")

    @router.message(Command("points"), IN_GROUP)
    async def cmd_points(message: Message, member: MemberRef, members: MemberService, t: Translator) -> None:
        name = message.from_user.full_name if message.from_user else ""
        standing = await members.standing(member)
        if standing is None or (standing.balance == 0 and standing.checkins == 0):
            await message.reply(t("points.none", name=name))
            return
        await message.reply(
            t("points.balance", name=name, balance=standing.balance, rank=standing.rank, total=standing.members_ranked)
        )

    @router.message(Command("me"), IN_GROUP)
    async def cmd_me(
        message: Message, member: MemberRef, members: MemberService, chats: ChatDirectory, t: Translator
    ) -> None:
        name = message.from_user.full_name if message.from_user else ""
        standing = await members.standing(member)
        if standing is None:
            await message.reply(t("me.none", name=name))
            return
        joined = (
            standing.joined_at.astimezone(chats.timezone(member.chat)).date().isoformat()
            if standing.joined_at
            else t("me.joined_unknown")
        )
        await message.reply(
            t(
                "me.profile",
                name=name,
                balance=standing.balance,
                rank=standing.rank,
                streak=standing.streak,
                checkins=standing.checkins,
                joined=joined,
            )
        )

    @router.message(Command("points", "me"), IN_PRIVATE)
    async def cmd_points_private(message: Message, t: Translator) -> None:
        await message.answer(t("points.group_only"))

    return router
