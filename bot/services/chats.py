"""Per-chat timezone and language, falling back to the community defaults, kept in memory."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain import ChatRef, MemberRef
from bot.services.ports import ChatPreferences, ChatPreferencesStore


class ChatDirectory:
    def __init__(self, default_timezone: str, default_language: str) -> None:
        self._default_timezone = ZoneInfo(default_timezone)
        self._default_language = default_language
        self._timezones: dict[ChatRef, ZoneInfo] = {}
        self._languages: dict[ChatRef, str] = {}

    async def load(self, store: ChatPreferencesStore) -> None:
        for chat, preferences in (await store.load_all()).items():
            self.set(chat, preferences)

    def set(self, chat: ChatRef, preferences: ChatPreferences) -> None:
        if preferences.timezone:
            self._timezones[chat] = ZoneInfo(preferences.timezone)
        if preferences.language:
            self._languages[chat] = preferences.language

    def timezone(self, chat: ChatRef) -> ZoneInfo:
        return self._timezones.get(chat, self._default_timezone)

    def member_timezone(self, member: MemberRef) -> ZoneInfo:
        return self.timezone(member.chat)

    def language(self, chat: ChatRef | None) -> str:
        if chat is None:
            return self._default_language
        return self._languages.get(chat, self._default_language)
