"""Moderators' commands: /warn /unwarn /warns /mute /unmute /kick /ban /unban /del, and undo from the log chat.

Reply to the member's message, or name her (@username, her numeric id, or a mention). The member is
told in her language; a refusal by Telegram (the bot lacks a right, she is an administrator) is told
to the moderator. Anyone else gets a polite refusal, and the attempt is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.core.announcements import Announcer
from bot.core.ports import NewAction
from bot.domain import ChatRef, MemberRef, UserInfo, UserRef
from bot.i18n import Translator
from bot.moderation.durations import format_duration, parse_duration
from bot.moderation.moderation import Done, ModerationService, NothingToUndo, Person
from bot.platforms.telegram import refs
from bot.platforms.telegram.group_control import ModUndoCD
from bot.platforms.telegram.moderators import Moderators
from bot.platforms.telegram.sender import confirm
from handlers.filters import AS_MEMBER, IN_GROUP, IsModerator

logger = logging.getLogger(__name__)

COMMANDS = ("warn", "unwarn", "warns", "mute", "unmute", "kick", "ban", "unban", "del")


@dataclass(frozen=True, slots=True)
class Target:
    person: Person
    info: UserInfo | None  # what we know of her language
    message: Message | None  # the message the command replied to
    rest: str  # the arguments after the member's name


async def find_target(message: Message, command: CommandObject, chat: ChatRef, moderation: ModerationService) -> Target | None:
    """The member a command is about: the replied message's author, a mention, @username or an id."""
    args = (command.args or "").strip()
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and not replied.from_user.is_bot:
        user = replied.from_user
        return Target(Person(refs.user_ref(user), user.full_name), refs.user_info(user), replied, args)
    for entity in message.entities or ():
        if entity.type == "text_mention" and entity.user is not None:
            mention = entity.extract_from(message.text or "")
            user = entity.user
            return Target(Person(refs.user_ref(user), user.full_name), refs.user_info(user), None, args.replace(mention, "", 1).strip())
    first, _, rest = args.partition(" ")
    if not first:
        return None
    found = await moderation.find(chat, first)
    if found is None:
        return None
    person, info = found
    return Target(person, info, None, rest.strip())


def failure(t: Translator, done: Done) -> str:
    return t("moderation.failed", action=t(f"moderation.kind_{done.record.kind}"), why=t(f"moderation.outcome_{done.outcome}"))


def make_router() -> Router:
    router = Router(name="moderation")

    @router.message(Command(*COMMANDS), IN_GROUP, IsModerator())
    async def cmd_moderate(
        message: Message, command: CommandObject, bot: Bot, chat_ref: ChatRef, actor: UserRef, moderation: ModerationService,
        moderators: Moderators, announcer: Announcer, t: Translator,
    ) -> None:  # fmt: skip
        # actor: the moderator, or the group itself for an anonymous administrator (see IsModerator).
        chat, key = chat_ref, refs.source_key(message)  # key: a redelivered command acts once
        target = await find_target(message, command, chat, moderation)
        if target is None or (command.command == "del" and target.message is None):
            await message.reply(t(f"moderation.usage_{command.command}"))
            return
        if command.command in ("warn", "mute", "kick", "ban", "del") and await moderators.is_admin(bot, message.chat.id, int(target.person.user.external_id)):
            await message.reply(t("moderation.target_is_admin", name=target.person.name))
            return
        her = announcer.for_member(MemberRef(chat, target.person.user), target.info)
        source = str(target.message.message_id) if target.message is not None else None
        answer = target.message or message
        if command.command == "warn":
            await _warn(moderation, chat, target, actor, source, key, answer, her, t)
        elif command.command == "unwarn":
            if (await moderation.unwarn(chat, target.person, actor, key=key)).repeated:
                return
            left = len(await moderation.warnings(chat, target.person.user))
            await confirm(message.reply(t("moderation.unwarned", name=target.person.name, count=left)), "unwarn", message.chat.id)
        elif command.command == "warns":
            await message.reply(await _warnings_text(moderation, chat, target, t))
        elif command.command == "del":
            done = await moderation.act("delete", chat, target.person, actor, target.rest, source_message_id=source, key=key)
            if done.repeated:
                return
            if done.ok:
                await _quietly_delete(message)
            else:
                await message.reply(failure(t, done))
        else:
            await _sanction(command.command, moderation, chat, target, actor, source, key, answer, message, her, t)

    @router.message(Command(*COMMANDS), IN_GROUP, AS_MEMBER)  # someone writing as a channel is ignored
    async def cmd_moderate_refused(message: Message, command: CommandObject, member: MemberRef, moderation: ModerationService, t: Translator) -> None:
        logger.info("user %s tried /%s in chat %s without moderator rights", member.user.external_id, command.command, message.chat.id)
        refused = await moderation.record(NewAction(
            member.chat, member.user, "", member.user, "refused", f"/{command.command}", message.date,
            source_message_id=str(message.message_id), source_key=refs.source_key(message),
        ))  # fmt: skip
        if refused.repeated:
            return
        await message.reply(t("moderation.not_moderator"))

    @router.callback_query(ModUndoCD.filter())
    async def on_undo_click(
        query: CallbackQuery, callback_data: ModUndoCD, bot: Bot, moderation: ModerationService, moderators: Moderators, t: Translator
    ) -> None:
        record = await moderation.action(callback_data.action_id)
        if record is None:
            await query.answer(t("moderation.undo_not_found"), show_alert=True)
            return
        if not await moderators.can_moderate(bot, int(record.chat.external_id), query.from_user.id):
            await query.answer(t("moderation.not_moderator"), show_alert=True)
            return
        try:
            _, reverse = await moderation.undo(record.id, refs.user_ref(query.from_user))
        except NothingToUndo:
            await query.answer(t("moderation.nothing_to_undo"), show_alert=True)
            return
        if reverse is not None and not reverse.ok:
            await query.answer(failure(t, reverse), show_alert=True)
            return
        await query.answer(t("moderation.undone"))

    @router.callback_query(F.data.startswith(f"{ModUndoCD.__prefix__}{ModUndoCD.__separator__}"))
    async def on_broken_undo_click(query: CallbackQuery, t: Translator) -> None:
        """Undo data that does not unpack (forged: an id that is negative, too large or not a number)."""
        await query.answer(t("moderation.undo_not_found"), show_alert=True)

    return router


