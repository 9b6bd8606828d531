"""Who may moderate a group: its Telegram administrators (cached, refreshed on chat_member changes),
the configured operators and the configured moderators."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

logger = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 300.0


class Moderators:
    def __init__(
        self, operators: frozenset[int], *, ttl: float = ADMIN_CACHE_SECONDS, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._operators = operators
        self._ttl = ttl
        self._monotonic = monotonic
        self._admins: dict[int, tuple[float, frozenset[int]]] = {}

    async def can_moderate(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        if user_id in self._operators:
            return True
        return user_id in await self._chat_admins(bot, chat_id)

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """A Telegram administrator of the chat (operators who are not are not included)."""
        return user_id in await self._chat_admins(bot, chat_id)

    def forget(self, chat_id: int) -> None:
        """Drop the cached admin list (a chat_member update changed it)."""
        self._admins.pop(chat_id, None)

    async def _chat_admins(self, bot: Bot, chat_id: int) -> frozenset[int]:
        cached = self._admins.get(chat_id)
        now = self._monotonic()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        try:
            admins = frozenset(member.user.id for member in await bot.get_chat_administrators(chat_id))
        except TelegramAPIError as exc:
            logger.warning("could not list the administrators of chat %s: %s", chat_id, exc)
            return cached[1] if cached else frozenset()
        self._admins[chat_id] = (now, admins)
        return admins
