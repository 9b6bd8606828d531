"""Who and where, as async filters.

aiogram runs synchronous filters (including magic ``F`` filters) in a worker thread, a thread
hop per check; these are coroutines, so they cost a function call.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.types import Message

from bot.domain import MemberRef, UserRef
from bot.platforms.telegram import refs
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


def is_anonymous_admin(message: Message) -> bool:
    """An administrator writing as the group itself ("Remain anonymous"): Telegram sets ``sender_chat`` to
    the group and ``from`` to @GroupAnonymousBot. Only administrators can do that."""
    return message.sender_chat is not None and message.sender_chat.id == message.chat.id


class IsModerator(Filter):
    """A group administrator or a configured operator (see bot/platforms/telegram/moderators.py).

    Passes ``actor`` (a UserRef): the moderator, or the group itself for an anonymous administrator,
    whose person Telegram does not reveal. Someone writing as another chat (a channel) is not a moderator.
    """

    async def __call__(self, message: Message, bot: Bot, moderators: Moderators) -> bool | dict[str, object]:
        if is_anonymous_admin(message):
            return {"actor": UserRef(refs.PLATFORM, str(message.chat.id))}
        if message.from_user is None or message.sender_chat is not None:
            return False
        if not await moderators.can_moderate(bot, message.chat.id, message.from_user.id):
            return False
        return {"actor": refs.user_ref(message.from_user)}


class AsMember(Filter):
    """Outside groups always; in a group, only a person writing as herself (``member`` is set).

    Messages sent on behalf of a chat (a channel, an anonymous administrator: ``sender_chat`` set,
    ``from`` one of Telegram's service bots) have no member: no points, streaks or profile. Routers whose
    handlers need ``member`` carry this filter, so their bodies never meet ``member is None``.
    """

    async def __call__(self, message: Message, member: MemberRef | None) -> bool:
        # A linked channel's automatic forwards come "from" Telegram (777000, not a bot): sender_chat tells.
        return message.chat.type not in GROUP_TYPES or (member is not None and message.sender_chat is None)


AS_MEMBER = AsMember()
