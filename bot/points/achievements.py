"""After points move: check promotions and badges in the background, off the reply path.

Committed movements mark their members; a loop handles the marked members in batches. The
daily tier evaluation catches anything lost if the process stops between the two.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.core.ports import PointsMoved
from bot.domain import MemberRef
from bot.points.badges import BadgeService
from bot.points.tiers import TierService

logger = logging.getLogger(__name__)


class Achievements:
    def __init__(
        self,
        tiers: TierService,
        badges: BadgeService,
        *,
        prepare: Callable[[], Awaitable[None]] | None = None,
        batch: int = 500,
    ) -> None:
        self._prepare = prepare
        self._tiers = tiers
        self._badges = badges
        self._batch = batch
        self._pending: dict[MemberRef, None] = {}
        self._reasons: set[str] = set()
        self._wake = asyncio.Event()

    def on_points(self, moved: Sequence[PointsMoved]) -> None:
        """Storage observer (synchronous, cheap)."""
        for item in moved:
            if item.earned and item.delta > 0:
                self._pending[item.member] = None
                self._reasons.add(item.reason)
        if self._pending:
            self._wake.set()

    async def settle(self) -> None:
        """Handle everything marked so far (the loop calls this; tests and shutdown too)."""
        if self._pending and self._prepare is not None:
            try:
                await self._prepare()  # e.g. land buffered names, so announcements can name members
            except Exception:  # noqa: BLE001 - e.g. the database is unreachable: the loop must live on
                logger.warning("could not prepare achievements; trying them anyway", exc_info=True)
        while self._pending:
            members = list(self._pending)[: self._batch]
            for member in members:
                del self._pending[member]
            reasons = sorted(self._reasons)
            if not self._pending:
                self._reasons.clear()
            try:
                await self._tiers.promote(members)
                await self._badges.check(members, reasons)
            except Exception:
                logger.exception("achievements for %d members failed; the daily evaluation will retry", len(members))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            await self.settle()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
        await self.settle()
