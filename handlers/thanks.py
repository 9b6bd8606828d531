"""Thanks in a reply, or a thanks reaction, pays the person thanked (silently; see bot/engagement/thanks.py)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import Message, MessageReactionUpdated, ReactionTypeEmoji

from bot.domain import MemberRef
from bot.engagement.thanks import Thanks, ThanksService
from bot.platforms.telegram import refs
from bot.platforms.telegram.authors import RecentAuthors
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

    @router.message_reaction()
    async def on_reaction(
        reaction: MessageReactionUpdated, member: MemberRef | None, thanks: ThanksService, authors: RecentAuthors
    ) -> None:
        before = {r.emoji for r in reaction.old_reaction if isinstance(r, ReactionTypeEmoji)}
        added = [r.emoji for r in reaction.new_reaction if isinstance(r, ReactionTypeEmoji) and r.emoji not in before]
        author = authors.author_of(reaction.chat.id, reaction.message_id)
        if member is None or author is None or not any(thanks.recognises_reaction(emoji) for emoji in added):
            return
        key = f"{refs.PLATFORM}:{reaction.chat.id}:{reaction.message_id}:reaction:{member.user.external_id}"
        await thanks.thank(Thanks(giver=member, receiver=author, at=reaction.date, message_key=key))

    return router
