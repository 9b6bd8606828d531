"""The command menus Telegram shows, per scope and language."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats

from bot.i18n import I18n

GROUP_COMMANDS = ("checkin", "points", "me", "top", "shop", "ask", "rules", "report", "help")  # moderator commands stay out of members' menus
PRIVATE_COMMANDS = ("start", "help", "ask", "profile", "mydata", "forgetme")
# Telegram matches the user's language by its two-letter code; "" is the fallback for everyone else.
MENU_LANGUAGES = {"zh": "zh-CN", "en": "en"}


async def set_command_menus(bot: Bot, i18n: I18n, default_language: str) -> None:
    for scope, names in ((BotCommandScopeAllGroupChats(), GROUP_COMMANDS), (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS)):
        for code, language in (*MENU_LANGUAGES.items(), ("", default_language)):
            t = i18n.translators[language]
            commands = [BotCommand(command=name, description=t(f"commands.{name}")) for name in names]
            await bot.set_my_commands(commands, scope=scope, language_code=code or None)
