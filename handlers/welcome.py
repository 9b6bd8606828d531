"""New members: the greeting with the rules and the captcha buttons; and keeping the admin list fresh."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, ChatMemberUpdated, InlineKeyboardButton, InlineKeyboardMarkup, Message
from pydantic import Field

from bot.core.announcements import Announcer
from bot.core.lengths import fit, utf16_len
from bot.core.numbers import DB_INT_MAX
from bot.domain import MemberRef, UserRef
from bot.i18n import Translator, pick
from bot.moderation.moderation import Person
from bot.moderation.welcome import Welcome, WelcomeService
from bot.platforms.telegram import refs
from bot.platforms.telegram.moderators import Moderators
from bot.platforms.telegram.outgoing import MESSAGE_TEXT

logger = logging.getLogger(__name__)

ADMIN_STATUSES = frozenset({"administrator", "creator"})


class CaptchaCD(CallbackData, prefix="captcha"):
    # Bounded: callback data can be forged, and a value that does not unpack is answered as stale.
    user_id: int = Field(ge=1, le=DB_INT_MAX)
    choice: int = Field(ge=0, le=5)  # at most six answers


class HasNewMembers(Filter):
    async def __call__(self, message: Message) -> bool:
        return bool(message.new_chat_members) and message.chat.type in refs.GROUP_TYPES


def captcha_markup(welcome: Welcome, user_id: int, her: Translator) -> InlineKeyboardMarkup | None:
    if welcome.captcha == "button":
        button = InlineKeyboardButton(text=her("welcome.button"), callback_data=CaptchaCD(user_id=user_id, choice=0).pack())
        return InlineKeyboardMarkup(inline_keyboard=[[button]])
    if welcome.captcha == "question" and welcome.question is not None:
        rows = [
            [InlineKeyboardButton(
                text=pick(welcome.question.answers[answer], her.language, "?"),
                callback_data=CaptchaCD(user_id=user_id, choice=position).pack(),
            )]
            for position, answer in enumerate(welcome.order)
        ]  # fmt: skip
        return InlineKeyboardMarkup(inline_keyboard=rows)
    return None


def greeting(welcome: Welcome, name: str, her: Translator, rules: dict[str, str], minutes: int) -> str:
    """The greeting with the rules and the captcha's instruction; long rules are cut, never the instruction."""
    captcha = ""
    if welcome.captcha == "button":
        captcha = "\n\n" + her("welcome.captcha_button", minutes=minutes)
    elif welcome.captcha == "question" and welcome.question is not None:
        captcha = "\n\n" + her("welcome.captcha_question", minutes=minutes, question=pick(welcome.question.text, her.language, ""))
    room = MESSAGE_TEXT - utf16_len(her("welcome.greeting", name=name, rules="")) - utf16_len(captcha)
    return her("welcome.greeting", name=name, rules=fit(pick(rules, her.language, ""), max(room, 0))) + captcha


def make_router() -> Router:
    router = Router(name="welcome")

    @router.message(HasNewMembers())
    async def on_join(
        message: Message, bot: Bot, welcome: WelcomeService, moderators: Moderators, announcer: Announcer,
        rules: dict[str, str], exempt: frozenset[int],
    ) -> None:  # fmt: skip
        chat = refs.chat_ref(message.chat)
        adder = message.from_user
        joiners = [user for user in message.new_chat_members or () if not user.is_bot]
        # Someone a moderator added is trusted; a member who joined by herself (or by a link) is verified.
        trusted_adder = adder is not None and adder.id not in {u.id for u in joiners} and await moderators.can_moderate(bot, message.chat.id, adder.id)
        for user in joiners:
            trusted = trusted_adder or user.id in exempt
            joined = await welcome.joined(chat, Person(refs.user_ref(user), user.full_name), str(message.message_id), message.date, trusted=trusted)
            if not welcome.policy.enabled:
                continue
            her = announcer.for_member(MemberRef(chat, refs.user_ref(user)), refs.user_info(user))
            minutes = max(1, int(welcome.policy.timeout.total_seconds() // 60))
            text = greeting(joined, user.full_name, her, rules, minutes)
            try:
                sent = await bot.send_message(message.chat.id, text, reply_markup=captcha_markup(joined, user.id, her))
            except TelegramAPIError as exc:
                logger.warning("could not greet a new member in %s: %s", message.chat.id, exc)
                await welcome.posted(joined.join, None)  # no button to press: her captcha mute is lifted
                continue
            except BaseException:
                welcome.unsent(joined.join)  # cancelled or a bug: the expiry pass lifts her mute at her deadline
                raise
            await welcome.posted(joined.join, str(sent.message_id))

    @router.callback_query(CaptchaCD.filter())
    async def on_captcha_click(query: CallbackQuery, callback_data: CaptchaCD, welcome: WelcomeService, t: Translator) -> None:
        message = query.message
        if message is None or not isinstance(message, Message):
            await query.answer()
            return
        chat = refs.chat_ref(message.chat)
        owner = UserRef(refs.PLATFORM, str(callback_data.user_id))
        answer = await welcome.answer(chat, refs.user_ref(query.from_user), owner, callback_data.choice)
        if answer.result == "passed":
            await query.answer(t("welcome.passed_alert"))
            try:
                await message.edit_text(t("welcome.passed", name=query.from_user.full_name), reply_markup=None)
            except TelegramAPIError:
                pass  # the greeting was deleted meanwhile; she is in either way
            return
        key = {"wrong": "welcome.wrong", "failed": "welcome.failed", "not_yours": "welcome.not_yours"}.get(answer.result, "welcome.settled")
        await query.answer(t(key, left=answer.attempts_left), show_alert=True)

    @router.callback_query(F.data.startswith(f"{CaptchaCD.__prefix__}{CaptchaCD.__separator__}"))
    async def on_broken_captcha_click(query: CallbackQuery, t: Translator) -> None:
        """Captcha data that does not unpack (forged, or from an older version): answered, nothing done."""
        await query.answer(t("welcome.settled"), show_alert=True)

    @router.chat_member()
    async def on_member_change(event: ChatMemberUpdated, moderators: Moderators) -> None:
        """An administrator was added or removed: ask Telegram for the list again next time."""
        if event.old_chat_member.status in ADMIN_STATUSES or event.new_chat_member.status in ADMIN_STATUSES:
            moderators.forget(event.chat.id)

    return router

