"""Who and where, as async filters.

aiogram runs synchronous filters (including magic ``F`` filters) in a worker thread, a thread
hop per check; these are coroutines, so they cost a function call.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.types import Message

from bot.platforms.telegram.moderators import Moderators

GROUP_TYPES = frozenset({"group", "supergroup"})


class InGroup(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.chat.type in GROUP_TYPES


class InPrivate(Filter):
    async def __call__(self, message: Message) -> bool:
        return message.chat.type == "private"


class LooksLikeCommand(Filter):
    """Cheap pre-check so plain chat messages skip every Command filter at once."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and message.text.startswith("/")  # type: ignore[union-attr]


IN_GROUP = InGroup()
IN_PRIVATE = InPrivate()


class IsModerator(Filter):
    """A group administrator or a configured operator (see bot/platforms/telegram/moderators.py)."""

    async def __call__(self, message: Message, bot: Bot, moderators: Moderators) -> bool:
        if message.from_user is None:
            return False
        return await moderators.can_moderate(bot, message.chat.id, message.from_user.id)
