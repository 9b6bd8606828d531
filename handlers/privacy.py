"""/mydata and /forgetme, in the private chat with the bot."""

from __future__ import annotations

import json

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Translator
from bot.members.privacy import PrivacyService
from bot.platforms.telegram import refs
from handlers.filters import IN_GROUP, IN_PRIVATE


class ForgetCD(CallbackData, prefix="forget"):
    confirm: bool


def make_router() -> Router:
    router = Router(name="privacy")

    @router.message(Command("mydata"), IN_PRIVATE)
    async def cmd_mydata(message: Message, privacy: PrivacyService, t: Translator) -> None:
        assert message.from_user is not None
        data = await privacy.export(refs.user_ref(message.from_user))
        if data is None:
            await message.answer(t("privacy.nothing"))
            return
        document = json.dumps(data, ensure_ascii=False, indent=2).encode()
        await message.answer_document(BufferedInputFile(document, "cradle-my-data.json"), caption=t("privacy.export"))

    @router.message(Command("forgetme"), IN_PRIVATE)
    async def cmd_forgetme(message: Message, t: Translator) -> None:
        buttons = [
            InlineKeyboardButton(text=t("privacy.yes"), callback_data=ForgetCD(confirm=True).pack()),
            InlineKeyboardButton(text=t("privacy.no"), callback_data=ForgetCD(confirm=False).pack()),
        ]
        await message.answer(t("privacy.confirm"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons]))

    @router.callback_query(ForgetCD.filter(F.confirm))
    async def on_forget_click(query: CallbackQuery, privacy: PrivacyService, t: Translator) -> None:
        forgotten = await privacy.forget(refs.user_ref(query.from_user))
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(t("privacy.forgotten" if forgotten else "privacy.nothing"))

    @router.callback_query(ForgetCD.filter(~F.confirm))
    async def on_keep_click(query: CallbackQuery, t: Translator) -> None:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.edit_text(t("privacy.kept"))

    @router.message(Command("mydata", "forgetme"), IN_GROUP)
    async def cmd_privacy_in_group(message: Message, t: Translator) -> None:
        await message.reply(t("privacy.private_only"))

    return router
