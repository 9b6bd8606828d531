"""Fan-out: one scheduled post to 2,000 groups through the fake Bot API server with Telegram's
limits enforced. Goal: zero 429s, and done within 1.1x the theoretical minimum.

1. The database at ``--database-url`` (its name must contain "bench") is recreated, migrated and
   given ``--groups`` active supergroups.
2. A ``FakeTelegram`` enforcing ``--per-second`` for the bot (a bucket of that many, refilled at
   that rate) and ``--per-group-per-minute`` per group is served over HTTP on localhost; the bot
   talks to it with aiogram's own aiohttp session, through the project's outbound sender
   configured with the same limits. Limits may be scaled up so that the run is short: the
   minimum scales with them.
3. A schedule with one announcement to every group is loaded; the clock is set to its minute and
   one scheduler tick runs: the same path as production (claim every post, send, record).
4. Theoretical minimum = (groups - bucket) / rate: the first ``per_second`` go at once, the rest
   at the rate (one post per group, so the per-group limits never bind).

Printed, and written to bench/results/fanout-<dialect>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from bench.leaderboard import check_disposable, recreate
from bot.app import build_app
from bot.config import CommunitySettings, DatabaseSettings, LimitSettings, ScheduleSettings, Settings, TelegramSettings
from bot.platforms.telegram.notifier import TelegramNotifier
from bot.platforms.telegram.refs import PLATFORM
from bot.platforms.telegram.runner import install_sender
from bot.testing.clock import ManualClock
from bot.testing.fake_bot_api import FakeTelegram
from bot.testing.fake_bot_api_server import FakeBotAPIServer
from models import migrate
from models.tables import Chat

RESULTS = Path(__file__).parent / "results"
FIRE_AT = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
SCHEDULE = """
[[entry]]
id = "morning"
kind = "announcement"
daily = "08:30"
text = { zh-CN = "早上好！今天也一起打卡吧。", en = "Good morning! Let's check in together today." }
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", required=True, help="a database whose name contains 'bench'; it is recreated")
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--per-second", type=float, default=30, help="the bot's limit, enforced by the fake (default 30)")
    parser.add_argument("--per-group-per-minute", type=float, default=20)
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING)
    check_disposable(args.database_url)
    await recreate(args.database_url)
    await asyncio.to_thread(migrate.upgrade, args.database_url)  # alembic runs its own event loop

    chat_ids = [-1_001_000_000_000 - n for n in range(args.groups)]
    # The fake Telegram runs in its own process, as the real one would: it does not compete with
    # the bot for the event loop, and its clock (CLOCK_MONOTONIC) is the one the bot's sender reads.
    parent, child = multiprocessing.Pipe()
    server_process = multiprocessing.get_context("spawn").Process(
        target=serve_fake, args=(child, chat_ids, args.per_second, args.per_group_per_minute), daemon=True
    )
    server_process.start()
    token, base_url = parent.recv()

    workdir = Path(tempfile.mkdtemp(prefix="cradle-fanout-"))
    (workdir / "schedule.toml").write_text(SCHEDULE, encoding="utf-8")
    settings = Settings(
        telegram=TelegramSettings(
            limits=LimitSettings(per_second=args.per_second, per_group_per_minute=args.per_group_per_minute)
        ),
        database=DatabaseSettings(url=args.database_url),
        community=CommunitySettings(name="Bench"),
        schedule=ScheduleSettings(file=str(workdir / "schedule.toml")),
    )
    clock = ManualClock(FIRE_AT)
    app = build_app(settings, clock=clock)
    async with app.storage.engine.begin() as connection:
        await connection.execute(
            insert(Chat),
            [{"platform": PLATFORM, "external_id": str(chat_id), "title": "g", "kind": "supergroup"} for chat_id in chat_ids],
        )
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))
    sender = install_sender(bot, app)
    app.notifiers.register(PLATFORM, TelegramNotifier(bot))
    app.posts.replace(app.schedule_watcher.load())
    gc.freeze()  # as App.start does: the collector does not walk what start-up built

    started_wall, started = time.time(), time.monotonic()
    report = await app.posts.tick()
    total = time.monotonic() - started
    parent.send("stop")
    rejected_429, sends = parent.recv()
    server_process.join(timeout=10)
    last_send = max(sends) - started if sends else 0.0
    first_send = min(sends) - started if sends else 0.0
    minimum = max(0.0, (args.groups - args.per_second) / args.per_second)

    await bot.session.close()
    await app.storage.dispose()

    result: dict[str, Any] = {
        "dialect": make_url(args.database_url).get_backend_name(),
        "groups": args.groups,
        "limits": {"per_second": args.per_second, "per_group_per_minute": args.per_group_per_minute},
        "posted": report.posted,
        "failed": report.failed,
        "delivered_by_fake": len(sends),
        "rejected_429": rejected_429,
        "sender_retries_after_429": sender.stats.retried_after_429,
        "theoretical_minimum_s": round(minimum, 3),
        "first_send_s": round(first_send, 3),
        "sends_done_s": round(last_send, 3),
        "tick_total_s": round(total, 3),
        "ratio_sends": round(last_send / minimum, 3) if minimum else None,
        "ratio_tick": round(total / minimum, 3) if minimum else None,
        "started_at": datetime.fromtimestamp(started_wall, UTC).isoformat(),
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"fanout-{result['dialect']}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    ok = rejected_429 == 0 and len(sends) == args.groups and (not minimum or total <= 1.1 * minimum)
    print("goal met: zero 429s and within 1.1x the minimum" if ok else "goal NOT met")
    return 0 if ok else 1


def serve_fake(connection: Any, chat_ids: list[int], per_second: float, per_group_per_minute: float) -> None:
    """Child process: the fake Bot API server; answers (429 count, sendMessage completion times) on "stop"."""

    async def main() -> None:
        fake = FakeTelegram(enforce_limits=True, per_bot_per_second=per_second, per_group_per_minute=per_group_per_minute)
        for chat_id in chat_ids:
            fake.add_chat(chat_id, f"Group {chat_id}")
        async with FakeBotAPIServer(fake) as server:
            connection.send((fake.token, server.base_url))
            await asyncio.to_thread(connection.recv)
            sends = [call.at for call in fake.requests if call.method == "sendMessage" and call.ok]
            connection.send((fake.rejected_429, sends))

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
