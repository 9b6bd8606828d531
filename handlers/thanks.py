"""Thanks in a reply pays the person thanked (silently; see bot/services/thanks.py)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import Message

from bot.domain import MemberRef
from bot.platforms.telegram import refs
from bot.services.thanks import Thanks, ThanksService
from handlers.filters import IN_GROUP


class RepliesWithThanks(Filter):
    """A reply to someone's message whose text or caption says thanks."""

    async def __call__(self, message: Message, thanks: ThanksService) -> bool:
        return message.reply_to_message is not None and thanks.recognises(message.text or message.caption)


def make_router() -> Router:
    router = Router(name="thanks")
    router.message.filter(RepliesWithThanks())

    @router.message(IN_GROUP)
    async def on_thanks_reply(message: Message, member: MemberRef | None, thanks: ThanksService) -> None:
        author = message.reply_to_message.from_user if message.reply_to_message else None
        receiver = refs.member_ref(message.chat, author) if author is not None else None
        if member is None or receiver is None:  # a bot's message, or a channel post
            return
        key = f"{refs.PLATFORM}:{message.chat.id}:{message.message_id}"
        await thanks.thank(Thanks(giver=member, receiver=receiver, at=message.date, message_key=key))

    return router
