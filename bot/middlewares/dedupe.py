"""Skip an update id already handled; count in-flight updates so shutdown can wait for them.

Delivery policy for a failed update (what is said in the chat is handlers/errors.py's business):

- the id is forgotten and the exception propagates out of ``feed_update``, so the webhook answers
  500 and the poller leaves the update unconfirmed: Telegram delivers it again, and it is handled
  then (idempotency keys make a partly done first attempt safe);
- a failure because something we depend on is unavailable (``is_transient``: the database or the
  network unreachable, a dropped connection, the Bot API failing on its side) is tried again for up
  to ``OUTAGE_LIMIT`` after the update's first failure: the update is worth as much after the outage
  as before, and after that Telegram has dropped it anyway;
- any other failure is tried ``MAX_ATTEMPTS`` times; then (or once the outage limit passed) the
  update is given up on: ``GaveUp`` is raised instead, which the error handler logs, saves and
  answers, and swallows; the id is marked processed and the webhook or the poller moves on, so one
  poisonous update cannot block the ones behind it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import TelegramObject, Update

from bot.core.errors import DomainError, StorageConflict
from bot.members.activity import ActivityBuffer
from bot.members.updates import MAX_ATTEMPTS, OUTAGE_LIMIT, SeenUpdates
from bot.platforms.telegram.refs import PLATFORM

logger = logging.getLogger(__name__)

TRANSIENT = (
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # asyncio's too
    socket.gaierror,  # the name did not resolve (DNS away)
    StorageConflict,  # a serialisation conflict: the next attempt sees the other transaction's result
    TelegramNetworkError,
    TelegramServerError,
    TelegramRetryAfter,
)
# A plain OSError counts only with one of these: a missing file or a refused permission is a bug.
NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
    errno.ENETDOWN, errno.ENETUNREACH, errno.ENETRESET, errno.EHOSTDOWN, errno.EHOSTUNREACH,
})  # fmt: skip
# What SQLAlchemy and asyncpg raise for a database that is away, by class name: the middleware (and
# the handlers using ``is_transient``) stay free of their imports. Not OperationalError as such: on
# SQLite it is also "no such table" or a syntax error, which no retry fixes.
TRANSIENT_DATABASE_ERRORS = frozenset({
    "sqlalchemy.exc.DisconnectionError",  # a pooled connection found dead
    "sqlalchemy.exc.TimeoutError",  # no pooled connection free in time
    "asyncpg.exceptions.PostgresConnectionError",  # SQLSTATE class 08, incl. ConnectionDoesNotExistError
    "asyncpg.exceptions.CannotConnectNowError",  # the server is starting or shutting down
    "asyncpg.exceptions.AdminShutdownError",
    "asyncpg.exceptions.CrashShutdownError",
    "asyncpg.exceptions.TooManyConnectionsError",
})  # fmt: skip
# PostgreSQL states meaning "not now" (asyncpg's sqlstate; the SQLAlchemy error carries it as pgcode).
TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300", "40001", "40P01"})


class GaveUp(Exception):
    """An update failed ``attempts`` times (not counting outages), or kept failing for ``failing_for``,
    and will not be asked for again; the last failure is ``__cause__``."""

    def __init__(self, update_id: int, attempts: int, failing_for: timedelta = timedelta(0)) -> None:
        super().__init__(f"update {update_id} failed {attempts} times (outages aside) over {failing_for}; giving up on it")
        self.update_id = update_id
        self.attempts = attempts
        self.failing_for = failing_for


def is_transient(exc: BaseException) -> bool:
    """Whether the failure comes from something unavailable right now: the exception, or one it was
    explicitly raised from (``raise ... from``, as SQLAlchemy and asyncpg do when they wrap an error).

    The implicit ``__context__`` is not followed: a bug raised while handling a connection error (in an
    ``except OSError:`` block) is a bug, and retrying it would only block the updates behind it.
    """
    return any(_is_outage(link) for link in _causes(exc))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def _is_outage(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT):
        return True
    if isinstance(exc, OSError) and (
        exc.errno in NETWORK_ERRNOS
        # asyncio's create_connection when every address failed (e.g. localhost's ::1 and 127.0.0.1)
        or (exc.errno is None and str(exc).startswith("Multiple exceptions: "))
    ):
        return True
    if getattr(exc, "connection_invalidated", False) is True:  # SQLAlchemy: the connection was lost
        return True
    if any(f"{k.__module__}.{k.__name__}" in TRANSIENT_DATABASE_ERRORS for k in type(exc).__mro__):
        return True
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(state, str) and (state.startswith("08") or state in TRANSIENT_SQLSTATES):
        return True
    # sqlite3: another connection holds the lock (the busy timeout ran out), or the file that opened at
    # start cannot be opened now (its volume went away)
    name = getattr(exc, "sqlite_errorname", None)
    return isinstance(name, str) and name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN"))


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
        except DomainError:
            # An expected refusal (a StorageConflict too: the services retry those themselves, and the
            # one that still escapes asks the member to try again). The error handler answers it and
            # returns, so Telegram does not deliver it again: the update is done with.
            self._seen.settled(PLATFORM, update_id, bot)  # earlier failed attempts no longer matter
            self._buffer.processed(PLATFORM, update_id, bot)
            raise
        except Exception as exc:
            gave_up = self._give_up(update_id, bot, exc)
            if gave_up is None:
                self._seen.forget(PLATFORM, update_id, bot)  # let a redelivery try again
                raise
            raise gave_up from exc
        except BaseException:
            self._seen.forget(PLATFORM, update_id, bot)
            raise
        finally:
            self._in_flight.leave()
        self._seen.settled(PLATFORM, update_id, bot)
        self._buffer.processed(PLATFORM, update_id, bot)
        return result

    def _give_up(self, update_id: int, bot: str, exc: Exception) -> GaveUp | None:
        """Note the failure; the ``GaveUp`` to raise when the update is not worth asking for again."""
        failures = self._seen.failed(PLATFORM, update_id, bot, counts=not is_transient(exc))
        if failures.attempts < MAX_ATTEMPTS and failures.failing_for < OUTAGE_LIMIT:
            return None
        self._seen.settled(PLATFORM, update_id, bot)
        self._buffer.processed(PLATFORM, update_id, bot)
        return GaveUp(update_id, failures.attempts, failures.failing_for)
