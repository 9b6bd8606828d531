"""Skip an update id already handled; count in-flight updates so shutdown can wait for them.

Delivery policy for a failed update (what is said in the chat is handlers/errors.py's business):

- the id is forgotten and the exception propagates out of ``feed_update``, so the webhook answers
  500 and the poller leaves the update unconfirmed: Telegram delivers it again, and it is handled
  then (idempotency keys make a partly done first attempt safe);
- a failure because something we depend on is unavailable (the database, the network, the Bot API)
  is always tried again: the update is worth as much after the outage as before;
- any other failure is tried ``MAX_ATTEMPTS`` times; then the update is given up on (``GaveUp`` is
  raised instead, which the error handler answers and swallows), marked processed, and the webhook
  or the poller moves on, so one poisonous update cannot block the ones behind it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import TelegramObject, Update

from bot.platforms.telegram.refs import PLATFORM
from bot.services.activity import ActivityBuffer
from bot.services.errors import DomainError, StorageConflict
from bot.services.updates import MAX_ATTEMPTS, SeenUpdates

logger = logging.getLogger(__name__)

TRANSIENT = (
    OSError,  # includes ConnectionError and TimeoutError
    StorageConflict,
    TelegramNetworkError,
    TelegramServerError,
    TelegramRetryAfter,
)
# SQLAlchemy's errors for a database that cannot be reached or dropped the connection, by name: the
# middleware (and the handlers using it) stay free of SQLAlchemy imports.
TRANSIENT_DATABASE_ERRORS = frozenset({"OperationalError", "InterfaceError", "DisconnectionError", "TimeoutError"})


class GaveUp(Exception):
    """An update failed ``attempts`` times and will not be asked for again; the cause is ``__cause__``."""

    def __init__(self, update_id: int, attempts: int) -> None:
        super().__init__(f"update {update_id} failed {attempts} times; giving up on it")
        self.update_id = update_id
        self.attempts = attempts


def is_transient(exc: BaseException) -> bool:
    """Whether the failure comes from something unavailable right now, anywhere in the exception's chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TRANSIENT) or getattr(current, "connection_invalidated", False):
            return True
        if any(k.__module__.startswith("sqlalchemy") and k.__name__ in TRANSIENT_DATABASE_ERRORS for k in type(current).__mro__):
            return True
        current = current.__cause__ or current.__context__
    return False


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
        bot = str(data["bot"].id) if data.get("bot") is not None else ""
        update_id = event.update_id
        if not self._seen.add(PLATFORM, update_id, bot):
            return None  # already handled (or being handled): a redelivery has no second effect
        self._in_flight.enter()
        try:
            result = await handler(event, data)
        except DomainError as exc:
            if isinstance(exc, StorageConflict):
                self._seen.forget(PLATFORM, update_id, bot)  # answered "try again"; a redelivery may
                raise
            # An expected refusal, answered by the error handler: the update is done with.
            self._buffer.processed(PLATFORM, update_id, bot)
            raise
        except Exception as exc:
            attempts = self._seen.failed(PLATFORM, update_id, bot, counts=not is_transient(exc))
            if attempts < MAX_ATTEMPTS:
                self._seen.forget(PLATFORM, update_id, bot)  # let a redelivery try again
                raise
            self._seen.settled(PLATFORM, update_id, bot)
            self._buffer.processed(PLATFORM, update_id, bot)
            raise GaveUp(update_id, attempts) from exc
        except BaseException:
            self._seen.forget(PLATFORM, update_id, bot)
            raise
        finally:
            self._in_flight.leave()
        self._seen.settled(PLATFORM, update_id, bot)
        self._buffer.processed(PLATFORM, update_id, bot)
        return result
