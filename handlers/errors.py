"""Errors: expected refusals are explained; unexpected failures are logged and handed back for redelivery.

When the bot speaks after an unexpected failure (the policy):

- A failure that will be redelivered says nothing. The exception leaves ``feed_update``: the webhook
  answers 500 and the poller does not confirm the update, so Telegram delivers it again and the
  member gets her real answer then (a /checkin during a database outage is answered once it is back).
  An apology now would be followed by the answer, or by a second apology.
- When the bot gives up on an update (``GaveUp``: it failed ``MAX_ATTEMPTS`` times for a reason other
  than an outage, or an outage outlasted Telegram's 24 hours, see bot/middlewares/dedupe.py), the
  update is saved under ``[telegram].rejected_dir`` and the bot apologises only where the member is
  waiting for an answer: an explicit command (a message starting with "/"), a message to the bot in
  private, or a pressed button (answered with a short notice, so it stops spinning). Paths that never
  reply (thanks, shares, activity, reactions, filters, joins) stay silent: a public apology under a
  plain message would only puzzle the group.
- Nothing ever leaks a traceback into a chat; the log has it, with the update and chat ids.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import CallbackQuery, ErrorEvent, Message, ReplyParameters

from bot.core.errors import DomainError
from bot.i18n import I18n
from bot.members.chats import ChatDirectory
from bot.middlewares.dedupe import GaveUp, is_transient
from bot.platforms.telegram.refs import chat_ref
from bot.platforms.telegram.rejected import DEFAULT_DIRECTORY, save_rejected

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
        await bot.send_message(message.chat.id, t(error.code, **error.params), reply_parameters=reply_to(message))

    @dispatcher.errors(ExceptionTypeFilter(GaveUp))
    async def on_given_up(
        event: ErrorEvent, bot: Bot, i18n: I18n, chats: ChatDirectory, rejected_dir: str = DEFAULT_DIRECTORY
    ) -> None:
        """The update will not come again: log it, keep a copy, and answer whoever waits for an answer."""
        error = event.exception
        assert isinstance(error, GaveUp)
        update = event.update
        message = update.message
        chat_id = message.chat.id if message else None
        logger.error(
            "update %s in chat %s failed %s times (outages aside) over %s; giving up on it: %r",
            update.update_id, chat_id, error.attempts, error.failing_for, error.__cause__, exc_info=error.__cause__,
        )
        cause = error.__cause__
        reason = f"given up after {error.attempts} failures over {error.failing_for}: {type(cause).__name__}: {cause}"
        # Webhook or polling alike: the update is acknowledged now, so this copy is the only one left.
        save_rejected(update.model_dump(mode="json", exclude_none=True), reason, directory=rejected_dir)
        if update.callback_query is not None:
            await answer_button(bot, update.callback_query, i18n, chats)
        if message is None or message.from_user is None or not expects_answer(message):
            return
        t = i18n.translator(message.from_user.language_code, chats.language(chat_ref(message.chat)))
        try:
            await bot.send_message(message.chat.id, t("errors.generic"), reply_parameters=reply_to(message))
        except TelegramAPIError as exc:
            logger.warning("could not apologise in chat %s: %s", chat_id, exc)

    @dispatcher.errors()
    async def on_error(event: ErrorEvent) -> None:
        """Log with context, then let the exception leave ``feed_update`` so the update is redelivered."""
        message = event.update.message
        chat_id = message.chat.id if message else None
        if is_transient(event.exception):
            logger.warning(
                "update %s in chat %s failed (%r); Telegram will deliver it again",
                event.update.update_id, chat_id, event.exception,
            )
        else:
            logger.error(
                "update %s in chat %s failed; Telegram will deliver it again: %r",
                event.update.update_id, chat_id, event.exception, exc_info=event.exception,
            )
        raise SkipHandler()  # unhandled: aiogram's errors middleware re-raises the original exception


async def answer_button(bot: Bot, query: CallbackQuery, i18n: I18n, chats: ChatDirectory) -> None:
    """Stop the pressed button's spinner with a short apology (a button is always waiting for an answer)."""
    chat = chat_ref(query.message.chat) if query.message is not None else None  # None: an inline message
    t = i18n.translator(query.from_user.language_code, chats.language(chat))
    try:
        await bot.answer_callback_query(query.id, text=t("errors.generic"))
    except TelegramAPIError as exc:  # too old by now, most likely
        logger.warning("could not answer callback query %s: %s", query.id, exc)


def expects_answer(message: Message) -> bool:
    """A command, or anything said to the bot in private: the member is waiting for a reply."""
    text = message.text or message.caption or ""
    return text.startswith("/") or message.chat.type == "private"


def reply_to(message: Message) -> ReplyParameters:
    # The current Bot API replies through reply_parameters; the message may be gone by now.
    return ReplyParameters(message_id=message.message_id, allow_sending_without_reply=True)
