from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 23, 4, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, delta: timedelta) -> None:
        self._now += delta
