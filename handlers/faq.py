"""Parenting questions: /ask (and questions in private), quiet answers in groups, and emergencies."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from pydantic import Field

from bot.core.announcements import Announcer
from bot.domain import ChatRef
from bot.faq.knowledge import TOPIC_ID_MAX
from bot.faq.service import FaqService, Outcome, Reply
from bot.i18n import Translator
from bot.members.profiles import ProfileService, stage
from bot.platforms.telegram import refs
from handlers.filters import IN_GROUP, IN_PRIVATE


class FaqCD(CallbackData, prefix="faq"):
    # Topic ids are checked to fit Telegram's 64 bytes of button data when the knowledge base loads.
    topic: str = Field(min_length=1, max_length=TOPIC_ID_MAX)


class GroupMessageNeedsFaq(Filter):
    """A plain group message the FAQ answers: an emergency always, a confident question in passive mode.

    Deciding costs no database round trip, so messages it passes on cost little."""

    def __init__(self, *, urgent_only: bool = False) -> None:
        self.urgent_only = urgent_only

    async def __call__(self, message: Message, faq: FaqService, faq_passive: bool, t: Translator) -> bool | dict[str, Reply]:
        text = message.text or message.caption
        if not text or text.startswith("/"):
            return False
        reply = await faq.consider(text, t, refs.chat_ref(message.chat), passive=faq_passive and not self.urgent_only)
        return {"faq_reply": reply} if reply.outcome is not Outcome.NONE else False


def message_link(message: Message, message_id: int | str | None = None) -> str:
    """A link members can tap: public groups by username, private supergroups by internal id."""
    message_id = message_id or message.message_id
    if message.chat.username:
        return f"https://t.me/{message.chat.username}/{message_id}"
    internal = str(message.chat.id).removeprefix("-100")
    return f"https://t.me/c/{internal}/{message_id}"


def did_you_mean(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.alternatives:
        return None
    rows = [[InlineKeyboardButton(text=f"❓ {title}", callback_data=FaqCD(topic=topic).pack())] for topic, title in reply.alternatives]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def alert_moderators(message: Message, announcer: Announcer, admin_chat_id: int | None) -> None:
    if admin_chat_id is None or message.chat.type == "private":
        return
    author = message.from_user.full_name if message.from_user else ""
    await announcer.to_chat(
        ChatRef(refs.PLATFORM, str(admin_chat_id)),
        "faq.urgent_alert",
        group=message.chat.title or str(message.chat.id),
        name=author,
        text=(message.text or message.caption or "")[:300],
        link=message_link(message),
    )


async def _answer(message: Message, question: str, faq: FaqService, profiles: ProfileService, t: Translator,
                  announcer: Announcer, admin_chat_id: int | None) -> None:
    member_stage = None
    if message.from_user is not None:
        profile = await profiles.get(refs.user_ref(message.from_user))
        member_stage = stage(profile, profiles.today()) if profile else None
    # A private chat is not recorded with the question: only groups are chats we keep.
    group = refs.chat_ref(message.chat) if message.chat.type != "private" else None
    reply = await faq.ask(question, t, stage=member_stage, chat=group)
    sent = await message.reply(reply.text, reply_markup=did_you_mean(reply))
    if reply.outcome is Outcome.URGENT:
        await alert_moderators(message, announcer, admin_chat_id)
    elif reply.topic is not None and message.chat.type != "private":
        faq.answered(refs.chat_ref(message.chat), reply.topic, str(sent.message_id))


def make_router() -> Router:
    router = Router(name="faq")

    @router.message(Command("ask"))
    async def cmd_ask(
        message: Message, command: CommandObject, faq: FaqService, profiles: ProfileService, t: Translator,
        announcer: Announcer, admin_chat_id: int | None,
    ) -> None:
        if not (command.args or "").strip():
            await message.reply(t("faq.usage"))
            return
        await _answer(message, command.args, faq, profiles, t, announcer, admin_chat_id)

    @router.message(Command("rules"))
    async def cmd_rules(message: Message, faq: FaqService, t: Translator) -> None:
        await message.reply(faq.answer_text("community.rules", t))

    @router.callback_query(FaqCD.filter())
    async def on_did_you_mean_click(query: CallbackQuery, callback_data: FaqCD, faq: FaqService, t: Translator) -> None:
        await query.answer()
        if callback_data.topic in faq.topics and isinstance(query.message, Message):
            await query.message.reply(faq.answer_text(callback_data.topic, t))

    return router


def make_urgent_router() -> Router:
    """Before thanks and shares: an emergency is answered even in a reply that says thank you."""
    router = Router(name="faq-urgent")
    router.message(IN_GROUP, GroupMessageNeedsFaq(urgent_only=True))(on_group_message)
    return router


async def on_group_message(message: Message, faq_reply: Reply, faq: FaqService, announcer: Announcer, admin_chat_id: int | None) -> None:
    if faq_reply.outcome is Outcome.REPEAT:
        await message.reply(f"{faq_reply.text}\n{message_link(message, faq_reply.earlier_message)}")
        return
    sent = await message.reply(faq_reply.text)
    if faq_reply.outcome is Outcome.URGENT:
        await alert_moderators(message, announcer, admin_chat_id)
    elif faq_reply.topic is not None:
        faq.answered(refs.chat_ref(message.chat), faq_reply.topic, str(sent.message_id))


def make_passive_router() -> Router:
    """After commands, thanks and shares: questions in private, and group questions the FAQ is sure of."""
    router = Router(name="faq-passive")

    @router.message(IN_PRIVATE)
    async def on_private_question(
        message: Message, faq: FaqService, profiles: ProfileService, t: Translator, announcer: Announcer, admin_chat_id: int | None,
    ) -> None:
        text = message.text or ""
        if text and not text.startswith("/"):
            await _answer(message, text, faq, profiles, t, announcer, admin_chat_id)

    router.message(IN_GROUP, GroupMessageNeedsFaq())(on_group_message)
    return router

