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

from bot.domain import ChatRef, UserRef
from bot.platforms.telegram.moderators import Moderators
from bot.services.ports import DONE, Outcome

logger = logging.getLogger(__name__)

MUTED = ChatPermissions(
    can_send_messages=False, can_send_audios=False, can_send_documents=False, can_send_photos=False,
    can_send_videos=False, can_send_video_notes=False, can_send_voice_notes=False, can_send_polls=False,
    can_send_other_messages=False, can_add_web_page_previews=False,
)  # fmt: skip
TEXT_ONLY = MUTED.model_copy(update={"can_send_messages": True})
EVERYTHING = ChatPermissions(
    can_send_messages=True, can_send_audios=True, can_send_documents=True, can_send_photos=True,
    can_send_videos=True, can_send_video_notes=True, can_send_voice_notes=True, can_send_polls=True,
    can_send_other_messages=True, can_add_web_page_previews=True,
)  # fmt: skip


class ModUndoCD(CallbackData, prefix="modundo"):
    action_id: int


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
    def __init__(self, bot: Bot, moderators: Moderators) -> None:
        self._bot = bot
        self._moderators = moderators

    async def restrict(self, chat: ChatRef, user: UserRef, until: datetime | None, *, text_only: bool = False) -> Outcome:
        return await self._call(
            self._bot.restrict_chat_member(
                int(chat.external_id), int(user.external_id), TEXT_ONLY if text_only else MUTED,
                use_independent_chat_permissions=True, until_date=until,
            ), "restrict", chat,
        )  # fmt: skip

    async def release(self, chat: ChatRef, user: UserRef) -> Outcome:
        permissions = EVERYTHING
        try:
            permissions = (await self._bot.get_chat(int(chat.external_id))).permissions or EVERYTHING
        except TelegramAPIError as exc:
            logger.info("could not read the default permissions of %s: %s", chat.external_id, exc)
        return await self._call(
            self._bot.restrict_chat_member(
                int(chat.external_id), int(user.external_id), permissions, use_independent_chat_permissions=True
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