async def _warn(
    moderation: ModerationService, chat: ChatRef, target: Target, actor: UserRef, source: str | None, key: str,
    answer: Message, her: Translator, t: Translator,
) -> None:  # fmt: skip
    warned = await moderation.warn(chat, target.person, actor, target.rest, source_message_id=source, key=key)
    # A redelivered /warn: whoever stored the warning tells it, whoever carried out the ladder's step tells that.
    if not warned.repeated:
        text = her(
            "moderation.warned",
            name=target.person.name,
            count=warned.active,
            limit=warned.limit or warned.active,
            reason=warned.warning.reason or her("moderation.no_reason"),
        )
        await confirm(answer.reply(text), "warning", answer.chat.id)
    if warned.escalation is not None and not warned.escalation.repeated:
        text = escalation_text(warned.escalation, target.person.name, warned.active, her, t)
        await confirm(answer.reply(text), warned.escalation.record.kind, answer.chat.id)


def escalation_text(done: Done, name: str, warnings: int, her: Translator, t: Translator) -> str:
    """What the ladder did at ``warnings`` active warnings, in her language; or, when Telegram refused, why."""
    if not done.ok:
        return failure(t, done)
    record = done.record
    if record.kind == "mute" and record.until is not None:
        return her("moderation.escalated_mute", name=name, duration=format_duration(record.until - record.at), count=warnings)
    return her("moderation.escalated_removed", name=name, count=warnings)


async def _sanction(
    kind: str, moderation: ModerationService, chat: ChatRef, target: Target, actor: UserRef, source: str | None, key: str,
    answer: Message, message: Message, her: Translator, t: Translator,
) -> None:  # fmt: skip
    reason, duration = target.rest, None
    if kind == "mute":
        first, _, rest = reason.partition(" ")
        duration = parse_duration(first) if first else None
        if duration is not None:
            reason = rest.strip()
        elif first and first[0].isdigit():
            await message.reply(t("moderation.usage_mute"))
            return
    # A duration Telegram would read as forever is refused by the core (MuteOutOfRange, answered by the error handler).
    done = await moderation.act(kind, chat, target.person, actor, reason, duration=duration, source_message_id=source, key=key)
    if done.repeated:
        return
    if not done.ok:
        await message.reply(failure(t, done))
        return
    params = {"name": target.person.name, "reason": done.record.reason or her("moderation.no_reason")}
    if kind == "mute" and done.record.until is not None:
        params["duration"] = format_duration(done.record.until - done.record.at)
    await confirm(answer.reply(her(f"moderation.done_{kind}", **params)), kind, answer.chat.id)


async def _warnings_text(moderation: ModerationService, chat: ChatRef, target: Target, t: Translator) -> str:
    warnings = await moderation.warnings(chat, target.person.user)
    if not warnings:
        return t("moderation.warns_none", name=target.person.name)
    lines = [
        t("moderation.warns_line", date=warning.at.date().isoformat(), reason=warning.reason or t("moderation.no_reason"),
          until=warning.until.date().isoformat() if warning.until else "-")
        for warning in warnings
    ]  # fmt: skip
    return t("moderation.warns_header", name=target.person.name, count=len(warnings)) + "\n" + "\n".join(lines)


async def _quietly_delete(message: Message) -> None:
    try:
        await message.delete()
    except TelegramAPIError as exc:  # the command itself staying is harmless
        logger.info("could not delete the /del command in %s: %s", message.chat.id, exc)
