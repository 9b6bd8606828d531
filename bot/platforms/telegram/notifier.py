"""The Notifier port on Telegram: services' messages to groups and to members in private."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError

from bot.domain import ChatRef, UserRef

logger = logging.getLogger(__name__)


class TelegramNotifier:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def to_chat(self, chat: ChatRef, text: str) -> bool:
        return await self._send(int(chat.external_id), text)

    async def to_user(self, user: UserRef, text: str) -> bool:
        # A private chat's id is the user's id; it exists only once she has started the bot.
        return await self._send(int(user.external_id), text)

    async def _send(self, chat_id: int, text: str) -> bool:
        try:
            await self._bot.send_message(chat_id, text)
        except TelegramForbiddenError:
            return False  # never started the bot, blocked it, or the bot was removed
        except TelegramAPIError as exc:
            logger.warning("could not send to %s: %s", chat_id, exc)
            return False
        return True
