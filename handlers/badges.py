"""/badge and /event: moderators grant honours and record who took part in an event."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain import MemberRef
from bot.i18n import Translator
from bot.platforms.telegram import refs
from bot.points.awards import AwardService
from bot.points.badges import BadgeService
from handlers.filters import IN_GROUP, IsModerator

USERNAME = re.compile(r"^@\w{3,64}$")


async def _targets(message: Message, words: list[str], member: MemberRef, awards: AwardService) -> list[tuple[MemberRef, str]]:
    """The replied-to member and every @username named, with a name to show."""
    targets = []
    replied = message.reply_to_message.from_user if message.reply_to_message else None
    if replied is not None and not replied.is_bot:
        targets.append((refs.member_ref(message.chat, replied), replied.full_name))
    for word in words:
        targets.append((await awards.find_member(member, word), word))
    return targets


def make_router() -> Router:
    router = Router(name="badges")

    @router.message(Command("badge", "unbadge"), IN_GROUP, IsModerator())
    async def cmd_badge(
        message: Message,
        command: CommandObject,
        member: MemberRef,
        awards: AwardService,
        badges: BadgeService,
        t: Translator,
    ) -> None:
        words = (command.args or "").split()
        names = [word for word in words if USERNAME.match(word)]
        ids = [word.lower() for word in words if not USERNAME.match(word)]
        targets = await _targets(message, names, member, awards)
        if len(ids) != 1 or len(targets) != 1:
            manual = ", ".join(rule.id for rule in badges.manual()) or "-"
            await message.reply(t("badges.usage", badges=manual))
            return
        [(target, name)] = targets
        if command.command == "unbadge":
            done = await badges.revoke(target, ids[0])
            await message.reply(t("badges.revoked" if done else "badges.not_held", name=name))
            return
        granted = await badges.grant(member.user, target, ids[0])
        badge = badges.rules[ids[0]].name(t.language)
        await message.reply(t("badges.granted" if granted else "badges.already", name=name, badge=badge))

    @router.message(Command("event"), IN_GROUP, IsModerator())
    async def cmd_event(
        message: Message, command: CommandObject, member: MemberRef, awards: AwardService, t: Translator
    ) -> None:
        words = (command.args or "").split()
        event = " ".join(word for word in words if not USERNAME.match(word))
        targets = await _targets(message, [word for word in words if USERNAME.match(word)], member, awards)
        if not event or not targets:
            await message.reply(t("events.usage"))
            return
        paid = set(await awards.attend(member.user, [target for target, _ in targets], event))
        names = ", ".join(name for target, name in targets if target in paid)
        already = ", ".join(name for target, name in targets if target not in paid)
        lines = [t("events.paid", names=names, points=awards.event_points, event=event)] if names else []
        if already:
            lines.append(t("events.already", names=already))
        await message.reply("\n".join(lines))

    @router.message(Command("badge", "unbadge", "event"), IN_GROUP)
    async def cmd_refused(message: Message, t: Translator) -> None:
        await message.reply(t("award.not_moderator"))

    return router
