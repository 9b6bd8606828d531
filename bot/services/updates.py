"""Which update ids were already handled, so a redelivered update has no second effect."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from bot.services.ports import ActivityStore

# Telegram keeps undelivered updates for 24 hours; remember a little longer.
REMEMBER_FOR = timedelta(hours=48)


class SeenUpdates:
    def __init__(self, capacity: int = 500_000) -> None:
        self._seen: set[tuple[str, int]] = set()
        self._order: deque[tuple[str, int]] = deque()
        self._capacity = capacity

    async def load(self, store: ActivityStore, now: datetime) -> None:
        for key in await store.recent_updates(since=now - REMEMBER_FOR):
            self.add(*key)

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self._seen

    def add(self, platform: str, update_id: int) -> bool:
        """Remember the id; False if it was already there."""
        key = (platform, update_id)
        if key in self._seen:
            return False
        self._seen.add(key)
        self._order.append(key)
        if len(self._order) > self._capacity:
            self._seen.discard(self._order.popleft())
        return True

    def forget(self, platform: str, update_id: int) -> None:
        """Let a failed update be tried again when it is redelivered."""
        self._seen.discard((platform, update_id))
