"""/award: moderators add or deduct points, as a reply to the member's message or naming @her."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import MemberRef
from bot.i18n import Translator
from bot.platforms.telegram import refs
from bot.services.awards import AwardService
from handlers.filters import IN_GROUP, IsModerator

ARGUMENTS = re.compile(r"^(?:(?P<username>@\w{3,64})\s+)?(?P<amount>[+-]?\d{1,6})(?:\s+(?P<note>.+))?$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class AwardArguments:
    username: str | None
    amount: int
    note: str


def parse_arguments(text: str | None) -> AwardArguments | None:
    """'@mama 20 great tips' or '-5 spam' (then the command must reply to the member's message)."""
    found = ARGUMENTS.match((text or "").strip())
    if found is None:
        return None
    return AwardArguments(found["username"], int(found["amount"]), (found["note"] or "").strip())


def make_router() -> Router:
    router = Router(name="awards")

    @router.message(Command("award"), IN_GROUP, IsModerator())
    async def cmd_award(
        message: Message, command: CommandObject, member: MemberRef, awards: AwardService, t: Translator
    ) -> None:
        arguments = parse_arguments(command.args)
        replied = message.reply_to_message.from_user if message.reply_to_message else None
        target = refs.member_ref(message.chat, replied) if replied is not None else None
        if arguments is None or (target is None and arguments.username is None):
            await message.reply(t("award.usage"))
            return
        if target is None:
            target = await awards.find_member(member, arguments.username or "")
        name = replied.full_name if replied is not None else arguments.username
        result = await awards.change(
            member.user, target, arguments.amount, arguments.note, request_key=f"{message.chat.id}:{message.message_id}"
        )
        key = "award.done" if result.delta > 0 else "award.deducted"
        text = t(key, name=name, points=abs(result.delta), balance=result.balance)
        await message.reply(f"{text}\n{t('award.because', note=arguments.note)}" if arguments.note else text)

    @router.message(Command("award"), IN_GROUP)
    async def cmd_award_refused(message: Message, t: Translator) -> None:
        await message.reply(t("award.not_moderator"))

    return router
