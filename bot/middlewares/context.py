"""Who and where: member ref, translator, and activity counting, all from memory (no database)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, Message, TelegramObject, Update, User

from bot.i18n import I18n
from bot.members.activity import ActivityBuffer
from bot.members.chats import ChatDirectory
from bot.members.languages import MemberLanguages
from bot.platforms.telegram import refs
from bot.platforms.telegram.authors import RecentAuthors

MEDIA_FIELDS = ("photo", "video", "voice", "audio", "document", "animation", "video_note")
LINK_ENTITIES = frozenset({"url", "text_link"})


class MemberContextMiddleware(BaseMiddleware):
    """Puts ``member`` (MemberRef or None), ``chat_ref`` and ``t`` (Translator) into handler data."""

    def __init__(
        self, i18n: I18n, chats: ChatDirectory, buffer: ActivityBuffer, authors: RecentAuthors, languages: MemberLanguages
    ) -> None:
        self._languages = languages
        self._i18n = i18n
        self._chats = chats
        self._buffer = buffer
        self._authors = authors

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        chat, user = _chat_and_user(event)
        chat_ref = refs.chat_ref(chat) if chat is not None and chat.type in refs.GROUP_TYPES else None
        member = refs.member_ref(chat, user) if chat is not None and user is not None else None
        data["chat_ref"] = chat_ref
        data["member"] = member
        user_ref = member.user if member is not None else (refs.user_ref(user) if user is not None else None)
        chosen = self._languages.get(user_ref) if user_ref is not None else None
        spoken = chosen or (user.language_code if user is not None else None)
        data["t"] = self._i18n.translator(spoken, self._chats.language(chat_ref))
        if event.message is not None and chat is not None:
            self._count_message(event.message, chat)
        elif event.chat_member is not None:
            self._count_membership_change(event)
        return await handler(event, data)

    def _count_message(self, message: Message, chat: Chat) -> None:
        for joined in message.new_chat_members or ():
            self._membership(chat, joined, message, left=False)
        if message.left_chat_member is not None:
            self._membership(chat, message.left_chat_member, message, left=True)
        user = _author(message)
        member = refs.member_ref(chat, user) if user is not None else None
        if member is None or user is None or message.new_chat_members or message.left_chat_member:
            return
        self._authors.remember(chat.id, message.message_id, member)
        media = any(getattr(message, name) is not None for name in MEDIA_FIELDS)
        entities = (message.entities or ()) if message.text is not None else (message.caption_entities or ())
        links = sum(1 for entity in entities if entity.type in LINK_ENTITIES)
        self._buffer.seen(
            member, refs.user_info(user), refs.chat_info(chat), message.date, messages=1, media=int(media), links=links
        )

    def _membership(self, chat: Chat, user: User, message: Message, *, left: bool) -> None:
        member = refs.member_ref(chat, user)
        if member is not None:
            self._buffer.membership(member, refs.user_info(user), refs.chat_info(chat), message.date, left=left)

    def _count_membership_change(self, update: Update) -> None:
        change = update.chat_member
        assert change is not None
        member = refs.member_ref(change.chat, change.new_chat_member.user)
        if member is None:
            return
        left = change.new_chat_member.status in ("left", "kicked")
        user = change.new_chat_member.user
        self._buffer.membership(member, refs.user_info(user), refs.chat_info(change.chat), change.date, left=left)


def _chat_and_user(update: Update) -> tuple[Chat | None, User | None]:
    if update.message is not None:
        return update.message.chat, _author(update.message)
    if update.edited_message is not None:
        return update.edited_message.chat, _author(update.edited_message)
    if update.callback_query is not None:
        message = update.callback_query.message
        return (message.chat if message is not None else None), update.callback_query.from_user
    if update.chat_member is not None:
        return update.chat_member.chat, update.chat_member.new_chat_member.user
    if update.my_chat_member is not None:
        return update.my_chat_member.chat, update.my_chat_member.from_user
    if update.message_reaction is not None:
        return update.message_reaction.chat, update.message_reaction.user
    if update.poll_answer is not None:
        return None, update.poll_answer.user
    return None, None


def _author(message: Message) -> User | None:
    """The member who wrote it; None for a post made as a chat (a channel, the group itself, a linked
    channel's automatic forward): ``from`` is then a placeholder account (Channel_Bot, GroupAnonymousBot,
    or 777000, which is not even flagged as a bot), and no member may earn or be counted for it."""
    return None if message.sender_chat is not None else message.from_user
