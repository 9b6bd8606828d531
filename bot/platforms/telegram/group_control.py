"""Moderation steps on Telegram (the GroupControl port) and the moderation log chat (the ModerationLog port).

Telegram's refusals become outcomes the moderator is told about, never exceptions: the bot is not
an administrator or lacks a right, the member is an administrator, the message or member is gone.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field

from bot.core.numbers import DB_INT_MAX
from bot.core.ports import DONE, Clock, Outcome
from bot.domain import ChatRef, UserRef
from bot.moderation.durations import restriction_until
from bot.platforms.telegram.moderators import Moderators

logger = logging.getLogger(__name__)

# Every field of ChatPermissions, always sent explicitly: a field left out is read by Telegram as
# false (or, with use_independent_chat_permissions=False, derived from others), so a partial object
# silently takes rights away. Built from the model, so a field aiogram adds later is not forgotten.
PERMISSION_FIELDS = tuple(ChatPermissions.model_fields)
MUTED = ChatPermissions(**{name: False for name in PERMISSION_FIELDS})
TEXT_ONLY = MUTED.model_copy(update={"can_send_messages": True})
# Telegram lifts a restriction only when every permission is true ("pass True for all permissions to
# lift restrictions from a user"); the member is then an ordinary member and the group's own default
# permissions apply to her. Sending the group's defaults instead would keep her "restricted" with a
# frozen copy of them, so a later change of the defaults would pass her by.
UNRESTRICTED = ChatPermissions(**{name: True for name in PERMISSION_FIELDS})


class ModUndoCD(CallbackData, prefix="modundo"):
    # Callback data comes back from the client and can be forged: an id outside a database integer
    # does not unpack (the fallback handler answers "not found") instead of reaching the database.
    action_id: int = Field(ge=1, le=DB_INT_MAX)


def outcome_of(error: TelegramAPIError) -> Outcome:
    """Telegram's error text to an outcome the moderator can act on."""
    text = error.message.lower()
    if isinstance(error, TelegramForbiddenError) or "not enough rights" in text or "need administrator rights" in text:
        return "no_rights"
    if "administrator" in text or "chat owner" in text or "can't remove chat owner" in text:
        return "target_admin"
    if "not found" in text or "participant_id_invalid" in text or "user_not_participant" in text:
        return "not_found"
    if "can't be deleted" in text:
        return "no_rights"
    if "only for supergroups" in text:
        return "not_supergroup"
    return "failed"


class TelegramGroupControl:
    def __init__(self, bot: Bot, moderators: Moderators, *, clock: Clock | None = None) -> None:
        self._bot = bot
        self._moderators = moderators
        self._clock = clock

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None, *, text_only: bool = False) -> Outcome:
        if until is not None and self._clock is not None:
            # The last edge before Telegram, which reads an end under 30 s or over 366 days away as forever.
            bounded = restriction_until(self._clock.now(), until)
            if bounded is None:
                logger.info("not restricting %s in %s: the restriction would end within 30 s", user.external_id, chat.external_id)
                return DONE
            until = bounded
        return await self._call(
            self._bot.restrict_chat_member(
                int(chat.external_id), int(user.external_id), TEXT_ONLY if text_only else MUTED,
                use_independent_chat_permissions=True, until_date=until,
            ), "restrict", chat,
        )  # fmt: skip

    async def release(self, chat: ChatRef, user: UserRef) -> Outcome:
        """Lift every restriction: all permissions true, each field explicit."""
        return await self._call(
            self._bot.restrict_chat_member(
                int(chat.external_id), int(user.external_id), UNRESTRICTED, use_independent_chat_permissions=True
            ), "release", chat,
        )  # fmt: skip

    async def remove(self, chat: ChatRef, user: UserRef) -> Outcome:
        # Telegram has no kick: a ban, lifted at once, removes her and lets her rejoin by invitation.
        outcome = await self._call(self._bot.ban_chat_member(int(chat.external_id), int(user.external_id)), "remove", chat)
        if outcome == DONE:
            await self._call(
                self._bot.unban_chat_member(int(chat.external_id), int(user.external_id), only_if_banned=True), "remove", chat
            )
        return outcome

    async def ban(self, chat: ChatRef, user: UserRef) -> Outcome:
        return await self._call(
            self._bot.ban_chat_member(int(chat.external_id), int(user.external_id), revoke_messages=False), "ban", chat
        )

    async def unban(self, chat: ChatRef, user: UserRef) -> Outcome:
        return await self._call(
            self._bot.unban_chat_member(int(chat.external_id), int(user.external_id), only_if_banned=True), "unban", chat
        )

    async def delete(self, chat: ChatRef, message_id: str) -> Outcome:
        return await self._call(self._bot.delete_message(int(chat.external_id), int(message_id)), "delete", chat)

    async def is_admin(self, chat: ChatRef, user: UserRef) -> bool:
        return await self._moderators.is_admin(self._bot, int(chat.external_id), int(user.external_id))

    async def _call(self, request: object, what: str, chat: ChatRef) -> Outcome:
        try:
            await request  # type: ignore[misc]
        except TelegramAPIError as exc:
            outcome = outcome_of(exc)
            log = logger.warning if outcome == "failed" else logger.info
            log("could not %s in chat %s: %s (%s)", what, chat.external_id, exc.message, outcome)
            return outcome
        return DONE


class TelegramModerationLog:
    """Posts each action to the log chat, with an undo button for moderators."""

    def __init__(self, bot: Bot, chat_id: int) -> None:
        self._bot = bot
        self._chat_id = chat_id

    async def publish(self, text: str, *, undo: tuple[str, int] | None) -> str | None:
        markup = None
        if undo is not None:
            label, action_id = undo
            markup = InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=ModUndoCD(action_id=action_id).pack())]]
            )
        try:
            message = await self._bot.send_message(self._chat_id, text, reply_markup=markup)
        except TelegramAPIError as exc:
            logger.warning("could not post to the moderation log chat %s: %s", self._chat_id, exc)
            return None
        return str(message.message_id)

    async def amend(self, message_id: str, text: str) -> None:
        try:
            await self._bot.edit_message_text(text, chat_id=self._chat_id, message_id=int(message_id), reply_markup=None)
        except TelegramBadRequest as exc:
            logger.info("could not amend log message %s: %s", message_id, exc)
