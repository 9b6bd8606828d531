"""Unexpected errors: log with context, apologise in the member's language, never leak a traceback."""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent

from bot.i18n import I18n
from bot.platforms.telegram.refs import chat_ref
from bot.services.chats import ChatDirectory
from bot.services.errors import DomainError

logger = logging.getLogger(__name__)


def register(dispatcher: Dispatcher) -> None:
    """On the dispatcher itself: it sees every router's errors, and plain messages pass no extra router."""

    @dispatcher.errors(ExceptionTypeFilter(DomainError))
    async def on_domain_error(event: ErrorEvent, bot: Bot, i18n: I18n, chats: ChatDirectory) -> None:
        """An expected refusal (not enough points, unknown member...): say why, in the member's language."""
        error = event.exception
        assert isinstance(error, DomainError)
        message = event.update.message
        if message is None or message.from_user is None:
            return
        t = i18n.translator(message.from_user.language_code, chats.language(chat_ref(message.chat)))
        await bot.send_message(message.chat.id, t(error.code, **error.params), reply_to_message_id=message.message_id)

    @dispatcher.errors()
    async def on_error(event: ErrorEvent, bot: Bot, i18n: I18n, chats: ChatDirectory) -> None:
        message = event.update.message
        chat_id = message.chat.id if message else None
        logger.error(
            "update %s in chat %s failed: %s",
            event.update.update_id,
            chat_id,
            event.exception,
            exc_info=event.exception,
        )
        if message is None or message.from_user is None:
            return
        t = i18n.translator(message.from_user.language_code, chats.language(chat_ref(message.chat)))
        try:
            await bot.send_message(message.chat.id, t("errors.generic"), reply_to_message_id=message.message_id)
        except TelegramAPIError as exc:
            logger.warning("could not apologise in chat %s: %s", chat_id, exc)
