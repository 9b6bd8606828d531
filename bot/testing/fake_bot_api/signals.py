"""``_Signal``: how waiters (long polls, webhook delivery, tests) learn that state changed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class _Signal:
    """Broadcast "state changed" to any number of waiters.

    Used instead of ``asyncio.Condition`` because the injection helpers are plain
    (sync) methods and ``Condition.notify_all`` needs the lock held, which sync
    code can't acquire.  The Event is created lazily so it binds to the loop in use.
    """

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def fire(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float | None) -> Any:
        # Always yield once, so a caller's polling loop around us can't starve the loop.
        await asyncio.sleep(0)
        async with asyncio.timeout(timeout):
            while not (result := predicate()):
                if self._event is None:
                    self._event = asyncio.Event()
                await self._event.wait()
        return result
