from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.domain import MemberRef
from bot.i18n import Translator
from bot.members.chats import ChatDirectory
from bot.points.badges import BadgeService
from bot.members.members import MemberService
from bot.points.tiers import TierService
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
        message: Message,
        member: MemberRef,
        members: MemberService,
        chats: ChatDirectory,
        tiers: TierService,
        badges: BadgeService,
        t: Translator,
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
        status = await tiers.status(member)
        lines = [
            t(
                "me.profile",
                name=name,
                balance=standing.balance,
                rank=standing.rank,
                streak=standing.streak,
                checkins=standing.checkins,
                joined=joined,
            ),
            t("me.tier", tier=status.tier.name(t.language), earned=status.earned, days=status.window_days),
        ]
        if status.next is not None:
            missing = max(status.next.threshold - status.earned, 0)
            lines.append(t("me.next_tier", tier=status.next.name(t.language), missing=missing))
        perks = status.tier.perks.get(t.language, [])
        if perks:
            lines.append(t("me.perks", perks="、".join(perks) if t.language == "zh-CN" else ", ".join(perks)))
        if standing.freezes:
            lines.append(t("me.freezes", freezes=standing.freezes))
        held = await badges.held(member)
        if held:
            shown = [badge.rule.name(t.language) + (f" ({badge.period})" if badge.period else "") for badge in held]
            lines.append(t("me.badges", badges="、".join(shown) if t.language == "zh-CN" else ", ".join(shown)))
        await message.reply("\n".join(lines))

    @router.message(Command("points", "me"), IN_PRIVATE)
    async def cmd_points_private(message: Message, t: Translator) -> None:
        await message.answer(t("points.group_only"))

    return router
