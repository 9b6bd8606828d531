"""Skip an update id already handled; count in-flight updates so shutdown can wait for them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.platforms.telegram.refs import PLATFORM
from bot.services.activity import ActivityBuffer
from bot.services.updates import SeenUpdates


class InFlight:
    """How many updates are being handled right now."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        self._count += 1
        self._idle.clear()

    def leave(self) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    async def wait_idle(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class DedupeMiddleware(BaseMiddleware):
    def __init__(self, seen: SeenUpdates, buffer: ActivityBuffer, in_flight: InFlight) -> None:
        self._seen = seen
        self._buffer = buffer
        self._in_flight = in_flight

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        if not self._seen.add(PLATFORM, event.update_id):
            return None  # already handled (or being handled): a redelivery has no second effect
        self._in_flight.enter()
        try:
            result = await handler(event, data)
        except BaseException:
            self._seen.forget(PLATFORM, event.update_id)  # let a redelivery try again
            raise
        finally:
            self._in_flight.leave()
        self._buffer.processed(PLATFORM, event.update_id)
        return result
