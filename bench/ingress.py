"""Ingress throughput: the full Cradle Dispatcher against a bare aiogram Dispatcher, same updates.

Both runs parse every update into aiogram's ``Update`` and feed it with the same bounded
concurrency that long polling uses (updates are handled as tasks). The network is replaced by
the in-process fake Bot API, which answers like Telegram. The Cradle run includes the final
write-behind flush, so every counted message is in the database when the clock stops.
The last line printed is one JSON object: {"updates", "cradle_ups", "bare_ups", "ratio"}.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.types import Update

from bot.config import DatabaseSettings, Settings
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.harness import BotHarness
from bot.testing.session import FakeSession
from models import migrate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--updates", required=True, type=Path, help="JSON lines, one Telegram update each")
    parser.add_argument("--database-url", required=True, help="an empty database; it is migrated first")
    parser.add_argument("--concurrency", type=int, default=64, help="updates in flight at once (default 64)")
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    raw = [json.loads(line) for line in args.updates.read_text(encoding="utf-8").splitlines() if line.strip()]
    await asyncio.to_thread(migrate.upgrade, args.database_url)
    bare_seconds = await time_bare(raw, args.concurrency)
    cradle_seconds = await time_cradle(raw, args.database_url, args.concurrency)
    result = {
        "updates": len(raw),
        "cradle_ups": round(len(raw) / cradle_seconds, 1),
        "bare_ups": round(len(raw) / bare_seconds, 1),
        "ratio": round(bare_seconds / cradle_seconds, 3),
    }
    print(json.dumps(result))
    return 0


def settle_heap() -> None:
    """Move the preloaded input out of the collector's sight.

    The harness holds every update in memory up front (a running bot receives them over the
    network); without this, each full collection rescans those ~20k dicts and the timings
    measure the harness's heap rather than the bot.
    """
    gc.collect()
    gc.freeze()


class TrafficClock:
    """Time as the traffic tells it: the date of the latest update handed to the bot.

    Bot and fake share it, as a live bot's clock would match the updates it receives: the fake
    refuses to delete messages older than 48 hours and reads an until_date over 366 days ahead
    as "forever", so on the real clock every deletion of this recorded traffic would fail.
    """

    def __init__(self, raw: Iterable[dict[str, Any]]) -> None:
        self.seconds = min((date for update in raw if (date := update_date(update))), default=time.time())

    def __call__(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.seconds, UTC)

    def follow(self, update: dict[str, Any]) -> None:
        self.seconds = max(self.seconds, update_date(update) or 0)


def update_date(update: dict[str, Any]) -> int | None:
    """The ``date`` of an update's event (message, chat_member...), None when it has none."""
    for key, event in update.items():
        if key != "update_id" and isinstance(event, dict):
            if isinstance(date := event.get("date"), int):
                return date
            if isinstance(message := event.get("message"), dict) and isinstance(message.get("date"), int):
                return int(message["date"])
    return None


def serve_photos(fake: FakeTelegram, raw: Iterable[dict[str, Any]], variants: int = 8) -> int:
    """Give every photo in the traffic real JPEG bytes (a few members' snapshots, in turn), so the
    QR filter downloads and decodes them as in production instead of failing at getFile."""
    from bot.testing.images import plain_photo  # Pillow and numpy: only the benchmark needs them

    pictures = [plain_photo(size=(1280, 960), seed=seed) for seed in range(variants)]
    served = 0
    for update in raw:
        message = update.get("message") or update.get("edited_message") or {}
        for size in message.get("photo") or ():
            fake.serve_file(size["file_id"], pictures[served % variants])
            served += 1
    return served


async def time_cradle(raw: list[dict[str, Any]], database_url: str, concurrency: int) -> float:
    clock = TrafficClock(raw)
    fake = FakeTelegram(clock=clock)
    for update in raw:
        fake.observe(update)  # the fake learns chats and messages, so replies to them are valid
    serve_photos(fake, raw)
    settings = Settings(database=DatabaseSettings(url=database_url))
    async with BotHarness(settings, fake=fake, clock=clock) as harness:
        settle_heap()
        started = time.perf_counter()
        await feed_all(harness.dispatcher, harness.bot, raw, concurrency, on_update=clock.follow)
        await harness.app.buffer.flush()
        elapsed = time.perf_counter() - started
    replies = sum(1 for call in fake.requests if call.method == "sendMessage" and call.ok)
    failed = sum(1 for call in fake.requests if not call.ok)
    print(f"cradle: {elapsed:.2f}s, {replies} replies sent, {len(fake.requests)} API calls ({failed} refused)",
          file=sys.stderr)
    return elapsed


async def time_bare(raw: list[dict[str, Any]], concurrency: int) -> float:
    dispatcher = Dispatcher()
    router = Router()

    async def ignore(event: Any) -> None:
        return None

    for observer in (router.message, router.edited_message, router.poll_answer, router.callback_query, router.chat_member):
        observer.register(ignore)
    dispatcher.include_router(router)
    bot = Bot(FakeTelegram().token, session=FakeSession(FakeTelegram()))
    settle_heap()
    started = time.perf_counter()
    await feed_all(dispatcher, bot, raw, concurrency)
    elapsed = time.perf_counter() - started
    print(f"bare:   {elapsed:.2f}s", file=sys.stderr)
    return elapsed


async def feed_all(
    dispatcher: Dispatcher,
    bot: Bot,
    raw: Iterable[dict[str, Any]],
    concurrency: int,
    *,
    on_update: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """One task per update, at most ``concurrency`` at once: what aiogram's polling does with
    handle_as_tasks and tasks_concurrency_limit.  ``on_update`` sees each update as it is handed over."""
    slots = asyncio.Semaphore(max(1, concurrency))
    tasks: set[asyncio.Task[None]] = set()

    async def handle(data: dict[str, Any]) -> None:
        try:
            await dispatcher.feed_update(bot, Update.model_validate(data, context={"bot": bot}))
        finally:
            slots.release()

    for data in raw:
        await slots.acquire()
        if on_update is not None:
            on_update(data)
        task = asyncio.create_task(handle(data))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
