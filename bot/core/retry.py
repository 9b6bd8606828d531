from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.core.errors import StorageConflict

logger = logging.getLogger(__name__)
T = TypeVar("T")


async def on_conflict(operation: Callable[[], Awaitable[T]], *, attempts: int = 5) -> T:
    """Run a whole transaction again when the database aborted it for a conflict."""
    for attempt in range(1, attempts + 1):
        try:
            return await operation()
        except StorageConflict:
            if attempt == attempts:
                raise
            logger.warning("transaction conflict, retrying (%d/%d)", attempt, attempts)
            await asyncio.sleep(0.01 * attempt)
    raise AssertionError("unreachable")
