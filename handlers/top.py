"""/top: this week's, this month's or the season's leaders, in this group or across the community."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import MemberRef
from bot.i18n import Translator
from bot.points.leaderboard import Leaderboard, Period
from bot.points.leaderboard_text import render_top
from handlers.filters import IN_GROUP, IN_PRIVATE

PERIODS = {
    "week": Period.WEEK, "周": Period.WEEK, "本周": Period.WEEK,
    "month": Period.MONTH, "月": Period.MONTH, "本月": Period.MONTH,
    "all": Period.SEASON, "season": Period.SEASON, "总": Period.SEASON, "全部": Period.SEASON,
}  # fmt: skip
COMMUNITY = {"groups", "community", "全群", "所有群", "社区"}


def parse(args: str | None) -> tuple[Period, bool] | None:
    """'' -> week here; 'month'; 'all'; 'all groups' -> the season across every group. None if unreadable."""
    period, community = Period.WEEK, False
    for word in (args or "").lower().split():
        if word in COMMUNITY:
            community = True
        elif word in PERIODS:
            period = PERIODS[word]
        else:
            return None
    return period, community


def make_router() -> Router:
    router = Router(name="top")

    @router.message(Command("top"), IN_GROUP)
    async def cmd_top(
        message: Message, command: CommandObject, member: MemberRef, leaderboard: Leaderboard, t: Translator
    ) -> None:
        parsed = parse(command.args)
        if parsed is None:
            await message.reply(t("top.usage"))
            return
        period, community = parsed
        await message.reply(render_top(await leaderboard.top(member, period, community=community), t))

    @router.message(Command("top"), IN_PRIVATE)
    async def cmd_top_private(message: Message, t: Translator) -> None:
        await message.answer(t("points.group_only"))

    return router
