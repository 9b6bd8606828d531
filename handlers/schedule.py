"""Scheduled content on Telegram: quiz and poll answers, the bot joining or leaving a group, and the
admin chat's /schedule, /postnow ENTRY, /pause ENTRY and /resume ENTRY."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import ChatMemberUpdated, Message, PollAnswer

from bot.content.scheduled_posts import Planned, ScheduledPosts, UnknownEntry
from bot.domain import UserRef
from bot.i18n import Translator
from bot.platforms.telegram import refs
from handlers.filters import IsModerator
from handlers.orders import InAdminChat

UPCOMING = 10
IN_GROUP_STATUSES = frozenset({"member", "administrator", "creator", "restricted"})


def describe(post: Planned, t: Translator) -> str:
    local = post.at.astimezone(post.zone)
    return t(
        "schedule.upcoming_line",
        time=f"{local:%m-%d %H:%M}",
        zone=post.zone.key,
        entry=post.entry_id,
        kind=t(f"schedule.kind_{post.kind}"),
        group=post.chat.external_id if post.chat else t("schedule.no_groups"),
        paused=t("schedule.paused_mark") if post.paused else "",
    )


def make_router() -> Router:
    router = Router(name="schedule")

    @router.poll_answer()
    async def on_poll_answer(poll_answer: PollAnswer, posts: ScheduledPosts) -> None:
        if poll_answer.user is None:
            return  # answered on behalf of a channel: no member to credit
        await posts.on_poll_answer(poll_answer.poll_id, refs.user_ref(poll_answer.user), poll_answer.option_ids)

    @router.my_chat_member()
    async def on_bot_membership(event: ChatMemberUpdated, posts: ScheduledPosts) -> None:
        if event.chat.type not in ("group", "supergroup"):
            return
        chat = refs.chat_ref(event.chat)
        if event.new_chat_member.status in IN_GROUP_STATUSES:
            await posts.chat_back(chat)
        else:
            await posts.chat_gone(chat)

    admin = Router(name="schedule-admin")
    admin.message.filter(InAdminChat(), IsModerator())

    @admin.message(Command("schedule"))
    async def cmd_schedule(message: Message, posts: ScheduledPosts, t: Translator) -> None:
        upcoming = await posts.upcoming(limit=UPCOMING)
        if not upcoming:
            await message.reply(t("schedule.upcoming_none"))
            return
        await message.reply("\n".join([t("schedule.upcoming_header", count=len(upcoming))] + [describe(p, t) for p in upcoming]))

    @admin.message(Command("postnow", "pause", "resume"))
    async def cmd_entry(message: Message, command: CommandObject, actor: UserRef, posts: ScheduledPosts, t: Translator) -> None:
        entry_id = (command.args or "").strip()
        if not entry_id:
            await message.reply(t("schedule.entry_usage", command=command.command))
            return
        try:
            if command.command == "postnow":
                await message.reply(t("schedule.posted_now", entry=entry_id, count=await posts.post_now(entry_id)))
                return
            pause = command.command == "pause"
            changed = await posts.set_paused(entry_id, pause, f"{actor.platform}:{actor.external_id}")
        except UnknownEntry:
            ids = ", ".join(entry.id for entry in posts.schedule.entries) or "-"
            await message.reply(t("schedule.unknown_entry", entry=entry_id, ids=ids))
            return
        key = ("schedule.paused" if changed else "schedule.already_paused") if pause else (
            "schedule.resumed" if changed else "schedule.not_paused"
        )
        await message.reply(t(key, entry=entry_id))

    router.include_router(admin)
    return router
