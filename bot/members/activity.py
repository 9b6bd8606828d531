"""Write-behind activity counting: the hot path only touches memory; a flusher lands it every second.

A flush that fails keeps its tallies and update ids for the next attempt, so nothing is dropped. The
one exception is a row the database refuses outright (``StorageRejected``: a value it cannot hold):
then the batch is written row by row and only the refused member-day is dropped, with a log line, so
one bad field cannot hold back everyone else's counts and the processed update ids. Shutdown flushes
once more after in-flight updates finish.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime

from bot.core.errors import StorageConflict, StorageRejected
from bot.core.ports import ActivityStore
from bot.domain import ActivityTally, ChatInfo, ChatRef, MemberRef, UserInfo, UserRef

logger = logging.getLogger(__name__)


class ActivityBuffer:
    def __init__(self, store: ActivityStore, day_of: Callable[[ChatRef, datetime], date]) -> None:
        self._store = store
        self._day_of = day_of
        self._tallies: dict[tuple[MemberRef, date], ActivityTally] = {}
        self._processed: list[tuple[str, str, int]] = []
        self._lock = asyncio.Lock()
        # Told when a member is seen present (posting, joining) or gone (leaving, removed).
        self.on_presence: Callable[[MemberRef, bool], None] = lambda member, present: None

    def seen(
        self,
        member: MemberRef,
        user: UserInfo,
        chat: ChatInfo,
        at: datetime,
        *,
        messages: int = 0,
        media: int = 0,
        links: int = 0,
    ) -> None:
        tally, newest = self._tally(member, at)
        tally.user, tally.chat = user, chat
        if newest:
            tally.left_at = None  # only members can post
            self.on_presence(member, True)
        tally.messages += messages
        tally.media += media
        tally.links += links

    def membership(self, member: MemberRef, user: UserInfo, chat: ChatInfo, at: datetime, *, left: bool) -> None:
        """A join or a leave; the latest event decides whether the member is still in the chat."""
        tally, newest = self._tally(member, at)
        tally.user, tally.chat = user, chat
        if newest:  # an older event handled late must not undo a newer one
            tally.left_at = at if left else None
            self.on_presence(member, not left)

    def checked_in(self, member: MemberRef, day: date, at: datetime) -> None:
        self._tally(member, at)[0].checkins += 1

    def forget_user(self, user: UserRef) -> None:
        """Drop her unflushed counts, so a flush after /forgetme does not write her name back."""
        self._tallies = {key: tally for key, tally in self._tallies.items() if tally.member.user != user}

    def processed(self, platform: str, update_id: int, bot: str = "") -> None:
        self._processed.append((platform, bot, update_id))

    @property
    def pending(self) -> int:
        return len(self._tallies) + len(self._processed)

    async def flush(self) -> None:
        async with self._lock:
            tallies, processed = list(self._tallies.values()), self._processed
            if not tallies and not processed:
                return
            self._tallies, self._processed = {}, []
            try:
                await self._store.record(tallies, processed)
            except StorageRejected:
                await self._record_row_by_row(tallies, processed)
            except BaseException:
                self._restore(tallies, processed)
                raise

    async def _record_row_by_row(self, tallies: list[ActivityTally], processed: list[tuple[str, str, int]]) -> None:
        """One refused row failed the batch: land the others, drop only what the database refuses."""
        for index, tally in enumerate(tallies):
            try:
                await self._store.record([tally], [])
            except StorageRejected as exc:
                logger.error(
                    "activity of user %s in chat %s on %s dropped: the database refused it (%s)",
                    tally.member.user.external_id, tally.member.chat.external_id, tally.day, exc,
                )
            except BaseException:
                self._restore(tallies[index:], processed)
                raise
        try:
            await self._store.record([], processed)
        except BaseException:
            self._restore([], processed)
            raise

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        """Flush every ``interval`` seconds until ``stop`` is set; errors are logged and retried."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
            try:
                await self.flush()
            except StorageConflict:
                logger.warning("activity flush hit a transaction conflict; retrying with the next flush")
            except Exception:
                logger.exception("activity flush failed; %d entries kept for the next attempt", self.pending)

    def _tally(self, member: MemberRef, at: datetime) -> tuple[ActivityTally, bool]:
        """The member's tally for the local day of ``at``, and whether ``at`` is its newest event."""
        key = (member, self._day_of(member.chat, at))
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = ActivityTally(member=member, day=key[1], user=None, chat=None, last_seen_at=at)
            return tally, True
        if at >= tally.last_seen_at:
            tally.last_seen_at = at
            return tally, True
        return tally, False

    def _restore(self, tallies: list[ActivityTally], processed: list[tuple[str, str, int]]) -> None:
        for old in tallies:
            key = (old.member, old.day)
            current = self._tallies.get(key)
            if current is None:
                self._tallies[key] = old
                continue
            current.messages += old.messages
            current.media += old.media
            current.links += old.links
            current.checkins += old.checkins
            current.user = current.user or old.user
            current.chat = current.chat or old.chat
            if old.last_seen_at > current.last_seen_at:
                current.last_seen_at, current.left_at = old.last_seen_at, old.left_at
        self._processed[:0] = processed
