"""Long polling that confirms an update only once it was handled, so a crash means redelivery, not loss.

Telegram confirms every update below the ``offset`` of the next getUpdates call. aiogram's
``start_polling`` moves the offset past each update as soon as it is fetched and handles updates
in unbounded background tasks: whatever was fetched but not yet handled when the process dies is
gone. Here:

- at most ``window`` updates are handled at once;
- the offset sent to Telegram is the lowest update id still unfinished (or one past the highest
  handled, when none is), so after a crash Telegram redelivers everything not known to be done,
  and the dedupe middleware and the ledger's idempotency keys make the redelivery harmless;
- an update whose handling raises (``feed_update`` lets unexpected failures out, see
  handlers/errors.py) stays unconfirmed and is tried again with backoff. Giving up is the dedupe
  middleware's decision (bot/middlewares/dedupe.py: ``MAX_ATTEMPTS`` failures, or an outage longer
  than Telegram keeps an update): it raises ``GaveUp``, which the error handler saves under
  ``rejected_dir`` and swallows, so ``feed_update`` returns normally and the update is confirmed.
  The poller's own limits (``max_attempts`` failures that ``transient`` does not call an outage, or
  ``give_up_after`` seconds of failing) are only a backstop for failures outside that middleware
  (such as a webhook-style answer that cannot be sent): then the update is skipped with a log line
  and handed to ``on_rejected``, so a poison update cannot block polling;
- on stop, the fetch is abandoned, updates in flight get ``drain_timeout`` to finish, ones still
  running or waiting to be tried again are left unconfirmed, and the offset is confirmed once more;
- getUpdates is read as raw JSON and each update parsed on its own, so one update aiogram cannot
  parse is set aside (logged, and handed to ``on_rejected``) and the rest of the batch is handled.

getUpdates returns at most 100 updates from the offset, so the updates in flight are always within
100 ids of the lowest unfinished one: a slow or failing update holds back the ones more than 100
ids after it until it finishes or is skipped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update

logger = logging.getLogger(__name__)

BATCH_LIMIT = 100  # Telegram's maximum for getUpdates

Rejected = Callable[[dict[str, Any], str], object]  # may return an awaitable


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates whose answer is left as JSON objects: one bad update cannot spoil the batch."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


@dataclass(frozen=True)
class PollingPolicy:
    window: int = BATCH_LIMIT  # updates handled at once (getUpdates bounds it to 100 past the offset anyway)
    timeout: int = 10  # long-poll seconds, as aiogram's start_polling
    # Backstop only: the dedupe middleware gives up first (after bot.members.updates.MAX_ATTEMPTS
    # failures or OUTAGE_LIMIT), and feed_update then returns normally.
    max_attempts: int = 8  # failures (outages aside) before an update is skipped
    give_up_after: float = 24 * 3600.0  # seconds of failing, outages included (Telegram drops it by then)
    retry_delay: float = 0.5  # first backoff; doubles per attempt
    max_retry_delay: float = 30.0
    refetch_after: float = 0.5  # with work outstanding, fetch again at least this often to see new updates
    fetch_error_delay: float = 1.0  # first backoff after getUpdates failed
    max_fetch_error_delay: float = 5.0
    drain_timeout: float = 30.0  # on stop: how long updates in flight may take before they are cancelled


class Poller:
    """Feeds ``dispatcher`` from getUpdates; ``run`` returns once ``stop`` is set and the work drained."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        allowed_updates: list[str] | None = None,
        policy: PollingPolicy = PollingPolicy(),
        on_rejected: Rejected | None = None,
        transient: Callable[[BaseException], bool] = lambda error: False,
    ) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._allowed_updates = allowed_updates
        self._policy = policy
        self._on_rejected = on_rejected
        self._transient = transient  # an outage (database, network): tried again without counting
        self._tasks: dict[int, asyncio.Task[None]] = {}  # unfinished update id -> its handling
        self._done: set[int] = set()  # finished ids at or above the offset (not confirmable yet)
        self._next = 0  # one past the highest update id seen
        self._confirmed = 0  # the offset Telegram was last sent
        self._progress = asyncio.Event()  # an update finished
        self._fresh = 0  # new updates the last fetch brought
        self._fetched_at = 0.0
        self._fetch_errors = 0
        self._held: set[int] = set()  # abandoned at stop without finishing: never confirmed
        self._stop = asyncio.Event()

    @property
    def offset(self) -> int:
        """What Telegram may forget: everything below the lowest unfinished update."""
        lowest = self._next
        if self._tasks:
            lowest = min(lowest, min(self._tasks))
        if self._held:
            lowest = min(lowest, min(self._held))
        return lowest

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        logger.info("polling for updates (at most %d in flight)", self._policy.window)
        try:
            while not stop.is_set():
                await self._wait_for_room()
                if stop.is_set():
                    break
                batch = await self._fetch()
                if batch is not None:
                    self._take(batch)
        finally:
            if stop.is_set():
                logger.info("stop requested; finishing %d updates in flight", len(self._tasks))
            await self._drain()
            await self._confirm()

    # ------------------------------------------------------------------ fetching

    async def _wait_for_room(self) -> None:
        """Return when a fetch can bring new work: nothing outstanding (long poll), half a batch of
        room after a fetch that brought updates, or some room and ``refetch_after`` seconds."""
        loop = asyncio.get_running_loop()
        half = max(1, min(self._policy.window, BATCH_LIMIT) // 2)
        while self._tasks and not self._stop.is_set():
            room = self._room()
            if room >= half and self._fresh:
                return
            wait: float | None = None
            if room:
                wait = self._fetched_at + self._policy.refetch_after - loop.time()
                if wait <= 0:
                    return
            self._progress.clear()
            await _first(self._progress.wait(), self._stop.wait(), timeout=wait)

    def _room(self) -> int:
        # getUpdates answers from the offset: ids already known take places in its 100.
        offset = self.offset
        known = len(self._tasks) + sum(1 for done in self._done if done >= offset)
        return max(0, min(self._policy.window - len(self._tasks), BATCH_LIMIT - known))

    async def _fetch(self) -> list[dict[str, Any]] | None:
        offset = self.offset
        method = GetRawUpdates(
            offset=offset or None,
            limit=BATCH_LIMIT,
            timeout=0 if self._tasks else self._policy.timeout,
            allowed_updates=self._allowed_updates,
        )
        kwargs = {}
        if self._bot.session.timeout:
            kwargs["request_timeout"] = int(self._bot.session.timeout + self._policy.timeout)
        call = asyncio.ensure_future(self._bot(method, **kwargs))
        stopped = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({call, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not call.done():
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            return None
        try:
            batch = call.result()
        except Exception as error:  # noqa: BLE001 - any failure: wait and ask again, as aiogram does
            self._fetch_errors += 1
            delay = min(self._policy.fetch_error_delay * 1.3 ** (self._fetch_errors - 1), self._policy.max_fetch_error_delay)
            logger.error("getUpdates failed (%s: %s); trying again in %.1fs", type(error).__name__, error, delay)
            await _first(self._stop.wait(), timeout=delay)
            return None
        if self._fetch_errors:
            logger.info("getUpdates works again after %d failures", self._fetch_errors)
            self._fetch_errors = 0
        self._confirmed = max(self._confirmed, offset)
        self._done = {done for done in self._done if done >= offset}  # Telegram forgot the others
        self._fetched_at = asyncio.get_running_loop().time()
        return batch

    def _take(self, batch: list[dict[str, Any]]) -> None:
        """Start handling the updates of ``batch`` not already known, as far as the window allows."""
        self._fresh = 0
        for raw in batch:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                logger.error("skipping an update without an update_id")
                self._reject(raw if isinstance(raw, dict) else {"raw": raw}, "no update_id")
                continue
            if update_id in self._tasks or update_id in self._done:
                continue  # fetched before and not confirmed yet: in flight, or done
            if len(self._tasks) >= self._policy.window:
                break  # the rest comes again in a later batch
            self._fresh += 1
            self._next = max(self._next, update_id + 1)
            try:
                update = Update.model_validate(raw, context={"bot": self._bot})
            except Exception as error:  # noqa: BLE001 - pydantic's ValidationError and whatever a validator raises
                reason = f"{type(error).__name__}: {error}"
                logger.error("update %s cannot be parsed; skipping it (%s)", update_id, reason.splitlines()[0])
                self._reject(raw, reason)
                self._finish(update_id)
                continue
            task = asyncio.create_task(self._handle(update_id, raw, update), name=f"update-{update_id}")
            self._tasks[update_id] = task

    # ------------------------------------------------------------------ handling

    async def _handle(self, update_id: int, raw: dict[str, Any], update: Update) -> None:
        policy = self._policy
        attempt = failures = 0
        loop = asyncio.get_running_loop()
        first_failure: float | None = None
        while True:
            attempt += 1
            try:
                result = await self._dispatcher.feed_update(self._bot, update)
                if isinstance(result, TelegramMethod):  # a handler answered "webhook style"
                    await self._dispatcher.silent_call_request(self._bot, result)
            except Exception as error:  # noqa: BLE001 - an unexpected failure: not confirmed, tried again
                outage = self._transient(error)
                failures += 0 if outage else 1
                if first_failure is None:
                    first_failure = loop.time()
                failing_for = loop.time() - first_failure
                if failures >= policy.max_attempts or failing_for >= policy.give_up_after:
                    logger.error("update %s failed %d times in %.0fs; skipping it", update_id, attempt, failing_for, exc_info=error)
                    self._reject(raw, f"failed {attempt} times in {failing_for:.0f}s: {type(error).__name__}: {error}")
                    break
                delay = min(policy.retry_delay * 2 ** min(attempt - 1, 16), policy.max_retry_delay)
                logger.warning(
                    "update %s failed (%s, attempt %d%s); trying again in %.1fs",
                    update_id, type(error).__name__, attempt,
                    ", an outage: not counted" if outage else f", {failures} of {policy.max_attempts}", delay,
                    exc_info=error if attempt == 1 else None,
                )
                if await _first(self._stop.wait(), timeout=delay):
                    # Stopping: leave it unconfirmed, Telegram redelivers it to the next run.
                    self._hold(update_id)
                    return
                continue
            break
        self._finish(update_id)

    def _finish(self, update_id: int) -> None:
        self._tasks.pop(update_id, None)
        self._done.add(update_id)  # until Telegram is sent an offset past it, it comes back in batches
        self._progress.set()

    def _hold(self, update_id: int) -> None:
        """Give up on an update without confirming it: the offset stays at or below it."""
        self._tasks.pop(update_id, None)
        self._held.add(update_id)
        self._progress.set()

    def _reject(self, raw: dict[str, Any], reason: str) -> None:
        if self._on_rejected is None:
            return
        try:
            saved = self._on_rejected(raw, reason)
        except Exception:  # noqa: BLE001 - keeping a copy must not stop polling
            logger.exception("could not save rejected update %s", raw.get("update_id"))
            return
        if inspect.isawaitable(saved):
            task = asyncio.ensure_future(saved)
            task.add_done_callback(_log_failed_save)

    # ------------------------------------------------------------------ stopping

    async def _drain(self) -> None:
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self._policy.drain_timeout)
            if pending:
                logger.warning("%d updates still running after %ss; cancelling them (Telegram redelivers them)",
                               len(pending), self._policy.drain_timeout)
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                for update_id, task in list(self._tasks.items()):
                    if task in pending:
                        self._hold(update_id)

    async def _confirm(self) -> None:
        """Tell Telegram what was handled, so a clean restart does not get it again."""
        offset = self.offset
        if offset <= self._confirmed:
            return
        try:
            await asyncio.wait_for(self._bot(GetRawUpdates(offset=offset, limit=1, timeout=0)), 10)
        except Exception as error:  # noqa: BLE001 - the next run confirms it instead
            logger.warning("could not confirm updates below %s (%s); they will be delivered again", offset, error)
        else:
            self._confirmed = offset


async def _first(*awaitables: Awaitable[Any], timeout: float | None = None) -> bool:
    """Wait for the first of ``awaitables`` (or the timeout); True if one completed."""
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        done, _ = await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    return bool(done)


def _log_failed_save(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("could not save a rejected update", exc_info=task.exception())
