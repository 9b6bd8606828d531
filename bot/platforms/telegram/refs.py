"""aiogram objects to platform-neutral refs. The only place that knows Telegram's id shapes."""

from __future__ import annotations

from aiogram.types import Chat, Message, User

from bot.domain import ChatInfo, ChatRef, MemberRef, UserInfo, UserRef

PLATFORM = "telegram"
GROUP_TYPES = frozenset({"group", "supergroup"})


def chat_ref(chat: Chat | int) -> ChatRef:
    return ChatRef(PLATFORM, str(chat if isinstance(chat, int) else chat.id))


def user_ref(user: User) -> UserRef:
    return UserRef(PLATFORM, str(user.id))


def member_ref(chat: Chat, user: User) -> MemberRef | None:
    """Members exist only in groups; a private chat with the bot has none."""
    if chat.type not in GROUP_TYPES or user.is_bot:
        return None
    return MemberRef(chat_ref(chat), user_ref(user))


def user_info(user: User) -> UserInfo:
    return UserInfo(display_name=user.full_name, language=user.language_code, username=user.username)


def chat_info(chat: Chat) -> ChatInfo:
    return ChatInfo(title=chat.title or "", kind=chat.type)


def source_key(message: Message) -> str:
    """What a moderation action answering this message is keyed by: its id, and for an edit its edit date.

    The same update delivered twice gives the same key; a later edit of the message gives a new one."""
    if message.edit_date is None:
        return str(message.message_id)
    return f"{message.message_id}@{message.edit_date}"
