"""Languages members chose in /profile, kept in memory so the per-update pipeline needs no query."""

from __future__ import annotations

from bot.domain import UserRef


class MemberLanguages:
    def __init__(self) -> None:
        self._chosen: dict[UserRef, str] = {}

    def load(self, chosen: dict[UserRef, str]) -> None:
        self._chosen.update(chosen)

    def get(self, user: UserRef) -> str | None:
        return self._chosen.get(user)

    def set(self, user: UserRef, language: str | None) -> None:
        if language is None:
            self._chosen.pop(user, None)
        else:
            self._chosen[user] = language
