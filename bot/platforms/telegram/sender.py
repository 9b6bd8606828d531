"""One outbound sender: every message the bot sends passes through this aiogram session middleware.

Telegram limits a bot to about 30 messages a second overall, 20 a minute in one group and about
one a second in one chat; going over earns 429 "retry after". aiogram has no limiter, so this one
paces sends before they leave (GCRA, i.e. a token bucket that hands out exact send times), waits
out ``retry_after`` if a 429 comes anyway (again and again, for up to ``Limits.retry_for`` seconds in
all: limits stricter than ours must delay a reply, not lose it), retries transient failures with
backoff, and reports a group that removed the bot (403) so scheduled posts stop going there.

A send that still fails raises. When what it confirms is already stored (a check-in, a warning,
an award, an order), ``confirm`` swallows that last failure or refusal with a log line: the member
must not get an apology for something that happened, nor a redelivery that would do it again.

A retried network error may duplicate a message that did reach Telegram before the connection
broke; that is rarer and kinder than losing a scheduled post.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

logger = logging.getLogger(__name__)

# Sends that count against the limits (chat actions do not).
PACED_PREFIXES = ("send", "copyMessage", "forwardMessage")
UNPACED = frozenset({"sendChatAction"})
SAFETY_SECONDS = 0.005  # sent a hair after the computed slot, so clock jitter never lands early
# Requests that leave late (a busy event loop, a connection pool) arrive bunched together, and a
# bucket that sat full wasted its refill meanwhile: keep a tenth of each burst in reserve for that.
BURST_SHARE = 0.9


@dataclass(frozen=True, slots=True)
class Limits:
    per_second: float = 30.0  # the whole bot
    per_group_per_minute: float = 20.0
    per_chat_per_second: float = 1.0
    chat_burst: int = 3  # a short reply exchange need not wait a second per message
    retries: int = 4  # for transient errors (network, 5xx); then the error is raised
    # 429s are waited out (honouring retry_after) while the send would still go within this many
    # seconds of its first try; past that the 429 is raised. Long enough for a burst of replies under
    # a limit stricter than ours, short enough that a reply still answers something recent.
    retry_for: float = 90.0


class Gcra:
    """A rate with a burst, as exact send times (the generic cell rate algorithm).

    Equivalent to a full token bucket of ``burst`` tokens refilled at ``rate`` per second.
    """

    __slots__ = ("interval", "tolerance", "tat")

    def __init__(self, rate: float, burst: float) -> None:
        self.interval = 1.0 / rate
        self.tolerance = (burst - 1) * self.interval
        self.tat = 0.0  # theoretical arrival time of the next send

    def earliest(self, now: float) -> float:
        return max(now, self.tat - self.tolerance)

    def take(self, at: float) -> None:
        self.tat = max(self.tat, at) + self.interval

    def push_back(self, until: float) -> None:
        """Telegram asked us to wait: nothing more before ``until``."""
        self.tat = max(self.tat, until + self.tolerance)


@dataclass
class SenderStats:
    sent: int = 0
    retried_after_429: int = 0
    retried_transient: int = 0
    chats_gone: int = 0
    waited_seconds: float = 0.0
    by_method: dict[str, int] = field(default_factory=dict)


class Sender(BaseRequestMiddleware):
    def __init__(
        self,
        limits: Limits = Limits(),
        *,
        on_chat_gone: Callable[[int], Awaitable[None]] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.stats = SenderStats()
        self._on_chat_gone = on_chat_gone
        self._monotonic = monotonic
        self._sleep = sleep
        self._bot = Gcra(limits.per_second, _burst(limits.per_second))
        self._groups: dict[int | str, Gcra] = {}
        self._chats: dict[int | str, Gcra] = {}

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        name = method.__api_method__
        paced = name.startswith(PACED_PREFIXES) and name not in UNPACED
        chat_id = getattr(method, "chat_id", None)
        attempt = 0
        give_up_at = self._monotonic() + self.limits.retry_for
        while True:
            if paced:
                await self._wait_turn(chat_id)
            try:
                response = await make_request(bot, method)
            except TelegramRetryAfter as error:
                if self._monotonic() + error.retry_after > give_up_at:
                    logger.warning("429 from Telegram on %s to %s: retry after %ss is past the deadline; giving up", name, chat_id, error.retry_after)
                    raise
                self.stats.retried_after_429 += 1
                logger.warning("429 from Telegram on %s to %s: waiting %ss", name, chat_id, error.retry_after)
                if paced:
                    self._back_off(chat_id, error.retry_after)  # the next turn comes after the wait
                else:
                    await self._sleep(error.retry_after)
                continue
            except (TelegramNetworkError, TelegramServerError) as error:
                if attempt >= self.limits.retries:
                    raise
                delay = 0.5 * 2**attempt
                attempt += 1
                self.stats.retried_transient += 1
                logger.warning("%s to %s failed (%s); retrying in %.1fs", name, chat_id, type(error).__name__, delay)
                await self._sleep(delay)
                continue
            except TelegramForbiddenError:
                if isinstance(chat_id, int) and chat_id < 0:
                    self.stats.chats_gone += 1
                    if self._on_chat_gone is not None:
                        await self._on_chat_gone(chat_id)
                raise
            if paced:
                self.stats.sent += 1
                self.stats.by_method[name] = self.stats.by_method.get(name, 0) + 1
            return response

    def _buckets(self, chat_id: int | str | None) -> list[Gcra]:
        buckets = [self._bot]
        if chat_id is None:
            return buckets
        limits = self.limits
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = Gcra(limits.per_chat_per_second, limits.chat_burst)
        buckets.append(chat)
        if not isinstance(chat_id, int) or chat_id < 0:  # groups, supergroups and channels
            group = self._groups.get(chat_id)
            if group is None:
                group = self._groups[chat_id] = Gcra(limits.per_group_per_minute / 60, _burst(limits.per_group_per_minute))
            buckets.append(group)
        return buckets

    async def _wait_turn(self, chat_id: int | str | None) -> None:
        # Reserve the slot synchronously (no await in between), so concurrent senders queue in order.
        now = self._monotonic()
        buckets = self._buckets(chat_id)
        at = max(bucket.earliest(now) for bucket in buckets)
        for bucket in buckets:
            bucket.take(at)
        delay = at - now
        if delay > 0:
            self.stats.waited_seconds += delay
            await self._sleep(delay + SAFETY_SECONDS)

    def _back_off(self, chat_id: int | str | None, seconds: float) -> None:
        # A chat's limit holds up that chat; a 429 without a chat holds up everything.
        until = self._monotonic() + seconds
        buckets = self._buckets(chat_id)
        for bucket in buckets[1:] or buckets:
            bucket.push_back(until)


def _burst(allowed: float) -> float:
    return max(1.0, int(allowed * BURST_SHARE))


T = TypeVar("T")
# What a send can still end in after the sender's retries, with nothing wrong on our side.
UNDELIVERED = (TelegramRetryAfter, TelegramNetworkError, TelegramServerError)


async def confirm(send: Awaitable[T], what: str, chat_id: int | str) -> T | None:
    """Send the reply to something already committed (a check-in, a warning, an award, an order).

    Whatever Telegram answers instead (a 429 past the sender's deadline, the network, a 5xx, or a
    refusal: the bot may no longer write there, the message is gone) is logged and None returned:
    raising would turn into an apology, or a redelivery, telling the member that what happened did not."""
    try:
        return await send
    except TelegramAPIError as error:
        logger.warning("%s in chat %s is stored, but its confirmation could not be sent: %s", what, chat_id, type(error).__name__)
        return None
