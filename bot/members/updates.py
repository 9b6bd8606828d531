"""Which update ids were already handled, so a redelivered update has no second effect.

Only within Telegram's redelivery window, and only per bot: Telegram keeps an undelivered update for
24 hours, so a redelivery comes within that; update ids increase for one bot, but after a week without
updates the next id may be chosen at random, and another bot (a new token on the same database) has
ids of its own. An id handled more than ``REMEMBER_FOR`` ago is therefore a new update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.ports import ActivityStore

# Telegram keeps an undelivered update for 24 hours.
KEPT_BY_TELEGRAM = timedelta(hours=24)
# Remember handled ids a little longer than Telegram may redeliver them (the processed-update rows too).
REMEMBER_FOR = timedelta(hours=48)
# An update that failed this many times for a reason other than an outage is given up on: asking for
# it again would only block the updates behind it (see bot/middlewares/dedupe.py).
MAX_ATTEMPTS = 3
# An update failing because of an outage is tried again until this long after its first failure; by
# then Telegram has dropped it anyway, so it is given up on too.
OUTAGE_LIMIT = KEPT_BY_TELEGRAM

Key = tuple[str, str, int]  # (platform, bot id, update id)


@dataclass(frozen=True, slots=True)
class Failures:
    attempts: int  # failures that counted (outages do not)
    first_at: datetime  # the first failure, outage or not
    last_at: datetime  # this one

    @property
    def failing_for(self) -> timedelta:
        return self.last_at - self.first_at


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SeenUpdates:
    def __init__(self, capacity: int = 500_000, now: Callable[[], datetime] = _utc_now) -> None:
        # Insertion-ordered (so, oldest first): expired and over-capacity ids are dropped from the front.
        self._seen: dict[Key, datetime] = {}
        self._capacity = capacity
        self._now = now
        self._failures: dict[Key, Failures] = {}

    async def load(self, store: ActivityStore, now: datetime) -> None:
        for platform, bot, update_id, at in sorted(await store.recent_updates(since=now - REMEMBER_FOR), key=lambda r: r[3]):
            self._remember((platform, bot, update_id), at)

    def __contains__(self, key: Key) -> bool:
        at = self._seen.get(key)
        return at is not None and self._now() - at < REMEMBER_FOR

    def add(self, platform: str, update_id: int, bot: str = "") -> bool:
        """Remember the id; False if it was already handled (or is being handled) within the window."""
        key = (platform, bot, update_id)
        if key in self:
            return False
        self._seen.pop(key, None)  # an expired entry: re-insert at the end, as the newest
        self._remember(key, self._now())
        return True

    def forget(self, platform: str, update_id: int, bot: str = "") -> None:
        """Let a failed update be tried again when it is redelivered."""
        self._seen.pop((platform, bot, update_id), None)

    def failed(self, platform: str, update_id: int, bot: str = "", *, counts: bool = True) -> Failures:
        """Note one more failed attempt at the update; returns its failures so far."""
        key = (platform, bot, update_id)
        before = self._failures.get(key)
        now = self._now()
        failures = Failures(
            attempts=(before.attempts if before else 0) + (1 if counts else 0),
            first_at=before.first_at if before else now,
            last_at=now,
        )
        self._failures[key] = failures
        if len(self._failures) > 10_000:  # ids that failed and never came back
            del self._failures[next(iter(self._failures))]
        return failures

    def settled(self, platform: str, update_id: int, bot: str = "") -> None:
        """The update went through (or was given up on): its failures no longer matter."""
        self._failures.pop((platform, bot, update_id), None)

    def _remember(self, key: Key, at: datetime) -> None:
        self._seen[key] = at
        oldest = self._now() - REMEMBER_FOR
        while self._seen:
            first = next(iter(self._seen))
            if len(self._seen) <= self._capacity and self._seen[first] >= oldest:
                break
            del self._seen[first]
