"""The Notifier port on Telegram: services' messages to groups and to members in private."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramEntityTooLarge, TelegramForbiddenError
from aiogram.types import InputPollOption, ReplyParameters

from bot.core.ports import DeliveryDeferred, PollRequest, SentPoll
from bot.domain import ChatRef, UserRef
from bot.platforms.telegram.sender import UNDELIVERED

logger = logging.getLogger(__name__)

# Telegram closes a poll itself after open_period seconds (5 to 2,628,000, about 30 days).
OPEN_PERIOD_MAX = 2_628_000


class TelegramNotifier:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def to_chat(self, chat: ChatRef, text: str) -> bool:
        try:
            return await self.post(chat, text) is not None
        except DeliveryDeferred:
            return False

    async def to_user(self, user: UserRef, text: str) -> bool:
        # A private chat's id is the user's id; it exists only once she has started the bot.
        try:
            return await self._send(int(user.external_id), text) is not None
        except DeliveryDeferred:
            return False

    async def post(self, chat: ChatRef, text: str, *, reply_to: str | None = None) -> str | None:
        return await self._send(int(chat.external_id), text, reply_to)

    async def post_poll(self, chat: ChatRef, poll: PollRequest) -> SentPoll | None:
        quiz = poll.correct is not None
        open_period = poll.open_seconds if poll.open_seconds and 5 <= poll.open_seconds <= OPEN_PERIOD_MAX else None
        try:
            message = await self._bot.send_poll(
                int(chat.external_id),
                question=poll.question,
                options=[InputPollOption(text=option) for option in poll.options],
                type="quiz" if quiz else "regular",
                is_anonymous=False,  # so that answers arrive as poll_answer updates (quiz points, results)
                correct_option_ids=[poll.correct] if quiz else None,
                explanation=(poll.explanation or None) if quiz else None,
                open_period=open_period,
            )
        except (TelegramForbiddenError, TelegramEntityTooLarge):
            return None
        except UNDELIVERED as exc:  # 429 past the sender's deadline, network, 5xx: worth another try
            logger.warning("could not post a poll in %s now: %s", chat.external_id, exc)
            raise DeliveryDeferred(type(exc).__name__) from exc
        except TelegramAPIError as exc:
            logger.warning("could not post a poll in %s: %s", chat.external_id, exc)
            return None
        assert message.poll is not None
        return SentPoll(str(message.message_id), message.poll.id)

    async def stop_poll(self, chat: ChatRef, message_id: str) -> bool:
        try:
            await self._bot.stop_poll(int(chat.external_id), int(message_id))
        except TelegramBadRequest:
            return False  # closed by Telegram already (open_period), or deleted
        except TelegramAPIError as exc:
            logger.warning("could not stop poll %s in %s: %s", message_id, chat.external_id, exc)
            return False
        return True

    async def _send(self, chat_id: int, text: str, reply_to: str | None = None) -> str | None:
        reply = ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True) if reply_to else None
        try:
            message = await self._bot.send_message(chat_id, text, reply_parameters=reply)
        except TelegramForbiddenError:
            return None  # never started the bot, blocked it, or the bot was removed
        except TelegramEntityTooLarge:
            return None
        except UNDELIVERED as exc:  # 429 past the sender's deadline, network, 5xx: worth another try
            logger.warning("could not send to %s now: %s", chat_id, exc)
            raise DeliveryDeferred(type(exc).__name__) from exc
        except TelegramAPIError as exc:
            logger.warning("could not send to %s: %s", chat_id, exc)
            return None
        return str(message.message_id)
