"""Every outgoing request passes here: texts fitted to Telegram's limits, replies in the current form.

Lengths (Bot API): a message text 1-4,096 characters after entity parsing (sendMessage,
editMessageText), a caption 0-1,024 (send* with media, copyMessage, editMessageCaption), a callback
query answer 0-200 (answerCallbackQuery), a poll question 300, an option 100 and a quiz explanation
200. Over the limit Telegram answers 400 "message is too long" and nothing is sent, so a member's
5,000-character reason quoted back would turn a done action into an apology. Here the text is cut at
a sensible boundary with an ellipsis instead (``bot.core.lengths.fit``; how Telegram counts is
noted there).

Replies: ``reply_to_message_id`` and the top-level ``allow_sending_without_reply`` are deprecated
(Bot API 7.0) in favour of ``reply_parameters``. Whatever a caller passed goes on the wire as
``reply_parameters`` with ``allow_sending_without_reply=True``, so a reply to a message deleted
meanwhile (by a filter, /del, its author) is still sent rather than failing.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputPollOption, ReplyParameters

from bot.core.lengths import fit

logger = logging.getLogger(__name__)

MESSAGE_TEXT = 4096
CAPTION = 1024
CALLBACK_ANSWER = 200
POLL_QUESTION = 300
POLL_OPTION = 100
POLL_EXPLANATION = 200

# method name -> (field, limit, the field holding its parse mode)
LIMITS: dict[str, tuple[tuple[str, int, str], ...]] = {
    "sendMessage": (("text", MESSAGE_TEXT, "parse_mode"),),
    "editMessageText": (("text", MESSAGE_TEXT, "parse_mode"),),
    "answerCallbackQuery": (("text", CALLBACK_ANSWER, ""),),
    "sendPoll": (("question", POLL_QUESTION, "question_parse_mode"), ("explanation", POLL_EXPLANATION, "explanation_parse_mode")),
    **{
        name: (("caption", CAPTION, "parse_mode"),)
        for name in (
            "sendPhoto", "sendDocument", "sendVideo", "sendAnimation", "sendAudio", "sendVoice", "sendPaidMedia",
            "copyMessage", "editMessageCaption",
        )
    },
}  # fmt: skip


def _parse_mode(bot: Bot, method: TelegramMethod[Any], field: str) -> str:
    if not field:
        return ""
    value = getattr(method, field, None)
    if isinstance(value, Default):
        value = bot.default[value.name] if bot.default is not None else None
    return str(value or "").lower()


def fitted_changes(bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any]:
    """The fields of ``method`` to replace so that it fits Telegram's limits and replies properly."""
    changes: dict[str, Any] = {}
    for field, limit, mode_field in LIMITS.get(method.__api_method__, ()):
        text = getattr(method, field, None)
        if not isinstance(text, str):
            continue
        mode = _parse_mode(bot, method, mode_field)
        if mode.startswith("markdown"):
            # A cut could break an escape or leave a span open; plain text is better than nothing sent.
            fitted = fit(text, limit)
            if fitted != text:
                changes[field], changes[mode_field] = fitted, None
            continue
        fitted = fit(text, limit, html=mode == "html")
        if fitted != text:
            changes[field] = fitted
    if method.__api_method__ == "sendPoll":
        options = getattr(method, "options", None) or []
        shorter = [_fit_option(option) for option in options]
        if shorter != list(options):
            changes["options"] = shorter
    changes.update(_reply_changes(method))
    if changes:
        logger.debug("fitted %s: %s", method.__api_method__, sorted(changes))
    return changes


def _fit_option(option: Any) -> Any:
    if isinstance(option, str):
        return fit(option, POLL_OPTION)
    if isinstance(option, InputPollOption) and isinstance(option.text, str):
        text = fit(option.text, POLL_OPTION)
        return option if text == option.text else option.model_copy(update={"text": text})
    return option


def _reply_changes(method: TelegramMethod[Any]) -> dict[str, Any]:
    fields = type(method).model_fields
    if "reply_parameters" not in fields:
        return {}
    changes: dict[str, Any] = {}
    reply = getattr(method, "reply_parameters", None)
    legacy = getattr(method, "reply_to_message_id", None) if "reply_to_message_id" in fields else None
    if reply is None and legacy is not None:
        reply = ReplyParameters(message_id=legacy, allow_sending_without_reply=True)
        changes["reply_parameters"] = reply
    elif isinstance(reply, ReplyParameters) and reply.allow_sending_without_reply is not True:
        changes["reply_parameters"] = reply.model_copy(update={"allow_sending_without_reply": True})
    if legacy is not None:
        changes["reply_to_message_id"] = None
    if "allow_sending_without_reply" in fields and getattr(method, "allow_sending_without_reply", None) is not None:
        changes["allow_sending_without_reply"] = None
    return changes


class OutgoingShape(BaseRequestMiddleware):
    """The aiogram session middleware applying ``fitted_changes`` to every request."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        changes = fitted_changes(bot, method)
        if changes:
            method = method.model_copy(update=changes)
        return await make_request(bot, method)


def install(bot: Bot) -> None:
    """Put the shaping first among the session's middlewares (once), so retries resend the fitted request."""
    middlewares = bot.session.middleware
    if any(isinstance(middleware, OutgoingShape) for middleware in middlewares):
        return
    middlewares._middlewares.insert(0, OutgoingShape())  # register() would append it last
