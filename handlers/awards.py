"""/award and /feature: moderators add or deduct points, or mark a post as featured (精华)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import MemberRef
from bot.i18n import Translator
from bot.platforms.telegram import refs
from bot.platforms.telegram.sender import confirm
from bot.points.awards import AwardService, clip_note
from handlers.filters import IN_GROUP, IsModerator

logger = logging.getLogger(__name__)

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
        note = clip_note(arguments.note)
        result = await awards.change(member.user, target, arguments.amount, note, request_key=f"{message.chat.id}:{message.message_id}")
        key = "award.done" if result.delta > 0 else "award.deducted"
        text = t(key, name=name, points=abs(result.delta), balance=result.balance)
        text = f"{text}\n{t('award.because', note=note)}" if note else text
        await confirm(message.reply(text), "award", message.chat.id)  # the points moved: never "try again"

    @router.message(Command("feature"), IN_GROUP, IsModerator())
    async def cmd_feature(
        message: Message, member: MemberRef, awards: AwardService, t: Translator, pin_featured: bool
    ) -> None:
        post = message.reply_to_message
        author = refs.member_ref(message.chat, post.from_user) if post and post.from_user else None
        if post is None or author is None or post.from_user is None:
            await message.reply(t("feature.usage"))
            return
        result = await awards.feature(member.user, author, f"{refs.PLATFORM}:{message.chat.id}:{post.message_id}")
        if result.repeated:
            await message.reply(t("feature.already"))
            return
        await post.reply(t("feature.done", name=post.from_user.full_name, points=result.delta))
        if pin_featured:
            try:
                await post.pin(disable_notification=True)
            except TelegramBadRequest as exc:  # the bot may lack the right to pin: say so, keep the award
                logger.info("could not pin featured post in chat %s: %s", message.chat.id, exc)
                await message.reply(t("feature.cannot_pin"))

    @router.message(Command("award", "feature"), IN_GROUP)
    async def cmd_award_refused(message: Message, t: Translator) -> None:
        await message.reply(t("award.not_moderator"))

    return router
