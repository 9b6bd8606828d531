"""Messages services send on their own (promotions, badges, demotion notices), in the right language.

Group messages use the group's language; private ones the member's profile language, then her
platform language, then the group's. Platforms register their Notifier when they start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.core.ports import Notifier
from bot.domain import ChatRef, MemberRef, UserInfo
from bot.i18n import I18n, Translator
from bot.members.chats import ChatDirectory
from bot.members.languages import MemberLanguages

logger = logging.getLogger(__name__)


class Notifiers:
    """One Notifier per platform ("telegram", later "wecom")."""

    def __init__(self) -> None:
        self._by_platform: dict[str, Notifier] = {}
        self._listeners: list[Callable[[str], None]] = []

    def register(self, platform: str, notifier: Notifier) -> None:
        self._by_platform[platform] = notifier
        for listener in self._listeners:
            listener(platform)

    def on_register(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(platform)`` whenever a platform can post (it connected)."""
        self._listeners.append(listener)

    @property
    def platforms(self) -> list[str]:
        return list(self._by_platform)

    def get(self, platform: str) -> Notifier | None:
        return self._by_platform.get(platform)


class Announcer:
    def __init__(self, notifiers: Notifiers, i18n: I18n, chats: ChatDirectory, languages: MemberLanguages) -> None:
        self._notifiers = notifiers
        self._i18n = i18n
        self._chats = chats
        self._languages = languages

    def for_chat(self, chat: ChatRef) -> Translator:
        return self._i18n.translator(None, self._chats.language(chat))

    def for_member(self, member: MemberRef, info: UserInfo | None) -> Translator:
        chosen = self._languages.get(member.user) or (info.language if info else None)
        return self._i18n.translator(chosen, self._chats.language(member.chat))

    async def to_chat(self, chat: ChatRef, key: str, **params: Any) -> bool:
        notifier = self._notifiers.get(chat.platform)
        if notifier is None:
            logger.warning("no notifier for %s; dropped %s", chat.platform, key)
            return False
        t = self.for_chat(chat)
        return await notifier.to_chat(chat, t(key, **params))

    async def to_member(self, member: MemberRef, info: UserInfo | None, key: str, **params: Any) -> bool:
        notifier = self._notifiers.get(member.user.platform)
        if notifier is None:
            return False
        t = self.for_member(member, info)
        return await notifier.to_user(member.user, t(key, **params))


def display_name(info: UserInfo | None) -> str:
    if info is None:
        return ""
    return info.display_name or (f"@{info.username}" if info.username else "")
