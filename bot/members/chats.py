"""Per-chat timezone and language, falling back to the community defaults, kept in memory."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.core.ports import ChatPreferences, ChatPreferencesStore
from bot.domain import ChatRef, MemberRef
from bot.engagement.checkin import local_day


class ChatDirectory:
    def __init__(self, default_timezone: str, default_language: str, day_starts_at: time = time(0)) -> None:
        self._day_starts_at = day_starts_at
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

    @property
    def default_timezone(self) -> ZoneInfo:
        return self._default_timezone

    def set_timezone(self, chat: ChatRef, name: str) -> None:
        """A group's own timezone from the schedule file (it decides its check-in day too)."""
        self._timezones[chat] = ZoneInfo(name)

    def timezone(self, chat: ChatRef) -> ZoneInfo:
        return self._timezones.get(chat, self._default_timezone)

    def day(self, chat: ChatRef, at: datetime) -> date:
        """The chat's community day for ``at``: its timezone, starting at the configured hour."""
        return local_day(at, self.timezone(chat), self._day_starts_at)

    def community_day(self, at: datetime) -> date:
        """The day by the community's default timezone (seasons turn on it)."""
        return local_day(at, self._default_timezone, self._day_starts_at)

    def member_day(self, member: MemberRef, at: datetime) -> date:
        return self.day(member.chat, at)

    def language(self, chat: ChatRef | None) -> str:
        if chat is None:
            return self._default_language
        return self._languages.get(chat, self._default_language)
