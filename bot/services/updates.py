"""Which update ids were already handled, so a redelivered update has no second effect."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.services.ports import ActivityStore

# Telegram keeps undelivered updates for 24 hours; remember a little longer.
REMEMBER_FOR = timedelta(hours=48)


class SeenUpdates:
    def __init__(self, capacity: int = 500_000) -> None:
        # Insertion-ordered: the oldest id is evicted first once capacity is reached.
        self._seen: dict[tuple[str, int], None] = {}
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
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            del self._seen[next(iter(self._seen))]
        return True

    def forget(self, platform: str, update_id: int) -> None:
        """Let a failed update be tried again when it is redelivered."""
        self._seen.pop((platform, update_id), None)
